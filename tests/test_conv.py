"""Conv2d, MaxPool2d, AvgPool2d, Flatten: gradient checks, PyTorch parity, naive = fast."""

from pathlib import Path

import numpy as np
import pytest
from conv_cases import CONV_CASES, POOL_CASES, conv_inputs, pool_inputs

import course_nn as cn
from course_nn.conv import (
    AvgPool2d,
    Conv2d,
    Flatten,
    MaxPool2d,
    conv2d_naive,
    conv_output_size,
    receptive_field,
)

REFERENCE = np.load(Path(__file__).parent / "reference" / "torch_conv.npz")


@pytest.fixture(params=[False, True], ids=["batch-first", "batch-last"])
def layout(request, monkeypatch):
    """Run a test with Conv2d forced to one column layout (course_nn.conv chooses per layer)."""
    import course_nn.conv

    monkeypatch.setattr(course_nn.conv, "_batch_last", lambda *args: request.param)
    return request.param


def run_conv(name):
    c_in, c_out, k, s, p, _, _ = CONV_CASES[name]
    x, weight, bias, grad = conv_inputs(name)
    conv = Conv2d(c_in, c_out, k, s, p)
    conv.weight.data[...], conv.bias.data[...] = weight, bias
    y = conv(x)
    dx = conv.backward(grad)
    return {"y": y, "dx": dx, "dw": conv.weight.grad, "db": conv.bias.grad}


def run_pool(name):
    kind, k, s, p, _, _ = POOL_CASES[name]
    x, grad = pool_inputs(name)
    pool = (MaxPool2d if kind == "max" else AvgPool2d)(k, s, p)
    y = pool(x)
    return {"y": y, "dx": pool.backward(grad)}


@pytest.mark.parametrize("name", sorted(CONV_CASES))
def test_conv_matches_committed_pytorch_reference(name, layout):
    for key, value in run_conv(name).items():
        np.testing.assert_allclose(value, REFERENCE[f"conv/{name}/{key}"], rtol=0, atol=1e-10)


@pytest.mark.parametrize("name", sorted(POOL_CASES))
def test_pool_matches_committed_pytorch_reference(name):
    for key, value in run_pool(name).items():
        np.testing.assert_allclose(value, REFERENCE[f"pool/{name}/{key}"], rtol=0, atol=1e-10)


@pytest.mark.parametrize("name", sorted(CONV_CASES))
def test_conv_matches_live_pytorch(name, layout):
    pytest.importorskip("torch")
    from make_conv_reference import torch_conv

    theirs = torch_conv(name)
    for key, value in run_conv(name).items():
        np.testing.assert_allclose(value, theirs[key].detach().numpy(), rtol=0, atol=1e-10)


@pytest.mark.parametrize("name", sorted(POOL_CASES))
def test_pool_matches_live_pytorch(name):
    pytest.importorskip("torch")
    from make_conv_reference import torch_pool

    theirs = torch_pool(name)
    for key, value in run_pool(name).items():
        np.testing.assert_allclose(value, theirs[key].detach().numpy(), rtol=0, atol=1e-10)


@pytest.mark.parametrize("name", sorted(CONV_CASES))
def test_conv_gradients(name, layout):
    c_in, c_out, k, s, p, h, w = CONV_CASES[name]
    rng = np.random.default_rng(11)
    conv = Conv2d(c_in, c_out, k, s, p, rng=rng)
    errors = cn.check_module_gradients(conv, rng.standard_normal((2, c_in, h, w)), rng=rng)
    assert max(errors.values()) < 1e-7, errors


@pytest.mark.parametrize("name", sorted(POOL_CASES))
def test_pool_gradients(name):
    kind, k, s, p, h, w = POOL_CASES[name]
    rng = np.random.default_rng(12)
    pool = (MaxPool2d if kind == "max" else AvgPool2d)(k, s, p)
    # distinct values: no ties inside a window, and the maximum is unique by a margin
    x = rng.permutation(2 * 3 * h * w).reshape(2, 3, h, w) * 0.01
    assert cn.check_module_gradients(pool, x, rng=rng)["input"] < 1e-7


@pytest.mark.parametrize("name", sorted(CONV_CASES))
def test_naive_loops_equal_the_vectorized_convolution(name, layout):
    _, _, _, s, p, _, _ = CONV_CASES[name]
    x, weight, bias, _ = conv_inputs(name)
    np.testing.assert_allclose(conv2d_naive(x, weight, bias, s, p), run_conv(name)["y"], atol=1e-12)


def test_classic_3x3_input_with_2x2_kernel():
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    conv = Conv2d(1, 1, 2, bias=False)
    conv.weight.data[...] = [[[[0.0, 1.0], [2.0, 3.0]]]]
    np.testing.assert_array_equal(conv(x)[0, 0], [[19.0, 25.0], [37.0, 43.0]])


def test_maxpool_sends_the_gradient_to_the_first_maximum_only():
    x = np.array([[[[1.0, 3.0], [3.0, 2.0]]]])
    pool = MaxPool2d(2)
    assert pool(x)[0, 0, 0, 0] == 3.0
    np.testing.assert_array_equal(pool.backward(np.ones((1, 1, 1, 1)))[0, 0], [[0, 1], [0, 0]])


def test_flatten_round_trip():
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 5))
    flat = Flatten()
    assert flat(x).shape == (2, 60)
    np.testing.assert_array_equal(flat.backward(flat(x)), x)


@pytest.mark.parametrize("size, k, s, p, expected", [
    (28, 3, 1, 1, 28), (28, 5, 1, 0, 24), (32, 3, 2, 1, 16), (7, 3, 2, 0, 3), (224, 7, 2, 3, 112),
])
def test_output_size_formula_matches_real_shapes(size, k, s, p, expected):
    assert conv_output_size(size, k, s, p) == expected
    y = Conv2d(1, 1, k, s, p)(np.zeros((1, 1, size, size)))
    assert y.shape == (1, 1, expected, expected)


def test_receptive_field_of_stacks():
    assert receptive_field([(3, 1)]) == 3
    assert receptive_field([(3, 1), (3, 1)]) == 5
    assert receptive_field([(3, 1), (2, 2), (3, 1), (2, 2)]) == 10
    # confirmed by the gradient of one output pixel with respect to the input
    net = cn.Sequential(Conv2d(1, 1, 3, padding=1), AvgPool2d(2), Conv2d(1, 1, 3, padding=1))
    for layer in (net[0], net[2]):
        layer.weight.data[...] = 1.0
    y = net(np.random.default_rng(0).standard_normal((1, 1, 16, 16)))
    grad = np.zeros_like(y)
    grad[0, 0, 3, 3] = 1.0
    touched = np.argwhere(net.backward(grad)[0, 0] != 0)
    extent = np.ptp(touched, axis=0) + 1
    assert list(extent) == [receptive_field([(3, 1), (2, 2), (3, 1)])] * 2 == [8, 8]


def test_bad_inputs_are_rejected():
    conv = Conv2d(3, 2, 3)
    with pytest.raises(ValueError, match=r"expected 3 channels \(shape \(N, 3, H, W\)\), got shape "
                                         r"\(1, 2, 5, 5\)"):
        conv(np.zeros((1, 2, 5, 5)))
    with pytest.raises(ValueError, match=r"expected 4 dimensions, got shape \(3, 5, 5\)"):
        conv(np.zeros((3, 5, 5)))
    with pytest.raises(ValueError, match="kernel 3 with padding 0 does not fit an input of size 2"):
        conv(np.zeros((1, 3, 2, 5)))
    with pytest.raises(ValueError, match="kernel_size: expected an int >= 1 or a pair of them, got 0"):
        Conv2d(1, 1, 0)
    with pytest.raises(ValueError, match="padding: expected at most half the kernel size"):
        MaxPool2d(2, padding=2)
    with pytest.raises(RuntimeError, match="backward called before forward"):
        Conv2d(1, 1, 3).backward(np.zeros((1, 1, 1, 1)))


@pytest.mark.parametrize("kernel", [2, 3])
def test_fast_non_overlapping_maxpool_breaks_ties_like_pytorch(kernel):
    """Inputs after a ReLU are full of tied zeros: the gradient goes to the first maximum of
    each window in row-major order, checked here against a loop over windows."""
    rng = np.random.default_rng(4)
    x = np.maximum(rng.standard_normal((2, 3, 7, 8)), 0.0).round(1)
    g = rng.standard_normal((2, 3, 7 // kernel, 8 // kernel))
    pool = MaxPool2d(kernel)
    out = pool(x)
    grad = pool.backward(g)
    expected = np.zeros_like(x)
    for n, c, r, q in np.ndindex(*g.shape):
        window = x[n, c, r * kernel:(r + 1) * kernel, q * kernel:(q + 1) * kernel]
        i, j = np.unravel_index(np.argmax(window), window.shape)
        assert out[n, c, r, q] == window[i, j]
        expected[n, c, r * kernel + i, q * kernel + j] += g[n, c, r, q]
    np.testing.assert_array_equal(grad, expected)


def test_column_layout_is_chosen_by_the_measured_rule():
    """Batch-last columns for many patch rows per channel at small widths (bench/run.py's
    8->16 at 14x14, the LeNet's 6->16 at 10x10), batch-first for one input channel at 28x28."""
    from course_nn.conv import _batch_last

    assert _batch_last(8, 16, (3, 3), 14) and _batch_last(6, 16, (5, 5), 10)
    assert not _batch_last(1, 8, (3, 3), 28) and not _batch_last(1, 6, (5, 5), 28)
    rng = np.random.default_rng(0)
    for c_in, c_out, k, size in [(8, 16, 3, 14), (1, 6, 5, 28)]:
        conv = Conv2d(c_in, c_out, k, padding=k // 2, rng=rng)
        x = rng.standard_normal((3, c_in, size, size))
        y = conv(x)
        np.testing.assert_allclose(y, conv2d_naive(x, conv.weight.data, conv.bias.data, 1, k // 2),
                                   atol=1e-12)
        assert conv._cache[-1] == _batch_last(c_in, c_out, (k, k), size)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_first_layer_blocked_products_equal_the_definitions(dtype):
    """Few patch rows and many columns (one input channel, 5 x 5 kernel, 28 x 28 images): the
    forward product and dL/dW run in column blocks that fit in L2. The output is the product
    block for block, dL/dW is summed block after block; both equal the definitions to
    round-off."""
    import course_nn.conv as conv_module

    rng = np.random.default_rng(5)
    conv = Conv2d(1, 6, 5, padding=2, rng=rng, dtype=dtype)
    x = rng.standard_normal((16, 1, 28, 28)).astype(dtype)
    cols = conv_module._im2col(x, (5, 5), (1, 1), (2, 2), (28, 28), False)[0]
    assert conv_module._block_columns(cols) > 0  # the blocked path is the one taken
    w = conv.weight.data.reshape(6, -1)
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(conv_module._blocked_product(w, cols), w @ cols, **tol)
    windows = np.lib.stride_tricks.sliding_window_view(
        np.pad(x.astype(np.float64), ((0, 0), (0, 0), (2, 2), (2, 2))), (5, 5), axis=(2, 3))
    y = conv(x)
    np.testing.assert_allclose(y, np.einsum("nchwij,ocij->nohw", windows, conv.weight.data)
                               + conv.bias.data[:, None, None], **tol)
    g = rng.standard_normal(y.shape).astype(dtype)
    conv.backward_params(g)
    expected = np.einsum("nohw,nchwij->ocij", g.astype(np.float64), windows)
    np.testing.assert_allclose(conv.weight.grad, expected, **tol)
    np.testing.assert_allclose(conv.bias.grad, g.astype(np.float64).sum(axis=(0, 2, 3)), **tol)
