"""Datasets and batching: seeded 2-D toy problems, the bundled 8x8 digits, Fashion-MNIST, splits,
mini-batches.

Every generator takes ``rng`` (a ``np.random.Generator``); nothing is downloaded, except by
``load_fashion_mnist(..., download=True)`` (in ``fashion_mnist.py``, re-exported here).
Toy datasets return X: (N, 2) float64 and y: (N,) int64 class labels; every argument is
checked before ``rng`` draws anything, so a failed call leaves the generator untouched.
Noise levels and ``turns`` are capped at 1e300: beyond, the data would overflow to inf.
"""

import gzip
import importlib.util
from pathlib import Path

import numpy as np

from ._validate import (
    as_array,
    as_float_array,
    check_allocation,
    check_bool,
    check_generator,
    check_number,
    check_positive_int,
)
from .fashion_mnist import FASHION_MNIST_CLASSES, load_fashion_mnist  # noqa: F401 (re-exported)


def _sizes(n, rng, name, n_classes=1, width=2):
    """Check n (>= n_classes samples, so every class appears) and rng before any draw."""
    n, rng = check_positive_int(n, "n"), check_generator(rng)
    if n < n_classes:
        raise ValueError(f"{name}: expected n >= {n_classes} (one sample per class at least), got {n}")
    check_allocation((n, width), np.float64, name)
    return n, rng


LARGEST_SCALE = 1e300  # noise, std, turns: times a normal draw (|z| < 40) stays finite


def _scale(value, name):
    return check_number(value, name, low=0, high=LARGEST_SCALE)


def _noise(rng, shape, noise):
    return noise * rng.standard_normal(shape)


def make_xor(n, noise=0.1, *, rng):
    """Four Gaussian clusters at (+-1, +-1); label 1 where the signs differ (x1 * x2 < 0)."""
    n, rng = _sizes(n, rng, "make_xor")
    noise = _scale(noise, "noise")
    corners = rng.choice([-1.0, 1.0], size=(n, 2))
    X = corners + _noise(rng, (n, 2), noise)
    return X, (corners[:, 0] != corners[:, 1]).astype(np.int64)


def make_circles(n, noise=0.05, factor=0.5, *, rng):
    """Two concentric rings: label 0 on the unit circle, label 1 on the circle of radius ``factor``."""
    n, rng = _sizes(n, rng, "make_circles", n_classes=2)
    noise = _scale(noise, "noise")
    factor = check_number(factor, "factor", low=0, high=1, low_open=True, high_open=True)
    y = np.arange(n) % 2
    angle = rng.uniform(0, 2 * np.pi, n)
    radius = np.where(y == 1, factor, 1.0)
    X = np.c_[radius * np.cos(angle), radius * np.sin(angle)] + _noise(rng, (n, 2), noise)
    return X, y.astype(np.int64)


def make_moons(n, noise=0.1, *, rng):
    """Two interleaving half circles."""
    n, rng = _sizes(n, rng, "make_moons", n_classes=2)
    noise = _scale(noise, "noise")
    y = np.arange(n) % 2
    t = rng.uniform(0, np.pi, n)
    X = np.where(y[:, None] == 0,
                 np.c_[np.cos(t), np.sin(t)],
                 np.c_[1 - np.cos(t), 0.5 - np.sin(t)])
    return X + _noise(rng, (n, 2), noise), y.astype(np.int64)


def make_spirals(n, classes=2, noise=0.1, turns=1.5, *, rng):
    """``classes`` interleaved spiral arms, each making ``turns`` turns from the centre outward."""
    classes = check_positive_int(classes, "classes")
    n, rng = _sizes(n, rng, "make_spirals", n_classes=classes)
    noise = _scale(noise, "noise")
    turns = check_number(turns, "turns", low=-LARGEST_SCALE, high=LARGEST_SCALE)
    y = np.arange(n) % classes
    r = rng.uniform(0.05, 1.0, n)
    theta = 2 * np.pi * (turns * r + y / classes)
    X = np.c_[r * np.cos(theta), r * np.sin(theta)] + _noise(rng, (n, 2), noise) * r[:, None]
    return X, y.astype(np.int64)


def make_blobs(n, centers=((-1.0, -1.0), (1.0, 1.0)), std=0.5, *, rng):
    """Gaussian blobs, one class per centre (centers: (K, D), K <= n), with standard deviation
    ``std``. Returns X: (n, D) and y: (n,) labels 0..K-1."""
    centers = as_array(centers, "centers")
    if centers.dtype.kind in "iu":
        centers = centers.astype(np.float64)
    centers = as_float_array(centers, "centers", ndim=2)
    n, rng = _sizes(n, rng, "make_blobs", n_classes=len(centers), width=centers.shape[1])
    std = _scale(std, "std")
    if np.abs(centers).max() + 40 * std > 1e308:
        raise ValueError(f"make_blobs: centers up to {np.abs(centers).max():g} with std = {std:g} "
                         f"could overflow to inf; expected at most 1e308 in total")
    y = np.arange(n) % len(centers)
    X = centers[y] + std * rng.standard_normal((n, centers.shape[1]))
    return X, y.astype(np.int64)


TOY_DATASETS = {
    "xor": make_xor,
    "circles": make_circles,
    "moons": make_moons,
    "spirals": make_spirals,
    "blobs": make_blobs,
}


def load_digits(as_images=False):
    """The 8x8 handwritten digits bundled with scikit-learn (1797 images, no download).

    Returns X: (1797, 64) with pixel values scaled from 0..16 to [0, 1] (or (1797, 8, 8) with
    ``as_images=True``) and y: (1797,) int64 labels 0..9.
    """
    as_images = check_bool(as_images, "as_images")
    table = _digits_table()
    X = table[:, :64] / 16.0
    if as_images:
        X = X.reshape(-1, 8, 8)
    return X, table[:, 64].astype(np.int64)


def _digits_table():
    """The (1797, 65) table of scikit-learn's digits (64 pixels 0..16, then the label), read
    from the file scikit-learn ships (datasets/data/digits.csv.gz) without importing
    scikit-learn, whose import takes most of a second; through ``sklearn.datasets`` when
    that file is not where it has always been."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None:
        raise ModuleNotFoundError("load_digits: the 8x8 digits come with scikit-learn; "
                                  "install it with `pip install scikit-learn`")
    path = Path(spec.origin).parent / "datasets" / "data" / "digits.csv.gz"
    if path.is_file():
        with gzip.open(path) as f:
            fields = f.read().replace(b"\n", b",").rstrip(b",").split(b",")
        table = np.array(fields, dtype=np.float64)
        if table.size == 1797 * 65:
            return table.reshape(1797, 65)
    from sklearn.datasets import load_digits as sklearn_digits

    bunch = sklearn_digits()
    return np.column_stack([bunch.data.astype(np.float64), bunch.target])


def _samples(X, y, where):
    """X: (N, ...) and y: (N, ...) as arrays with the same, non-zero number of samples N."""
    X, y = as_array(X, f"{where} X"), as_array(y, f"{where} y")
    for name, arr in (("X", X), ("y", y)):
        if arr.ndim == 0:
            raise ValueError(f"{where} {name}: expected an array of samples (N, ...), got a "
                             f"0-d value {arr!r}")
    if len(X) != len(y):
        raise ValueError(f"{where}: X has {len(X)} samples but y has {len(y)}")
    if len(X) == 0:
        raise ValueError(f"{where}: expected a non-empty dataset, got 0 samples")
    return X, y


def train_val_test_split(X, y, val=0.15, test=0.15, *, rng):
    """Shuffle once and cut into train / validation / test parts with the given fractions.

    X: (N, ...), y: (N, ...). Each part gets round(fraction * N) samples; a fraction > 0
    that rounds to no sample, or fractions that leave no training sample, raise ValueError.
    Returns ((X_train, y_train), (X_val, y_val), (X_test, y_test)).
    """
    rng = check_generator(rng)
    X, y = _samples(X, y, "train_val_test_split")
    val = check_number(val, "val", low=0, high=1)
    test = check_number(test, "test", low=0, high=1)
    n = len(X)
    n_val, n_test = int(round(val * n)), int(round(test * n))
    for name, fraction, count in (("val", val, n_val), ("test", test, n_test)):
        if fraction > 0 and count == 0:
            raise ValueError(f"{name}: {fraction} of {n} samples rounds to no sample; expected a "
                             f"larger fraction (or 0 for no {name} set)")
    if n_val + n_test >= n:
        raise ValueError(f"train_val_test_split: val + test = {val + test} leaves no training data")
    order = rng.permutation(n)
    parts = np.split(order, [n - n_val - n_test, n - n_test])
    return tuple((X[idx], y[idx]) for idx in parts)


def iterate_minibatches(X, y, batch_size, *, rng=None, shuffle=True, drop_last=False):
    """Yield (X_batch, y_batch) pairs covering the data once (one epoch).

    shuffle=True draws a new order from ``rng`` (a np.random.Generator) when the iteration
    starts; the last batch may be smaller unless ``drop_last`` (then, as in PyTorch's
    DataLoader, batch_size > N gives no batch at all). X: (N, ...), y: (N, ...). The
    arguments are checked at once, not at the first batch.
    """
    batch_size = check_positive_int(batch_size, "batch_size")
    shuffle = check_bool(shuffle, "shuffle")
    drop_last = check_bool(drop_last, "drop_last")
    X, y = _samples(X, y, "iterate_minibatches")
    if shuffle:
        check_generator(rng)
    return _minibatches(X, y, batch_size, rng if shuffle else None, drop_last)


def _minibatches(X, y, batch_size, rng, drop_last):
    n = len(X)
    order = rng.permutation(n) if rng is not None else np.arange(n)
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        idx = order[start:start + batch_size]
        yield X[idx], y[idx]
