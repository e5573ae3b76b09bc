"""Widget figures are sharp and shown at their natural size (course_nn.lab.explorers._figure).

JupyterLab's VBox stretches an ``Image`` widget to the output column unless the image has a
width: ``show`` gives it the figure's own width (inches x 90 CSS px) and a PNG with twice the
pixels, so it is sharp on 2x screens and neither enlarged nor blurred. tests/test_jupyterlab.py
measures the same in Chromium; this checks the bytes and the layout without a browser.
"""

import re
import struct
from pathlib import Path

import pytest

from course_nn.lab.explorers._figure import DPI, natural_width, new_figure, show

LAB = Path(__file__).resolve().parent.parent / "src" / "course_nn" / "lab"


def _png_size(data):
    assert bytes(data[:8]) == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", bytes(data[16:24]))


@pytest.mark.parametrize("figsize", [(6.5, 4.0), (11, 6.2), (4.8, 4.4)])
def test_show_sends_a_2x_png_at_the_figure_width(figsize):
    widgets = pytest.importorskip("ipywidgets")
    fig = new_figure(figsize)
    fig.add_subplot(1, 1, 1).plot([0, 1], [1, 0])
    image = widgets.Image(format="png")
    show(image, fig)
    assert image.layout.width == natural_width(fig) == f"{round(figsize[0] * DPI)}px"
    width, height = _png_size(image.value)
    assert (width, height) == (round(figsize[0] * 2 * DPI), round(figsize[1] * 2 * DPI))


def test_show_changes_the_layout_only_when_the_size_changes():
    widgets = pytest.importorskip("ipywidgets")
    fig = new_figure((5, 3))
    image = widgets.Image(format="png")
    sent = []
    image.layout.observe(lambda change: sent.append(change["new"]), names="width")
    show(image, fig)
    show(image, fig)
    fig.set_size_inches(6, 3)
    show(image, fig, dpi=80)
    assert sent == ["450px", "480px"]


def test_every_widget_figure_goes_through_show():
    """No explorer or playground sets an Image's value itself (it would be stretched)."""
    offenders = []
    for path in sorted(p for p in LAB.rglob("*.py") if p.name != "_figure.py"):
        text = path.read_text(encoding="utf-8")
        if re.search(r"\.value\s*=\s*png\(", text):
            offenders.append(path.name)
    assert not offenders, offenders


def test_playground_widget_shows_its_epoch():
    pytest.importorskip("ipywidgets")
    from course_nn.lab.playground import Playground

    panel = Playground(dataset="xor", hidden=(4,)).widget()
    counter = next(c for c in panel.children[0].children if "course-nn-epoch" in c._dom_classes)
    assert counter.value == "epoch 0"
    panel.children[0].children[0].value = 1          # one tick of the Play widget
    assert counter.value == "epoch 1"
    step = next(b for b in panel.children[0].children if getattr(b, "description", "") ==
                "step 10 epochs")
    step.click()
    assert counter.value == "epoch 11"
