"""Glossary and chapters link to each other: each row of the glossary to the place where its
term is taught, and that place (the term's first use in its chapter) back to the row.

The glossary (book/appendix/glossary.md) is one table: English | 中文 | meaning | chapter.
For every row, the chapter named in its last column is searched, in reading order, for the
first use of the term in running text (not in code, math, titles or links; case-insensitive
except for acronyms and capitalized names, plural -s/-es allowed). That word becomes a link
to the glossary row (anchor ``term-<slug>``) and carries the anchor ``glossary-<slug>``; the
row's chapter number becomes a link to that anchor, or to the chapter page when the term's
words do not occur in its text (as written: a row such as "weighted sum (pre-activation) z").
A row's variants: the parts of "a / b" and "x; y", the name without and with its bracketed
alternative ("fully connected (dense) layer": "fully connected layer", "dense layer"), and an
acronym in brackets ("(MLP)").
"""

import re
from pathlib import Path

from docutils import nodes
from sphinx.util import logging

logger = logging.getLogger(__name__)

GLOSSARY_DOC = "book/appendix/glossary"
SKIP = (nodes.literal, nodes.literal_block, nodes.math, nodes.math_block, nodes.title,
        nodes.reference, nodes.raw, nodes.image, nodes.rubric, nodes.target, nodes.comment,
        nodes.subtitle, nodes.caption, nodes.field_name)
GENERIC = {"input", "hidden", "output", "training", "validation", "test", "sequential", "linear"}


def slug(term):
    return re.sub(r"[^a-z0-9]+", "-", term.lower()).strip("-")


def _cells(line):
    return [cell.strip().replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", line.strip())[1:-1]]


def read_glossary(path):
    """[(term, chinese, chapter number)] from the glossary's markdown table."""
    rows = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if not line.startswith("|"):
            continue
        cells = _cells(line)
        if len(cells) >= 4 and cells[-1].isdigit():
            rows.append((cells[0], cells[1], int(cells[-1])))
    return rows


def variants(term):
    """The strings whose first use in the chapter stands for the term."""
    found = []
    for part in term.split(";"):
        pieces = [p.strip() for p in part.split(" / ") if p.strip()]
        if len(pieces) > 1 and all(" " not in p for p in pieces[:-1]) and " " in pieces[-1]:
            last_word = pieces[-1].split()[-1]
            pieces += [f"{p} {last_word}" for p in pieces[:-1]]
        for piece in pieces:
            match = re.match(r"^(.*?)\s*\(([^)]*)\)\s*(.*)$", piece)
            if not match:
                found.append(piece)
                continue
            before, inner, after = match.groups()
            if len(after) == 1:                                    # weighted sum (pre-activation) z
                after = ""
            found.append(" ".join(x for x in (before, after) if x))
            if re.fullmatch(r"[A-Z][A-Za-z]*[A-Z]s?", inner):      # an acronym: (MLP), (ReLU)
                found.append(inner)
            elif after and before:                                 # He (Kaiming) initialization
                words = before.split()
                found.append(" ".join(([] if len(words) > 1 else words[:-1]) + [inner, after]))
            elif (" " in inner or "-" in inner) and not inner.startswith("to "):
                found.append(inner)                                # dead neuron (dying ReLU)
    generic = GENERIC if " / " in term else set()
    return [v for v in dict.fromkeys(found) if len(v) > 1 and v.lower() not in generic]


def _pattern(variant):
    words = re.escape(variant).replace(r"\ ", r"[\s\u00a0]+")
    plural = "" if variant.endswith(("s", "S")) else "(?:e?s)?"
    flags = 0 if (variant.isupper() or variant[:1].isupper()) else re.IGNORECASE
    return re.compile(rf"(?<![\w-]){words}{plural}(?!\w)", flags)


class glossary_link(nodes.reference):
    """A term's first use; resolved into a link to its glossary row when the page is written."""


def _text_nodes(doctree):
    for text in doctree.findall(nodes.Text):
        parent, skip = text.parent, False
        while parent is not None:
            if isinstance(parent, SKIP) or "cell_input" in parent.get("classes", []) \
                    or "admonition-title" in parent.get("classes", []):
                skip = True
                break
            parent = parent.parent
        if not skip and text.parent is not None:
            yield text


def _first_use(doctree, patterns):
    """(text node, match) of the earliest match of any pattern, in reading order."""
    for text in _text_nodes(doctree):
        best = None
        for pattern in patterns:
            match = pattern.search(str(text))
            if match and (best is None or match.start() < best.start()):
                best = match
        if best:
            return text, best
    return None, None


def _chapter_number(docname):
    match = re.match(r"book/(\d\d)_", docname)
    return int(match.group(1)) if match else None


def _link_first_uses(app, doctree):
    env = app.env
    docname = env.docname
    number = _chapter_number(docname)
    glossary = Path(app.srcdir) / (GLOSSARY_DOC + ".md")
    if number is None or not glossary.is_file():
        return
    rows = [(term, chinese) for term, chinese, chapter in read_glossary(glossary) if chapter == number]
    anchors = env.__dict__.setdefault("course_glossary_anchors", {})
    # longer terms first, so "gradient descent" is not taken by "gradient"
    for term, chinese in sorted(rows, key=lambda row: -max(len(v) for v in variants(row[0]) or [""])):
        patterns = [_pattern(v) for v in variants(term)]
        text, match = _first_use(doctree, patterns) if patterns else (None, None)
        if text is None:
            continue
        value = str(text)
        link = glossary_link("", match.group(0), ids=[f"glossary-{slug(term)}"],
                             classes=["glossary-term"], term_slug=slug(term),
                             reftitle=f"Glossary: {term} ({chinese})")
        parts = [nodes.Text(value[:match.start()]), link, nodes.Text(value[match.end():])]
        parent = text.parent
        index = parent.index(text)
        parent.remove(text)
        for offset, part in enumerate(p for p in parts if not (isinstance(p, nodes.Text) and not str(p))):
            parent.insert(index + offset, part)
        anchors[slug(term)] = docname


def _resolve(app, doctree, docname):
    builder = app.builder
    html = builder.format == "html"
    for node in list(doctree.findall(glossary_link)):
        if html and GLOSSARY_DOC in app.env.found_docs:
            uri = builder.get_relative_uri(docname, GLOSSARY_DOC) + f"#term-{node['term_slug']}"
            new = nodes.reference("", node.astext(), refuri=uri, ids=node["ids"],
                                  classes=node["classes"], reftitle=node["reftitle"])
        else:
            new = nodes.Text(node.astext())
        node.replace_self(new)
    if docname == GLOSSARY_DOC and html:
        _link_rows(app, doctree, docname)


def _link_rows(app, doctree, docname):
    anchors = getattr(app.env, "course_glossary_anchors", {})
    chapters = {_chapter_number(d): d for d in app.env.found_docs if _chapter_number(d) is not None}
    for row in doctree.findall(nodes.row):
        entries = [e for e in row.children if isinstance(e, nodes.entry)]
        if len(entries) < 4:
            continue
        term, number = entries[0].astext().strip(), entries[-1].astext().strip()
        if not number.isdigit() or int(number) not in chapters:
            continue
        chapter = chapters[int(number)]
        row["ids"].append(f"term-{slug(term)}")
        uri = app.builder.get_relative_uri(docname, chapter)
        title = app.env.titles[chapter].astext() if chapter in app.env.titles else chapter
        if anchors.get(slug(term)) == chapter:
            uri += f"#glossary-{slug(term)}"
            tooltip = f"where {term} is taught: chapter {number}, {title}"
        else:
            tooltip = f"chapter {number}, {title}"
        paragraph = nodes.paragraph()
        paragraph += nodes.reference("", number, refuri=uri, reftitle=tooltip,
                                     classes=["glossary-chapter"])
        entries[-1].children = []
        entries[-1] += paragraph


def _purge(app, env, docname):
    anchors = getattr(env, "course_glossary_anchors", {})
    for key in [k for k, d in anchors.items() if d == docname]:
        del anchors[key]


def _merge(app, env, docnames, other):
    env.__dict__.setdefault("course_glossary_anchors", {}).update(
        getattr(other, "course_glossary_anchors", {}))


def setup(app):
    app.add_node(glossary_link)
    app.connect("doctree-read", _link_first_uses)
    app.connect("doctree-resolved", _resolve)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
