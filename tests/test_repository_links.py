"""One setting, `repository: url:` in _config.yml, turns on every link to the public repository.

A copy of the book (with the project's own extensions, package and data) is built with
execution off and an example GitHub URL, and every link the build generates is checked: the
repository button on every page; on each chapter the Binder and Colab launch buttons pointing
at that chapter on the branch, the local JupyterLab button, the download of the notebook
(whose first cell installs course_nn on Colab, written by scripts/colab_cell.py) and of the
course bundle (a file the build wrote). Without the Colab cell the build fails and names the
command that writes it (a small copy: a landing page and two chapters). The real _config.yml
ships with an empty URL; tests/test_website.py checks that its pages carry none of these
buttons.
"""

import html
import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from urllib.parse import urljoin

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import colab_cell  # noqa: E402

URL = "https://github.com/example-org/course_nn"
BRANCH = "main"
CHAPTERS = ["01_introduction", "02_neurons_and_layers"]


def _book_copy(dest, url=URL, bundle=True, small=False):
    """A copy of the book with an example repository URL: the whole book, or (small) a landing
    page and two chapters; returns its config."""
    if small:
        (dest / "book").mkdir(parents=True)
        for name in CHAPTERS:
            shutil.copy2(ROOT / "book" / f"{name}.ipynb", dest / "book" / f"{name}.ipynb")
        for folder in ("images", "_static_css", "data"):
            shutil.copytree(ROOT / "book" / folder, dest / "book" / folder)
        (dest / "book" / "index.md").write_text(
            "# A small copy of the book\n\nRun it yourself: the {bundle}`course bundle`.\n\n"
            "```{tableofcontents}\n```\n", encoding="utf-8")
        (dest / "_toc.yml").write_text(
            "format: jb-book\nroot: book/index\nparts:\n  - caption: Chapters\n    numbered: true\n"
            "    chapters:\n" + "".join(f"      - file: book/{name}\n" for name in CHAPTERS),
            encoding="utf-8")
    else:
        shutil.copytree(ROOT / "book", dest / "book",
                        ignore=shutil.ignore_patterns("_ext", "twins", ".ipynb_checkpoints", "__pycache__"))
        shutil.copy2(ROOT / "_toc.yml", dest / "_toc.yml")
    for name in ("pyproject.toml", "README.md", "requirements.txt"):
        shutil.copy2(ROOT / name, dest / name)
    shutil.copytree(ROOT / "src", dest / "src", ignore=shutil.ignore_patterns("__pycache__"))
    config = (ROOT / "_config.yml").read_text(encoding="utf-8")
    config = re.sub(r"execute_notebooks: \w+", 'execute_notebooks: "off"', config)
    config = config.replace(": book/_ext", f": {ROOT / 'book' / '_ext'}")
    config = re.sub(r'(repository:\n  url: )""', rf'\g<1>"{url}"', config)
    assert f'url: "{url}"' in config, "_config.yml's repository section changed: update this test"
    if not bundle:
        config = config.replace("  config:\n", "  config:\n    course_bundle: false\n", 1)
    (dest / "_config.yml").write_text(config, encoding="utf-8")
    return dest / "_config.yml"


def _build(source):
    jb = Path(sys.executable).parent / "jupyter-book"
    return subprocess.run([str(jb), "build", str(source), "-W", "--keep-going"],
                          capture_output=True, text=True, cwd=source, timeout=600)


def _links(page):
    """Every href on a page, resolved against the page's own location (a file: URL)."""
    text = page.read_text(encoding="utf-8")
    return [urljoin(page.as_uri(), html.unescape(h)) for h in re.findall(r'href="([^"]+)"', text)]


def test_colab_cell_is_written_once_and_is_quiet_outside_colab(tmp_path):
    notebook = json.loads((ROOT / "book" / f"{CHAPTERS[0]}.ipynb").read_text(encoding="utf-8"))
    count = len(notebook["cells"])
    assert colab_cell.apply(notebook, URL, BRANCH) and not colab_cell.apply(notebook, URL, BRANCH)
    assert len(notebook["cells"]) == count + 1
    first = notebook["cells"][0]
    assert first["metadata"]["tags"] == ["remove-cell"] and first["outputs"] == []
    source = "".join(first["source"])
    assert f'"{URL}"' in source and f'"{BRANCH}"' in source
    # a new URL replaces the cell instead of adding a second one
    assert colab_cell.apply(notebook, URL + "2", BRANCH) and len(notebook["cells"]) == count + 1
    # outside Colab it runs silently where course_nn is installed
    result = subprocess.run([sys.executable, "-c", source], capture_output=True, text=True,
                            cwd=tmp_path, timeout=60)
    assert result.returncode == 0 and result.stdout == "" and result.stderr == ""
    # and says how to get it where it is not (a Python that cannot import it: -I, no site)
    result = subprocess.run([sys.executable, "-I", "-S", "-c", source], capture_output=True,
                            text=True, cwd=tmp_path, timeout=60)
    assert result.returncode == 0 and "course_nn-bundle.zip" in result.stdout, result.stderr


def test_a_repository_url_turns_on_every_link(tmp_path):
    """The whole book, copied, execution off."""
    source = tmp_path / "book_copy"
    config = _book_copy(source)
    notebooks = [str(p) for p in sorted((source / "book").glob("[0-9][0-9]_*.ipynb"))]
    assert colab_cell.main(["--check", "--config", str(config), *notebooks]) == 1
    assert colab_cell.main(["--config", str(config), "--no-sync", *notebooks]) == 0
    assert colab_cell.main(["--check", "--config", str(config), *notebooks]) == 0

    result = _build(source)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    site = source / "_build" / "html"

    for page in ["book/index", "book/appendix/glossary"] + [f"book/{p.stem}" for p in map(Path, notebooks)]:
        links = _links(site / f"{page}.html")
        assert URL in links, f"{page}: no repository button"
        bundle = [link for link in links if link.endswith("/course_nn-bundle.zip")]
        assert bundle and all(Path(link.removeprefix("file://")).is_file() for link in bundle), page

    chapters = [Path(p).stem for p in notebooks]
    for name in chapters:
        links = _links(site / "book" / f"{name}.html")
        assert (f"https://mybinder.org/v2/gh/example-org/course_nn/{BRANCH}"
                f"?urlpath=lab/tree/book/{name}.ipynb") in links, name
        assert (f"https://colab.research.google.com/github/example-org/course_nn/blob/{BRANCH}"
                f"/book/{name}.ipynb") in links, name
        assert f"http://localhost:8888/lab/tree/book/{name}.ipynb" in links, name
        downloads = [link for link in links if link.endswith(f"_sources/book/{name}.ipynb")]
        assert downloads, f"{name}: no download of the notebook"
        notebook = json.loads(Path(downloads[0].removeprefix("file://")).read_text(encoding="utf-8"))
        assert colab_cell.has_cell(notebook, URL, BRANCH), f"{name}: download without the Colab cell"
        page = (site / "book" / f"{name}.html").read_text(encoding="utf-8")
        assert "google.colab" not in page, f"{name}: the Colab cell shows on the website"
    index_links = _links(site / "book" / "index.html")
    assert not any("mybinder.org" in link or "colab.research" in link for link in index_links)

    with zipfile.ZipFile(site / "course_nn-bundle.zip") as bundle:
        names = bundle.namelist()
    assert {f"course_nn-bundle/notebooks/{name}.ipynb" for name in chapters} <= set(names)


def test_without_the_colab_cell_the_build_fails_and_says_what_to_run(tmp_path):
    source = tmp_path / "book_copy"
    _book_copy(source, bundle=False, small=True)
    result = _build(source)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "does not install course_nn on Colab" in output and "scripts/colab_cell.py" in output


@pytest.mark.parametrize("url", ["", "https://github.com/executablebooks/jupyter-book"])
def test_no_url_means_no_colab_cell_to_write(tmp_path, url):
    config = tmp_path / "_config.yml"
    config.write_text(f'repository:\n  url: "{url}"\n  branch: main\n', encoding="utf-8")
    assert colab_cell.repository(config) == ("", "main")
    assert colab_cell.main(["--config", str(config)]) == 0
