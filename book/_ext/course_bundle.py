"""The downloadable course bundle: built with the website, linked from every page.

At the end of an HTML build this writes `course_nn-bundle.zip` at the site's root with
scripts/make_bundle.py (course_nn's wheel, the chapter notebooks, requirements and a README
with the two commands). Every page gets a "course bundle" entry in its download menu (the
header's download icon), and the role {bundle}`text` makes a link to it in a page's text
(the landing page's "Run it yourself"). `course_bundle: false` in Sphinx's config skips
building the zip (the links stay).
"""

from pathlib import Path

from _scripts import load_script  # book/_ext is on sys.path, as for every local extension
from docutils import nodes
from sphinx.util import logging
from sphinx.util.osutil import relative_uri

logger = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[2]
ZIP_NAME = "course_nn-bundle.zip"
LABEL = "download-bundle-button"


class bundle_link(nodes.reference):
    """A link to the bundle; its relative address is filled in when the page is written."""


def _bundle_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    node = bundle_link(rawtext, text or ZIP_NAME, classes=["course-bundle-link"])
    return [node], []


def _resolve_links(app, doctree, docname):
    if app.builder.format != "html":
        return
    uri = relative_uri(app.builder.get_target_uri(docname), ZIP_NAME)
    for node in list(doctree.findall(bundle_link)):
        node.replace_self(nodes.reference(node.rawsource, node.astext(), refuri=uri,
                                          classes=node["classes"]))


def _add_button(app, pagename, templatename, context, doctree):
    if "header_buttons" not in context:
        return
    button = {"type": "link", "url": context["pathto"](ZIP_NAME, 1), "text": "course bundle (.zip)",
              "tooltip": "Download the whole course to run it: course_nn, every chapter notebook,"
                         " a README with the two commands",
              "icon": "fas fa-file-zipper", "label": LABEL}
    groups = [b for b in context["header_buttons"] if b.get("label") == "download-buttons"]
    if groups:
        groups[0]["buttons"].insert(0, button)
    else:
        context["header_buttons"].insert(0, {"type": "group", "tooltip": "Download",
                                             "icon": "fas fa-download", "buttons": [button],
                                             "label": "download-buttons"})


def _build_bundle(app, exception):
    if exception is not None or app.builder.format != "html" or not app.config.course_bundle:
        return
    notebooks = sorted(Path(app.env.doc2path(doc)) for doc in app.env.found_docs
                       if str(app.env.doc2path(doc)).endswith(".ipynb"))
    project = Path(app.srcdir) if (Path(app.srcdir) / "pyproject.toml").is_file() else ROOT
    path = load_script("make_bundle").build(app.outdir, notebooks, project=project)
    logger.info(f"course bundle: {path} ({len(notebooks)} notebooks)")


def setup(app):
    app.add_config_value("course_bundle", True, "html", types=(bool,))
    app.add_node(bundle_link)
    app.add_role("bundle", _bundle_role)
    app.connect("doctree-resolved", _resolve_links)
    # after sphinx-book-theme has assembled the header buttons (its handlers run at 501)
    app.connect("html-page-context", _add_button, priority=502)
    app.connect("build-finished", _build_bundle)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
