"""Execute the chapters that display widgets many times and report any run that stalls.

Each run goes through the executor the website build uses (myst-nb's direct mode calls
jupyter-cache's ``single_nb_execution``, which runs nbclient with a fresh kernel, ``book/``
as working directory and the ``execute.timeout`` of ``_config.yml``). A run that takes more
than three times the median of its chapter, or that fails, is reported with its slowest
cell, so an intermittent hang (jupyter/nbclient#312) shows up as a number, not a feeling.

    .venv/bin/python scripts/stall_check.py                 # every widget chapter, 20 runs each
    .venv/bin/python scripts/stall_check.py --runs 5 book/18_playground.ipynb
    .venv/bin/python scripts/stall_check.py --jobs 2        # two kernels at once (2 cores)
    .venv/bin/python scripts/stall_check.py --demo --runs 20 --timeout 10   # see the cause

``--demo`` runs a one-cell notebook that prints 30 times into an ipywidgets ``Output``
widget instead of the chapters: nbclient answers each output with a comm message on the
shell socket while it awaits the cell's reply there, and some runs then idle for exactly the
timeout before "succeeding" (4 of 20 runs on this machine). The same loop drawing into an
``Image`` widget never stalled in 30 runs, which is why no chapter uses ``Output``.

Exit status 1 when any run failed or exceeded three times its chapter's median.
"""

import argparse
import concurrent.futures
import json
import os
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"


def widget_chapters():
    """Chapters with a cell tagged as a widget (``nbval-ignore-output``, see CONTRIBUTING.md)."""
    found = []
    for path in sorted(BOOK.glob("[0-9]*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        if any("nbval-ignore-output" in c.get("metadata", {}).get("tags", []) for c in cells):
            found.append(path)
    return found


DEMO_SOURCE = """import ipywidgets as w
from IPython.display import clear_output, display
out = w.Output()
display(out)
for i in range(30):
    with out:
        clear_output(wait=True)
        print(i)"""


def demo_notebook(folder):
    """Write the Output-widget demonstration notebook into ``folder``; return its path."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    nb = new_notebook(cells=[new_code_cell(DEMO_SOURCE), new_code_cell("print('done')")])
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = Path(folder) / "output_widget_demo.ipynb"
    nbformat.write(nb, path)
    return path


def build_timeout():
    """The per-cell timeout the website build uses (``execute.timeout`` in _config.yml)."""
    import yaml

    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    return config["execute"]["timeout"]


def _seconds(stamp):
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def run_once(path, timeout):
    """Execute one chapter with a fresh kernel.

    Returns (seconds, error, slowest, idle) where slowest = (wall seconds the executor waited
    for the cell, seconds the kernel was busy with it, cell index) and idle = the seconds, summed
    over the cells, that the executor waited beyond the kernel's busy time. A stalled cell waits
    far longer than its kernel was busy; a run that is slow only because the machine is loaded
    has a busy kernel and almost no idle time.
    """
    import nbformat
    from jupyter_cache.executors.utils import single_nb_execution

    nb = nbformat.read(path, as_version=4)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as scripts/setup.sh builds the book
    started, waited = {}, {}

    def on_cell_execute(cell, cell_index):
        started[cell_index] = time.perf_counter()

    def on_cell_executed(cell, cell_index, execute_reply):
        waited[cell_index] = time.perf_counter() - started[cell_index]

    start = time.perf_counter()
    result = single_nb_execution(nb, cwd=str(BOOK), timeout=timeout, allow_errors=False,
                                 record_timing=True, on_cell_execute=on_cell_execute,
                                 on_cell_executed=on_cell_executed)
    elapsed = time.perf_counter() - start
    slowest, idle = (0.0, 0.0, None), 0.0
    for index, wall in waited.items():
        stamps = result.nb.cells[index].get("metadata", {}).get("execution", {})
        busy = 0.0
        if "iopub.status.busy" in stamps and "iopub.status.idle" in stamps:
            busy = _seconds(stamps["iopub.status.idle"]) - _seconds(stamps["iopub.status.busy"])
        slowest = max(slowest, (wall, busy, index), key=lambda entry: entry[0])
        idle += max(0.0, wall - busy)
    error = None if result.err is None else f"{type(result.err).__name__}: {result.err}"[:300]
    return elapsed, error, slowest, idle


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every widget chapter")
    parser.add_argument("--runs", type=int, default=20, help="runs per chapter (default 20)")
    parser.add_argument("--jobs", type=int, default=1, help="kernels at once (default 1)")
    parser.add_argument("--demo", action="store_true",
                        help="run the Output-widget demonstration instead of the chapters")
    parser.add_argument("--timeout", type=int, default=None,
                        help="per-cell timeout in seconds (default: the build's, from _config.yml)")
    args = parser.parse_args(argv)
    if args.demo:
        import tempfile

        notebooks = [demo_notebook(tempfile.mkdtemp(prefix="stall_demo_"))]
    else:
        notebooks = [p.resolve() for p in args.notebooks] or widget_chapters()
    timeout = args.timeout or build_timeout()
    print(f"stall_check: {len(notebooks)} chapters x {args.runs} runs, per-cell timeout {timeout} s, "
          f"{args.jobs} at once", flush=True)

    runs = {path: [] for path in notebooks}
    jobs = [(path, i) for i in range(args.runs) for path in notebooks]  # interleaved
    with concurrent.futures.ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = {pool.submit(run_once, path, timeout): (path, i) for path, i in jobs}
        for future in concurrent.futures.as_completed(futures):
            path, i = futures[future]
            elapsed, error, (wall, busy, cell_index), idle = future.result()
            runs[path].append((elapsed, error, wall, busy, cell_index, idle))
            status = "FAILED " + error if error else "ok"
            print(f"  {path.name} run {i + 1}: {elapsed:6.1f} s (slowest cell {cell_index}: "
                  f"waited {wall:.1f} s, kernel busy {busy:.1f} s; idle in all {idle:.1f} s) "
                  f"{status}", flush=True)

    bad = 0
    print(f"\n{'chapter':32} {'runs':>4} {'median':>7} {'max':>7} {'max/median':>10} "
          f"{'max idle':>8}  verdict")
    for path, results in runs.items():
        times = [r[0] for r in results]
        median = statistics.median(times)
        worst = max(results, key=lambda r: r[0])
        outliers = [r for r in results if r[0] > 3 * median or r[1]]
        bad += len(outliers)
        verdict = "ok"
        if outliers:
            # idle time (waiting while the kernel was not busy) is the stall's signature; a
            # busy kernel means the machine was loaded, which this check cannot tell apart
            # from a slow chapter, so it still fails: rerun on a quiet machine
            kind = ("stalled (the executor waited while the kernel was idle)"
                    if max(r[5] for r in outliers) > 1.0 else
                    "slow with the kernel busy: machine load, not a stall")
            verdict = (f"{len(outliers)} over 3x the median or failed: {kind}; worst: cell "
                       f"{worst[4]} waited {worst[2]:.1f} s, kernel busy {worst[3]:.1f} s")
        print(f"{path.name:32} {len(times):4d} {median:6.1f}s {worst[0]:6.1f}s "
              f"{worst[0] / median:10.2f} {max(r[5] for r in results):7.1f}s  {verdict}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
