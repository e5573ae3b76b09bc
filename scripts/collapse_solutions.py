"""Collapse every exercise solution's code cell in JupyterLab; check that it is collapsed.

    .venv/bin/python scripts/collapse_solutions.py book/03_activations.ipynb ...   # set it
    .venv/bin/python scripts/collapse_solutions.py --check book/*.ipynb            # only check

On the website a solution sits in a collapsed dropdown ({solution-start} with
``:class: dropdown``); in JupyterLab, jupyterlab-myst draws that markdown cell as a collapsed
box too, but the code cell after it, the solution itself, would be shown in full below the
exercise. JupyterLab's own cell metadata hides it: ``"jupyter": {"source_hidden": true,
"outputs_hidden": true}`` shows the cell as a one-line bar that a click opens.

A solution code cell is every code cell between a markdown cell that opens a solution
(```{solution-start} ...``` or :::{solution-start}) and the markdown cell that closes it
({solution-end}); a markdown cell may close one solution and open the next exercise.
Every other code cell must not be collapsed: the script opens a code cell collapsed
by this metadata outside any solution (a solution cell that was moved, say).

Only the notebook's metadata changes; sources, outputs, tags and the cell ids stay, and the
file is written in the same format (nbformat's one-space JSON). Running it twice changes
nothing. The text twins (book/twins/*.md) do not carry this metadata (their jupytext
filter keeps only tags), and jupytext keeps a cell's other metadata when it syncs a twin
into the notebook; a solution cell whose source changed enough for jupytext to see a new
cell loses it, which --check (tests/test_collapse_solutions.py) then reports.

Exit status: 0 when every notebook is (or, without --check, now is) as described, 1 with
--check when one is not (each file and cell is listed).
"""

import argparse
import json
import re
import sys
from pathlib import Path

HIDDEN = {"source_hidden": True, "outputs_hidden": True}
_MARKER = re.compile(r"^\s*(?:`{3,}|:{3,})\{(solution-start|solution-end)\}", re.MULTILINE)


def solution_cells(cells):
    """Indices of the code cells inside a {solution-start} ... {solution-end} pair."""
    inside, found = False, []
    for i, cell in enumerate(cells):
        source = "".join(cell.get("source", ""))
        if cell["cell_type"] == "markdown":
            for marker in _MARKER.findall(source):
                inside = marker == "solution-start"
        elif cell["cell_type"] == "code" and inside:
            found.append(i)
    return found


def _is_hidden(cell):
    jupyter = cell.get("metadata", {}).get("jupyter", {})
    return all(jupyter.get(k) is True for k in HIDDEN)


def _collapsed_at_all(cell):
    jupyter = cell.get("metadata", {}).get("jupyter", {})
    return any(jupyter.get(k) for k in HIDDEN)


def problems(notebook):
    """(cell index, what is wrong) for every cell that is not as it should be."""
    cells = notebook["cells"]
    solutions = set(solution_cells(cells))
    found = []
    for i, cell in enumerate(cells):
        if i in solutions and not _is_hidden(cell):
            found.append((i, "solution code cell not collapsed"))
        elif i not in solutions and cell["cell_type"] == "code" and _collapsed_at_all(cell):
            found.append((i, "collapsed, but not a solution"))
    return found


def collapse(notebook):
    """Set the metadata in place; return the number of cells changed."""
    cells = notebook["cells"]
    solutions = set(solution_cells(cells))
    changed = 0
    for i, cell in enumerate(cells):
        metadata = cell.setdefault("metadata", {})
        jupyter = metadata.get("jupyter", {})
        if i in solutions and not _is_hidden(cell):
            metadata["jupyter"] = {**jupyter, **HIDDEN}
        elif i not in solutions and cell["cell_type"] == "code" and _collapsed_at_all(cell):
            rest = {k: v for k, v in jupyter.items() if k not in HIDDEN}
            if rest:
                metadata["jupyter"] = rest
            else:
                del metadata["jupyter"]
        else:
            continue
        changed += 1
    return changed


def _write(path, notebook):
    # nbformat's layout (sorted keys), so a later `jupyter execute` rewrites the file unchanged
    path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False, sort_keys=True) + "\n",
                    encoding="utf-8")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 if a notebook is not as described")
    args = parser.parse_args(argv)
    bad = 0
    for path in args.notebooks:
        notebook = json.loads(path.read_text(encoding="utf-8"))
        if args.check:
            for i, what in problems(notebook):
                print(f"{path}: cell {i}: {what}")
                bad += 1
        else:
            changed = collapse(notebook)
            if changed:
                _write(path, notebook)
                print(f"{path}: {changed} cell(s) changed")
    if bad:
        print(f"{bad} cell(s) to fix: .venv/bin/python scripts/collapse_solutions.py "
              "<the notebooks above>")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
