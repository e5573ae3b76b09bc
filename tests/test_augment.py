"""course_nn.augment: whole-pixel shifts with zero fill, vectorized and seeded."""

import numpy as np
import pytest

from course_nn.augment import NEIGHBOUR_SHIFTS, augment_with_shifts, random_shifts, shift_images
from course_nn.data import load_digits


def _loop_shift(img, dx, dy):
    """The definition, one pixel at a time: out[r, c] = img[r - dy, c - dx] or 0."""
    side = img.shape[0]
    out = np.zeros_like(img)
    for r in range(side):
        for c in range(side):
            if 0 <= r - dy < side and 0 <= c - dx < side:
                out[r, c] = img[r - dy, c - dx]
    return out


def test_matches_the_pixel_loop_for_every_small_shift():
    img = np.random.default_rng(0).random((8, 8))
    for dx in range(-9, 10):
        for dy in range(-3, 4):
            np.testing.assert_array_equal(shift_images(img[None], dx, dy)[0], _loop_shift(img, dx, dy))


def test_direction_convention():
    img = np.zeros((5, 5))
    img[2, 2] = 1.0
    right = shift_images(img[None], 1, 0)[0]
    down = shift_images(img[None], 0, 1)[0]
    assert right[2, 3] == 1.0 and right.sum() == 1.0      # dx > 0: content moves right
    assert down[3, 2] == 1.0 and down.sum() == 1.0        # dy > 0: content moves down


def test_zero_fill_not_wrap_around():
    img = np.ones((4, 4))
    out = shift_images(img[None], 1, 0)[0]
    np.testing.assert_array_equal(out[:, 0], 0.0)          # uncovered column is background
    assert out.sum() == 12.0                               # the last column fell off the edge
    assert not np.array_equal(out, np.roll(img, 1, axis=1))


def test_per_image_shifts_vectorized():
    rng = np.random.default_rng(1)
    images = rng.random((20, 8, 8))
    dx, dy = rng.integers(-2, 3, 20), rng.integers(-2, 3, 20)
    out = shift_images(images, dx, dy)
    for i in range(20):
        np.testing.assert_array_equal(out[i], _loop_shift(images[i], dx[i], dy[i]))


def test_flat_rows_keep_their_layout():
    X, _ = load_digits()
    flat = shift_images(X[:10], -1, 1)
    assert flat.shape == (10, 64)
    np.testing.assert_array_equal(flat.reshape(10, 8, 8), shift_images(X[:10].reshape(10, 8, 8), -1, 1))


def test_shift_and_back_recovers_the_interior():
    img = np.random.default_rng(2).random((8, 8))
    back = shift_images(shift_images(img[None], 2, -1), -2, 1)[0]
    np.testing.assert_array_equal(back[1:, :6], img[1:, :6])


def test_input_is_not_modified():
    img = np.random.default_rng(3).random((3, 8, 8))
    copy = img.copy()
    shift_images(img, 1, 1)
    np.testing.assert_array_equal(img, copy)


def test_random_shifts_are_seeded_and_bounded():
    X, _ = load_digits()
    a, dx, dy = random_shifts(X[:50], rng=np.random.default_rng(5), max_shift=2)
    b, dx2, dy2 = random_shifts(X[:50], rng=np.random.default_rng(5), max_shift=2)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(dx, dx2)
    assert set(np.unique(dx)) <= set(range(-2, 3)) and set(np.unique(dy)) <= set(range(-2, 3))
    np.testing.assert_array_equal(a, shift_images(X[:50], dx, dy))


def test_augment_with_shifts():
    X, y = load_digits()
    Xa, ya = augment_with_shifts(X[:30], y[:30], 3, rng=np.random.default_rng(0))
    assert Xa.shape == (120, 64) and ya.shape == (120,)
    np.testing.assert_array_equal(Xa[:30], X[:30])
    np.testing.assert_array_equal(ya, np.tile(y[:30], 4))


def test_neighbour_shifts():
    assert len(NEIGHBOUR_SHIFTS) == 8 and (0, 0) not in NEIGHBOUR_SHIFTS
    assert len(set(NEIGHBOUR_SHIFTS)) == 8


def test_errors():
    with pytest.raises(ValueError, match="square"):
        shift_images(np.zeros((2, 10)), 1, 0)
    with pytest.raises(ValueError, match="square"):
        shift_images(np.zeros((2, 3, 4)), 1, 0)
    with pytest.raises(TypeError, match="whole-pixel"):
        shift_images(np.zeros((1, 8, 8)), 0.5, 0)
    with pytest.raises(TypeError, match="Generator"):
        random_shifts(np.zeros((1, 64)), rng=0)
    with pytest.raises(ValueError, match="samples"):
        augment_with_shifts(np.zeros((3, 64)), np.zeros(2), 1, rng=np.random.default_rng(0))
