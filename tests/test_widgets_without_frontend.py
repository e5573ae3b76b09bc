"""Widget cells execute without a front end and without stalling.

The website build executes notebooks with nbclient. For every output that lands in an
ipywidgets ``Output`` widget, nbclient's stand-in for the front end sends a comm message back
to the kernel on the shell socket while it awaits the cell's reply on that same socket; that
race can lose the reply's wake-up, and the cell then sits idle until the execution timeout
(jupyter/nbclient#312; ``scripts/stall_check.py`` reproduces it). So the explorers and the
playground show figures as PNGs in ``Image`` widgets and never use ``Output`` or ``interact``
(which creates an ``Output``).
"""

import json
import re
from pathlib import Path

import pytest

widgets = pytest.importorskip("ipywidgets")

import matplotlib  # noqa: E402

matplotlib.use("Agg")

from course_nn.lab.explorers import activations, initialization, kernels, losses, neuron, optimizers, rnn  # noqa: E402  # noqa: E402
from course_nn.lab.playground import Playground  # noqa: E402

BOOK = Path(__file__).resolve().parent.parent / "book"
SRC = Path(__file__).resolve().parent.parent / "src" / "course_nn"

ENTRY_POINTS = {
    "activation_explorer": activations.activation_explorer,
    "init_explorer": lambda: initialization.init_explorer(depth=3, width=16),
    "kernel_explorer": kernels.kernel_explorer,
    "loss_explorer": losses.loss_explorer,
    "softmax_explorer": losses.softmax_explorer,
    "neuron_explorer": neuron.neuron_explorer,
    "optimizer_explorer": optimizers.optimizer_explorer,
    "rnn_gradient_explorer": rnn.rnn_gradient_explorer,
    "Playground.widget": lambda: Playground(dataset="xor", hidden=(4,)).widget(),
}


def _walk(widget):
    if not isinstance(widget, widgets.Widget):  # an explorer object that displays .widget
        widget = widget.widget
    yield widget
    for child in getattr(widget, "children", ()):
        yield from _walk(child)


@pytest.mark.parametrize("name", sorted(ENTRY_POINTS))
def test_widget_shows_its_figure_as_an_image_not_an_output(name):
    box = ENTRY_POINTS[name]()
    found = list(_walk(box))
    assert not [w for w in found if isinstance(w, widgets.Output)], f"{name} uses an Output widget"
    images = [w for w in found if isinstance(w, widgets.Image)]
    assert images and all(bytes(w.value[:4]) == b"\x89PNG" for w in images)


def test_no_chapter_or_module_creates_output_widgets():
    pattern = re.compile(r"\b(interact|interactive|interact_manual|Output)\s*\(")
    offenders = []
    for path in sorted(BOOK.glob("*.ipynb")):
        for i, cell in enumerate(json.loads(path.read_text())["cells"]):
            if cell["cell_type"] == "code" and pattern.search("".join(cell["source"])):
                offenders.append(f"{path.name} cell {i}")
    for path in sorted(SRC.rglob("*.py")):
        code = "\n".join(line for line in path.read_text().splitlines()
                         if not line.lstrip().startswith("#"))
        if pattern.search(code.replace('"""', "")) and "ipywidgets" in code:
            offenders.append(str(path.relative_to(SRC)))
    assert not offenders, f"Output/interact widgets stall nbclient: {offenders}"
