"""course_nn.augment: whole-pixel shifts, rotation, scaling and pad-and-crop, vectorized and seeded."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_nn.augment import (
    NEIGHBOUR_SHIFTS,
    augment_with_shifts,
    crop_images,
    random_augment,
    random_crops,
    random_shifts,
    rotate_images,
    scale_images,
    shift_images,
)
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


# ------------------------------------------------------------------- rotation, scaling, crops

PROPERTY = settings(max_examples=60, deadline=None)


def _images(seed, n=4, side=8, dtype=np.float64):
    return np.random.default_rng(seed).random((n, side, side)).astype(dtype)


@pytest.mark.parametrize("side", [7, 8])
def test_identity_cases_are_exact(side):
    X = _images(0, side=side)
    np.testing.assert_array_equal(rotate_images(X, 0), X)
    np.testing.assert_array_equal(rotate_images(X, np.zeros(4)), X)
    np.testing.assert_array_equal(scale_images(X, 1), X)
    np.testing.assert_array_equal(crop_images(X, 0, 0, 0), X)
    np.testing.assert_array_equal(crop_images(X, 2, 2, 2), X)          # the centred corner
    same = random_augment(X, rng=np.random.default_rng(0), max_angle=0, scale_range=(1, 1), padding=0)
    np.testing.assert_array_equal(same.images, X)
    flat = X.reshape(4, side * side)
    np.testing.assert_array_equal(rotate_images(flat, 0.0), flat)


@pytest.mark.parametrize("side", [5, 8])
def test_quarter_turns_equal_rot90(side):
    X = _images(1, side=side)
    for k in range(-2, 5):
        np.testing.assert_array_equal(rotate_images(X, 90 * k), np.rot90(X, k, axes=(1, 2)))
    flat = X.reshape(4, -1)
    np.testing.assert_array_equal(rotate_images(flat, 90), np.rot90(X, 1, axes=(1, 2)).reshape(4, -1))


def test_per_image_angles_and_scales():
    X = _images(2, n=3)
    out = rotate_images(X, np.array([0, 90, 180]))
    for i, k in enumerate((0, 1, 2)):
        np.testing.assert_array_equal(out[i], np.rot90(X[i], k))
    scaled = scale_images(X, np.array([1.0, 2.0, 0.5]))
    for i, s in enumerate((1.0, 2.0, 0.5)):
        np.testing.assert_array_equal(scaled[i], scale_images(X[i:i + 1], s)[0])


def test_a_bright_pixel_moves_where_geometry_says():
    img = np.zeros((1, 9, 9))
    img[0, 4, 7] = 1.0                        # 3 pixels right of the centre (4, 4)
    up = rotate_images(img, 90)[0]            # counter-clockwise: right -> up
    assert up[1, 4] == 1.0 and up.sum() == 1.0
    assert rotate_images(img, -90)[0][7, 4] == 1.0       # clockwise: right -> down
    assert scale_images(img, 2 / 3)[0][4, 6] == 1.0      # offset 3 * 2/3 = 2
    assert scale_images(img, 1 / 3)[0][4, 5] == 1.0      # offset 1
    # 30 degrees: the ink's centre lands at offset (3 cos 30, -3 sin 30) from the centre
    out = rotate_images(img, 30)[0]
    rows, cols = np.mgrid[0:9, 0:9]
    centre = np.array([(out * rows).sum(), (out * cols).sum()]) / out.sum()
    np.testing.assert_allclose(centre, [4 - 1.5, 4 + 3 * np.cos(np.pi / 6)], atol=0.25)


def test_bilinear_values_by_hand():
    img = np.zeros((1, 5, 5))
    img[0, 2] = [0.0, 0.0, 4.0, 8.0, 0.0]
    # zoom 2: output offsets -2..2 read source offsets -1, -0.5, 0, 0.5, 1
    np.testing.assert_allclose(scale_images(img, 2)[0, 2], [0.0, 2.0, 4.0, 6.0, 8.0], rtol=0, atol=1e-15)
    # shrink by 2: offsets +-2 read +-4 (outside: background), the rest reads inside
    ones = np.ones((1, 5, 5))
    np.testing.assert_array_equal(scale_images(ones, 0.5)[0, 2], [0.0, 1.0, 1.0, 1.0, 0.0])
    # 45 degrees counter-clockwise: the top-middle output pixel, offset (x, y) = (0, -1) from
    # the centre (1, 1), reads the point that the turn brings there, up and to the right:
    # (x, y) = (s, -s) with s = sqrt(1/2), i.e. row 1 - s, column 1 + s, between pixels
    # (0, 1), (0, 2), (1, 1), (1, 2) with weights s(1-s), s*s, (1-s)^2, (1-s)s
    square = np.arange(9.0).reshape(1, 3, 3)
    out = rotate_images(square, 45)[0]
    s = np.sqrt(0.5)
    img = square[0]
    expected_01 = (s * (1 - s) * img[0, 1] + s * s * img[0, 2] + (1 - s) ** 2 * img[1, 1]
                   + (1 - s) * s * img[1, 2])
    np.testing.assert_allclose(out[0, 1], expected_01, rtol=1e-12)
    # the corner (0, 0), offset (-1, -1), reads (x, y) = (0, -2s): column 1, row 1 - 2s = -0.41,
    # between the background row above the image (weight 1 - (2 - 2s)) and pixel (0, 1)
    np.testing.assert_allclose(out[0, 0], (2 - 2 * s) * img[0, 1], rtol=1e-12)
    assert out[1, 1] == square[0, 1, 1]


@pytest.mark.parametrize("padding", [1, 2])
def test_crops_are_pad_then_cut_and_equal_shifts(padding):
    X = _images(3, n=2, side=6)
    padded = np.pad(X, ((0, 0), (padding, padding), (padding, padding)))
    for top in range(2 * padding + 1):
        for left in range(2 * padding + 1):
            out = crop_images(X, top, left, padding)
            np.testing.assert_array_equal(out, padded[:, top:top + 6, left:left + 6])
            np.testing.assert_array_equal(out, shift_images(X, padding - left, padding - top))


def test_random_crops_are_seeded_and_bounded():
    X = _images(4, n=50)
    a, top, left = random_crops(X, rng=np.random.default_rng(5), padding=2)
    b, top2, left2 = random_crops(X, rng=np.random.default_rng(5), padding=2)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(top, top2)
    assert set(np.unique(top)) == set(range(5)) and set(np.unique(left)) == set(range(5))
    np.testing.assert_array_equal(a, crop_images(X, top, left, 2))


def test_random_augment_is_seeded_bounded_and_composed_as_documented():
    X, _ = load_digits()
    X = X[:200]
    a = random_augment(X, rng=np.random.default_rng(7), max_angle=12, scale_range=(0.8, 1.2), padding=1)
    b = random_augment(X, rng=np.random.default_rng(7), max_angle=12, scale_range=(0.8, 1.2), padding=1)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    assert a.images.shape == X.shape
    assert np.all(np.abs(a.angle) <= 12) and np.all((a.scale >= 0.8) & (a.scale <= 1.2))
    assert a.angle.min() < -6 and a.angle.max() > 6                 # the range is used
    assert set(np.unique(a.top)) == {0, 1, 2}
    c = random_augment(X, rng=np.random.default_rng(8), max_angle=12, padding=1)
    assert not np.array_equal(a.images, c.images)
    # the parts, one at a time: rotation only, scaling only
    rot = random_augment(X, rng=np.random.default_rng(1), max_angle=10, scale_range=(1, 1), padding=0)
    np.testing.assert_array_equal(rot.images, rotate_images(X, rot.angle))
    zoom = random_augment(X, rng=np.random.default_rng(1), max_angle=0, scale_range=(0.9, 1.1), padding=0)
    np.testing.assert_array_equal(zoom.images, scale_images(X, zoom.scale))
    # the draws, in the documented order
    g = np.random.default_rng(7)
    np.testing.assert_array_equal(a.angle, g.uniform(-12, 12, 200))
    np.testing.assert_array_equal(a.scale, g.uniform(0.8, 1.2, 200))
    np.testing.assert_array_equal(a.top, g.integers(0, 3, 200))


def test_dtype_layout_and_input_kept():
    X = _images(5, dtype=np.float32)
    copy = X.copy()
    for out in (rotate_images(X, 10), scale_images(X, 1.1), crop_images(X, 0, 1, 1),
                random_augment(X, rng=np.random.default_rng(0)).images):
        assert out.dtype == np.float32 and out.shape == X.shape
    np.testing.assert_array_equal(X, copy)


@PROPERTY
@given(seed=st.integers(0, 2**32 - 1), angle=st.floats(-180, 180), scale=st.floats(0.5, 2.0))
def test_bilinear_output_stays_within_the_input_range_and_background(seed, angle, scale):
    X = np.random.default_rng(seed).uniform(-1, 2, (2, 8, 8))
    for out in (rotate_images(X, angle), scale_images(X, scale)):
        assert out.min() >= min(0.0, X.min()) - 1e-12 and out.max() <= max(0.0, X.max()) + 1e-12


@PROPERTY
@given(seed=st.integers(0, 2**32 - 1), angle=st.floats(-15, 15))
def test_small_rotations_keep_the_ink(seed, angle):
    """Content away from the border: a rotation moves it, bilinear weights share it out."""
    img = np.zeros((1, 12, 12))
    img[0, 3:9, 3:9] = np.random.default_rng(seed).random((6, 6))
    assert abs(rotate_images(img, angle).sum() / img.sum() - 1) < 0.02
    back = rotate_images(rotate_images(img, angle), -angle)
    assert abs(back.sum() / img.sum() - 1) < 0.04


@PROPERTY
@given(scale=st.floats(0.8, 1.25))
def test_scaling_multiplies_the_ink_by_the_area(scale):
    rows, cols = np.mgrid[0:16, 0:16] - 7.5
    blob = np.exp(-(rows**2 + cols**2) / (2 * 1.5**2))[None]      # smooth, far from the border
    assert abs(scale_images(blob, scale).sum() / (scale**2 * blob.sum()) - 1) < 0.06


@pytest.mark.parametrize("call,error,match", [
    (lambda X: rotate_images(X, np.nan), ValueError, "rotate_images angle: expected finite"),
    (lambda X: rotate_images(X, np.inf), ValueError, "rotate_images angle: expected finite"),
    (lambda X: rotate_images(X, np.zeros(3)), ValueError, r"rotate_images angle: .*shape \(4,\)"),
    (lambda X: rotate_images(X, "10"), TypeError, "rotate_images angle: expected real numbers"),
    (lambda X: rotate_images(X, True), TypeError, "rotate_images angle"),
    (lambda X: rotate_images(X[0], 10), ValueError, "rotate_images X: expected .*square"),
    (lambda X: rotate_images(X[None], 10), ValueError, "rotate_images X: expected 2 or 3 dimensions"),
    (lambda X: rotate_images(X[:, :, :5], 10), ValueError, "square"),
    (lambda X: rotate_images(X.astype(int), 10), TypeError, "float array"),
    (lambda X: scale_images(X, 0), ValueError, "scale_images scale: expected scale factors > 0, got 0"),
    (lambda X: scale_images(X, -1.5), ValueError, "scale_images scale: expected scale factors > 0"),
    (lambda X: scale_images(X, np.nan), ValueError, "scale_images scale: expected finite"),
    (lambda X: scale_images(X, 1e-320), ValueError, "reciprocal is finite"),
    (lambda X: crop_images(X, 3, 0, 1), ValueError, r"crop_images top: expected corners in 0 \.\. 2"),
    (lambda X: crop_images(X, 0, np.array([0, 1, 2, -1]), 1), ValueError, "crop_images left: .*got -1"),
    (lambda X: crop_images(X, 0.5, 0, 1), TypeError, "crop_images top"),
    (lambda X: crop_images(X, 0, 0, -1), ValueError, "crop_images padding: expected a whole number"),
    (lambda X: crop_images(X, 0, 0, 1.0), ValueError, "crop_images padding"),
    (lambda X: random_crops(X, rng=0), TypeError, "Generator"),
    (lambda X: random_augment(X, rng=np.random.default_rng(0), max_angle=-1), ValueError, "max_angle"),
    (lambda X: random_augment(X, rng=np.random.default_rng(0), max_angle=np.nan), ValueError, "max_angle"),
    (lambda X: random_augment(X, rng=np.random.default_rng(0), scale_range=(1.1, 0.9)), ValueError,
     "scale_range: expected low <= high"),
    (lambda X: random_augment(X, rng=np.random.default_rng(0), scale_range=(0, 1)), ValueError,
     "scale_range: expected scale factors > 0"),
    (lambda X: random_augment(X, rng=np.random.default_rng(0), scale_range=1.1), ValueError,
     "scale_range: expected two numbers"),
    (lambda X: random_augment(X, rng=np.random.default_rng(0), padding=-2), ValueError, "padding"),
])
def test_rotation_scaling_crop_errors(call, error, match):
    X = _images(6)
    copy = X.copy()
    with pytest.raises(error, match=match):
        call(X)
    np.testing.assert_array_equal(X, copy)


def test_failed_random_calls_draw_nothing():
    g = np.random.default_rng(3)
    state = g.bit_generator.state
    for call in (lambda: random_augment(np.ones((3, 10)), rng=g),
                 lambda: random_augment(np.ones((3, 64)), rng=g, scale_range=(2, 1)),
                 lambda: random_augment(np.ones((3, 64)), rng=g, max_angle=np.inf),
                 lambda: random_crops(np.ones((3, 64)), rng=g, padding=-1),
                 lambda: random_crops(np.full((3, 64), np.nan), rng=g)):
        with pytest.raises((ValueError, TypeError)):
            call()
    assert g.bit_generator.state == state


def test_cos_and_sin_from_plain_arithmetic():
    """The rotation's cos and sin avoid libm (last bits vary across CPUs); they must agree
    with it to round-off and be exact on quarter turns."""
    from course_nn.augment import _cos_sin_degrees

    angles = np.concatenate([np.random.default_rng(0).uniform(-720, 720, 20000), np.linspace(-45, 45, 901)])
    cos, sin = _cos_sin_degrees(angles)
    np.testing.assert_allclose(cos, np.cos(np.deg2rad(angles)), rtol=0, atol=4e-15)
    np.testing.assert_allclose(sin, np.sin(np.deg2rad(angles)), rtol=0, atol=4e-15)
    small = np.linspace(-15, 15, 301)
    np.testing.assert_allclose(_cos_sin_degrees(small)[1], np.sin(np.deg2rad(small)), rtol=0, atol=3e-16)
    cos_q, sin_q = _cos_sin_degrees(np.array([0.0, 90, 180, 270, 360, -90, 450]))
    np.testing.assert_array_equal(cos_q, [1, 0, -1, 0, 1, 0, 0])
    np.testing.assert_array_equal(sin_q, [0, 1, 0, -1, 0, -1, 1])
