"""Chapter 2 explorer: one sigmoid neuron with two inputs over the plane.

Move w1, w2 and b and watch the decision boundary (z = 0, output 0.5) turn and slide. The
figure is drawn on a ``matplotlib.figure.Figure`` and shown as a PNG in an ipywidgets
``Image``: no ``Output`` widget, so a notebook executed without a browser (the website build,
nbval) gets no output messages to route back to the kernel (see scripts/stall_check.py).

    from course_nn.lab.explorers.neuron import neuron_explorer
    neuron_explorer()        # in a notebook: sliders for w1, w2 and b
"""

import numpy as np

from ..._validate import check_allocation, check_int, check_number
from ...activations import Sigmoid
from ...linear import Linear
from ._figure import new_figure, show

RANGES = {"w1": (-3.0, 3.0), "w2": (-3.0, 3.0), "b": (-4.0, 4.0)}


def neuron_surface(w1, w2, b, grid_size=121, extent=3.0):
    """sigmoid(w1 x1 + w2 x2 + b) on a square grid.

    Returns (X1, X2, A), each of shape (grid_size, grid_size): the grid coordinates and the
    neuron's output at every point, computed as one (grid_size**2, 2) batch through a Linear
    layer and a Sigmoid. |w1|, |w2|, |b| <= 1e100; grid_size >= 2 (an int); extent > 0.
    """
    w1, w2, b = (check_number(v, name, low=-1e100, high=1e100)
                 for v, name in ((w1, "w1"), (w2, "w2"), (b, "b")))
    grid_size = check_int(grid_size, "grid_size", low=2)
    extent = check_number(extent, "extent", low=0, high=1e300, low_open=True)
    check_allocation((4, grid_size, grid_size), np.float64, "neuron_surface")
    g = np.linspace(-extent, extent, grid_size)
    X1, X2 = np.meshgrid(g, g)
    layer = Linear.from_weights([[w1, w2]], [b])
    A = Sigmoid()(layer(np.column_stack([X1.ravel(), X2.ravel()]))).reshape(X1.shape)
    return X1, X2, A


def draw_neuron(ax, w1, w2, b):
    """Draw the neuron's output as filled contours, its boundary and its weight vector."""
    X1, X2, A = neuron_surface(w1, w2, b)
    ax.clear()
    ax.contourf(X1, X2, A, levels=np.linspace(0, 1, 11), cmap="RdBu_r")
    if A.min() < 0.5 < A.max():  # the boundary crosses the shown square
        ax.contour(X1, X2, A, levels=[0.5], colors="black")
    if w1 or w2:
        ax.annotate("", xy=(w1, w2), xytext=(0, 0), arrowprops=dict(arrowstyle="->", lw=2))
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_title(f"sigmoid({w1:.1f} x1 + {w2:.1f} x2 + {b:.1f})")
    ax.set_aspect("equal")


def neuron_explorer(w1=1.0, w2=2.0, b=0.0):
    """An ipywidgets VBox with sliders for w1, w2, b and the neuron's output as a PNG.

    The returned widget carries ``.fig``, ``.ax``, ``.controls`` (a dict "w1", "w2", "b")
    and ``.redraw()``; moving a slider redraws.
    """
    import ipywidgets as widgets

    values = {"w1": w1, "w2": w2, "b": b}
    controls = {}
    for name, (low, high) in RANGES.items():
        value = check_number(values[name], name, low=low, high=high)
        controls[name] = widgets.FloatSlider(value=value, min=low, max=high, step=0.1,
                                             description=name)
    fig = new_figure((4.8, 4.4))
    ax = fig.add_subplot(1, 1, 1)
    image = widgets.Image(format="png")

    def redraw(_change=None):
        draw_neuron(ax, controls["w1"].value, controls["w2"].value, controls["b"].value)
        fig.tight_layout()
        show(image, fig)

    for control in controls.values():
        control.observe(redraw, names="value")
    redraw()
    box = widgets.VBox([widgets.HBox(list(controls.values())), image])
    box.fig, box.ax, box.controls, box.redraw = fig, ax, controls, redraw
    return box
