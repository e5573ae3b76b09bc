"""What the exercises ask of the learner (issue 13, item 2).

Every registered exercise states its kind (course_nn.lab.exercises.KINDS). The rules:

- every exercise has a valid kind, and ``register`` refuses one without;
- every chapter has exercises of at least two kinds among derive, predict, debug, experiment
  and train;
- at most a quarter of all exercises are "transcribe" (implement a formula or recipe shown
  just above);
- the tally table in CONTRIBUTING.md (chapter x kind) equals what the registry says, so the
  document cannot drift: change a kind or add an exercise and the table must follow
  (the failure message prints the table to paste).

A chapter is the notebook whose ``{exercise}`` box carries the exercise's label
``ex-<module>-<name>`` for the id ``<module>.<name>``.
"""

import json
import re
from pathlib import Path

import numpy as np
import pytest

from course_nn.lab.exercises import KINDS, Exercise, exercises, register

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
CONTRIBUTING = ROOT / "CONTRIBUTING.md"
ALL = exercises()
ACTIVE = ("derive", "predict", "debug", "experiment", "train")
COLUMNS = (*ACTIVE, "transcribe")



def _chapters():
    """{notebook stem: [exercise ids, in the order of the chapter]}."""
    found = {}
    for path in sorted(BOOK.glob("[0-9][0-9]_*.ipynb")):
        ids = []
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            if cell["cell_type"] == "markdown":
                for label in re.findall(r"```\{exercise\}[^\n]*\n:label: ex-(\S+)",
                                        "".join(cell["source"])):
                    module, name = label.split("-", 1)
                    ids.append(f"{module}.{name}")
        found[path.stem] = ids
    return found


CHAPTERS = _chapters()


def tally():
    """{chapter: {kind: count}} from the registry and the notebooks."""
    return {chapter: {kind: sum(ALL[i].kind == kind for i in ids if i in ALL) for kind in COLUMNS}
            for chapter, ids in CHAPTERS.items()}


def tally_table():
    """The Markdown table CONTRIBUTING.md must hold, with a row of totals."""
    rows = ["| chapter | " + " | ".join(COLUMNS) + " | total |",
            "|---|" + "---|" * (len(COLUMNS) + 1)]
    counts = tally()
    for chapter, row in counts.items():
        rows.append(f"| {chapter} | " + " | ".join(str(row[k]) for k in COLUMNS)
                    + f" | {sum(row.values())} |")
    totals = {k: sum(row[k] for row in counts.values()) for k in COLUMNS}
    rows.append("| all | " + " | ".join(str(totals[k]) for k in COLUMNS)
                + f" | {sum(totals.values())} |")
    return "\n".join(rows)


def _documented_table():
    """The rows of the tally table in CONTRIBUTING.md, as lists of cell texts."""
    text = CONTRIBUTING.read_text(encoding="utf-8")
    header = "| chapter | " + " | ".join(COLUMNS) + " | total |"
    assert header in text, f"CONTRIBUTING.md has no tally table with the header {header!r}"
    lines = text[text.index(header):].splitlines()
    table = []
    for line in lines:
        if not line.startswith("|"):
            break
        table.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return table


def test_every_exercise_has_a_valid_kind():
    bad = {i: ex.kind for i, ex in ALL.items() if ex.kind not in KINDS}
    assert bad == {}, f"exercises without a valid kind: {bad}"


def test_every_exercise_is_in_exactly_one_chapter():
    placed = [i for ids in CHAPTERS.values() for i in ids]
    assert sorted(set(ALL) - set(placed)) == [], "registered exercises no chapter has"
    assert sorted({i for i in placed if placed.count(i) > 1}) == [], "in two chapters"
    assert sorted(set(placed) - set(ALL)) == [], "exercise boxes with no registered exercise"


@pytest.mark.parametrize("kind", [None, "", "derived", "Derive", 3, ("derive",)])
def test_register_refuses_a_missing_or_unknown_kind(kind):
    before = dict(exercises())
    with pytest.raises(ValueError, match=r"kind expected one of 'derive'.*got"):
        register(Exercise(id="kinds_test.abs", reference=abs, fixed=[(1.0,)], kind=kind))
    assert exercises() == before  # nothing was registered


def test_kinds_are_defined_in_contributing():
    text = CONTRIBUTING.read_text(encoding="utf-8")
    for kind in KINDS:
        assert re.search(rf"^- \*\*{kind}\*\*", text, flags=re.M), f"{kind!r} not defined"


def test_contributing_tally_equals_the_registry():
    expected = tally_table()
    documented = _documented_table()
    wanted = [[cell.strip() for cell in line.strip().strip("|").split("|")]
              for line in expected.splitlines()]
    assert documented == wanted, ("CONTRIBUTING.md's tally differs from the registry; "
                                  "the table should read:\n" + expected)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_has_two_kinds_besides_transcription(chapter):
    kinds = {ALL[i].kind for i in CHAPTERS[chapter]} & set(ACTIVE)
    assert len(kinds) >= 2, f"{chapter}: kinds besides transcription: {sorted(kinds)}"


def test_at_most_a_quarter_transcribe():
    n = sum(ex.kind == "transcribe" for ex in ALL.values())
    assert 4 * n <= len(ALL), f"{n} of {len(ALL)} exercises transcribe (at most a quarter)"


# Exercises that ask for one formula in several chapters: at most one of each group may be
# registered (one formula, one exercise).
DUPLICATE_GROUPS = {
    "parameter count of a dense network": ("intro.count_connections", "neurons.count_parameters",
                                          "training.count_parameters",
                                          "playground.count_parameters"),
    "one-hot encoding": ("training.one_hot", "rnn.one_hot"),
    "convolution output size": ("cnn.output_size", "cnn.conv_output_shape", "cnn.flatten_size"),
    "updates per epoch": ("gradient_descent.steps_per_epoch", "training.iterations_per_epoch"),
}


@pytest.mark.parametrize("group", DUPLICATE_GROUPS)
def test_one_formula_one_exercise(group):
    registered = [i for i in DUPLICATE_GROUPS[group] if i in ALL]
    assert len(registered) <= 1, f"{group}: {registered}"


def _hint_before_each_solution(path):
    """Labels whose solution is not preceded, after the exercise box, by a collapsed hint."""
    cells = ["".join(c["source"]) for c in json.loads(path.read_text(encoding="utf-8"))["cells"]]
    missing = []
    for i, text in enumerate(cells):
        for match in re.finditer(r"\{solution-start\} (\S+)", text):
            label, chunk, j = match.group(1), text[:match.start()], i
            while not re.search(r"```\{admonition\} Hint\s*\n:class: dropdown", chunk):
                if f":label: {label}" in chunk or j == 0:
                    missing.append(label)
                    break
                j -= 1
                chunk = cells[j]
    return missing


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_a_collapsed_hint_before_each_solution(chapter):
    assert _hint_before_each_solution(BOOK / f"{chapter}.ipynb") == []


def test_tally_table_counts_every_exercise():
    counts = tally()
    assert sum(sum(row.values()) for row in counts.values()) == len(ALL)
    assert np.all([set(row) == set(COLUMNS) for row in counts.values()])
