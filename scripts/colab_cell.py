"""Give every chapter a first cell that installs course_nn when the notebook runs on Colab.

    python scripts/colab_cell.py            # insert or update the cell in book/NN_*.ipynb (+ twins)
    python scripts/colab_cell.py --check    # exit 1 and name the chapters whose cell is missing or stale

Colab opens a chapter straight from the public repository (the Colab button, on when
`repository: url:` in _config.yml is set; book/_ext/repository_links.py), with no course_nn
installed and no data folder. The cell clones the repository, installs the package from it
and moves into book/, where the chapters expect to run; anywhere else it prints nothing when
course_nn is installed (nbval and the website build run it too), and otherwise says how to
get it (the course bundle, or setup.sh in a checkout) instead of a ModuleNotFoundError. On
the website it is removed (tag `remove-cell`). The repository URL and branch are read from
_config.yml; with no URL set the script says so and changes nothing. After inserting, each
notebook's MyST twin is synced with jupytext. The website build warns (and so fails, with
-W) when the URL is set but a chapter's first cell is not this one.
"""

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CELL_ID = "colab-install"
MARKER = "# On Google Colab:"
JB_DEFAULT_URL = "https://github.com/executablebooks/jupyter-book"

TEMPLATE = '''# On Google Colab: fetch the course and install course_nn (elsewhere: check it is installed).
import sys

if "google.colab" in sys.modules:
    import os
    import subprocess

    if not os.path.isdir("/content/course_nn"):
        subprocess.run(["git", "clone", "--quiet", "--depth", "1", "--branch", "{branch}",
                        "{url}", "/content/course_nn"], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "/content/course_nn"],
                   check=True)
    os.chdir("/content/course_nn/book")
else:
    import importlib.util

    if importlib.util.find_spec("course_nn") is None:
        print("course_nn is not installed in this Python: download the course bundle from the"
              " website (course_nn-bundle.zip) and follow its README, or run scripts/setup.sh"
              " in a checkout of {url}")'''


def repository(config_path=ROOT / "_config.yml"):
    """(url, branch) from _config.yml's `repository:` section; url is '' when unset."""
    import yaml

    config = yaml.safe_load(Path(config_path).read_text(encoding="utf-8")) or {}
    repo = config.get("repository") or {}
    url = (repo.get("url") or "").strip().rstrip("/")
    if url == JB_DEFAULT_URL:
        url = ""
    return url, str(repo.get("branch") or "main")


def cell_source(url, branch):
    return TEMPLATE.format(url=url, branch=branch)


def has_cell(notebook, url, branch):
    """Whether the notebook (a dict) starts with the current Colab cell."""
    cells = notebook.get("cells", [])
    return bool(cells) and cells[0]["cell_type"] == "code" and \
        "".join(cells[0]["source"]) == cell_source(url, branch)


def apply(notebook, url, branch):
    """Insert (or replace) the Colab cell as the first cell; returns True if it changed."""
    if has_cell(notebook, url, branch):
        return False
    cells = notebook["cells"]
    if cells and cells[0]["cell_type"] == "code" and "".join(cells[0]["source"]).startswith(MARKER):
        cells.pop(0)
    source = cell_source(url, branch)
    lines = source.splitlines(keepends=True)
    cells.insert(0, {"cell_type": "code", "execution_count": None, "id": CELL_ID,
                     "metadata": {"tags": ["remove-cell"]}, "outputs": [], "source": lines})
    return True


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only report, change nothing")
    parser.add_argument("--config", default=str(ROOT / "_config.yml"))
    parser.add_argument("--no-sync", action="store_true", help="do not sync the MyST twins")
    parser.add_argument("notebooks", nargs="*")
    args = parser.parse_args(argv)
    url, branch = repository(args.config)
    if not url:
        print("colab_cell: no repository.url in _config.yml; nothing to do")
        return 0
    if not re.match(r"https://github\.com/[^/]+/[^/]+$", url):
        print(f"colab_cell: Colab opens notebooks from GitHub only, not {url}")
        return 1
    paths = [Path(p) for p in args.notebooks] or sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb"))
    stale = []
    for path in paths:
        notebook = json.loads(path.read_text(encoding="utf-8"))
        if args.check:
            if not has_cell(notebook, url, branch):
                stale.append(path.name)
            continue
        if apply(notebook, url, branch):
            path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
            print(f"colab_cell: {path.name}: first cell installs course_nn from {url} on Colab")
            if not args.no_sync and "jupytext" in notebook.get("metadata", {}):
                jupytext = Path(sys.executable).parent / "jupytext"
                subprocess.run([str(jupytext), "--sync", "--quiet", str(path)], check=True)
    if stale:
        print("colab_cell: no current Colab cell in " + ", ".join(stale)
              + " (run python scripts/colab_cell.py)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
