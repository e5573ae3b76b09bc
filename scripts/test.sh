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
# The book's numbers must not depend on the CPU kernel: re-run nbval over every chapter under
# each other OpenBLAS kernel this CPU can run (OPENBLAS_CORETYPE): Sandybridge (AVX), Haswell
# (AVX2, what many laptops get), SkylakeX (AVX-512), skipping the one the run above used. The
# full matrix (threads, oldest/newest versions, Python 3.13) is scripts/portability.py.
if [ $# -eq 0 ]; then
    used=$("$bin/python" -c "import numpy; from threadpoolctl import threadpool_info; \
print(next((i['architecture'] for i in threadpool_info() if i['internal_api'] == 'openblas'), ''))")
    for kernel in Sandybridge:avx Haswell:avx2 SkylakeX:avx512f; do
        name=${kernel%%:*} flag=${kernel##*:}
        if [ "$name" = "$used" ]; then
            continue
        elif grep -qw "$flag" /proc/cpuinfo 2>/dev/null; then
            echo "test: the book under OPENBLAS_CORETYPE=$name (the run above used $used)"
            OPENBLAS_CORETYPE=$name "$bin/python" -m pytest -n 2 --dist loadfile -q book
        else
            echo "test: this CPU has no $flag; the OPENBLAS_CORETYPE=$name run of the book is skipped"
        fi
    done
fi
