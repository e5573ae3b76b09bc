"""Data augmentation for the 8x8 digits: shift images by whole pixels, filling with zeros.

A digit moved one pixel to the left is still the same digit, so shifted copies are free
extra training data (数据增强, data augmentation). Conventions, for an image ``img[row, col]``:

    dx > 0 moves the content right (toward larger column indices), dx < 0 left;
    dy > 0 moves the content down (toward larger row indices), dy < 0 up;
    out[r, c] = img[r - dy, c - dx] where that pixel exists, 0 where it does not.

Nothing wraps around (unlike ``np.roll``): pixels pushed over an edge are lost and the
uncovered border is background (0). Every function accepts images of shape (N, 8, 8) or
flattened rows (N, 64) (any square side; (N, side*side) is reshaped) and returns the same
layout it was given.
"""

import math

import numpy as np

from ._validate import as_float_array, check_generator, check_positive_int

#: The eight one-pixel shifts (dx, dy) around the original position.
NEIGHBOUR_SHIFTS = tuple((dx, dy) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dx, dy) != (0, 0))


def _as_images(X, name):
    """Return (images (N, S, S), flat?) for input (N, S, S) or (N, S*S)."""
    X = as_float_array(X, name, ndim=(2, 3))
    if X.ndim == 3:
        if X.shape[1] != X.shape[2]:
            raise ValueError(f"{name}: expected square images (N, S, S), got shape {X.shape}")
        return X, False
    side = math.isqrt(X.shape[1])
    if side * side != X.shape[1]:
        raise ValueError(f"{name}: expected (N, S*S) flattened square images, got shape {X.shape}")
    return X.reshape(len(X), side, side), True


def _shift_amounts(d, n, name):
    d = np.asarray(d)
    if not np.issubdtype(d.dtype, np.integer):
        if d.dtype.kind == "f" and np.all(d == np.round(d)):
            d = d.astype(np.int64)
        else:
            raise TypeError(f"{name}: expected whole-pixel (integer) shifts, got {d!r}")
    d = np.broadcast_to(d, (n,)).astype(np.int64)
    return d


def shift_images(X, dx, dy):
    """Shift every image by (dx[i], dy[i]) whole pixels with zero fill (vectorized).

    X: (N, S, S) or (N, S*S). dx, dy: ints or integer arrays of shape (N,), one shift per
    image (a single int shifts all images alike). Returns an array of X's shape and layout.
    """
    images, flat = _as_images(X, "shift_images X")
    n, side, _ = images.shape
    dx = _shift_amounts(dx, n, "shift_images dx")
    dy = _shift_amounts(dy, n, "shift_images dy")
    rows = np.arange(side)[None, :, None] - dy[:, None, None]        # source row of each output
    cols = np.arange(side)[None, None, :] - dx[:, None, None]        # source column
    inside = (rows >= 0) & (rows < side) & (cols >= 0) & (cols < side)
    batch = np.arange(n)[:, None, None]
    out = np.where(inside, images[batch, np.clip(rows, 0, side - 1), np.clip(cols, 0, side - 1)], 0.0)
    return out.reshape(n, side * side) if flat else out


def random_shifts(X, *, rng, max_shift=1):
    """Each image shifted by its own (dx, dy), drawn uniformly from {-max_shift..max_shift}^2.

    Returns (shifted X, dx (N,), dy (N,)); (0, 0) is one of the possible draws.
    """
    rng = check_generator(rng)
    max_shift = check_positive_int(max_shift, "max_shift")
    n = len(as_float_array(X, "random_shifts X", ndim=(2, 3)))
    dx = rng.integers(-max_shift, max_shift + 1, size=n)
    dy = rng.integers(-max_shift, max_shift + 1, size=n)
    return shift_images(X, dx, dy), dx, dy


def augment_with_shifts(X, y, copies, *, rng, max_shift=1):
    """The originals followed by ``copies`` randomly shifted copies of every image.

    Returns (X_aug, y_aug) with (copies + 1) * N samples; labels are repeated unchanged.
    """
    copies = check_positive_int(copies, "copies")
    y = np.asarray(y)
    if len(y) != len(X):
        raise ValueError(f"augment_with_shifts: X has {len(X)} samples but y has {len(y)}")
    parts = [np.asarray(X, dtype=float)]
    for _ in range(copies):
        parts.append(random_shifts(X, rng=rng, max_shift=max_shift)[0])
    return np.concatenate(parts), np.tile(y, copies + 1)
