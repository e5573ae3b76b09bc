"""Build the course bundle a reader downloads from the website: everything to run the course.

    python scripts/make_bundle.py [--out FOLDER] [notebooks ...]

writes FOLDER/course_nn-bundle.zip (default FOLDER: _build/html), which unpacks to

    course_nn-bundle/
        README.md                          the two commands: set up, run
        requirements.txt                   the wheel below and what the notebooks import
        course_nn-<version>-py3-none-any.whl
        notebooks/NN_name.ipynb            the chapters, executed (the committed notebooks)
        notebooks/data/                    the text chapter 17 reads
        notebooks/appendix/*.md            the errata, glossary and reading the chapters link

The wheel is built from a copy of pyproject.toml, README.md and src/ in a temporary folder
(no build/ or egg-info in the checkout), with the running environment's setuptools and no
network (where the environment has no setuptools, pip fetches it for an isolated build).
The website build calls this (book/_ext/course_bundle.py), and every page links the zip from
its download menu; tests/test_bundle.py installs a bundle into a fresh venv and runs
a chapter from it.
"""

import argparse
import importlib.util
import json
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NAME = "course_nn-bundle"
ZIP_NAME = NAME + ".zip"

README = """# course_nn: the course on your machine

The chapters of the course_nn book as Jupyter notebooks, with the `course_nn` package they
run on (a wheel, {wheel}). Python 3.11 or newer. In this folder:

```bash
python3 -m venv .venv && .venv/bin/python -m pip install -r requirements.txt   # set up
.venv/bin/jupyter lab notebooks/                                               # run
```

(On Windows: `py -m venv .venv`, then `.venv\\Scripts\\python -m pip install -r requirements.txt`
and `.venv\\Scripts\\jupyter lab notebooks`.) JupyterLab opens in your browser; open a chapter
and run its cells from the top (Run > Run All Cells). The notebooks are saved with their
outputs, so you can read them first and compare what your run prints.

Each exercise cell prints "not attempted yet" until you write its function; the reference
solution is in the collapsed cell below it.

Chapter 19 needs Fashion-MNIST (30 MB): on Debian or Ubuntu `sudo apt-get install
dataset-fashion-mnist`, or let the chapter fetch it with
`course_nn.data.load_fashion_mnist(..., download=True)`.

The book, with every chapter's figures and outputs: the website this bundle came from.
"""


def build_wheel(project, out_dir):
    """Build course_nn's wheel from a temporary copy of the project; returns its path."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "project"
        copy.mkdir()
        for name in ("pyproject.toml", "README.md"):
            shutil.copy2(project / name, copy / name)
        shutil.copytree(project / "src", copy / "src",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
        # offline with this environment's setuptools; without it (Python 3.12+ venvs have
        # none) pip fetches the build backend into an isolated environment
        isolation = [] if importlib.util.find_spec("setuptools") is None else ["--no-build-isolation"]
        result = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", *isolation,
             "--wheel-dir", str(out_dir), str(copy)],
            capture_output=True, text=True, timeout=300)
        if result.returncode != 0:
            raise RuntimeError("building the course_nn wheel failed:\n" + result.stdout + result.stderr)
    wheels = sorted(Path(out_dir).glob("course_nn-*.whl"))
    if len(wheels) != 1:
        raise RuntimeError(f"expected one course_nn wheel, found {wheels}")
    return wheels[0]


LAB = ("jupyterlab", "jupyterlab-myst", "ipykernel")  # JupyterLab, MyST rendering, the kernel


def requirements(project, wheel_name):
    """What the notebooks need: the project's requirements up to the website's section, with
    the wheel in place of the editable checkout, plus JupyterLab (with MyST rendering) and its
    kernel, with the version bounds requirements.txt gives them."""
    lines, lab, website = [f"./{wheel_name}"], [], False
    for line in (project / "requirements.txt").read_text(encoding="utf-8").splitlines():
        website = website or line.startswith("# The website")
        line = line.strip()
        if not line or line.startswith(("#", "-e")):
            continue
        if not website:
            lines.append(line)
        elif re.match(r"[A-Za-z0-9_.-]+", line).group(0) in LAB:
            lab.append(line)
    return "\n".join(lines + lab) + "\n"


def _without_widget_state(path):
    """The notebook without its saved ipywidgets state: JupyterLab would look for those
    models on Run All and log "widget model not found"; the widgets are made anew by running."""
    notebook = json.loads(Path(path).read_text(encoding="utf-8"))
    notebook.get("metadata", {}).pop("widgets", None)
    return json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"


def build(out_dir, notebooks, project=ROOT, data_dir=None):
    """Write out_dir/course_nn-bundle.zip; returns its path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    notebooks = [Path(nb) for nb in notebooks]
    if data_dir is None and notebooks:
        data_dir = notebooks[0].parent / "data"
    with tempfile.TemporaryDirectory() as tmp:
        wheel = build_wheel(Path(project), tmp)
        target = out_dir / ZIP_NAME
        partial = target.with_suffix(".zip.part")
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as bundle:
            bundle.writestr(f"{NAME}/README.md", README.format(wheel=wheel.name))
            bundle.writestr(f"{NAME}/requirements.txt", requirements(Path(project), wheel.name))
            bundle.write(wheel, f"{NAME}/{wheel.name}")
            for nb in sorted(notebooks):
                bundle.writestr(f"{NAME}/notebooks/{nb.name}", _without_widget_state(nb))
            if data_dir is not None and Path(data_dir).is_dir():
                for path in sorted(Path(data_dir).rglob("*")):
                    if path.is_file():
                        bundle.write(path, f"{NAME}/notebooks/data/{path.relative_to(data_dir)}")
            if notebooks:  # the appendix pages the chapters link (errata, glossary, reading)
                for path in sorted((notebooks[0].parent / "appendix").glob("*.md")):
                    bundle.write(path, f"{NAME}/notebooks/appendix/{path.name}")
        partial.replace(target)
    return target


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "_build" / "html"))
    parser.add_argument("notebooks", nargs="*")
    args = parser.parse_args(argv)
    notebooks = args.notebooks or sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb"))
    print(build(args.out, notebooks))


if __name__ == "__main__":
    main()
