"""Classification metrics beyond accuracy: one-hot labels, the confusion matrix, and what it
says class by class.

Labels are integer class indices 0..C-1 of shape (N,). A confusion matrix ``cm`` is (C, C)
with ``cm[i, j]`` = the number of samples of true class i predicted as class j: rows are
the truth, columns the prediction (scikit-learn's convention), so the diagonal counts the
correct predictions and each row sums to that class's number of samples.

Labels must be integers; float labels are accepted only when every value is a whole number
(``1.0``, as labels read from a float table), and converted to int64. bool labels are
refused, as ``torch.nn.functional.one_hot`` refuses them.
"""

import numpy as np

from ._validate import as_array, check_allocation, check_int, check_positive_int

_LARGEST_LABEL = 2**53  # above it float labels are no longer exact integers


def _whole_numbers(arr, name, what):
    """int64 copy of a float array whose values are all finite whole numbers below 2**53."""
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: expected finite {what}, got NaN or inf")
    fractional = arr[arr != np.round(arr)]
    if fractional.size:
        raise TypeError(f"{name}: expected integer {what}, got dtype {arr.dtype} with the "
                        f"non-integer value {float(fractional[0])!r}")
    if arr.size and np.abs(arr).max() >= _LARGEST_LABEL:
        raise ValueError(f"{name}: expected {what} below 2**53, got {np.abs(arr).max():g}")
    return arr.astype(np.int64)


def _labels(y, name, n_classes=None):
    """(N,) int64 class labels, checked: 1-D, integer (or whole floats), >= 0, < n_classes."""
    y = as_array(y, name)
    if y.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array of class labels, got shape {y.shape}")
    if y.dtype.kind == "f":
        y = _whole_numbers(y, name, "class labels")
    elif y.dtype.kind not in "iu":
        raise TypeError(f"{name}: expected integer class labels, got dtype {y.dtype}")
    if y.size:
        low, high = int(y.min()), int(y.max())
        if low < 0:
            raise ValueError(f"{name}: expected labels >= 0, got {low}")
        if n_classes is not None and high >= n_classes:
            raise ValueError(f"{name}: expected labels < n_classes = {n_classes}, got {high}")
        if high >= 2**62:
            raise ValueError(f"{name}: expected labels below 2**62, got {high}")
    return y.astype(np.int64, copy=False)


def one_hot(labels, n_classes):
    """(N,) integer labels -> (N, n_classes) float64 rows with a single 1 at the label
    (``course_nn.lab.sequences.one_hot`` does the same for token ids of any shape). Allocates
    only the (N, n_classes) result, and refuses one above 2 GiB."""
    n_classes = check_positive_int(n_classes, "n_classes")
    return scatter_ones(_labels(labels, "labels", n_classes), n_classes, "one_hot")


def scatter_ones(ids, n_classes, name):
    """Checked int64 ids of any shape S (each in [0, n_classes)) -> float64 S + (n_classes,),
    with one 1 per id: the core of every one-hot encoding. Refuses a result above 2 GiB."""
    check_allocation(ids.shape + (n_classes,), np.float64, name)
    out = np.zeros(ids.shape + (n_classes,))
    out.reshape(-1, n_classes)[np.arange(ids.size), ids.reshape(-1)] = 1.0
    return out


def confusion_matrix(y_true, y_pred, n_classes=None):
    """(C, C) int64 counts: entry [i, j] = samples of true class i predicted as class j.

    y_true, y_pred: (N,) labels. n_classes defaults to 1 + the largest label seen (then the
    labels must not be empty). Vectorized: each pair (i, j) is turned into the single index
    i * C + j and counted with ``np.bincount``; a (C, C) matrix above 2 GiB is refused.
    """
    y_true = _labels(y_true, "y_true")
    y_pred = _labels(y_pred, "y_pred")
    if y_true.shape != y_pred.shape:
        raise ValueError(f"confusion_matrix: y_true has shape {y_true.shape} but y_pred has "
                         f"shape {y_pred.shape}")
    if n_classes is None:
        if y_true.size == 0:
            raise ValueError("confusion_matrix n_classes: cannot be inferred from empty labels; "
                             "pass n_classes")
        n_classes = int(max(y_true.max(), y_pred.max())) + 1
        what = f"confusion_matrix (n_classes = 1 + the largest label = {n_classes})"
    else:
        n_classes = check_positive_int(n_classes, "n_classes")
        what = "confusion_matrix"
    check_allocation((n_classes, n_classes), np.int64, what)
    _labels(y_true, "y_true", n_classes)
    _labels(y_pred, "y_pred", n_classes)
    counts = np.bincount(y_true * n_classes + y_pred, minlength=n_classes * n_classes)
    return counts.reshape(n_classes, n_classes).astype(np.int64, copy=False)


def _confusion(cm, name="cm"):
    """A confusion matrix, checked: square (C, C) with C >= 1, non-negative whole counts."""
    cm = as_array(cm, name)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1] or cm.shape[0] == 0:
        raise ValueError(f"{name}: expected a square (C, C) confusion matrix with C >= 1, "
                         f"got shape {cm.shape}")
    if cm.dtype.kind == "f":
        cm = _whole_numbers(cm, name, "counts")
    elif cm.dtype.kind not in "iu":
        raise TypeError(f"{name}: expected integer counts, got dtype {cm.dtype}")
    if cm.min() < 0:
        raise ValueError(f"{name}: expected counts >= 0, got {cm.min()}")
    if cm.max() >= 2**62:
        raise ValueError(f"{name}: expected counts below 2**62, got {cm.max()}")
    return cm.astype(np.int64, copy=False)


def _safe_ratio(num, den):
    num, den = np.asarray(num, dtype=np.float64), np.asarray(den, dtype=np.float64)
    out = np.full(num.shape, np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


def per_class_accuracy(cm):
    """Per true class, the share of its samples predicted correctly: diag / row sums (the
    recall, 召回率). cm: (C, C) counts -> (C,); NaN for a class with no samples."""
    cm = _confusion(cm)
    return _safe_ratio(np.diag(cm), cm.sum(axis=1))


def per_class_precision(cm):
    """Per predicted class, the share of its predictions that are right: diag / column sums
    (the precision, 精确率). cm: (C, C) counts -> (C,); NaN for a class never predicted."""
    cm = _confusion(cm)
    return _safe_ratio(np.diag(cm), cm.sum(axis=0))


def accuracy_from_confusion(cm):
    """Overall accuracy: trace / total, of (C, C) counts holding at least one sample."""
    cm = _confusion(cm)
    total = cm.sum()
    if total == 0:
        raise ValueError("cm: expected at least one sample, got a matrix of zeros")
    return float(np.trace(cm) / total)


def top_confusions(cm, k=5):
    """The k largest off-diagonal entries of (C, C) counts as (true class, predicted class,
    count), largest first (ties: smaller true class, then smaller predicted class first);
    zero counts left out, so fewer than k come back when there are fewer mistakes."""
    cm = _confusion(cm)
    k = check_int(k, "k", low=1)
    off = cm.copy()
    np.fill_diagonal(off, 0)
    flat = off.reshape(-1)
    order = np.lexsort((np.arange(flat.size), -flat))  # by count descending, then by index
    n = cm.shape[1]
    return [(int(i // n), int(i % n), int(flat[i])) for i in order[:k] if flat[i] > 0]
