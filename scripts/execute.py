"""Execute chapters in place, as `jupyter execute --inplace` does, but keep no widget state.

    .venv/bin/python scripts/execute.py book/03_activations.ipynb [book/18_playground.ipynb ...]

`jupyter execute` stores the state of every widget a notebook created in the notebook's
metadata (`metadata.widgets`, nbclient's default ``store_widget_state=True``; its command
line passes no option to turn it off). The committed chapters must not carry it: the website
drops it anyway (book/_ext/no_widget_state.py), and in JupyterLab it describes models that no
running kernel has (issue 14 saw "widget model not found" on Run All). This script runs the same
executor (nbclient, a fresh kernel per notebook, the kernel started in the notebook's folder,
cells tagged ``skip-execution`` skipped, the first error stops it) with
``store_widget_state=False``, drops a state left from an earlier run, collapses the exercise
solutions for JupyterLab (scripts/collapse_solutions.py), and writes the notebook back in
nbformat's layout. tests/test_widget_state.py checks that no chapter stores widget state.

Options: --timeout seconds per cell (default 120, as the website build: a hang fails and
names the cell instead of waiting for ever); --metadata-only: execute nothing, only drop
the stored widget state and collapse the solutions (sources and outputs unchanged).
"""

import argparse
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from collapse_solutions import collapse  # noqa: E402


def execute(path, timeout=120, run=True):
    """Execute the notebook at ``path`` in place (only its metadata is tidied when ``run`` is
    false); return the NotebookNode written."""
    path = Path(path)
    notebook = nbformat.read(path, as_version=4)
    if run:
        client = NotebookClient(notebook, timeout=timeout, startup_timeout=60,
                                skip_cells_with_tag="skip-execution", allow_errors=False,
                                store_widget_state=False,
                                resources={"metadata": {"path": str(path.parent.absolute())}})
        client.execute()
    notebook.metadata.pop("widgets", None)
    collapse(notebook)
    nbformat.write(notebook, path)
    return notebook


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--timeout", type=int, default=120, help="seconds per cell (default 120)")
    parser.add_argument("--metadata-only", action="store_true",
                        help="execute nothing: drop widget state, collapse solutions")
    args = parser.parse_args(argv)
    for path in args.notebooks:
        print(f"{'tidying' if args.metadata_only else 'executing'} {path}", flush=True)
        execute(path, args.timeout, run=not args.metadata_only)
    return 0


if __name__ == "__main__":
    sys.exit(main())
