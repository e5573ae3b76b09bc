#!/usr/bin/env bash
# Run every test: lint, the pytest suite, and nbval re-execution of every notebook in book/.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${VIRTUAL_ENV:-.venv}/bin"
"$bin/ruff" check .
"$bin/python" -m pytest "$@"
