#!/usr/bin/env bash
# Run every test: lint, the pytest suite, and nbval re-execution of every notebook in book/.
set -euo pipefail
cd "$(dirname "$0")/.."
# Small matrices on 2 cores: one BLAS thread per process is several times faster than two
# competing threads (and two test workers already use both cores).
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}"
bin="${VIRTUAL_ENV:-.venv}/bin"
"$bin/ruff" check .
# two workers; --dist loadfile keeps each notebook's cells in one kernel, in order
"$bin/python" -m pytest -n 2 --dist loadfile "$@"
