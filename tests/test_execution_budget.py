"""The website build fails loudly on a slow or stalled chapter instead of waiting in silence.

Two guards, each checked with a small Sphinx + myst-nb build of a one-notebook project: the
per-cell timeout (a cell that hangs fails the build and the log names it), and the chapter
budget of book/_ext/execution_budget.py (a stall that nbclient survives after the full
timeout, jupyter/nbclient#312, still fails the build).
"""

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("myst_nb")
nbformat = pytest.importorskip("nbformat")

EXT = Path(__file__).resolve().parent.parent / "book" / "_ext"


def _project(tmp_path, source, timeout, budget):
    """A one-chapter Jupyter Book configured as ours is (force execution, raise on error)."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Slow"),
                                         nbformat.v4.new_code_cell(source)])
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, tmp_path / "slow.ipynb")
    (tmp_path / "index.md").write_text("# Index\n")
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: index\nchapters:\n- file: slow\n")
    (tmp_path / "_config.yml").write_text(textwrap.dedent(f"""
        title: budget test
        execute:
          execute_notebooks: force
          timeout: {timeout}
        sphinx:
          local_extensions:
            execution_budget: {EXT}
          config:
            nb_execution_raise_on_error: true
            nb_execution_budget: {budget}
    """))


def _build(tmp_path):
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    return subprocess.run([str(jupyter_book), "build", str(tmp_path), "-W", "--keep-going"],
                          capture_output=True, text=True, timeout=300)


def test_chapter_over_its_budget_fails_the_build(tmp_path):
    _project(tmp_path, "import time\ntime.sleep(3)\nprint('slow but done')", timeout=60, budget=1)
    result = _build(tmp_path)
    assert result.returncode != 0
    log = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout + result.stderr)
    assert re.search(r"slow: executed in \d+ s, over the 1 s budget per chapter", log), log[-2000:]


def test_chapter_within_its_budget_builds(tmp_path):
    _project(tmp_path, "print('quick')", timeout=60, budget=60)
    result = _build(tmp_path)
    assert result.returncode == 0, result.stderr


def test_hanging_cell_fails_the_build_and_is_named(tmp_path):
    _project(tmp_path, "import time\ntime.sleep(600)  # the hanging cell", timeout=2, budget=60)
    result = _build(tmp_path)
    assert result.returncode != 0
    assert "time.sleep(600)  # the hanging cell" in result.stderr + result.stdout
    assert "Cell execution timed out" in result.stderr + result.stdout
