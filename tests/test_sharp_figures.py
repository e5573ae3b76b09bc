"""Figures are sharp: in a Jupyter kernel, importing course_nn makes matplotlib's inline
figures 2x ("retina") PNGs displayed at their usual size, and changes no text output that
nbval compares (src/course_nn/_display.py)."""

import base64
import struct
from pathlib import Path

import pytest

import course_nn as cn

BOOK = Path(__file__).resolve().parent.parent / "book"


def _run_in_kernel(source):
    """Execute one code cell in a fresh python3 kernel started in book/; returns its outputs."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source)]
    nbclient.NotebookClient(nb, kernel_name="python3", timeout=120,
                            resources={"metadata": {"path": str(BOOK)}}).execute()
    return nb.cells[0].outputs


def _png_size(data):
    png = base64.b64decode(data)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", png[16:24])


PLOT = "\nfig, ax = plt.subplots()\nax.plot([1, 2])\nax.set_xlabel('x')\nplt.show()\n"


@pytest.mark.parametrize("imports", ["import course_nn as cn\nimport matplotlib.pyplot as plt",
                                     "import matplotlib.pyplot as plt\nimport course_nn as cn"])
def test_inline_figures_are_retina_pngs_with_the_same_text(imports):
    (output,) = _run_in_kernel(imports + PLOT)
    assert "image/png" in output["data"], f"the kernel showed no picture at all: {output['data']}"
    assert output["data"]["text/plain"] == "<Figure size 640x480 with 1 Axes>"
    width, height = _png_size(output["data"]["image/png"])
    shown = output["metadata"]["image/png"]
    # rendered at twice the figure's dpi, shown at the 1x size (bbox_inches="tight" trims it)
    assert 400 < shown["width"] <= 640 and 300 < shown["height"] <= 480, shown
    assert abs(width - 2 * shown["width"]) <= 1 and abs(height - 2 * shown["height"]) <= 1


def test_a_readers_own_figure_format_is_kept():
    (output,) = _run_in_kernel("import matplotlib.pyplot as plt\n"
                               "%config InlineBackend.figure_formats = ['svg']\n"
                               "import course_nn as cn" + PLOT)
    assert "image/svg+xml" in output["data"] and "image/png" not in output["data"]


def test_outside_a_kernel_nothing_changes():
    assert cn.use_sharp_inline_figures() is False
