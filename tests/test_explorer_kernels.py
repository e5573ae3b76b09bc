"""Chapter 13 kernel explorer, tested without a browser: the plain functions, the drawing, and
the widget wiring (values set programmatically, the drawn feature map compared with Conv2d)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from course_nn import Conv2d  # noqa: E402
from course_nn.conv import conv2d_naive  # noqa: E402
from course_nn.data import load_digits  # noqa: E402
from course_nn.lab.explorers import kernels as kx  # noqa: E402

PNG_MAGIC = b"\x89PNG"


def _conv2d(image, kernel, stride, padding):
    """The feature map computed independently: a Conv2d with the kernel set by hand."""
    conv = Conv2d(1, 1, kernel.shape, stride=stride, padding=padding, bias=False,
                  rng=np.random.default_rng(5))
    conv.weight.data[0, 0] = kernel
    return conv(image[None, None])[0, 0]


def test_presets_are_3x3_and_copies():
    for name in kx.PRESETS:
        k = kx.preset_kernel(name)
        assert k.shape == (3, 3) and k.dtype == np.float64
    k = kx.preset_kernel("identity")
    k[1, 1] = 7.0
    assert kx.preset_kernel("identity")[1, 1] == 1.0
    assert kx.preset_kernel("box blur").sum() == pytest.approx(1.0)
    assert kx.preset_kernel("Gaussian blur").sum() == pytest.approx(1.0)
    for name in ("vertical edge (Sobel x)", "horizontal edge (Sobel y)", "outline (Laplacian)"):
        assert kx.preset_kernel(name).sum() == pytest.approx(0.0)  # flat regions give 0
    with pytest.raises(ValueError, match="unknown kernel"):
        kx.preset_kernel("nope")


def test_images():
    digits, _ = load_digits(as_images=True)
    np.testing.assert_array_equal(kx.make_image("digit", 5), digits[5])
    for name in ("square", "disk", "stripes"):
        x = kx.make_image(name)
        assert x.shape == (kx.SYNTHETIC_SIZE, kx.SYNTHETIC_SIZE)
        assert set(np.unique(x)) == {0.0, 1.0}
    with pytest.raises(ValueError, match="unknown image"):
        kx.make_image("cat")
    with pytest.raises(ValueError, match="index"):
        kx.make_image("digit", 5000)


@pytest.mark.parametrize("stride,padding", [(1, 0), (1, 1), (2, 0), (2, 1), (3, 2)])
def test_feature_map_equals_conv2d_and_naive(stride, padding):
    x = kx.make_image("digit", 3)
    k = np.random.default_rng(0).standard_normal((3, 3))
    y = kx.feature_map(x, k, stride, padding)
    np.testing.assert_allclose(y, _conv2d(x, k, stride, padding), atol=1e-12)
    np.testing.assert_allclose(y, conv2d_naive(x[None, None], k[None, None], stride=stride,
                                               padding=padding)[0, 0], atol=1e-12)


def test_identity_kernel_returns_the_image_and_edge_kernel_sees_edges():
    x = kx.make_image("square")
    np.testing.assert_array_equal(kx.feature_map(x, kx.preset_kernel("identity"), 1, 1), x)
    y = kx.feature_map(x, kx.preset_kernel("vertical edge (Sobel x)"), 1, 1)
    # the square spans columns 4..11: responses only next to its left and right sides
    active_columns = np.flatnonzero(np.abs(y).sum(axis=0) > 0)
    np.testing.assert_array_equal(active_columns, [3, 4, 11, 12])
    assert np.all(y[:, 3:5] <= 0) and np.all(y[:, 11:13] >= 0)


def test_kernel_state_and_validation():
    s = kx.kernel_state("disk", "sharpen", stride=2, padding=1)
    assert s["output"].shape == (8, 8)  # floor((16 + 2 - 3) / 2) + 1
    assert s["kernel_name"] == "sharpen"
    custom = kx.kernel_state("digit", np.ones((3, 3)), digit=10)
    assert custom["kernel_name"] == "custom" and custom["output"].shape == (6, 6)
    with pytest.raises(ValueError, match="does not fit"):
        kx.kernel_state("digit", np.ones((9, 9)))


@pytest.mark.parametrize("padding", [0, 2])
def test_draw_shows_the_conv2d_output(padding):
    s = kx.kernel_state("digit", "outline (Laplacian)", stride=1, padding=padding, digit=7)
    fig, axes = plt.subplots(1, 3)
    kx.draw_kernel_state(axes, s)
    np.testing.assert_array_equal(axes[0].images[0].get_array(), s["image"])
    np.testing.assert_array_equal(axes[1].images[0].get_array(), s["kernel"])
    np.testing.assert_allclose(axes[2].images[0].get_array(),
                               _conv2d(s["image"], s["kernel"], 1, padding), atol=1e-12)
    assert len(axes[1].texts) == 9
    assert f"{s['output'].shape[0]}×{s['output'].shape[1]}" in axes[2].get_title()
    plt.close(fig)


def test_explorer_reacts_to_widgets():
    pytest.importorskip("ipywidgets")
    e = kx.kernel_explorer(image="digit", kernel="vertical edge (Sobel x)", digit=0)
    assert e.image.value[:4] == PNG_MAGIC
    x0 = kx.make_image("digit", 0)
    np.testing.assert_allclose(e.axes[2].images[0].get_array(),
                               _conv2d(x0, kx.preset_kernel("vertical edge (Sobel x)"), 1, 0))

    e.preset.value = "horizontal edge (Sobel y)"          # a preset fills the nine entries
    np.testing.assert_array_equal(e.kernel(), kx.preset_kernel("horizontal edge (Sobel y)"))
    np.testing.assert_allclose(e.state["output"], _conv2d(x0, e.kernel(), 1, 0))

    e.entries[0][0].value = 3.0                           # typing switches to "custom"
    assert e.preset.value == "custom"
    k = kx.preset_kernel("horizontal edge (Sobel y)")
    k[0, 0] = 3.0
    np.testing.assert_array_equal(e.kernel(), k)

    e.controls["image"].value = "square"
    assert e.controls["digit"].disabled
    e.controls["stride"].value = 2
    e.controls["padding"].value = 1
    x = kx.make_image("square")
    expected = _conv2d(x, k, 2, 1)
    assert e.state["output"].shape == (8, 8)
    np.testing.assert_allclose(e.state["output"], expected, atol=1e-12)
    np.testing.assert_allclose(e.axes[2].images[0].get_array(), expected, atol=1e-12)
    assert e.state["kernel_name"] == "custom"

    e.controls["image"].value = "digit"
    e.controls["digit"].value = 42
    assert not e.controls["digit"].disabled
    np.testing.assert_allclose(e.axes[2].images[0].get_array(),
                               _conv2d(kx.make_image("digit", 42), k, 2, 1), atol=1e-12)


def test_explorer_stride_sets_the_output_size():
    pytest.importorskip("ipywidgets")
    e = kx.kernel_explorer(image="digit", kernel="identity", stride=3, padding=0)
    before = e.state
    assert e.state["output"].shape == (2, 2)
    e.controls["stride"].value = 1
    assert e.state is not before and e.state["output"].shape == (6, 6)
    assert e.message.value == ""
