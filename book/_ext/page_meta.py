"""A meta description on every page: what search engines and link previews show.

A page's description is its first paragraph of running text (formulas read out in plain text,
book/_ext/figure_alt_text.py), cut at a sentence end within 200 characters; pages without
one (search, index) get the book's description, the Sphinx setting `course_description`.
"""

import html
import re

from docutils import nodes

LIMIT = 200


def _first_paragraph(doctree):
    from figure_alt_text import _words

    for paragraph in doctree.findall(nodes.paragraph):
        if paragraph.next_node(nodes.image) is not None or "figure-caption" in paragraph["classes"]:
            continue
        parent, inside = paragraph.parent, False
        while parent is not None:
            if isinstance(parent, (nodes.admonition, nodes.table, nodes.figure, nodes.footnote)) \
                    or "cell" in parent.get("classes", []):
                inside = True
                break
            parent = parent.parent
        text = " ".join(_words(paragraph).split())
        if not inside and len(text) > 40:
            return text
    return None


def _shorten(text):
    if len(text) <= LIMIT:
        return text
    cut = text[:LIMIT]
    end = cut.rfind(". ")
    return cut[: end + 1] if end > 60 else cut.rsplit(" ", 1)[0] + "…"


def _add_description(app, pagename, templatename, context, doctree):
    text = _first_paragraph(doctree) if doctree is not None else None
    description = _shorten(text) if text else app.config.course_description
    description = re.sub(r"\s+", " ", description).strip()
    context["metatags"] = (context.get("metatags", "")
                           + f'\n<meta name="description" content="{html.escape(description)}" />')


def setup(app):
    app.add_config_value("course_description",
                         "A neural-network course as Jupyter notebooks: from one neuron to CNNs and"
                         " LSTMs, on a small numpy package (course_nn) whose every number is"
                         " computed and checked.", "html", types=(str,))
    app.connect("html-page-context", _add_description)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
