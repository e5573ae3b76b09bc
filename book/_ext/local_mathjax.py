"""Serve MathJax from the built site instead of a CDN, so the book's formulas render offline.

MathJax 3's browser build ships inside the PyPI package django-static-mathjax (static files
only, no dependencies). This extension points Sphinx's ``mathjax_path`` at a copy under
``_static/mathjax`` and copies the parts a page loads: the tex-mml-chtml bundle, its fonts,
and the lazily loaded input, output, UI and accessibility components. Without the package
the book falls back to Sphinx's default CDN address.
"""

import shutil
from pathlib import Path

BUNDLE = "tex-mml-chtml.js"
PARTS = ("input", "output", "ui", "a11y", "adaptors")


def _es5_dir():
    try:
        import mathjax
    except ImportError:
        return None
    path = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"
    return path if (path / BUNDLE).is_file() else None


def _use_local_copy(app, config):
    if _es5_dir() is not None:
        config.mathjax_path = f"mathjax/{BUNDLE}"


def _copy(app, exception):
    source = _es5_dir()
    if exception is not None or source is None or app.builder.format != "html":
        return
    target = Path(app.outdir) / "_static" / "mathjax"
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source / BUNDLE, target / BUNDLE)
    for part in PARTS:
        if (source / part).is_dir():
            shutil.copytree(source / part, target / part, dirs_exist_ok=True)


def setup(app):
    app.connect("config-inited", _use_local_copy)
    app.connect("build-finished", _copy)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
