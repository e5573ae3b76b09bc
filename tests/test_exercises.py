"""The exercise framework and the chapters' use of it.

These tests hold for every exercise at once. Each chapter's file test_exercises_<chapter>.py
declares its exercises, and these tests run the standard checks over all of them:

    IDS        every exercise id the chapter registers, no more and no fewer
    SOLUTIONS  id -> a learner-style solution (plain numpy, as in the notebook's solution
               cell), or a list of alternative ones: each must pass
    WRONG      (optional) id -> {description: wrong answer}: each must be rejected

The chapter's file keeps the tests only it needs: wrong answers the checker must reject with
a particular message, and the numbers the chapter prints. To run one chapter's share of the
standard checks, select by its name: ``pytest tests/test_exercises.py -k rnn``.
"""

import json
import re
from collections import Counter
from importlib import import_module
from pathlib import Path

import numpy as np
import pytest
from exercise_helpers import rejected

import course_nn as nn
from course_nn.lab.exercises import evaluate, exercises

BOOK = Path(__file__).resolve().parent.parent / "book"
CHAPTERS = sorted(p for p in BOOK.glob("[0-9][0-9]_*.ipynb"))
ALL = exercises()
CHAPTER_TESTS = {path.stem.removeprefix("test_exercises_"): import_module(path.stem)
                 for path in sorted(Path(__file__).parent.glob("test_exercises_*.py"))}

MIN_CASES = 20  # fixed edge cases, then random ones
FEWER_CASES = {"initialization.he_normal": 8,  # judged statistically, on a few large draws
               "fashion.train_to_target": 1,  # one training run on 4,000 Fashion-MNIST images
               "playground.train_spirals": 1,  # one training run on the spirals' 300 points
               "training.train_digits": 1,  # one training run on 1,257 digits
               "training.choose_learning_rate": 6,  # each case trains at 4 to 7 learning rates
               "rnn.gradient_window": 6,  # each case measures a sweep of spectral radii
               "rnn.memory_outcomes": 1}  # one prediction, no inputs


def _min_cases(exercise_id):
    return FEWER_CASES.get(exercise_id, MIN_CASES)


def _solutions(chapter):
    """(exercise id, test id, solution) for each learner-style solution of the chapter."""
    for exercise_id, solutions in chapter.SOLUTIONS.items():
        if callable(solutions):
            yield exercise_id, exercise_id, solutions
        else:
            for k, fn in enumerate(solutions):
                name = fn.__name__ if fn.__name__ != "<lambda>" else f"alternative {k}"
                yield exercise_id, f"{exercise_id}:{name}", fn


SOLUTION_CASES = [pytest.param(exercise_id, fn, id=test_id) for chapter in CHAPTER_TESTS.values()
                  for exercise_id, test_id, fn in _solutions(chapter)]
WRONG_CASES = [pytest.param(exercise_id, fn, id=f"{exercise_id}:{name}")
               for chapter in CHAPTER_TESTS.values()
               for exercise_id, table in getattr(chapter, "WRONG", {}).items()
               for name, fn in table.items()]


def _cells(path):
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _source(cell):
    return "".join(cell["source"])


def _output_text(cell):
    return "".join("".join(o.get("text", "")) for o in cell.get("outputs", []))


@pytest.mark.parametrize("chapter", sorted(CHAPTER_TESTS))
def test_chapter_tests_list_exactly_the_chapters_exercises(chapter):
    module = CHAPTER_TESTS[chapter]
    prefixes = {exercise_id.split(".")[0] + "." for exercise_id in module.IDS}
    registered = sorted(k for k in ALL if k.startswith(tuple(prefixes)))
    assert registered == sorted(module.IDS), (
        f"registered but not in {chapter}'s IDS: {sorted(set(registered) - set(module.IDS))}; "
        f"in IDS but not registered: {sorted(set(module.IDS) - set(registered))}")
    assert set(module.SOLUTIONS) == set(module.IDS), "a learner-style solution for each exercise"
    if hasattr(module, "WRONG"):
        assert set(module.WRONG) == set(module.IDS), "wrong answers for each exercise"


def test_every_exercise_is_listed_by_exactly_one_chapter():
    listed = Counter(exercise_id for module in CHAPTER_TESTS.values() for exercise_id in module.IDS)
    assert sorted(set(ALL) - set(listed)) == [], "registered exercises no chapter's tests list"
    assert [k for k, n in listed.items() if n > 1] == [], "listed by two chapters' tests"


@pytest.mark.parametrize("exercise_id", sorted(ALL))
def test_reference_passes_its_own_checker(exercise_id):
    result = evaluate(exercise_id, ALL[exercise_id].reference)
    assert result.passed, result.message
    assert result.cases >= _min_cases(exercise_id), f"{exercise_id} tries only {result.cases} inputs"


@pytest.mark.parametrize("exercise_id,fn", SOLUTION_CASES)
def test_learner_style_solution_passes(exercise_id, fn):
    result = evaluate(exercise_id, fn)
    assert result.passed, result.message
    assert result.cases >= _min_cases(exercise_id)


@pytest.mark.parametrize("exercise_id,fn", WRONG_CASES)
def test_wrong_answer_rejected(exercise_id, fn):
    # a shape mistake may make the learner's own code raise: reported with the input too
    result = rejected(exercise_id, fn, "on input")
    assert "wrong answer" in result.message or "your function raised" in result.message


@pytest.mark.parametrize("chapter", sorted(CHAPTER_TESTS))
def test_checking_does_not_touch_the_package_generator(chapter):
    nn.manual_seed(123)
    expected = nn.Linear(3, 2).weight.data.copy()
    nn.manual_seed(123)
    for exercise_id, _, fn in _solutions(CHAPTER_TESTS[chapter]):
        evaluate(exercise_id, fn)
    np.testing.assert_array_equal(nn.Linear(3, 2).weight.data, expected)


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
