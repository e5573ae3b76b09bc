"""No chapter stores widget state, and scripts/execute.py executes without storing it.

`jupyter execute --inplace` keeps every widget's state in the notebook's metadata
(``metadata.widgets``): tens to hundreds of kilobytes of models that no running kernel has.
scripts/execute.py runs the same executor with
``store_widget_state=False`` (and collapses the exercise solutions).
"""

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb"))

spec = importlib.util.spec_from_file_location("execute_script", ROOT / "scripts" / "execute.py")
execute_script = importlib.util.module_from_spec(spec)
spec.loader.exec_module(execute_script)


def test_no_chapter_stores_widget_state():
    stored = [p.name for p in CHAPTERS
              if "widgets" in json.loads(p.read_text(encoding="utf-8"))["metadata"]]
    assert not stored, (f"widget state stored in {stored}: re-execute with scripts/execute.py "
                        "(or drop it: scripts/execute.py --metadata-only <notebooks>)")


def _notebook():
    cells = [
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
         "source": "import ipywidgets\nipywidgets.IntSlider(value=3)"},
        {"cell_type": "markdown", "metadata": {},
         "source": "```{solution-start} ex-x-y\n:class: dropdown\n```"},
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
         "source": "print(1 + 1)"},
        {"cell_type": "markdown", "metadata": {}, "source": "```{solution-end}\n```"},
    ]
    for i, cell in enumerate(cells):
        cell["id"] = f"cell-{i}"
    return {"nbformat": 4, "nbformat_minor": 5, "cells": cells,
            "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                        "language": "python"},
                         "widgets": {"application/vnd.jupyter.widget-state+json": {}}}}


def test_execute_script_stores_no_widget_state(tmp_path):
    pytest.importorskip("ipywidgets")
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(_notebook()), encoding="utf-8")
    execute_script.execute(path, timeout=60)
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert "widgets" not in nb["metadata"]
    assert nb["cells"][0]["outputs"], "the widget cell ran"
    assert "".join(nb["cells"][2]["outputs"][0]["text"]) == "2\n"
    assert nb["cells"][2]["metadata"]["jupyter"] == {"source_hidden": True, "outputs_hidden": True}


def test_metadata_only_changes_nothing_else(tmp_path):
    path = tmp_path / "nb.ipynb"
    original = _notebook()
    path.write_text(json.dumps(original), encoding="utf-8")
    execute_script.execute(path, run=False)   # nbformat adds cell ids, splits sources in lines
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert "widgets" not in nb["metadata"]
    assert ["".join(c["source"]) for c in nb["cells"]] == [c["source"] for c in original["cells"]]
    assert all(c.get("outputs", []) == [] for c in nb["cells"])
