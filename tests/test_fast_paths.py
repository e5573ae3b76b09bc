"""The fast paths behind the layers' APIs agree with the readable definitions.

Each readable version below is the textbook formula written plainly (one time step, one
window or one loss term at a time), as the chapters present it; the layers compute the same
thing with time-major buffers, a tanh-form sigmoid, im2col, tiled pooling and a fused
cross-entropy. float64 agreement is to rounding error.
"""

import numpy as np
import pytest

import course_nn as cn
from course_nn.activations import log_softmax, softmax


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def lstm_readable(layer, x):
    H, (N, T, _) = layer.hidden_size, x.shape
    h, c, hs = np.zeros((N, H)), np.zeros((N, H)), []
    for t in range(T):
        a = (x[:, t] @ layer.weight_ih.data.T + layer.bias_ih.data
             + h @ layer.weight_hh.data.T + layer.bias_hh.data)
        i, f, o = sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H]), sigmoid(a[:, 3 * H:])
        g = np.tanh(a[:, 2 * H:3 * H])
        c = f * c + i * g
        h = o * np.tanh(c)
        hs.append(h)
    return np.stack(hs, axis=1), (h, c)


def gru_readable(layer, x):
    H, (N, T, _) = layer.hidden_size, x.shape
    h, hs = np.zeros((N, H)), []
    for t in range(T):
        gi = x[:, t] @ layer.weight_ih.data.T + layer.bias_ih.data
        gh = h @ layer.weight_hh.data.T + layer.bias_hh.data
        r, z = sigmoid(gi[:, :H] + gh[:, :H]), sigmoid(gi[:, H:2 * H] + gh[:, H:2 * H])
        n = np.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
        h = (1.0 - z) * n + z * h
        hs.append(h)
    return np.stack(hs, axis=1), h


def rnn_readable(layer, x):
    h, hs = np.zeros((x.shape[0], layer.hidden_size)), []
    for t in range(x.shape[1]):
        h = np.tanh(x[:, t] @ layer.weight_ih.data.T + layer.bias_ih.data
                    + h @ layer.weight_hh.data.T + layer.bias_hh.data)
        hs.append(h)
    return np.stack(hs, axis=1), h


@pytest.mark.parametrize("seed", range(3))
def test_lstm_matches_the_readable_step_loop(seed):
    rng = np.random.default_rng(seed)
    layer = cn.LSTM(5, 7, rng=rng)
    x = 2.0 * rng.standard_normal((4, 9, 5))
    out, (h, c) = layer(x)
    ref_out, (ref_h, ref_c) = lstm_readable(layer, x)
    np.testing.assert_allclose(out, ref_out, rtol=0, atol=1e-14)
    np.testing.assert_allclose(h, ref_h, rtol=0, atol=1e-14)
    np.testing.assert_allclose(c, ref_c, rtol=0, atol=1e-13)


@pytest.mark.parametrize("seed", range(3))
def test_gru_matches_the_readable_step_loop(seed):
    rng = np.random.default_rng(seed)
    layer = cn.GRU(5, 7, rng=rng)
    x = 2.0 * rng.standard_normal((4, 9, 5))
    out, h = layer(x)
    ref_out, ref_h = gru_readable(layer, x)
    np.testing.assert_allclose(out, ref_out, rtol=0, atol=1e-14)
    np.testing.assert_allclose(h, ref_h, rtol=0, atol=1e-14)


def test_rnn_matches_the_readable_step_loop():
    rng = np.random.default_rng(3)
    layer = cn.RNN(5, 7, rng=rng)
    x = rng.standard_normal((4, 9, 5))
    out, h = layer(x)
    ref_out, ref_h = rnn_readable(layer, x)
    np.testing.assert_allclose(out, ref_out, rtol=0, atol=1e-14)
    np.testing.assert_allclose(h, ref_h, rtol=0, atol=1e-14)


@pytest.mark.parametrize("cls", [cn.RNN, cn.LSTM, cn.GRU])
def test_float32_fast_paths_stay_close_to_float64(cls):
    rng = np.random.default_rng(4)
    layer64 = cls(6, 8, rng=np.random.default_rng(0))
    layer32 = cls(6, 8, rng=np.random.default_rng(0), dtype=np.float32)
    x = rng.standard_normal((3, 20, 6))
    out64 = layer64(x)[0]
    out32 = layer32(x.astype(np.float32))[0]
    assert out32.dtype == np.float32
    np.testing.assert_allclose(out32, out64, rtol=0, atol=2e-6)


def maxpool_readable(x, k):
    """Window by window; the gradient goes to the first maximum in row-major order."""
    n, c, h, w = x.shape
    out = np.empty((n, c, h // k, w // k))
    first = np.zeros_like(x, dtype=bool)
    for s in range(n):
        for ch in range(c):
            for r in range(h // k):
                for q in range(w // k):
                    window = x[s, ch, r * k:(r + 1) * k, q * k:(q + 1) * k]
                    out[s, ch, r, q] = window.max()
                    i, j = np.unravel_index(np.argmax(window), window.shape)
                    first[s, ch, r * k + i, q * k + j] = True
    return out, first


@pytest.mark.parametrize("k, ties", [(2, False), (2, True), (3, True)])
def test_tiled_maxpool_matches_the_readable_window_loop(k, ties):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 3, 6, 6))
    if ties:  # equal maxima inside windows: the first one takes the gradient, as PyTorch
        x = np.round(x)
    pool = cn.MaxPool2d(k)
    out = pool(x)
    ref, first = maxpool_readable(x, k)
    np.testing.assert_array_equal(out, ref)
    g = rng.standard_normal(out.shape)
    dx = pool.backward(g)
    expected = np.where(first, np.repeat(np.repeat(g, k, axis=2), k, axis=3), 0.0)
    np.testing.assert_array_equal(dx, expected)


@pytest.mark.parametrize("stride, padding", [(1, 0), (1, 1), (2, 1), ((1, 2), (2, 0))])
def test_conv2d_matches_the_readable_loop_forward_and_backward(stride, padding):
    rng = np.random.default_rng(6)
    conv = cn.Conv2d(3, 4, (3, 2), stride=stride, padding=padding, rng=rng)
    x = rng.standard_normal((2, 3, 7, 6))
    y = conv(x)
    np.testing.assert_allclose(y, cn.conv.conv2d_naive(x, conv.weight.data, conv.bias.data, stride, padding),
                               rtol=0, atol=1e-13)
    # backward of a linear map: dL/dx = the readable forward's adjoint, probed by <g, conv(e)>
    g = rng.standard_normal(y.shape)
    dx = conv.backward(g)
    probe = rng.standard_normal(x.shape)
    lhs = np.sum(dx * probe)
    rhs = np.sum(g * cn.conv.conv2d_naive(probe, conv.weight.data, None, stride, padding))
    assert abs(lhs - rhs) < 1e-10 * max(1.0, abs(rhs))


def test_fused_cross_entropy_matches_log_softmax_and_softmax():
    rng = np.random.default_rng(7)
    scores, labels = 5.0 * rng.standard_normal((6, 4)), rng.integers(0, 4, 6)
    loss_fn = cn.CrossEntropyLoss(reduction="none")
    per_sample = loss_fn(scores, labels)
    np.testing.assert_allclose(per_sample, -log_softmax(scores, axis=1)[np.arange(6), labels],
                               rtol=0, atol=1e-14)
    expected_grad = softmax(scores, axis=1)
    expected_grad[np.arange(6), labels] -= 1.0
    np.testing.assert_allclose(loss_fn.backward(), expected_grad, rtol=0, atol=1e-15)
