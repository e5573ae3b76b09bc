"""Data augmentation for the 8x8 digits: shift images by whole pixels, filling with zeros.

A digit moved one pixel to the left is still the same digit, so shifted copies are free
extra training data (数据增强, data augmentation). Conventions, for an image ``img[row, col]``:

    dx > 0 moves the content right (toward larger column indices), dx < 0 left;
    dy > 0 moves the content down (toward larger row indices), dy < 0 up;
    out[r, c] = img[r - dy, c - dx] where that pixel exists, 0 where it does not.

Nothing wraps around (unlike ``np.roll``): pixels pushed over an edge are lost and the
uncovered border is background (0). Every function accepts images of shape (N, 8, 8) or
flattened rows (N, 64) (any square side; (N, side*side) is reshaped) and returns the same
layout it was given. A shift of S pixels or more moves the whole content out (an all-zero
image). Images must be float (N, S, S) or (N, S*S) arrays without NaN/inf; shifts must be
whole numbers; every argument is checked before ``rng`` draws anything.
"""

import math

import numpy as np

from ._validate import (
    as_array,
    as_float_array,
    check_allocation,
    check_generator,
    check_positive_int,
)

#: The eight one-pixel shifts (dx, dy) around the original position.
NEIGHBOUR_SHIFTS = tuple((dx, dy) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dx, dy) != (0, 0))


def _as_images(X, name):
    """Return (images (N, S, S), flat?) for input (N, S, S) or (N, S*S)."""
    X = as_float_array(as_array(X, name), name, ndim=(2, 3))
    if X.ndim == 3:
        if X.shape[1] != X.shape[2]:
            raise ValueError(f"{name}: expected square images (N, S, S), got shape {X.shape}")
        return X, False
    side = math.isqrt(X.shape[1])
    if side * side != X.shape[1]:
        raise ValueError(f"{name}: expected (N, S*S) flattened square images, got shape {X.shape}")
    return X.reshape(len(X), side, side), True


def _shift_amounts(d, n, side, name):
    """(n,) int64 shifts from an int or an (n,) array of whole numbers, clipped to [-side, side]
    (any larger shift empties the image just the same, and clipping keeps the index arithmetic
    from overflowing)."""
    d = as_array(d, name)
    if d.ndim > 1 or (d.ndim == 1 and len(d) != n):
        raise ValueError(f"{name}: expected one shift or an array of shape ({n},) (one per image), "
                         f"got shape {d.shape}")
    if d.dtype.kind == "f":
        if not np.all(np.isfinite(d)):
            raise ValueError(f"{name}: expected finite whole-pixel shifts, got NaN or inf")
        if not np.all(d == np.round(d)):
            raise TypeError(f"{name}: expected whole-pixel (integer) shifts, got "
                            f"{d[d != np.round(d)].reshape(-1)[0]!r}")
    elif d.dtype.kind not in "iu":
        raise TypeError(f"{name}: expected whole-pixel (integer) shifts, got dtype {d.dtype}")
    return np.broadcast_to(np.clip(d, -side, side), (n,)).astype(np.int64)


def shift_images(X, dx, dy):
    """Shift every image by (dx[i], dy[i]) whole pixels with zero fill (vectorized).

    X: (N, S, S) or (N, S*S). dx, dy: ints or integer arrays of shape (N,), one shift per
    image (a single int shifts all images alike). Returns an array of X's shape and layout.
    """
    images, flat = _as_images(X, "shift_images X")
    n, side, _ = images.shape
    dx = _shift_amounts(dx, n, side, "shift_images dx")
    dy = _shift_amounts(dy, n, side, "shift_images dy")
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
    n = len(_as_images(X, "random_shifts X")[0])  # checked before the draws
    dx = rng.integers(-max_shift, max_shift + 1, size=n)
    dy = rng.integers(-max_shift, max_shift + 1, size=n)
    return shift_images(X, dx, dy), dx, dy


def augment_with_shifts(X, y, copies, *, rng, max_shift=1):
    """The originals followed by ``copies`` randomly shifted copies of every image.

    X: (N, S, S) or (N, S*S); y: (N, ...). Returns (X_aug, y_aug) with (copies + 1) * N
    samples; labels are repeated unchanged.
    """
    copies = check_positive_int(copies, "copies")
    rng = check_generator(rng)
    max_shift = check_positive_int(max_shift, "max_shift")
    images, _ = _as_images(X, "augment_with_shifts X")
    X = np.asarray(X)
    y = as_array(y, "augment_with_shifts y")
    if y.ndim == 0 or len(y) != len(images):
        raise ValueError(f"augment_with_shifts: X has {len(images)} samples but y has shape "
                         f"{y.shape}")
    check_allocation(((copies + 1) * len(images),) + X.shape[1:], X.dtype, "augment_with_shifts")
    parts = [X]
    for _ in range(copies):
        parts.append(random_shifts(X, rng=rng, max_shift=max_shift)[0])
    return np.concatenate(parts), np.tile(y, (copies + 1,) + (1,) * (y.ndim - 1))
