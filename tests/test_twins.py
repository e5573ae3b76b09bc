"""Every chapter has a text twin, book/twins/<chapter>.md (MyST markdown, paired with jupytext),
so that a change to a chapter reads as a plain diff. The twin holds the cells' sources and
tags; the .ipynb holds them too, plus the executed outputs that nbval compares. The two must
agree cell for cell.

After editing the twin:     jupytext --sync book/twins/NN_name.md   (updates the .ipynb's inputs)
After editing the notebook: jupytext --sync book/NN_name.ipynb      (updates the twin)
then re-execute the notebook (python scripts/execute.py book/NN_name.ipynb) as usual.
"""

from pathlib import Path

import jupytext
import pytest

BOOK = Path(__file__).resolve().parent.parent / "book"
CHAPTERS = sorted(BOOK.glob("[0-9][0-9]_*.ipynb"))
TWINS = BOOK / "twins"
FORMATS = "ipynb,twins//md:myst"


def _cells(notebook):
    """(type, source, tags) of every cell: what a reader of the twin sees."""
    return [(c.cell_type, c.source.strip(), tuple(c.metadata.get("tags", ())))
            for c in notebook.cells]


def test_every_chapter_has_a_twin_and_no_twin_is_orphaned():
    assert CHAPTERS
    twins = sorted(p.stem for p in TWINS.glob("*.md"))
    assert twins == [p.stem for p in CHAPTERS]


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_twin_agrees_with_the_notebook(chapter):
    notebook = jupytext.read(chapter)
    assert notebook.metadata.get("jupytext", {}).get("formats") == FORMATS, (
        f"{chapter.name} is not paired with its twin: jupytext --set-formats {FORMATS} {chapter}")
    twin = jupytext.read(TWINS / f"{chapter.stem}.md")
    got, want = _cells(twin), _cells(notebook)
    for i, (a, b) in enumerate(zip(got, want)):
        assert a == b, (f"{chapter.name} cell {i} differs from its twin; run "
                        f"jupytext --sync on the file you edited")
    assert len(got) == len(want), (f"{chapter.name} has {len(want)} cells, its twin {len(got)}; "
                                   f"run jupytext --sync on the file you edited")
