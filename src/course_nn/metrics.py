"""Classification metrics beyond accuracy: one-hot labels, the confusion matrix, and what it
says class by class.

Labels are integer class indices 0..C-1 of shape (N,). A confusion matrix ``cm`` is (C, C)
with ``cm[i, j]`` = the number of samples of true class i predicted as class j: rows are
the truth, columns the prediction (scikit-learn's convention), so the diagonal counts the
correct predictions and each row sums to that class's number of samples.
"""

import numpy as np

from . import sequences
from ._validate import check_positive_int


def _labels(y, name, n_classes=None):
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array of class labels, got shape {y.shape}")
    if y.size and not np.issubdtype(y.dtype, np.integer):
        if not np.issubdtype(y.dtype, np.floating) or not np.all(y == np.round(y)):
            raise TypeError(f"{name}: expected integer class labels, got dtype {y.dtype}")
        y = y.astype(np.int64)
    if y.size and y.min() < 0:
        raise ValueError(f"{name}: expected labels >= 0, got {int(y.min())}")
    if n_classes is not None and y.size and y.max() >= n_classes:
        raise ValueError(f"{name}: expected labels < n_classes = {n_classes}, got {int(y.max())}")
    return y.astype(np.int64)


def one_hot(labels, n_classes):
    """(N,) integer labels -> (N, n_classes) float64 rows with a single 1 at the label
    (``sequences.one_hot`` does the same for token ids of any shape)."""
    n_classes = check_positive_int(n_classes, "n_classes")
    return sequences.one_hot(_labels(labels, "labels", n_classes), n_classes)


def confusion_matrix(y_true, y_pred, n_classes=None):
    """(C, C) int64 counts: entry [i, j] = samples of true class i predicted as class j.

    n_classes defaults to 1 + the largest label seen. Vectorized: each pair (i, j) is turned
    into the single index i * C + j and counted with ``np.bincount``.
    """
    y_true = _labels(y_true, "y_true")
    y_pred = _labels(y_pred, "y_pred")
    if y_true.shape != y_pred.shape:
        raise ValueError(f"confusion_matrix: y_true has shape {y_true.shape} but y_pred has "
                         f"shape {y_pred.shape}")
    if n_classes is None:
        n_classes = int(max(y_true.max(initial=-1), y_pred.max(initial=-1))) + 1
        n_classes = max(n_classes, 1)
    n_classes = check_positive_int(n_classes, "n_classes")
    _labels(y_true, "y_true", n_classes)
    _labels(y_pred, "y_pred", n_classes)
    counts = np.bincount(y_true * n_classes + y_pred, minlength=n_classes * n_classes)
    return counts.reshape(n_classes, n_classes).astype(np.int64)


def _safe_ratio(num, den):
    num, den = np.asarray(num, dtype=np.float64), np.asarray(den, dtype=np.float64)
    out = np.full(num.shape, np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


def per_class_accuracy(cm):
    """Per true class, the share of its samples predicted correctly: diag / row sums (the
    recall, 召回率). NaN for a class with no samples."""
    cm = np.asarray(cm)
    return _safe_ratio(np.diag(cm), cm.sum(axis=1))


def per_class_precision(cm):
    """Per predicted class, the share of its predictions that are right: diag / column sums
    (the precision, 精确率). NaN for a class never predicted."""
    cm = np.asarray(cm)
    return _safe_ratio(np.diag(cm), cm.sum(axis=0))


def accuracy_from_confusion(cm):
    """Overall accuracy: trace / total."""
    cm = np.asarray(cm)
    return float(np.trace(cm) / cm.sum())


def top_confusions(cm, k=5):
    """The k largest off-diagonal entries as (true class, predicted class, count), largest
    first (ties: smaller true class, then smaller predicted class first); zero counts left out."""
    cm = np.asarray(cm)
    off = cm.copy()
    np.fill_diagonal(off, 0)
    flat = off.reshape(-1)
    order = np.lexsort((np.arange(flat.size), -flat))  # by count descending, then by index
    n = cm.shape[1]
    return [(int(i // n), int(i % n), int(flat[i])) for i in order[:k] if flat[i] > 0]
