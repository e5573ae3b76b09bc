"""Chapter 11 (training end to end): every exercise checker accepts plain-numpy solutions and
rejects the wrong answers a learner is likely to write (a transposed confusion matrix, repeated
pairs counted once, a learning rate chosen on the training loss, a loop that never steps, ...).

IDS, SOLUTIONS and WRONG feed the checks every exercise gets, in tests/test_exercises.py
(registered, reference and solutions pass, each wrong answer rejected).
"""

import numpy as np
import pytest

import course_nn as cn
from course_nn.data import iterate_minibatches
from course_nn.lab.exercises import evaluate
from course_nn.lab.exercises.training import TARGET, LearningRateRun, digits_mlp

IDS = ("training.one_hot", "training.train_digits", "training.choose_learning_rate",
       "training.confusion_matrix")


def one_hot(labels, n_classes):
    return (labels[:, None] == np.arange(n_classes)[None, :]).astype(float)


def one_hot_eye(labels, n_classes):
    return np.eye(n_classes)[labels]


def confusion_add_at(y_true, y_pred, n_classes):
    cm = np.zeros((n_classes, n_classes), dtype=int)
    np.add.at(cm, (y_true, y_pred), 1)
    return cm


def confusion_bincount(y_true, y_pred, n_classes):
    return np.bincount(y_true * n_classes + y_pred, minlength=n_classes**2).reshape(n_classes, n_classes)


def confusion_broken(y_true, y_pred, n_classes):
    """The chapter's handed-over version: rows and columns swapped, repeats lost."""
    cm = np.zeros((n_classes, n_classes), dtype=int)
    cm[y_pred, y_true] += 1
    return cm


def _loop(X, y, seed, epochs=20, lr=1e-3, step=True, hidden=128):
    rng = np.random.default_rng(seed)
    model = digits_mlp(hidden, seed=seed)
    loss_fn, opt = cn.CrossEntropyLoss(), cn.optim.Adam(model.parameters(), lr=lr)
    for _ in range(epochs):
        for xb, yb in iterate_minibatches(X, y, 32, rng=rng):
            opt.zero_grad()
            loss_fn(model(xb), yb)
            model.backward(loss_fn.backward())
            if step:
                opt.step()
    return model


def train_digits(X_train, y_train, seed):
    return _loop(X_train, y_train, seed)


def choose_learning_rate(run, learning_rates, tol):
    final = {lr: run(lr).val_acc[-1] for lr in learning_rates}
    best = max(final.values())
    return min(lr for lr, acc in final.items() if acc >= best - tol)


def choose_sorted(run, learning_rates, tol):
    """Another correct way: scan the rates from small to large, stop at the first good one."""
    accs = [run(lr).val_acc[-1] for lr in learning_rates]
    best = max(accs)
    for lr, acc in sorted(zip(learning_rates, accs)):
        if acc >= best - tol:
            return lr


SOLUTIONS = {
    "training.one_hot": [one_hot, one_hot_eye],
    "training.train_digits": [train_digits],
    "training.choose_learning_rate": [choose_learning_rate, choose_sorted],
    "training.confusion_matrix": [confusion_add_at, confusion_bincount],
}


def _one_hot_sized_by_data(labels, n_classes):
    return np.eye(labels.max() + 1)[labels]


def _confusion_fancy_assign(y_true, y_pred, n):
    cm = np.zeros((n, n), dtype=int)
    cm[y_true, y_pred] += 1          # repeated pairs are counted once: the np.add.at trap
    return cm


def _confusion_sized_by_data(y_true, y_pred, n):
    m = max(y_true.max(), y_pred.max()) + 1
    return confusion_add_at(y_true, y_pred, m)


def _by(key):
    return lambda run, lrs, tol: min(lrs, key=lambda lr: key(run(lr)))


WRONG = {
    "training.one_hot": {
        "columns sized by the largest label": _one_hot_sized_by_data,
        "labels as row indices (transposed)": lambda l, c: one_hot(l, c).T,
        "all ones at column 0": lambda l, c: np.eye(c)[np.zeros_like(l)],
        "labels shifted by one": lambda l, c: np.eye(c)[(l + 1) % c],
    },
    "training.train_digits": {
        "never steps": lambda X, y, s: _loop(X, y, s, epochs=2, step=False),
        "one epoch only": lambda X, y, s: _loop(X, y, s, epochs=1, hidden=16),
        "the untrained model": lambda X, y, s: digits_mlp(64, seed=s),
        "returns the accuracy": lambda X, y, s: 0.97,
    },
    "training.choose_learning_rate": {
        "lowest training loss": _by(lambda h: h.train_loss[-1]),
        "best validation accuracy, no tolerance": _by(lambda h: -h.val_acc[-1]),
        "largest within tol": lambda run, lrs, tol: max(
            lr for lr in lrs if run(lr).val_acc[-1] >= max(run(r).val_acc[-1] for r in lrs) - tol),
        "the smallest rate": lambda run, lrs, tol: min(lrs),
        "returns the accuracy": lambda run, lrs, tol: max(run(lr).val_acc[-1] for lr in lrs),
    },
    "training.confusion_matrix": {
        "the chapter's broken version": confusion_broken,
        "rows = predictions (transposed)": lambda t, p, n: confusion_add_at(t, p, n).T,
        "fancy-index += 1 (repeats lost)": _confusion_fancy_assign,
        "size from the data": _confusion_sized_by_data,
        "normalized by row": lambda t, p, n: confusion_add_at(t, p, n) / np.maximum(
            confusion_add_at(t, p, n).sum(axis=1, keepdims=True), 1),
    },
}


@pytest.mark.parametrize("fn,words", [
    (confusion_broken, "swapped, and a repeated"),
    (lambda t, p, n: confusion_add_at(t, p, n).T, "rows and columns are swapped"),
    (_confusion_fancy_assign, "np.add.at"),
])
def test_confusion_slips_are_named(fn, words):
    result = evaluate("training.confusion_matrix", fn)
    assert not result.passed and words in result.message, result.message


@pytest.mark.parametrize("fn,words", [
    (_by(lambda h: h.train_loss[-1]), "lowest training loss"),
    (_by(lambda h: -h.val_acc[-1]), "the smallest rate within tol"),
    (WRONG["training.choose_learning_rate"]["largest within tol"], "within tol"),
])
def test_learning_rate_slips_are_named(fn, words):
    result = evaluate("training.choose_learning_rate", fn)
    assert not result.passed and words in result.message, result.message


def test_the_chapter_case_separates_the_rules():
    """On the first fixed case (split 2, tol 0.02) the smallest good rate, the best rate and the
    rate with the lowest training loss are three different rates: each slip shows."""
    run = LearningRateRun(2)
    final = {lr: run(lr).val_acc[-1] for lr in (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1)}
    best = max(final.values())
    chosen = choose_learning_rate(run, list(final), 0.02)
    by_best = max(final, key=final.get)
    by_train = min(final, key=lambda lr: run(lr).train_loss[-1])
    assert len({chosen, by_best, by_train}) == 3, (chosen, by_best, by_train)
    assert final[chosen] >= best - 0.02


def test_run_is_deterministic_and_returns_copies():
    run = LearningRateRun(5)
    h = run(1e-2)
    h.val_acc.append(2.0)
    assert run(1e-2).val_acc[-1] <= 1.0
    fresh = LearningRateRun(5)
    assert fresh(1e-2).train_loss == run(1e-2).train_loss


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_reference_loop_reaches_the_target_on_other_splits(seed):
    from course_nn.lab.exercises.training import _digits_case, _digits_reference, _judge_digits

    case = _digits_case(np.random.default_rng(seed))
    assert _judge_digits(_digits_reference(*case), _digits_reference(*case)) is None
    assert TARGET >= 0.94
