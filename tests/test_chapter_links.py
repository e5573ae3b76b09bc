"""Links between chapters work where learners read them: on the website and in JupyterLab.

A chapter links another chapter (or an appendix page) with a markdown link to its source
file, ``[Activation functions](03_activations.ipynb)``: on the website myst-parser resolves
it to the page (an unresolved one is a warning, which fails the -W build), and in JupyterLab
(jupyterlab-myst) a click opens the notebook. The {doc} role works only on the website: in
JupyterLab it shows the bare name and points at ``/files/book/03_activations``, a file that
does not exist. So no chapter's markdown uses {doc} (``scripts/doc_links.py`` converts), nor
does the landing page or an appendix (MyST pages the course bundle ships for JupyterLab too),
and every relative link in them names a file that exists, with its suffix, and has link text (an
empty one, ``[](03_activations.ipynb)``, shows the file name in JupyterLab).
tests/test_jupyterlab.py clicks through one such link in JupyterLab.
"""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
CHAPTERS = sorted(BOOK.glob("[0-9][0-9]_*.ipynb"))
PAGES = [BOOK / "index.md"] + sorted((BOOK / "appendix").glob("*.md"))  # also in the bundle
DOC_ROLE = re.compile(r"\{doc\}`[^`]*`")
# a markdown link (not an image) whose target is a relative path: no scheme, no #anchor only
LINK = re.compile(r"(?<!!)\[(?P<text>[^\]]*)\]\((?P<target>(?![a-z][a-z0-9+.-]*:|#)[^)\s]+)\)")


def _markdown(path):
    """(cell index, markdown) pairs of a notebook; a .md page is one "cell" 0."""
    if path.suffix == ".md":
        return [(0, path.read_text(encoding="utf-8"))]
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return [(i, "".join(c["source"])) for i, c in enumerate(cells) if c["cell_type"] == "markdown"]


@pytest.mark.parametrize("chapter", CHAPTERS + PAGES, ids=lambda p: p.stem)
def test_no_doc_role_in_chapters(chapter):
    found = [(i, m.group(0)) for i, text in _markdown(chapter) for m in DOC_ROLE.finditer(text)]
    assert not found, (f"{chapter.name}: {{doc}} roles (broken in JupyterLab; convert them with"
                       f" scripts/doc_links.py): {found[:5]}")


@pytest.mark.parametrize("chapter", CHAPTERS + PAGES, ids=lambda p: p.stem)
def test_relative_links_name_existing_files(chapter):
    problems = []
    for i, text in _markdown(chapter):
        for m in LINK.finditer(text):
            target = m.group("target").split("#")[0]
            if not target:
                continue
            path = (chapter.parent / target).resolve()
            if not path.is_file():
                problems.append(f"cell {i}: {m.group(0)} (no file {target})")
            elif not m.group("text").strip():
                problems.append(f"cell {i}: {m.group(0)} (no link text: JupyterLab shows the"
                                " file name)")
    assert not problems, f"{chapter.name}: " + "; ".join(problems)


def test_converter_writes_links_with_titles(tmp_path):
    """scripts/doc_links.py: a bare {doc} gets the target's title, a titled one keeps its text."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("doc_links", ROOT / "scripts" / "doc_links.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    chapter = BOOK / "18_playground.ipynb"
    text = ("see {doc}`03_activations`, {doc}`the optimizers <07_optimizers>` and "
            "{doc}`appendix/errata`.")
    assert module.convert(text, chapter) == (
        "see [Activation functions](03_activations.ipynb), [the optimizers](07_optimizers.ipynb)"
        " and [Errata: where the source notes are wrong](appendix/errata.md).")
