"""course_nn.metrics: one-hot labels, the confusion matrix and the per-class numbers read from
it, against plain loops and against scikit-learn."""

import numpy as np
import pytest

from course_nn import metrics


def _loop_confusion(y_true, y_pred, n_classes):
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    for t, p in zip(y_true, y_pred):
        cm[t, p] += 1
    return cm


def test_one_hot():
    out = metrics.one_hot(np.array([2, 0, 2]), 4)
    np.testing.assert_array_equal(out, [[0, 0, 1, 0], [1, 0, 0, 0], [0, 0, 1, 0]])
    assert out.dtype == np.float64
    assert metrics.one_hot(np.array([], dtype=int), 3).shape == (0, 3)


@pytest.mark.parametrize("labels,n,match", [
    (np.array([0, 3]), 3, "labels < n_classes = 3, got 3"),
    (np.array([-1, 0]), 3, "labels >= 0"),
    (np.array([[0, 1]]), 3, "1-D array"),
    (np.array([0.5]), 3, "integer class labels"),
])
def test_one_hot_rejects_bad_labels(labels, n, match):
    with pytest.raises((ValueError, TypeError), match=match):
        metrics.one_hot(labels, n)


def test_one_hot_accepts_integral_floats():
    np.testing.assert_array_equal(metrics.one_hot(np.array([1.0, 0.0]), 2), [[0, 1], [1, 0]])


def test_confusion_matrix_small_example():
    cm = metrics.confusion_matrix(np.array([0, 0, 0, 1]), np.array([1, 1, 0, 1]), 2)
    np.testing.assert_array_equal(cm, [[1, 2], [0, 1]])  # rows: true, columns: predicted
    assert cm.dtype == np.int64


@pytest.mark.parametrize("seed", range(5))
def test_confusion_matrix_matches_loop_and_sklearn(seed):
    from sklearn.metrics import confusion_matrix as sk_confusion

    rng = np.random.default_rng(seed)
    c = int(rng.integers(2, 12))
    y_true = rng.integers(0, c, size=200)
    y_pred = np.where(rng.random(200) < 0.6, y_true, rng.integers(0, c, size=200))
    cm = metrics.confusion_matrix(y_true, y_pred, c)
    np.testing.assert_array_equal(cm, _loop_confusion(y_true, y_pred, c))
    np.testing.assert_array_equal(cm, sk_confusion(y_true, y_pred, labels=np.arange(c)))
    assert cm.sum() == 200 and np.trace(cm) == np.sum(y_true == y_pred)


def test_confusion_matrix_keeps_unseen_classes_and_infers_size():
    cm = metrics.confusion_matrix(np.array([1, 1]), np.array([1, 1]), 4)
    assert cm.shape == (4, 4) and cm[1, 1] == 2 and cm.sum() == 2
    assert metrics.confusion_matrix(np.array([0, 2]), np.array([1, 0])).shape == (3, 3)


def test_confusion_matrix_validates():
    with pytest.raises(ValueError, match="y_true has shape"):
        metrics.confusion_matrix(np.array([0, 1]), np.array([0]), 2)
    with pytest.raises(ValueError, match="labels < n_classes = 2, got 2"):
        metrics.confusion_matrix(np.array([0, 2]), np.array([0, 1]), 2)


def test_per_class_numbers():
    cm = np.array([[5, 1, 0], [2, 8, 0], [0, 0, 0]])
    np.testing.assert_allclose(metrics.per_class_accuracy(cm)[:2], [5 / 6, 8 / 10])
    assert np.isnan(metrics.per_class_accuracy(cm)[2])       # no samples of class 2
    np.testing.assert_allclose(metrics.per_class_precision(cm)[:2], [5 / 7, 8 / 9])
    assert np.isnan(metrics.per_class_precision(cm)[2])      # class 2 never predicted
    assert metrics.accuracy_from_confusion(cm) == pytest.approx(13 / 16)


def test_per_class_numbers_match_sklearn():
    from sklearn.metrics import precision_score, recall_score

    rng = np.random.default_rng(3)
    y_true = rng.integers(0, 5, size=300)
    y_pred = np.where(rng.random(300) < 0.7, y_true, rng.integers(0, 5, size=300))
    cm = metrics.confusion_matrix(y_true, y_pred, 5)
    np.testing.assert_allclose(metrics.per_class_accuracy(cm), recall_score(y_true, y_pred, average=None))
    np.testing.assert_allclose(metrics.per_class_precision(cm),
                               precision_score(y_true, y_pred, average=None))


def test_top_confusions():
    cm = np.array([[9, 3, 0], [1, 7, 3], [0, 2, 5]])
    assert metrics.top_confusions(cm, k=3) == [(0, 1, 3), (1, 2, 3), (2, 1, 2)]
    assert metrics.top_confusions(np.eye(3, dtype=int) * 4) == []       # no mistakes
    assert len(metrics.top_confusions(cm, k=10)) == 4                  # only nonzero ones
