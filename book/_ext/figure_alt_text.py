"""Give every notebook figure real alt text: the caption paragraph that follows its cell.

The chapters put a caption (what to see in the figure) in the markdown right after each
plotting cell. myst-nb sets an output image's alt text to its file name; this extension
replaces it with the first sentences of that caption, for screen readers and for readers
whose images do not load.
"""

from docutils import nodes

LIMIT = 300


def _is_cell(node):
    return isinstance(node, nodes.container) and "cell" in node.get("classes", [])


def _caption_after(cell):
    parent = cell.parent
    if parent is None:
        return None
    siblings = parent.children
    for node in siblings[siblings.index(cell) + 1:]:
        if isinstance(node, nodes.paragraph):
            return node.astext()
        if _is_cell(node) or isinstance(node, nodes.section):
            return None
    return None


def _shorten(text):
    text = " ".join(text.split())
    if len(text) <= LIMIT:
        return text
    cut = text[:LIMIT]
    end = cut.rfind(". ")
    return cut[: end + 1] if end > 80 else cut.rsplit(" ", 1)[0] + "…"


def _set_alt(app, doctree, docname):
    for image in doctree.findall(nodes.image):
        alt = image.get("alt", "")
        if alt and not alt.endswith((".png", ".svg", ".jpg")) and alt != image.get("uri"):
            continue
        cell = image.parent
        while cell is not None and not _is_cell(cell):
            cell = cell.parent
        caption = _caption_after(cell) if cell is not None else None
        image["alt"] = _shorten(caption) if caption else "Figure produced by the code cell above."


def setup(app):
    app.connect("doctree-resolved", _set_alt)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
