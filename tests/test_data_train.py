"""Datasets, splits, mini-batches and the fit loop."""

import numpy as np
import pytest

import course_nn as cn
from course_nn.data import (
    TOY_DATASETS,
    iterate_minibatches,
    load_digits,
    make_circles,
    make_spirals,
    make_xor,
    train_val_test_split,
)
from course_nn.train import accuracy, fit, predict


@pytest.mark.parametrize("name", sorted(TOY_DATASETS))
def test_toy_datasets_are_seeded_and_shaped(name):
    make = TOY_DATASETS[name]
    X1, y1 = make(200, rng=np.random.default_rng(5))
    X2, y2 = make(200, rng=np.random.default_rng(5))
    X3, _ = make(200, rng=np.random.default_rng(6))
    assert X1.shape == (200, 2) and X1.dtype == np.float64 and y1.dtype == np.int64
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(X1, X3)
    assert len(np.unique(y1)) >= 2


def test_xor_and_circles_labels_follow_their_geometry():
    X, y = make_xor(500, noise=0.0, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(y, (X[:, 0] * X[:, 1] < 0).astype(int))
    X, y = make_circles(500, noise=0.0, factor=0.3, rng=np.random.default_rng(0))
    np.testing.assert_allclose(np.hypot(*X.T), np.where(y == 1, 0.3, 1.0))


def test_toy_dataset_arguments_are_validated():
    with pytest.raises(TypeError, match="expected a numpy Generator"):
        make_xor(10, rng=0)
    with pytest.raises(ValueError, match="n: expected a positive integer, got 0"):
        make_spirals(0, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="noise: expected a value >= 0, got -1.0"):
        make_xor(10, noise=-1.0, rng=np.random.default_rng(0))


def test_digits_are_bundled_and_scaled():
    X, y = load_digits()
    assert X.shape == (1797, 64) and y.shape == (1797,)
    assert X.min() == 0.0 and X.max() == 1.0
    assert set(np.unique(y)) == set(range(10))
    assert load_digits(as_images=True)[0].shape == (1797, 8, 8)


def test_digits_equal_scikit_learns_without_importing_it():
    """load_digits reads scikit-learn's own file, so it gives exactly sklearn's digits, and
    (being quick) does not import scikit-learn."""
    import subprocess
    import sys

    from sklearn.datasets import load_digits as sklearn_digits

    X, y = load_digits()
    bunch = sklearn_digits()
    assert X.dtype == np.float64 and y.dtype == np.int64
    assert np.array_equal(X, bunch.data / 16.0) and np.array_equal(y, bunch.target)
    code = ("import sys; from course_nn.data import load_digits; load_digits(); "
            "print('sklearn' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_split_is_a_partition():
    X = np.arange(100.0)[:, None]
    y = np.arange(100)
    (a, ya), (b, yb), (c, yc) = train_val_test_split(X, y, val=0.2, test=0.1,
                                                     rng=np.random.default_rng(1))
    assert (len(a), len(b), len(c)) == (70, 20, 10)
    assert sorted(np.concatenate([ya, yb, yc])) == list(range(100))
    np.testing.assert_array_equal(a[:, 0], ya)
    with pytest.raises(ValueError, match="leaves no training data"):
        train_val_test_split(X, y, val=0.5, test=0.5, rng=np.random.default_rng(1))


def test_minibatches_cover_each_sample_once():
    X, y = np.arange(10.0)[:, None], np.arange(10)
    batches = list(iterate_minibatches(X, y, 4, rng=np.random.default_rng(0)))
    assert [len(b[1]) for b in batches] == [4, 4, 2]
    assert sorted(np.concatenate([b[1] for b in batches])) == list(range(10))
    assert [len(b[1]) for b in iterate_minibatches(X, y, 4, shuffle=False, drop_last=True)] == [4, 4]
    with pytest.raises(ValueError, match="X has 10 samples but y has 9"):
        next(iterate_minibatches(X, y[:9], 4, shuffle=False))


def _digits_mlp(seed=0):
    rng = np.random.default_rng(seed)
    X, y = load_digits()
    train, val, test = train_val_test_split(X, y, rng=rng)
    model = cn.Sequential(cn.Linear(64, 128, rng=rng, init=cn.init.he_normal), cn.ReLU(),
                          cn.Linear(128, 10, rng=rng))
    return model, train, val, test, rng


def test_fit_trains_a_digits_mlp_past_97_percent():
    model, train, val, test, rng = _digits_mlp()
    loss_fn = cn.CrossEntropyLoss()
    history = fit(model, loss_fn, cn.optim.Adam(model.parameters(), lr=1e-3), train, val,
                  epochs=30, batch_size=32, rng=rng, progress=False)
    assert history.epochs == 30 and len(history.val_acc) == 30
    assert history.train_loss[-1] < history.train_loss[0] / 5
    assert accuracy(predict(model, test[0]), test[1]) >= 0.97


def test_early_stopping_restores_the_best_parameters():
    model, train, val, _, rng = _digits_mlp(1)
    loss_fn = cn.CrossEntropyLoss()
    history = fit(model, loss_fn, cn.optim.SGD(model.parameters(), lr=0.5), train, val,
                  epochs=60, batch_size=16, rng=rng, patience=3, progress=False)
    assert history.stopped_early and history.epochs < 60
    assert history.best_epoch == int(np.argmin(history.val_loss))
    assert loss_fn(predict(model, val[0]), val[1]) == pytest.approx(min(history.val_loss))


def test_fit_validates_its_arguments():
    model, train, _, _, rng = _digits_mlp()
    opt = cn.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="needs a validation set"):
        fit(model, cn.CrossEntropyLoss(), opt, train, epochs=2, batch_size=8, rng=rng, patience=2)
    with pytest.raises(ValueError, match="epochs: expected a positive integer, got 0"):
        fit(model, cn.CrossEntropyLoss(), opt, train, epochs=0, batch_size=8, rng=rng)


def test_predict_restores_training_mode():
    model = cn.Sequential(cn.Linear(2, 2), cn.Dropout(0.5))
    predict(model, np.ones((3, 2)))
    assert model.training and model[1].training
