"""Sharp figures in Jupyter: matplotlib's inline figures become 2x ("retina") PNGs.

Importing course_nn inside an IPython kernel switches the inline backend's figure format
from "png" to "retina", but only while it is still the default (a reader's own
``InlineBackend.figure_formats`` setting is kept). Each figure is then rendered at twice its
dpi and displayed at its usual size (the output carries ``width``/``height`` metadata), so it
stays sharp on high-density screens and on the website, where a wide figure is scaled down to
the column. Nothing else changes: the figure's text form (``<Figure size 640x480 with 1
Axes>``), which nbval compares, is the same. Outside a kernel (scripts, pytest) this does
nothing.

Why here: IPython no longer reads an ``ipython_kernel_config.py`` from the working directory,
and a ``matplotlibrc`` cannot choose the inline format (``figure.dpi`` would change the text
form); every chapter imports course_nn in its first cell, so this reaches every chapter, in
the website build, in nbval and in a reader's JupyterLab alike.
"""

import sys


def use_sharp_inline_figures():
    """In a Jupyter kernel, show matplotlib figures as 2x PNGs; elsewhere do nothing.

    Returns True when the kernel's inline figures are retina PNGs after the call.
    """
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None or getattr(shell, "kernel", None) is None:
        return False
    try:
        from matplotlib_inline.config import InlineBackend
    except ImportError:
        return False
    backend = InlineBackend.instance(parent=shell)
    if backend.figure_formats == {"png"}:
        # applied now if the inline backend is active (its observer re-registers the
        # formatters), otherwise when pyplot is first imported (configure_inline_support)
        backend.figure_formats = {"retina"}
    return "retina" in backend.figure_formats
