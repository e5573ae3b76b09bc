"""Mark notebook figures wider than the content column, so the CSS can give them more room.

A figure of several panels (matplotlib's figsize 12-17 inches, 1200-1800 px at the inline
backend's 100 dpi) is scaled down to the 772 px a cell output has at 1400 px, and its tick
labels shrink to about 6 px. book/_static_css/course_nn.css lets an output marked here
extend over the right-hand margin (the page's table of contents) on wide screens, as
sphinx-book-theme's full-width cells do, so more of them are shown at a legible scale.

The width of a figure at 1x is read from the image node: the ``width`` that a retina PNG's
output metadata carries (course_nn/_display.py), otherwise the PNG's own pixel width.
"""

import struct
from pathlib import Path

from docutils import nodes

COLUMN_PX = 772  # a cell output's width at a 1400 px window (sphinx-book-theme 1.3)
CLASS = "wide-figure"


def _width_1x(app, docname, image):
    width = str(image.get("width", ""))
    if width.endswith("px"):
        width = width[:-2]
    if width.replace(".", "", 1).isdigit():
        return float(width)
    uri = image.get("uri", "")
    if not uri.endswith(".png"):
        return None
    path = Path(app.srcdir) / uri
    if not path.is_file():
        path = Path(app.srcdir) / Path(docname).parent / uri
    try:
        with open(path, "rb") as png:
            header = png.read(24)
    except OSError:
        return None
    if header[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    return float(struct.unpack(">I", header[16:20])[0])


def _mark(app, doctree, docname):
    for image in doctree.findall(nodes.image):
        output = image.parent
        while output is not None and "cell_output" not in output.get("classes", []):
            output = output.parent
        if output is None:
            continue
        width = _width_1x(app, docname, image)
        if width is not None and width > COLUMN_PX and CLASS not in output["classes"]:
            output["classes"].append(CLASS)


def setup(app):
    app.connect("doctree-resolved", _mark)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
