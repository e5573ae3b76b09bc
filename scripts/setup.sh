#!/usr/bin/env bash
# Set up course_nn on a fresh machine (Python 3.11+) and build the website into _build/html.
# Creates .venv/ beside this checkout unless a virtual environment is already active.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -n "${VIRTUAL_ENV:-}" ]; then
    py="$VIRTUAL_ENV/bin/python"
else
    [ -x .venv/bin/python ] || "${PYTHON:-python3}" -m venv .venv
    py=.venv/bin/python
fi
"$py" -m pip install --quiet --upgrade pip
"$py" -m pip install --quiet -r requirements.txt
# PyTorch is optional: tests compare course_nn with it when present, and with the committed
# reference arrays in tests/reference/ always. Install it from a local wheel if one is offered.
# --no-index --no-deps: only a wheel already on this disk, never a multi-GB download; then
# its small dependencies (torch itself is already satisfied, so pip fetches only those).
if "$py" -m pip install --quiet --no-index --no-deps torch==2.13.0 2>/dev/null; then
    "$py" -m pip install --quiet torch==2.13.0
else
    echo "setup: PyTorch not installed (no local wheel); torch comparisons use committed references."
fi

# Headless Chromium for the browser test of the website (tests/test_website.py skips without it).
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
    else
        echo "setup: Chromium not installed (needs root and apt-get); the browser test will skip."
    fi
fi

# Fashion-MNIST (30 MB) for chapter 19: Debian's package puts the four official files in
# /usr/share/datasets/fashion-mnist, where course_nn.data.load_fashion_mnist looks.
if [ ! -f /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz ]; then
    if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist >/dev/null; } \
            || echo "setup: apt-get could not install dataset-fashion-mnist; chapter 19 will say how to get the data."
    else
        echo "setup: Fashion-MNIST not installed (needs root and apt-get); chapter 19 needs it:"
        echo "       set COURSE_NN_DATA or use load_fashion_mnist(..., download=True) (see README, Data)."
    fi
fi

# axe-core, the accessibility checker the browser test runs on every page of the website
# (tests/test_website.py serves it to Chromium from its own local server): the npm package,
# into node_modules/ in this checkout (ignored by git). Without npm those checks skip.
if [ ! -f node_modules/axe-core/axe.min.js ]; then
    if command -v npm >/dev/null; then
        npm install --silent --no-save --no-audit --no-fund --no-package-lock --prefix "$PWD" axe-core@4.10 \
            || echo "setup: npm could not install axe-core; the accessibility checks of the website will skip."
    else
        echo "setup: npm not found; the accessibility checks of the website (axe-core) will skip."
    fi
fi

rm -rf _build
# one BLAS thread: the notebooks' matrices are small, and extra threads only compete
OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}" "$(dirname "$py")/jupyter-book" build . -W --keep-going
echo "setup: website built into _build/html (with the course bundle, course_nn-bundle.zip);"
echo "       read it at http://localhost:8000 after: $(dirname "$py")/python -m http.server -d _build/html 8000"
