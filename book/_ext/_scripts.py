"""Load a module from scripts/ (the project's command-line scripts) in a website extension.

scripts/ is not a package, so an extension that reuses a script's functions (the course
bundle's make_bundle.py, the Colab cell's colab_cell.py) loads the file by its path."""

import importlib.util
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


def load_script(name):
    """The module scripts/<name>.py, executed afresh."""
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
