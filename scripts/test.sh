#!/usr/bin/env bash
# Run every test: lint, the pytest suite, and nbval re-execution of every notebook in book/.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${VIRTUAL_ENV:-.venv}/bin"
"$bin/ruff" check .
# two workers; --dist loadfile keeps each notebook's cells in one kernel, in order
"$bin/python" -m pytest -n 2 --dist loadfile "$@"
