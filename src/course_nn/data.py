"""Datasets and batching: seeded 2-D toy problems, the bundled 8x8 digits, splits, mini-batches.

Every generator takes ``rng`` (a ``np.random.Generator``); nothing is downloaded.
Toy datasets return X: (N, 2) float64 and y: (N,) int64 class labels.
"""

import numpy as np

from ._validate import as_float_array, check_generator, check_number, check_positive_int


def _noise(rng, shape, noise):
    return check_number(noise, "noise", low=0) * rng.standard_normal(shape)


def make_xor(n, noise=0.1, *, rng):
    """Four Gaussian clusters at (+-1, +-1); label 1 where the signs differ (x1 * x2 < 0)."""
    n, rng = check_positive_int(n, "n"), check_generator(rng)
    corners = rng.choice([-1.0, 1.0], size=(n, 2))
    X = corners + _noise(rng, (n, 2), noise)
    return X, (corners[:, 0] != corners[:, 1]).astype(np.int64)


def make_circles(n, noise=0.05, factor=0.5, *, rng):
    """Two concentric rings: label 0 on the unit circle, label 1 on the circle of radius ``factor``."""
    n, rng = check_positive_int(n, "n"), check_generator(rng)
    factor = check_number(factor, "factor", low=0, high=1, low_open=True, high_open=True)
    y = np.arange(n) % 2
    angle = rng.uniform(0, 2 * np.pi, n)
    radius = np.where(y == 1, factor, 1.0)
    X = np.c_[radius * np.cos(angle), radius * np.sin(angle)] + _noise(rng, (n, 2), noise)
    return X, y.astype(np.int64)


def make_moons(n, noise=0.1, *, rng):
    """Two interleaving half circles."""
    n, rng = check_positive_int(n, "n"), check_generator(rng)
    y = np.arange(n) % 2
    t = rng.uniform(0, np.pi, n)
    X = np.where(y[:, None] == 0,
                 np.c_[np.cos(t), np.sin(t)],
                 np.c_[1 - np.cos(t), 0.5 - np.sin(t)])
    return X + _noise(rng, (n, 2), noise), y.astype(np.int64)


def make_spirals(n, classes=2, noise=0.1, turns=1.5, *, rng):
    """``classes`` interleaved spiral arms, each making ``turns`` turns from the centre outward."""
    n, rng = check_positive_int(n, "n"), check_generator(rng)
    classes = check_positive_int(classes, "classes")
    y = np.arange(n) % classes
    r = rng.uniform(0.05, 1.0, n)
    theta = 2 * np.pi * (turns * r + y / classes)
    X = np.c_[r * np.cos(theta), r * np.sin(theta)] + _noise(rng, (n, 2), noise) * r[:, None]
    return X, y.astype(np.int64)


def make_blobs(n, centers=((-1.0, -1.0), (1.0, 1.0)), std=0.5, *, rng):
    """Gaussian blobs, one class per centre (centers: (K, 2)), with standard deviation ``std``."""
    n, rng = check_positive_int(n, "n"), check_generator(rng)
    centers = as_float_array(centers, "centers", ndim=2)
    y = np.arange(n) % len(centers)
    X = centers[y] + check_number(std, "std", low=0) * rng.standard_normal((n, centers.shape[1]))
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
    from sklearn.datasets import load_digits as sklearn_digits  # imported here: slow to import

    bunch = sklearn_digits()
    X = bunch.data.astype(np.float64) / 16.0
    if as_images:
        X = X.reshape(-1, 8, 8)
    return X, bunch.target.astype(np.int64)


def train_val_test_split(X, y, val=0.15, test=0.15, *, rng):
    """Shuffle once and cut into train / validation / test parts with the given fractions.

    Returns ((X_train, y_train), (X_val, y_val), (X_test, y_test)).
    """
    rng = check_generator(rng)
    X, y = np.asarray(X), np.asarray(y)
    if len(X) != len(y):
        raise ValueError(f"train_val_test_split: X has {len(X)} samples but y has {len(y)}")
    val = check_number(val, "val", low=0, high=1)
    test = check_number(test, "test", low=0, high=1)
    n_val, n_test = int(round(val * len(X))), int(round(test * len(X)))
    if n_val + n_test >= len(X):
        raise ValueError(f"train_val_test_split: val + test = {val + test} leaves no training data")
    order = rng.permutation(len(X))
    parts = np.split(order, [len(X) - n_val - n_test, len(X) - n_test])
    return tuple((X[idx], y[idx]) for idx in parts)


def iterate_minibatches(X, y, batch_size, *, rng=None, shuffle=True, drop_last=False):
    """Yield (X_batch, y_batch) pairs covering the data once (one epoch).

    shuffle=True draws a new order from ``rng`` each call; the last batch may be smaller
    unless ``drop_last``. X: (N, ...), y: (N, ...).
    """
    batch_size = check_positive_int(batch_size, "batch_size")
    n = len(X)
    if n != len(y):
        raise ValueError(f"iterate_minibatches: X has {n} samples but y has {len(y)}")
    if n == 0:
        raise ValueError("iterate_minibatches: expected a non-empty dataset, got 0 samples")
    order = check_generator(rng).permutation(n) if shuffle else np.arange(n)
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        idx = order[start:start + batch_size]
        yield X[idx], y[idx]
