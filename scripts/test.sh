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
# The book's numbers must not depend on the CPU kernel: re-run nbval over every chapter with
# OpenBLAS forced onto its AVX2 (Haswell) kernel, what many laptops get. The full matrix
# (threads, oldest/newest versions, Python 3.13) is scripts/portability.py.
if [ $# -eq 0 ]; then
    if grep -qw avx2 /proc/cpuinfo 2>/dev/null; then
        OPENBLAS_CORETYPE=Haswell "$bin/python" -m pytest -n 2 --dist loadfile -q book
    else
        echo "test: this CPU has no AVX2; the OPENBLAS_CORETYPE=Haswell run of the book is skipped"
    fi
fi
