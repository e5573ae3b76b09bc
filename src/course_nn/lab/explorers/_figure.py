"""Figures for widgets: drawn without pyplot and shown as PNG bytes in an ipywidgets ``Image``.

Explorers and the playground show their figures this way rather than in an ``Output``
widget. An ``Output`` widget makes nbclient (the website build's executor) send a comm
message back to the kernel for every output while it waits for the cell's reply on the same
socket, and that race can lose the reply's wake-up: the cell then sits idle until the
execution timeout (jupyter/nbclient#312; reproduced by scripts/stall_check.py).
"""

import io


def new_figure(figsize):
    """A ``matplotlib.figure.Figure`` with an Agg canvas, outside pyplot's figure manager."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)
    return fig


def png(fig, dpi=90):
    """The figure rendered as PNG bytes (for ``ipywidgets.Image(format="png").value``)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()
