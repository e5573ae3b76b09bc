"""Chapter 11 (training end to end): every exercise checker accepts plain-numpy solutions and
rejects the wrong answers a learner is likely to write (a transposed confusion matrix, a
percentage instead of a fraction, forgotten biases, floor instead of ceiling, ...).

IDS, SOLUTIONS and WRONG feed the checks every exercise gets, in tests/test_exercises.py
(registered, reference and solutions pass, each wrong answer rejected).
"""

import math

import numpy as np

from course_nn.lab.exercises import evaluate

IDS = ("training.one_hot", "training.accuracy", "training.confusion_matrix",
       "training.count_parameters", "training.iterations_per_epoch")


def one_hot(labels, n_classes):
    return (labels[:, None] == np.arange(n_classes)[None, :]).astype(float)


def one_hot_eye(labels, n_classes):
    return np.eye(n_classes)[labels]


def accuracy(scores, labels):
    return float(np.mean(np.argmax(scores, axis=1) == labels))


def confusion_add_at(y_true, y_pred, n_classes):
    cm = np.zeros((n_classes, n_classes), dtype=int)
    np.add.at(cm, (y_true, y_pred), 1)
    return cm


def confusion_bincount(y_true, y_pred, n_classes):
    return np.bincount(y_true * n_classes + y_pred, minlength=n_classes**2).reshape(n_classes, n_classes)


def count_parameters(sizes):
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))


def iterations_per_epoch(n, b):
    return math.ceil(n / b)


SOLUTIONS = {
    "training.one_hot": [one_hot, one_hot_eye],
    "training.accuracy": [accuracy],
    "training.confusion_matrix": [confusion_add_at, confusion_bincount],
    "training.count_parameters": [count_parameters],
    "training.iterations_per_epoch": [iterations_per_epoch, lambda n, b: -(-n // b),
                                      lambda n, b: n // b + (n % b > 0)],
}


def _one_hot_sized_by_data(labels, n_classes):
    return np.eye(labels.max() + 1)[labels]


def _confusion_transposed(y_true, y_pred, n):
    return confusion_add_at(y_true, y_pred, n).T


def _confusion_fancy_assign(y_true, y_pred, n):
    cm = np.zeros((n, n), dtype=int)
    cm[y_true, y_pred] += 1          # repeated pairs are counted once: the np.add.at trap
    return cm


def _confusion_sized_by_data(y_true, y_pred, n):
    m = max(y_true.max(), y_pred.max()) + 1
    return confusion_add_at(y_true, y_pred, m)


WRONG = {
    "training.one_hot": {
        "columns sized by the largest label": _one_hot_sized_by_data,
        "labels as row indices (transposed)": lambda l, c: one_hot(l, c).T,
        "all ones at column 0": lambda l, c: np.eye(c)[np.zeros_like(l)],
        "labels shifted by one": lambda l, c: np.eye(c)[(l + 1) % c],
    },
    "training.accuracy": {
        "percent instead of fraction": lambda s, l: 100 * accuracy(s, l),
        "argmin": lambda s, l: float(np.mean(np.argmin(s, axis=1) == l)),
        "argmax over the batch axis": lambda s, l: float(np.mean(np.argmax(s, axis=0)[: len(l)] == l)),
        "error rate": lambda s, l: 1 - accuracy(s, l),
        "number correct": lambda s, l: int(np.sum(np.argmax(s, axis=1) == l)),
        "last max on ties": lambda s, l: float(np.mean(
            s.shape[1] - 1 - np.argmax(s[:, ::-1], axis=1) == l)),
    },
    "training.confusion_matrix": {
        "rows = predictions (transposed)": _confusion_transposed,
        "fancy-index += 1 (repeats lost)": _confusion_fancy_assign,
        "size from the data": _confusion_sized_by_data,
        "normalized by row": lambda t, p, n: confusion_add_at(t, p, n) / np.maximum(
            confusion_add_at(t, p, n).sum(axis=1, keepdims=True), 1),
    },
    "training.count_parameters": {
        "forgot the biases": lambda s: sum(a * b for a, b in zip(s[:-1], s[1:])),
        "biases of the input layer too": lambda s: count_parameters(s) + s[0],
        "counts units, not connections": lambda s: sum(s),
        "one bias per layer": lambda s: sum(a * b + 1 for a, b in zip(s[:-1], s[1:])),
    },
    "training.iterations_per_epoch": {
        "floor (drops the last batch)": lambda n, b: n // b,
        "always one extra": lambda n, b: n // b + 1,
        "float ceil": lambda n, b: float(math.ceil(n / b)),
        "samples, not batches": lambda n, b: n,
    },
}


def test_note_002_dense_layer_count_is_a_fixed_case():
    """Note 002: 3 inputs -> 4 units = 12 weights; with the 4 biases a layer has 16 parameters."""
    result = evaluate("training.count_parameters", lambda s: sum(a * b for a, b in zip(s[:-1], s[1:])))
    assert "layer_sizes = (3, 4)" in result.message and "expected 16, got 12" in result.message
