"""Data augmentation for the 8x8 digits: whole-pixel shifts, rotation, scaling and cropping.

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

Rotation (``rotate_images``), scaling (``scale_images``) and pad-and-crop (``crop_images``,
``random_crops``), and all three with random parameters per image (``random_augment``) follow
the same conventions; their geometry is described above ``rotate_images``.
"""

import math
from typing import NamedTuple

import numpy as np

from ._validate import (
    as_array,
    as_float_array,
    check_allocation,
    check_generator,
    check_number,
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


# --------------------------------------------------------------------------------------------
# Rotation, scaling and cropping
#
# Geometry, for an image img[row, col] of side S drawn with row 0 at the top: the centre is
# ((S-1)/2, (S-1)/2); a positive angle rotates the content counter-clockwise on screen (as
# np.rot90 and torchvision's rotate); a scale above 1 enlarges the content about the centre.
# Every output pixel reads the input at the point the inverse transform sends it to, with
# bilinear interpolation (双线性插值) between the four surrounding pixels; pixels outside the
# image count as background (0), so nothing wraps around and the output stays within
# [min(0, X.min()), max(0, X.max())].

def _per_image(value, n, name, what):
    """(n,) float64 from one number or an (n,) array of finite numbers."""
    v = as_array(value, name)
    if v.ndim > 1 or (v.ndim == 1 and len(v) != n):
        raise ValueError(f"{name}: expected one {what} or an array of shape ({n},) (one per image), "
                         f"got shape {v.shape}")
    if v.dtype.kind not in "iuf" or v.dtype == bool:
        raise TypeError(f"{name}: expected real numbers ({what}), got dtype {v.dtype}")
    v = v.astype(np.float64)
    if not np.all(np.isfinite(v)):
        raise ValueError(f"{name}: expected finite numbers ({what}), got NaN or inf")
    return np.broadcast_to(v, (n,))


def _scales(scale, n, name):
    s = _per_image(scale, n, name, "scale factor")
    if np.any(s <= 0):
        raise ValueError(f"{name}: expected scale factors > 0, got {float(s[s <= 0][0])!r}")
    tiny = s < 1.0 / np.finfo(np.float64).max          # 1 / scale would overflow
    if np.any(tiny):
        raise ValueError(f"{name}: expected scale factors whose reciprocal is finite, got "
                         f"{float(s[tiny][0])!r}")
    return s


def _cos_sin_degrees(angle_deg):
    """cos and sin of angles in degrees, (N,) each, from + - * / only.

    np.cos and np.sin may differ in the last bit between CPUs and numpy versions (SIMD
    libraries); augmented training images feed 100 epochs of training, so the book computes
    them from IEEE arithmetic, which is the same everywhere: whole quarter turns are taken out
    exactly (in degrees), and the rest, at most 45 degrees, goes into the Taylor series up to
    t^15 / 15! and t^14 / 14! (remainder below 5e-17). Quarter turns come out exact.
    """
    a = np.fmod(angle_deg, 360.0)
    quarter = np.round(a / 90.0)
    t = (a - 90.0 * quarter) * (np.pi / 180.0)        # |t| <= pi/4
    t2 = t * t
    sin_t, cos_t = np.ones_like(t), np.ones_like(t)
    for k in range(7, 0, -1):                          # Horner, innermost term first
        sin_t = 1.0 - t2 / ((2 * k) * (2 * k + 1)) * sin_t
        cos_t = 1.0 - t2 / ((2 * k - 1) * (2 * k)) * cos_t
    sin_t = t * sin_t
    turn = np.mod(quarter, 4.0)
    cos = np.select([turn == 0, turn == 1, turn == 2], [cos_t, -sin_t, -cos_t], sin_t)
    sin = np.select([turn == 0, turn == 1, turn == 2], [sin_t, cos_t, -sin_t], -cos_t)
    return cos, sin


def _warp(images, angle_deg, scale):
    """Bilinear resampling of images (N, S, S) under rotation by angle_deg (N,) and scaling by
    scale (N,) about the centre, zero outside. Returns (N, S, S) in the images' dtype."""
    n, side, _ = images.shape
    centre = (side - 1) / 2.0
    cos, sin = (v[:, None, None] for v in _cos_sin_degrees(angle_deg))
    inv = (1.0 / scale)[:, None, None]
    # offsets of every output pixel from the centre: x to the right, y down
    y = np.arange(side, dtype=np.float64)[None, :, None] - centre
    x = np.arange(side, dtype=np.float64)[None, None, :] - centre
    # the inverse map: rotate by -angle (in the y-down frame) and divide by the scale
    src_c = centre + inv * (cos * x - sin * y)                    # (N, S, S)
    src_r = centre + inv * (sin * x + cos * y)
    # snap coordinates within 1e-9 of a pixel centre onto it, so that a round-off residue
    # (a zoom by 1/3 divides by 0.333...) does not mix in a neighbour
    for src in (src_r, src_c):
        nearest = np.round(src)
        np.copyto(src, nearest, where=np.abs(src - nearest) < 1e-9)
    # anything beyond one pixel outside the image reads only background; clipping keeps the
    # integer conversion safe for huge scale factors
    np.clip(src_r, -2.0, side + 1.0, out=src_r)
    np.clip(src_c, -2.0, side + 1.0, out=src_c)
    r0, c0 = np.floor(src_r), np.floor(src_c)
    fr, fc = src_r - r0, src_c - c0
    # read the four neighbours from a copy padded with background: 2 pixels before, 3 after,
    # so every index from the clipped range is inside it
    width = side + 5
    padded = np.pad(images, ((0, 0), (2, 3), (2, 3))).reshape(-1)
    flat = ((np.arange(n) * width * width)[:, None, None]
            + (r0.astype(np.int64) + 2) * width + (c0.astype(np.int64) + 2))
    top = (1.0 - fc) * padded[flat] + fc * padded[flat + 1]
    bottom = (1.0 - fc) * padded[flat + width] + fc * padded[flat + width + 1]
    out = (1.0 - fr) * top + fr * bottom
    return out.astype(images.dtype, copy=False)


def rotate_images(X, angle):
    """Rotate every image by angle[i] degrees counter-clockwise about its centre (vectorized).

    X: (N, S, S) or (N, S*S); angle: a number or an array of shape (N,), in degrees (small
    angles, such as up to 15, keep a digit a digit; any finite angle works: 90 is np.rot90).
    Bilinear interpolation, background 0 outside the image. Returns an array of X's shape,
    layout and dtype; angle 0 returns X's values exactly.
    """
    images, flat = _as_images(X, "rotate_images X")
    n, side, _ = images.shape
    angle = _per_image(angle, n, "rotate_images angle", "angle in degrees")
    out = _warp(images, angle, np.ones(n))
    return out.reshape(n, side * side) if flat else out


def scale_images(X, scale):
    """Zoom every image by scale[i] about its centre (vectorized).

    X: (N, S, S) or (N, S*S); scale: a number > 0 or an array of shape (N,): above 1 the content
    grows (and its border leaves the image), below 1 it shrinks (and background fills the
    border). Bilinear interpolation, background 0. Returns an array of X's shape, layout and
    dtype; scale 1 returns X's values exactly.
    """
    images, flat = _as_images(X, "scale_images X")
    n, side, _ = images.shape
    scale = _scales(scale, n, "scale_images scale")
    out = _warp(images, np.zeros(n), scale)
    return out.reshape(n, side * side) if flat else out


def _check_padding(padding, name):
    if isinstance(padding, bool) or not isinstance(padding, (int, np.integer)) or padding < 0:
        raise ValueError(f"{name}: expected a whole number of pixels >= 0, got {padding!r}")
    return int(padding)


def crop_images(X, top, left, padding):
    """Pad every image with ``padding`` background (0) pixels on each side, then cut the S x S
    window whose top-left corner is (top[i], left[i]) in the padded (S + 2 padding)^2 image.

    X: (N, S, S) or (N, S*S); top, left: ints or integer arrays of shape (N,), each in
    0 .. 2 * padding (``padding``, ``padding`` is the original position). This is what
    torchvision's RandomCrop(S, padding=padding) does after drawing the corner; it moves the
    content by (dx, dy) = (padding - left, padding - top) pixels, as ``shift_images``.
    Returns an array of X's shape and layout.
    """
    images, flat = _as_images(X, "crop_images X")
    n, side, _ = images.shape
    padding = _check_padding(padding, "crop_images padding")
    corners = []
    for value, name in ((top, "crop_images top"), (left, "crop_images left")):
        v = _shift_amounts(value, n, side + 2 * padding, name)
        bad = (v < 0) | (v > 2 * padding)
        if np.any(bad):
            given = np.broadcast_to(as_array(value, name), (n,))[bad][0].item()
            raise ValueError(f"{name}: expected corners in 0 .. {2 * padding} (2 * padding), got {given!r}")
        corners.append(v)
    top, left = corners
    padded = np.pad(images, ((0, 0), (padding, padding), (padding, padding)))
    rows = top[:, None, None] + np.arange(side)[None, :, None]
    cols = left[:, None, None] + np.arange(side)[None, None, :]
    out = padded[np.arange(n)[:, None, None], rows, cols]
    return out.reshape(n, side * side) if flat else out


def random_crops(X, *, rng, padding=1):
    """Pad-and-crop with a random corner per image, drawn uniformly from {0..2 padding}^2.

    X: (N, S, S) or (N, S*S). Returns (cropped X, top (N,), left (N,)); the corner (padding,
    padding), the uncropped image, is one of the possible draws.
    """
    rng = check_generator(rng)
    padding = _check_padding(padding, "random_crops padding")
    n = len(_as_images(X, "random_crops X")[0])  # checked before the draws
    top = rng.integers(0, 2 * padding + 1, size=n)
    left = rng.integers(0, 2 * padding + 1, size=n)
    return crop_images(X, top, left, padding), top, left


class Augmentation(NamedTuple):
    """What ``random_augment`` returns: the images and the parameters drawn for each."""

    images: np.ndarray   #: (N, S, S) or (N, S*S), as given
    angle: np.ndarray    #: (N,) degrees, counter-clockwise
    scale: np.ndarray    #: (N,) zoom factors
    top: np.ndarray      #: (N,) crop corners in the padded image
    left: np.ndarray     #: (N,)


def random_augment(X, *, rng, max_angle=15.0, scale_range=(0.9, 1.1), padding=1):
    """Rotate, scale and pad-and-crop every image with its own random parameters.

    X: (N, S, S) or (N, S*S). For image i: angle[i] uniform in [-max_angle, max_angle] degrees,
    scale[i] uniform in scale_range, then a crop corner as ``random_crops`` (drawn in that
    order: all angles, all scales, all tops, all lefts). Rotation and scaling are one bilinear
    resampling (one interpolation, not two), followed by the crop.
    Returns an ``Augmentation`` (images, angle, scale, top, left).
    """
    rng = check_generator(rng)
    max_angle = check_number(max_angle, "random_augment max_angle", low=0)
    lo_hi = as_array(scale_range, "random_augment scale_range")
    if lo_hi.shape != (2,) or lo_hi.dtype.kind not in "iuf" or lo_hi.dtype == bool:
        raise ValueError(f"random_augment scale_range: expected two numbers (low, high), got "
                         f"{scale_range!r}")
    lo, hi = _scales(lo_hi, 2, "random_augment scale_range")
    if lo > hi:
        raise ValueError(f"random_augment scale_range: expected low <= high, got {scale_range!r}")
    padding = _check_padding(padding, "random_augment padding")
    images, flat = _as_images(X, "random_augment X")
    n, side, _ = images.shape
    angle = rng.uniform(-max_angle, max_angle, size=n)
    scale = rng.uniform(lo, hi, size=n)
    top = rng.integers(0, 2 * padding + 1, size=n)
    left = rng.integers(0, 2 * padding + 1, size=n)
    out = crop_images(_warp(images, angle, scale), top, left, padding)
    return Augmentation(out.reshape(n, side * side) if flat else out, angle, scale, top, left)
