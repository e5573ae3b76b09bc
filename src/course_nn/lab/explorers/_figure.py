"""Figures for widgets: drawn without pyplot and shown as PNG bytes in an ipywidgets ``Image``.

Explorers and the playground show their figures this way rather than in an ``Output``
widget. An ``Output`` widget makes nbclient (the website build's executor) send a comm
message back to the kernel for every output while it waits for the cell's reply on the same
socket, and that race can lose the reply's wake-up: the cell then sits idle until the
execution timeout (jupyter/nbclient#312; reproduced by scripts/stall_check.py).

``show(image, fig)`` is how a figure reaches the widget: a 2x PNG (sharp on high-density
screens) whose CSS width is the figure's natural size, figure inches x ``dpi`` pixels.
Without that width JupyterLab stretches the image to the output column (a ``VBox`` is a flex
column that stretches its children), so a small figure came out enlarged and blurry; a
figure wider than the column still shrinks to fit it (``max-width: 100%``, height auto).
"""

import io

DPI = 90
"""CSS pixels per figure inch in the widgets (the PNG itself has twice as many)."""


def new_figure(figsize):
    """A ``matplotlib.figure.Figure`` with an Agg canvas, outside pyplot's figure manager."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)
    return fig


def png(fig, dpi=DPI):
    """The figure rendered as PNG bytes (for ``ipywidgets.Image(format="png").value``)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def natural_width(fig, dpi=DPI):
    """The figure's width on screen in CSS pixels: its width in inches times ``dpi``."""
    return f"{round(fig.get_figwidth() * dpi)}px"


def show(image, fig, dpi=DPI):
    """Show ``fig`` in the ``ipywidgets.Image`` ``image``: a PNG at 2 x ``dpi`` drawn at the
    figure's natural width (``natural_width``), not stretched to the output area."""
    width = natural_width(fig, dpi)
    if image.layout.width != width:      # a layout change is one more message: only when needed
        image.layout.width = width
    image.value = png(fig, dpi=2 * dpi)
