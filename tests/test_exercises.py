"""The exercise framework and the chapters' use of it.

Chapter-specific tests (test_exercises_<chapter>.py) prove each checker rejects the wrong
answers a learner is likely to write; these tests hold for every exercise at once.
"""

import json
import re
from pathlib import Path

import numpy as np
import pytest

from course_nn.exercises import evaluate, exercises

BOOK = Path(__file__).resolve().parent.parent / "book"
CHAPTERS = sorted(p for p in BOOK.glob("[0-9][0-9]_*.ipynb"))
ALL = exercises()


def _cells(path):
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _source(cell):
    return "".join(cell["source"])


def _output_text(cell):
    return "".join("".join(o.get("text", "")) for o in cell.get("outputs", []))


@pytest.mark.parametrize("exercise_id", sorted(ALL))
def test_reference_passes_its_own_checker(exercise_id):
    result = evaluate(exercise_id, ALL[exercise_id].reference)
    assert result.passed, result.message
    assert result.cases >= 3, "an exercise must try at least three inputs"


@pytest.mark.parametrize("exercise_id", sorted(ALL))
def test_checker_rejects_a_constant_answer(exercise_id):
    result = evaluate(exercise_id, lambda *args: 12345.678)
    assert not result.passed
    assert "wrong answer" in result.message and "on input" in result.message


@pytest.mark.parametrize("exercise_id", sorted(ALL))
def test_unattempted_exercise_says_so(exercise_id):
    def not_written(*args):
        raise NotImplementedError

    result = evaluate(exercise_id, not_written)
    assert not result.passed and "not attempted yet" in result.message


def test_learner_exception_is_reported_with_the_input():
    def buggy(*args):
        raise IndexError("index 3 is out of bounds")

    exercise_id = sorted(ALL)[0]
    result = evaluate(exercise_id, buggy)
    assert not result.passed
    assert "IndexError: index 3 is out of bounds" in result.message
    assert "on input" in result.message


def test_learner_overflow_does_not_warn():
    def overflowing(*args):
        return np.exp(np.full(3, 1000.0))

    exercise_id = sorted(ALL)[0]
    assert not evaluate(exercise_id, overflowing).passed  # and no RuntimeWarning was raised


def test_unknown_exercise_and_non_function():
    with pytest.raises(KeyError, match="no exercise 'nope.nothing'"):
        evaluate("nope.nothing", abs)
    assert "expected a function" in evaluate(sorted(ALL)[0], 3.0).message


@pytest.mark.parametrize("notebook", CHAPTERS, ids=lambda p: p.name)
def test_chapter_has_three_exercises_with_collapsed_passing_solutions(notebook):
    cells = _cells(notebook)
    labels = []
    for cell in cells:
        if cell["cell_type"] == "markdown":
            labels += re.findall(r"```\{exercise\}[^\n]*\n:label: (\S+)", _source(cell))
    assert len(labels) >= 3, f"{notebook.name}: {len(labels)} exercises, expected at least 3"
    for label in labels:
        starts = [i for i, c in enumerate(cells) if c["cell_type"] == "markdown"
                  and re.search(r"\{solution-start\} " + re.escape(label) + r"\s", _source(c))]
        assert len(starts) == 1, f"{notebook.name}: no solution for {label}"
        assert ":class: dropdown" in _source(cells[starts[0]]), f"{label}: solution not collapsed"
        solution = next(c for c in cells[starts[0] + 1:] if c["cell_type"] == "code")
        assert "check(" in _source(solution)
        assert "passed all" in _output_text(solution), f"{label}: reference solution fails"


def test_every_exercise_is_used_in_a_chapter():
    used = set()
    for notebook in CHAPTERS:
        for cell in _cells(notebook):
            if cell["cell_type"] == "code":
                used |= set(re.findall(r"check\(\s*[\"']([\w.]+)[\"']", _source(cell)))
    assert set(ALL) <= used, f"exercises never used in a chapter: {sorted(set(ALL) - used)}"
