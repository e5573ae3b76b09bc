"""Execute the chapters that display widgets many times and report any run that stalls.

Each run goes through the executor the website build uses (myst-nb's direct mode calls
jupyter-cache's ``single_nb_execution``, which runs nbclient with a fresh kernel, ``book/``
as working directory and the ``execute.timeout`` of ``_config.yml``). A run that takes more
than three times the median of its chapter, or that fails, is reported with its slowest
cell, so an intermittent hang (jupyter/nbclient#312) shows up as a number, not a feeling.

    .venv/bin/python scripts/stall_check.py                 # every widget chapter, 20 runs each
    .venv/bin/python scripts/stall_check.py --runs 5 book/18_playground.ipynb
    .venv/bin/python scripts/stall_check.py --jobs 2        # two kernels at once (2 cores)

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


def build_timeout():
    """The per-cell timeout the website build uses (``execute.timeout`` in _config.yml)."""
    import yaml

    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    return config["execute"]["timeout"]


def _seconds(stamp):
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def run_once(path, timeout):
    """Execute one chapter with a fresh kernel; return (seconds, error, slowest cell)."""
    import nbformat
    from jupyter_cache.executors.utils import single_nb_execution

    nb = nbformat.read(path, as_version=4)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as scripts/setup.sh builds the book
    start = time.perf_counter()
    result = single_nb_execution(nb, cwd=str(BOOK), timeout=timeout, allow_errors=False,
                                 record_timing=True)
    elapsed = time.perf_counter() - start
    slowest = (0.0, None)
    for index, cell in enumerate(result.nb.cells):
        stamps = cell.get("metadata", {}).get("execution", {})
        if "iopub.status.busy" in stamps and "iopub.status.idle" in stamps:
            took = _seconds(stamps["iopub.status.idle"]) - _seconds(stamps["iopub.status.busy"])
            slowest = max(slowest, (took, index), key=lambda pair: pair[0])
    error = None if result.err is None else f"{type(result.err).__name__}: {result.err}"[:300]
    return elapsed, error, slowest


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every widget chapter")
    parser.add_argument("--runs", type=int, default=20, help="runs per chapter (default 20)")
    parser.add_argument("--jobs", type=int, default=1, help="kernels at once (default 1)")
    parser.add_argument("--timeout", type=int, default=None,
                        help="per-cell timeout in seconds (default: the build's, from _config.yml)")
    args = parser.parse_args(argv)
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
            elapsed, error, (cell_time, cell_index) = future.result()
            runs[path].append((elapsed, error, cell_time, cell_index))
            status = "FAILED " + error if error else "ok"
            print(f"  {path.name} run {i + 1}: {elapsed:6.1f} s (slowest cell {cell_index}: "
                  f"{cell_time:.1f} s) {status}", flush=True)

    bad = 0
    print(f"\n{'chapter':32} {'runs':>4} {'median':>7} {'max':>7} {'max/median':>10}  verdict")
    for path, results in runs.items():
        times = [r[0] for r in results]
        median = statistics.median(times)
        worst = max(results, key=lambda r: r[0])
        outliers = [r for r in results if r[0] > 3 * median or r[1]]
        bad += len(outliers)
        verdict = "ok" if not outliers else (
            f"{len(outliers)} stalled or failed (worst: cell {worst[3]} took {worst[2]:.1f} s)")
        print(f"{path.name:32} {len(times):4d} {median:6.1f}s {worst[0]:6.1f}s "
              f"{worst[0] / median:10.2f}  {verdict}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
