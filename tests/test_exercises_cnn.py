"""Chapters 13-14 (convolutions, a CNN on the digits): every exercise checker accepts a
plain-numpy solution and rejects the wrong answers a learner is likely to write (a flipped or
transposed kernel, strides that do not compound, the handed-over max-pooling backward and its
partial fixes, gradient spread over a pooling window, overlapping pooling windows overwritten
instead of added, a kernel not flipped in dx, dw not summed over the batch, swapped channels,
a forgotten bias or pooling in a parameter count, batch statistics per position or per image,
a scale broadcast along the wrong axis); the checkers name the slips they recognize; the
backward references agree with cn.numerical_gradient; the last tests pin, by hand arithmetic,
the numbers chapter 13 prints.

IDS, SOLUTIONS and WRONG feed the checks every exercise gets, in tests/test_exercises.py
(registered, reference and solutions pass, each wrong answer rejected).
"""

import numpy as np
import pytest
from exercise_helpers import rejected
from numpy.lib.stride_tricks import sliding_window_view

import course_nn as nn
import course_nn.lab.exercises.cnn as cnn_ex
from course_nn.conv import conv2d_naive, conv_output_size, receptive_field
from course_nn.lab.exercises import evaluate

IDS = ("cnn.cross_correlate", "cnn.maxpool_backward", "cnn.avgpool_backward",
       "cnn.conv2d_backward", "cnn.receptive_field", "cnn.conv_params", "cnn.cnn_parameters",
       "cnn.batchnorm2d")


# --- plain-numpy solutions, as a learner would write them ---------------------------------

def cross_correlate(image, kernel):
    kh, kw = kernel.shape
    out = np.zeros((image.shape[0] - kh + 1, image.shape[1] - kw + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = np.sum(image[i:i + kh, j:j + kw] * kernel)
    return out


def maxpool_backward(x, grad_out):
    grad = np.zeros_like(x)
    for i in range(grad_out.shape[0]):
        for j in range(grad_out.shape[1]):
            window = x[2 * i:2 * i + 2, 2 * j:2 * j + 2]
            r, c = np.unravel_index(np.argmax(window), (2, 2))
            grad[2 * i + r, 2 * j + c] += grad_out[i, j]
    return grad


def maxpool_backward_vectorized(x, grad_out):
    """The handed-over code, fixed: np.repeat, and only the first maximum of each window."""
    h, w = x.shape
    windows = x.reshape(h // 2, 2, w // 2, 2).transpose(0, 2, 1, 3).reshape(h // 2, w // 2, 4)
    first = np.eye(4)[windows.argmax(axis=2)].reshape(h // 2, w // 2, 2, 2)
    mask = first.transpose(0, 2, 1, 3).reshape(h, w)
    return np.repeat(np.repeat(grad_out, 2, axis=0), 2, axis=1) * mask


def maxpool_handed(x, grad_out):
    """The chapter's broken code, as handed over."""
    h, w = x.shape
    window_max = x.reshape(h // 2, 2, w // 2, 2).max(axis=(1, 3))
    max_up = np.repeat(np.repeat(window_max, 2, axis=0), 2, axis=1)
    grad_up = np.tile(grad_out, (2, 2))
    return grad_up * (x == max_up)


def maxpool_ties_fixed_only(x, grad_out):
    return np.tile(grad_out, (2, 2)) * (maxpool_backward(x, np.ones_like(grad_out)) != 0)


def maxpool_tile_fixed_only(x, grad_out):
    h, w = x.shape
    window_max = x.reshape(h // 2, 2, w // 2, 2).max(axis=(1, 3))
    max_up = np.repeat(np.repeat(window_max, 2, axis=0), 2, axis=1)
    return np.repeat(np.repeat(grad_out, 2, axis=0), 2, axis=1) * (x == max_up)


def avgpool_backward(x, grad_out, k, s, *, overwrite=False, scale=None):
    grad = np.zeros_like(x)
    scale = 1.0 / (k * k) if scale is None else scale
    for i in range(grad_out.shape[2]):
        for j in range(grad_out.shape[3]):
            share = grad_out[:, :, i, j][:, :, None, None] * scale
            if overwrite:             # the "= instead of +=" wrong answer below
                grad[:, :, s * i:s * i + k, s * j:s * j + k] = share
            else:
                grad[:, :, s * i:s * i + k, s * j:s * j + k] += share
    return grad


def conv2d_backward(x, w, grad_out, *, flip=True, batch_sum=True, swap_channels=False):
    """Vectorized, as the chapter's solution: dW by cross-correlating x with grad_out, dX by a
    full convolution of grad_out with the flipped kernel. The keywords make wrong answers."""
    kh, kw = w.shape[2:]
    windows = sliding_window_view(x, grad_out.shape[2:], axis=(2, 3))    # (N, C_in, kh, kw, Ho, Wo)
    dw = np.einsum("ncuvij,noij->nocuv" if not batch_sum else "ncuvij,noij->ocuv", windows, grad_out)
    db = grad_out.sum(axis=(0, 2, 3))
    padded = np.pad(grad_out, ((0, 0), (0, 0), (kh - 1, kh - 1), (kw - 1, kw - 1)))
    g_windows = sliding_window_view(padded, (kh, kw), axis=(2, 3))      # (N, C_out, H, W, kh, kw)
    kernel = w[:, :, ::-1, ::-1] if flip else w
    if swap_channels:
        kernel = kernel.transpose(1, 0, 2, 3)
    dx = np.einsum("nopquv,ocuv->ncpq", g_windows, kernel)
    return dx, dw, db


def conv2d_backward_loops(x, w, grad_out):
    """The "who did I affect" loops: each output sends its gradient back to its window."""
    kh, kw = w.shape[2:]
    dx, dw = np.zeros_like(x), np.zeros_like(w)
    n_batch, c_out, ho, wo = grad_out.shape
    for n in range(n_batch):
        for o in range(c_out):
            for i in range(ho):
                for j in range(wo):
                    dx[n, :, i:i + kh, j:j + kw] += grad_out[n, o, i, j] * w[o]
                    dw[o] += grad_out[n, o, i, j] * x[n, :, i:i + kh, j:j + kw]
    return dx, dw, grad_out.sum(axis=(0, 2, 3))


def receptive_field_solution(layers):
    field, jump = 1, 1
    for k, s in layers:
        field += (k - 1) * jump
        jump *= s
    return field


def conv_params(c_in, c_out, k):
    return c_out * c_in * k * k + c_out


def cnn_parameters(c1, c2, hidden, *, bias=True, c_in2=True, side=2, output=True):
    """The chapter's CNN, counted layer by layer; the keywords make wrong answers."""
    b = 1 if bias else 0
    conv1 = c1 * 9 + b * c1
    conv2 = (c1 if c_in2 else 1) * c2 * 9 + b * c2
    dense1 = c2 * side * side * hidden + b * hidden
    dense2 = (hidden * 10 + b * 10) if output else 0
    return conv1 + conv2 + dense1 + dense2


def batchnorm2d(z, gamma, beta, eps, *, axis=(0, 2, 3), scale_last=False):
    mu = z.mean(axis=axis, keepdims=True)
    var = z.var(axis=axis, keepdims=True)
    z_hat = (z - mu) / np.sqrt(var + eps)
    if scale_last:                    # the handed-over mis-broadcast
        return gamma * z_hat + beta
    return gamma[None, :, None, None] * z_hat + beta[None, :, None, None]


SOLUTIONS = {
    "cnn.cross_correlate": cross_correlate,
    "cnn.maxpool_backward": [maxpool_backward, maxpool_backward_vectorized],
    "cnn.avgpool_backward": avgpool_backward,
    "cnn.conv2d_backward": [conv2d_backward, conv2d_backward_loops,
                            lambda x, w, g: list(conv2d_backward(x, w, g))],
    "cnn.receptive_field": receptive_field_solution,
    "cnn.conv_params": conv_params,
    "cnn.cnn_parameters": [cnn_parameters, lambda c1, c2, h: float(cnn_parameters(c1, c2, h))],
    "cnn.batchnorm2d": batchnorm2d,
}


# --- wrong answers ----------------------------------------------------------------------------

def _replace(result, index, fn):
    """``result`` (a tuple) with item ``index`` replaced by ``fn(item)``."""
    items = list(result)
    items[index] = fn(items[index])
    return tuple(items)


def _max_route(x, grad_out, k, s):
    """Each window's whole gradient to its maximum (max pooling's backward), per image and channel."""
    grad = np.zeros_like(x)
    for n in range(x.shape[0]):
        for c in range(x.shape[1]):
            for i in range(grad_out.shape[2]):
                for j in range(grad_out.shape[3]):
                    window = x[n, c, s * i:s * i + k, s * j:s * j + k]
                    r, q = np.unravel_index(np.argmax(window), window.shape)
                    grad[n, c, s * i + r, s * j + q] += grad_out[n, c, i, j]
    return grad


WRONG = {
    "cnn.cross_correlate": {
        "true convolution (flipped kernel)": lambda x, k: cross_correlate(x, k[::-1, ::-1]),
        "transposed kernel": lambda x, k: cross_correlate(x, k.T) if k.shape[0] <= x.shape[0]
        and k.shape[1] <= x.shape[1] and k.T.shape[0] <= x.shape[0] and k.T.shape[1] <= x.shape[1]
        else cross_correlate(x, k) * 2,
        "one output too few": lambda x, k: cross_correlate(x, k)[:-1, :-1],
        "elementwise product only, no sum": lambda x, k: cross_correlate(x, np.ones_like(k)),
    },
    "cnn.maxpool_backward": {
        "the handed-over code": maxpool_handed,
        "ties fixed, np.tile kept": maxpool_ties_fixed_only,
        "np.tile fixed, ties kept": maxpool_tile_fixed_only,
        "average pooling's backward": lambda x, g: np.kron(g, np.ones((2, 2))) / 4,
        "gradient to every pixel of the window": lambda x, g: np.kron(g, np.ones((2, 2))),
        "last maximum wins a tie": lambda x, g: maxpool_backward(x[::-1, ::-1], g[::-1, ::-1])[::-1, ::-1],
        "mask only, gradient not multiplied": lambda x, g: maxpool_backward(x, np.ones_like(g)),
    },
    "cnn.avgpool_backward": {
        "overlapping windows overwrite instead of add": lambda x, g, k, s: avgpool_backward(
            x, g, k, s, overwrite=True),
        "no division by the window size": lambda x, g, k, s: avgpool_backward(x, g, k, s, scale=1.0),
        "divided by k, not k * k": lambda x, g, k, s: avgpool_backward(x, g, k, s, scale=1.0 / k),
        "divided by s * s, not k * k": lambda x, g, k, s: avgpool_backward(x, g, k, s,
                                                                          scale=1.0 / (s * s)),
        "1/4 for every window size": lambda x, g, k, s: avgpool_backward(x, g, k, s, scale=0.25),
        "stride taken equal to the kernel": lambda x, g, k, s: avgpool_backward(
            x, g[:, :, :(x.shape[2] - k) // k + 1, :(x.shape[3] - k) // k + 1], k, k),
        "max pooling's routing": lambda x, g, k, s: _max_route(x, g, k, s),
        "first image and channel only": lambda x, g, k, s: avgpool_backward(
            x, g, k, s) * (np.arange(x.shape[0] * x.shape[1]).reshape(x.shape[:2] + (1, 1)) == 0),
    },
    "cnn.conv2d_backward": {
        "no kernel flip in dx": lambda x, w, g: conv2d_backward(x, w, g, flip=False),
        "dw not summed over the batch": lambda x, w, g: conv2d_backward(x, w, g, batch_sum=False),
        "dw averaged over the batch": lambda x, w, g: _replace(conv2d_backward(x, w, g), 1,
                                                               lambda dw: dw / len(x)),
        "input and output channels swapped in dx": lambda x, w, g: conv2d_backward(
            x, w, g, swap_channels=True),
        "dw transposed to (C_in, C_out, kh, kw)": lambda x, w, g: _replace(
            conv2d_backward(x, w, g), 1, lambda dw: dw.transpose(1, 0, 2, 3)),
        "db not summed over positions": lambda x, w, g: _replace(
            conv2d_backward(x, w, g), 2, lambda db: g.sum(axis=0)),
        "db not summed over the batch": lambda x, w, g: _replace(
            conv2d_backward(x, w, g), 2, lambda db: g.sum(axis=(2, 3))),
        "db is the mean, not the sum": lambda x, w, g: _replace(
            conv2d_backward(x, w, g), 2, lambda db: g.mean(axis=(0, 2, 3))),
    },
    "cnn.receptive_field": {
        "sum of kernel sizes": lambda layers: sum(k for k, _ in layers) if layers else 1,
        "strides ignored": lambda layers: 1 + sum(k - 1 for k, _ in layers),
        "stride applied to its own layer": lambda layers: 1 + sum(
            (k - 1) * int(np.prod([s for _, s in layers[:i + 1]])) for i, (k, _) in enumerate(layers)),
    },
    "cnn.conv_params": {
        "no bias": lambda c_in, c_out, k: c_out * c_in * k * k,
        "no input channels": lambda c_in, c_out, k: c_out * k * k + c_out,
        "one bias per weight": lambda c_in, c_out, k: 2 * c_out * c_in * k * k,
        "k instead of k*k": lambda c_in, c_out, k: c_out * c_in * k + c_out,
    },
    "cnn.cnn_parameters": {
        "no biases": lambda c1, c2, h: cnn_parameters(c1, c2, h, bias=False),
        "second convolution without its input channels": lambda c1, c2, h: cnn_parameters(
            c1, c2, h, c_in2=False),
        "pooling forgotten (8 x 8 maps)": lambda c1, c2, h: cnn_parameters(c1, c2, h, side=8),
        "one pooling (4 x 4 maps)": lambda c1, c2, h: cnn_parameters(c1, c2, h, side=4),
        "output layer forgotten": lambda c1, c2, h: cnn_parameters(c1, c2, h, output=False),
        "the shape of the flattened maps, not the count": lambda c1, c2, h: cnn_parameters(
            c1, c2, h, side=1),
    },
    "cnn.batchnorm2d": {
        "the handed-over code": lambda z, g, b, eps: batchnorm2d(z, g, b, eps, axis=0,
                                                                 scale_last=True),
        "statistics fixed, gamma and beta on the last axis": lambda z, g, b, eps: batchnorm2d(
            z, g, b, eps, scale_last=True),
        "gamma and beta fixed, statistics per position": lambda z, g, b, eps: batchnorm2d(
            z, g, b, eps, axis=0),
        "statistics per image (instance normalization)": lambda z, g, b, eps: batchnorm2d(
            z, g, b, eps, axis=(2, 3)),
        "one mean and variance for all channels": lambda z, g, b, eps: batchnorm2d(
            z, g, b, eps, axis=None),
        "unbiased variance": lambda z, g, b, eps: (
            (z - z.mean(axis=(0, 2, 3), keepdims=True))
            / np.sqrt(z.var(axis=(0, 2, 3), ddof=1, keepdims=True) + eps)
            * g[None, :, None, None] + b[None, :, None, None]),
        "gamma and beta forgotten": lambda z, g, b, eps: batchnorm2d(
            z, np.ones_like(g), np.zeros_like(b), eps),
    },
}


def test_maxpool_debug_names_each_bug_and_the_handed_code_passes_the_first_case():
    x, g = np.array([[1.0, 3.0], [2.0, 0.0]]), np.array([[5.0]])
    np.testing.assert_array_equal(maxpool_handed(x, g), maxpool_backward(x, g))
    rejected("cnn.maxpool_backward", maxpool_handed, "np.tile", "np.repeat")
    rejected("cnn.maxpool_backward", maxpool_ties_fixed_only, "np.tile")
    rejected("cnn.maxpool_backward", maxpool_tile_fixed_only, "appears twice", "first maximum")
    rejected("cnn.maxpool_backward", WRONG["cnn.maxpool_backward"]["average pooling's backward"],
             "average pooling's backward")
    rejected("cnn.maxpool_backward", WRONG["cnn.maxpool_backward"]["gradient to every pixel of the window"],
             "max gate routes")


def test_batchnorm2d_debug_names_each_bug():
    wrong = WRONG["cnn.batchnorm2d"]
    rejected("cnn.batchnorm2d", wrong["the handed-over code"], "two bugs left", "(1, C, 1, 1)")
    rejected("cnn.batchnorm2d", wrong["statistics fixed, gamma and beta on the last axis"],
             "statistics are right now", "(1, C, 1, 1)")
    rejected("cnn.batchnorm2d", wrong["gamma and beta fixed, statistics per position"],
             "per pixel position", "axis=(0, 2, 3)")
    rejected("cnn.batchnorm2d", wrong["statistics per image (instance normalization)"],
             "each image on its own")
    rejected("cnn.batchnorm2d", wrong["one mean and variance for all channels"], "mixes the channels")


def test_cnn_parameters_names_the_slip():
    wrong = WRONG["cnn.cnn_parameters"]
    rejected("cnn.cnn_parameters", wrong["no biases"], "expected 13706", "bias")
    rejected("cnn.cnn_parameters", wrong["second convolution without its input channels"],
             "c1 * c2 * 9")
    rejected("cnn.cnn_parameters", wrong["pooling forgotten (8 x 8 maps)"], "not 8 x 8")
    rejected("cnn.cnn_parameters", wrong["one pooling (4 x 4 maps)"], "two poolings")
    rejected("cnn.cnn_parameters", wrong["output layer forgotten"], "Linear(hidden, 10)")
    assert evaluate("cnn.cnn_parameters", lambda c1, c2, h: 13706).message.count("expected") == 1


def test_receptive_field_names_the_slip():
    rejected("cnn.receptive_field", WRONG["cnn.receptive_field"]["strides ignored"], "stride-1 rule")
    rejected("cnn.receptive_field", WRONG["cnn.receptive_field"]["stride applied to its own layer"],
             "its own window")
    rejected("cnn.receptive_field", WRONG["cnn.receptive_field"]["sum of kernel sizes"], "k - 1")


def test_conv2d_backward_messages_name_the_wrong_gradient():
    rejected("cnn.conv2d_backward", WRONG["cnn.conv2d_backward"]["no kernel flip in dx"],
             "dx: expected", "rotated by 180 degrees")
    rejected("cnn.conv2d_backward", WRONG["cnn.conv2d_backward"]["dw not summed over the batch"],
             "dw: expected shape", "summed over the batch")
    rejected("cnn.conv2d_backward", WRONG["cnn.conv2d_backward"]["dw averaged over the batch"],
             "dw: expected", "not the mean")
    rejected("cnn.conv2d_backward", WRONG["cnn.conv2d_backward"]["input and output channels swapped in dx"],
             "dx: expected", "swapped")
    rejected("cnn.conv2d_backward", WRONG["cnn.conv2d_backward"]["db not summed over positions"],
             "db: expected shape", "every output position")
    rejected("cnn.conv2d_backward", WRONG["cnn.conv2d_backward"]["db is the mean, not the sum"],
             "db: expected", "not a mean")
    rejected("cnn.conv2d_backward", lambda x, w, g: conv2d_backward(x, w, g)[:2],
             "expected a tuple of 3 arrays (dx, dw, db)")


def test_avgpool_backward_overwriting_is_caught_where_windows_overlap():
    result = rejected("cnn.avgpool_backward",
                      WRONG["cnn.avgpool_backward"]["overlapping windows overwrite instead of add"],
                      "+=, not =")
    assert "s = 1" in result.message        # the first case that overlaps, 2 x 2 windows, stride 1
    rejected("cnn.avgpool_backward", WRONG["cnn.avgpool_backward"]["divided by s * s, not k * k"],
             "not by the stride squared")


def _numerical_conv_grads(x, w, b, g):
    """dL/dx, dL/dw, dL/db of L = sum(conv(x; w, b) * g) by central differences."""
    def loss(_):
        return float(np.sum(conv2d_naive(x, w, b) * g))
    return tuple(nn.numerical_gradient(loss, a) for a in (x, w, b))


def test_conv2d_backward_reference_agrees_with_numerical_gradient():
    rng = np.random.default_rng(21)
    for n, c_in, c_out, h, wd, kh, kw in [(2, 2, 3, 5, 4, 3, 2), (1, 3, 1, 3, 3, 1, 1),
                                          (3, 1, 2, 4, 6, 4, 2)]:
        x = rng.standard_normal((n, c_in, h, wd))
        w = rng.standard_normal((c_out, c_in, kh, kw))
        b = rng.standard_normal(c_out)
        g = rng.standard_normal((n, c_out, h - kh + 1, wd - kw + 1))
        expected = cnn_ex._conv2d_backward(x, w, g)
        for name, numeric, analytic in zip(("dx", "dw", "db"), _numerical_conv_grads(x, w, b, g),
                                           expected):
            assert nn.rel_error(analytic, numeric) < 1e-8, name
        for mine, ref in zip(conv2d_backward(x, w, g), expected):
            assert np.allclose(mine, ref, rtol=1e-12, atol=1e-12)


def test_avgpool_backward_reference_agrees_with_numerical_gradient():
    rng = np.random.default_rng(22)
    for n, c, h, wd, k, s in [(1, 1, 5, 5, 2, 1), (2, 3, 6, 7, 3, 2), (1, 2, 5, 4, 2, 2),
                              (2, 1, 4, 6, 2, 3)]:
        x = rng.standard_normal((n, c, h, wd))
        g = rng.standard_normal((n, c, conv_output_size(h, k, s, 0), conv_output_size(wd, k, s, 0)))
        pool = nn.AvgPool2d(k, stride=s)
        numeric = nn.numerical_gradient(lambda v, pool=pool, g=g: float(np.sum(pool(v) * g)), x)
        analytic = np.asarray(cnn_ex._avgpool_backward(x, g, k, s))
        assert nn.rel_error(analytic, numeric) < 1e-8
        assert np.allclose(avgpool_backward(x, g, k, s), analytic, rtol=1e-12, atol=1e-15)


def test_batchnorm2d_reference_is_the_formula():
    rng = np.random.default_rng(23)
    z = rng.standard_normal((3, 4, 5, 2))
    gamma, beta = rng.uniform(0.5, 2, 4), rng.standard_normal(4)
    np.testing.assert_allclose(cnn_ex._batchnorm2d(z, gamma, beta, 1e-5),
                               batchnorm2d(z, gamma, beta, 1e-5), rtol=1e-12, atol=1e-12)


def test_cnn_parameters_of_the_chapter():
    assert cnn_ex._cnn_parameters(16, 32, 64) == 13706 == cnn_ex.digits_cnn(1).num_parameters()


# --- numbers chapter 13 prints, by hand arithmetic ----------------------------------------------

def test_classic_3x3_example():
    x = np.arange(9.0).reshape(3, 3)
    k = np.arange(4.0).reshape(2, 2)
    expected = np.array([[0 * 0 + 1 * 1 + 3 * 2 + 4 * 3, 1 * 0 + 2 * 1 + 4 * 2 + 5 * 3],
                         [3 * 0 + 4 * 1 + 6 * 2 + 7 * 3, 4 * 0 + 5 * 1 + 7 * 2 + 8 * 3]])
    np.testing.assert_array_equal(expected, [[19, 25], [37, 43]])
    conv = nn.Conv2d(1, 1, 2, bias=False, rng=np.random.default_rng(0))
    conv.weight.data[0, 0] = k
    np.testing.assert_array_equal(conv(x[None, None])[0, 0], expected)
    np.testing.assert_array_equal(conv2d_naive(x[None, None], k[None, None])[0, 0], expected)


def test_padding_and_stride_example():
    # the 3x3 input padded by 1 on each side, 2x2 kernel, stride 3 down and 2 across
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    conv = nn.Conv2d(1, 1, 2, stride=(3, 2), padding=1, bias=False, rng=np.random.default_rng(0))
    conv.weight.data[0, 0] = np.arange(4.0).reshape(2, 2)
    # (0,0): x[0,0]*3 = 0; (0,1): x[0,1]*2 + x[0,2]*3 = 8;
    # (1,0): x[2,0]*1 = 6; (1,1): x[2,1]*0 + x[2,2]*1 = 8 (the other taps fall on padding)
    np.testing.assert_array_equal(conv(x)[0, 0], [[0, 8], [6, 8]])


def test_note_002_dense_vs_conv_parameter_counts():
    assert 224 * 224 * 3 == 150528
    assert 150528 * 4096 + 4096 == 616_566_784
    assert nn.Conv2d(3, 64, 3, rng=np.random.default_rng(0)).num_parameters() == 3 * 64 * 9 + 64 == 1792


@pytest.mark.parametrize("n,k,p,s,expected", [
    (8, 3, 1, 1, 8), (8, 5, 2, 1, 8), (8, 3, 1, 2, 4), (8, 3, 0, 3, 2), (8, 5, 1, 4, 2),
    (224, 3, 1, 1, 224), (224, 7, 3, 2, 112), (3, 2, 0, 1, 2),
])
def test_output_size_formulas(n, k, p, s, expected):
    # note 004's form with total padding p_h = 2p: floor((n - k + p_h + s) / s)
    assert (n - k + 2 * p + s) // s == expected
    assert conv_output_size(n, k, s, p) == expected


def test_pooling_example():
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    np.testing.assert_array_equal(nn.MaxPool2d(2, stride=1)(x)[0, 0], [[4, 5], [7, 8]])
    np.testing.assert_array_equal(nn.AvgPool2d(2, stride=1)(x)[0, 0], [[2, 3], [5, 6]])


def test_receptive_fields_of_the_chapter():
    assert [receptive_field([(3, 1)] * n) for n in (1, 2, 3)] == [3, 5, 7]
    assert receptive_field([(3, 1), (2, 2), (3, 1), (2, 2)]) == 10
    assert receptive_field([(3, 1), (2, 2), (3, 1)]) == 8


def test_recipe_model_shapes():
    model = cnn_ex.digits_cnn(1)
    x = np.zeros((5, 1, 8, 8))
    shapes = []
    for layer in model:
        x = layer(x)
        shapes.append(x.shape)
    assert shapes == [(5, 16, 8, 8), (5, 16, 8, 8), (5, 16, 4, 4), (5, 32, 4, 4), (5, 32, 4, 4),
                      (5, 32, 2, 2), (5, 128), (5, 64), (5, 64), (5, 10)]
    assert model.num_parameters() == 160 + 4640 + (128 * 64 + 64) + (64 * 10 + 10) == 13706


def test_convolution_is_a_sparse_shared_matrix():
    """Note 002 §11.1's 系数连接 is 稀疏连接: the 3x3 convolution on a 6x6 image, written as the
    16 x 36 matrix of a dense layer, has 9 non-zero entries per row, the nine kernel entries."""
    kernel = np.arange(1.0, 10.0).reshape(3, 3)
    conv = nn.Conv2d(1, 1, 3, bias=False, rng=np.random.default_rng(0))
    conv.weight.data[0, 0] = kernel
    M = np.stack([conv(e.reshape(1, 1, 6, 6)).ravel() for e in np.eye(36)], axis=1)
    assert M.shape == (16, 36)
    assert np.count_nonzero(M) == 144 and set(np.count_nonzero(M, axis=1)) == {9}
    assert sorted(np.unique(M[M != 0])) == list(range(1, 10))
    x = np.random.default_rng(1).standard_normal((6, 6))
    np.testing.assert_allclose(M @ x.ravel(), conv(x[None, None]).ravel())


def test_convolution_is_translation_equivariant_and_global_max_invariant():
    digit = np.zeros((16, 16))
    digit[2:10, 2:10] = np.random.default_rng(0).random((8, 8))
    moved = np.roll(digit, (3, 4), axis=(0, 1))   # stays inside the zero border
    conv = nn.Conv2d(1, 2, 3, padding=1, rng=np.random.default_rng(1))
    fa, fb = conv(digit[None, None]), conv(moved[None, None])
    np.testing.assert_allclose(fb[..., 3:, 4:], fa[..., :-3, :-4], atol=1e-12)
    np.testing.assert_allclose(fb.max(axis=(2, 3)), fa.max(axis=(2, 3)), atol=1e-12)


def test_1x1_convolution_is_a_linear_layer_at_every_pixel():
    conv = nn.Conv2d(8, 4, 1, rng=np.random.default_rng(9))
    x = np.random.default_rng(10).standard_normal((2, 8, 5, 5))
    linear = nn.Linear.from_weights(conv.weight.data[:, :, 0, 0], conv.bias.data)
    y = linear(x.transpose(0, 2, 3, 1).reshape(-1, 8)).reshape(2, 5, 5, 4).transpose(0, 3, 1, 2)
    np.testing.assert_allclose(conv(x), y, atol=1e-12)


def test_gradient_descent_recovers_a_kernel():
    kx = np.array([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]])
    X = np.random.default_rng(4).standard_normal((16, 1, 12, 12))
    target = conv2d_naive(X, kx[None, None])
    student = nn.Conv2d(1, 1, 3, rng=np.random.default_rng(5))
    loss, opt = nn.MSELoss(), nn.optim.SGD(student.parameters(), lr=0.1)
    for _ in range(200):
        opt.zero_grad()
        loss(student(X), target)
        student.backward(loss.backward())
        opt.step()
    np.testing.assert_allclose(student.weight.data[0, 0], kx, atol=1e-8)
    assert abs(student.bias.data[0]) < 1e-8
