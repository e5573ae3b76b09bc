"""Exercise solutions start collapsed in JupyterLab (scripts/collapse_solutions.py).

The script marks every code cell between a {solution-start} and a {solution-end} markdown
cell with JupyterLab's ``jupyter.source_hidden`` / ``outputs_hidden`` metadata and nothing
else; these tests pin which cells it finds, that it is idempotent, that --check reports
without writing, that the text twins neither carry the metadata nor lose it through a
jupytext sync, and that every chapter is collapsed.
"""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "collapse_solutions.py"
CHAPTERS = sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb"))

spec = importlib.util.spec_from_file_location("collapse_solutions", SCRIPT)
cs = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cs)


def _md(text):
    return {"cell_type": "markdown", "metadata": {}, "source": text}


def _code(text, **metadata):
    return {"cell_type": "code", "metadata": dict(metadata), "source": text, "outputs": [],
            "execution_count": None}


def _notebook():
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        _md("```{exercise} One\n:label: ex-a-one\nDo it.\n```"),
        _code("def f():\n    raise NotImplementedError", tags=["learner"]),           # 1
        _md("```{admonition} Hint\n:class: dropdown\nThink.\n```\n\n"
            "```{solution-start} ex-a-one\n:class: dropdown\n```"),
        _code("def f():\n    return 1", tags=["keep-me"]),                            # 3
        _code("check('a.one', f)"),                                                   # 4
        _md("```{solution-end}\n```\n\n```{exercise} Two\n:label: ex-a-two\n```"),
        _code("def g():\n    raise NotImplementedError",
              jupyter={"source_hidden": True}),                                        # 6
        _md(":::{solution-start} ex-a-two\n:class: dropdown\n:::"),
        _code("def g():\n    return 2"),                                               # 8
        _md(":::{solution-end}\n:::"),
        _code("print('after')"),                                                      # 10
        _md("A code block that mentions it: `{solution-start}` is not a directive."),
        _code("print('still outside')"),                                              # 12
    ]}


def test_finds_the_code_cells_between_start_and_end():
    assert cs.solution_cells(_notebook()["cells"]) == [3, 4, 8]


def test_collapse_marks_solutions_only_and_is_idempotent():
    nb = _notebook()
    assert cs.collapse(nb) == 4                     # three solution cells, one stray collapse
    cells = nb["cells"]
    for i in (3, 4, 8):
        assert cells[i]["metadata"]["jupyter"] == {"source_hidden": True, "outputs_hidden": True}
    assert cells[3]["metadata"]["tags"] == ["keep-me"]          # other metadata kept
    assert "jupyter" not in cells[6]["metadata"]                # a learner cell is opened
    assert all("jupyter" not in cells[i]["metadata"] for i in (1, 10, 12))
    assert [c["source"] for c in cells] == [c["source"] for c in _notebook()["cells"]]
    assert cs.problems(nb) == []
    snapshot = json.dumps(nb, sort_keys=True)
    assert cs.collapse(nb) == 0 and json.dumps(nb, sort_keys=True) == snapshot


def test_problems_name_each_cell():
    assert cs.problems(_notebook()) == [
        (3, "solution code cell not collapsed"), (4, "solution code cell not collapsed"),
        (6, "collapsed, but not a solution"), (8, "solution code cell not collapsed")]


def _run(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)],
                          capture_output=True, text=True)


def test_check_mode_reports_and_writes_nothing(tmp_path):
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(_notebook(), indent=1, sort_keys=True) + "\n", encoding="utf-8")
    before = path.read_bytes()
    result = _run("--check", path)
    assert result.returncode == 1 and "cell 3: solution code cell not collapsed" in result.stdout
    assert path.read_bytes() == before
    assert _run(path).returncode == 0
    assert _run("--check", path).returncode == 0
    after = path.read_bytes()
    assert _run(path).returncode == 0 and path.read_bytes() == after       # idempotent on disk


def test_twins_do_not_carry_it_and_a_sync_keeps_it(tmp_path):
    """jupytext pairs each chapter with a twin that keeps only cell tags: the collapse
    metadata stays out of the twin, and syncing an edited twin into the notebook keeps it
    (also on a solution cell whose code changed)."""
    jupytext = Path(sys.executable).parent / "jupytext"
    chapter = next(p for p in CHAPTERS if cs.solution_cells(
        json.loads(p.read_text(encoding="utf-8"))["cells"]))
    (tmp_path / "twins").mkdir()
    notebook = tmp_path / chapter.name
    twin = tmp_path / "twins" / f"{chapter.stem}.md"
    shutil.copy2(chapter, notebook)
    shutil.copy2(ROOT / "book" / "twins" / twin.name, twin)
    subprocess.run([sys.executable, str(SCRIPT), str(notebook)], check=True, capture_output=True)
    subprocess.run([str(jupytext), "--sync", str(notebook)], check=True, capture_output=True)
    assert "source_hidden" not in twin.read_text(encoding="utf-8")
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    first = cs.solution_cells(cells)[0]
    source = "".join(cells[first]["source"])
    text = twin.read_text(encoding="utf-8")
    assert text.count(source) == 1
    twin.write_text(text.replace(source, "# edited in the twin\n" + source), encoding="utf-8")
    later = notebook.stat().st_mtime + 2          # the twin is the newer file: jupytext syncs from it
    os.utime(twin, (later, later))
    subprocess.run([str(jupytext), "--sync", str(twin)], check=True, capture_output=True)
    synced = json.loads(notebook.read_text(encoding="utf-8"))
    assert "# edited in the twin" in "".join(synced["cells"][first]["source"])
    assert cs.problems(synced) == []


def test_every_chapter_has_its_solutions_collapsed():
    result = _run("--check", *CHAPTERS)
    assert result.returncode == 0, result.stdout
