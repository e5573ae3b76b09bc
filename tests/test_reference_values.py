"""Values known by hand: special points, worked examples and numerical-stability edge cases."""

import math
import warnings

import numpy as np
import pytest

import course_nn as nn
from course_nn import activations as A


@pytest.fixture
def strict_floats():
    """Turn every overflow / divide / invalid into an error (underflow to 0 is harmless)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", divide="raise", invalid="raise"):
            yield


# -------------------------------------------------------------------------------- activations

def test_sigmoid_special_values():
    assert A.sigmoid(0.0) == 0.5
    assert A.sigmoid_grad(0.0) == 0.25
    np.testing.assert_allclose(A.sigmoid(np.log(3.0)), 0.75, rtol=1e-15)  # 1 / (1 + 1/3)
    x = np.linspace(-8, 8, 33)
    np.testing.assert_allclose(A.sigmoid(-x), 1.0 - A.sigmoid(x), atol=1e-15)


def test_sigmoid_of_huge_inputs_is_exact_and_silent(strict_floats):
    s = A.sigmoid(np.array([-1000.0, -745.0, 745.0, 1000.0]))
    assert s[0] == 0.0 and s[-1] == 1.0
    assert np.all(np.isfinite(A.sigmoid_grad(np.array([-1000.0, 1000.0]))))
    out = nn.Sigmoid()(np.array([[-1000.0, 1000.0]], dtype=np.float32))
    assert out.dtype == np.float32 and out.tolist() == [[0.0, 1.0]]


def test_tanh_and_identity():
    assert A.tanh(0.0) == 0.0 and A.tanh_grad(0.0) == 1.0
    np.testing.assert_allclose(A.tanh(1.0), (math.e**2 - 1) / (math.e**2 + 1), rtol=1e-15)
    x = np.array([[-2.0, 0.5]])
    assert A.identity(x).tolist() == [[-2.0, 0.5]] and A.identity(x) is not x
    assert A.identity_grad(x).tolist() == [[1.0, 1.0]]


def test_relu_family_by_hand():
    x = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
    assert A.relu(x).tolist() == [0.0, 0.0, 0.0, 0.5, 3.0]
    assert A.relu_grad(x).tolist() == [0.0, 0.0, 0.0, 1.0, 1.0]  # PyTorch: 0 at the kink
    np.testing.assert_allclose(A.leaky_relu(x, 0.1), [-0.2, -0.05, 0.0, 0.5, 3.0], rtol=1e-15)
    np.testing.assert_allclose(A.leaky_relu_grad(x, 0.1), [0.1, 0.1, 0.1, 1.0, 1.0])
    assert A.leaky_relu(np.array([-100.0])).tolist() == [-1.0]  # default slope 0.01
    np.testing.assert_allclose(A.elu(np.array([-1.0, 2.0]), alpha=2.0),
                               [2.0 * (math.exp(-1) - 1), 2.0], rtol=1e-15)
    np.testing.assert_allclose(A.elu_grad(np.array([-1.0, 2.0]), alpha=2.0),
                               [2.0 * math.exp(-1), 1.0], rtol=1e-15)
    # elu saturates at -alpha and stays accurate near 0 (expm1)
    assert A.elu(np.array([-50.0]))[0] == pytest.approx(-1.0, abs=1e-15)
    assert A.elu(np.array([-1e-12]))[0] == pytest.approx(-1e-12, rel=1e-9)


def test_prelu_by_hand():
    m = nn.PReLU()
    assert m.weight.data.tolist() == [0.25]
    assert m(np.array([[-4.0, 2.0]])).tolist() == [[-1.0, 2.0]]
    m = nn.PReLU(2, init=0.5)
    m.weight.data = np.array([0.1, 0.2])
    assert m(np.array([[-1.0, -1.0], [3.0, -10.0]])).tolist() == [[-0.1, -0.2], [3.0, -2.0]]
    m.zero_grad()
    grad_x = m.backward(np.ones((2, 2)))
    assert grad_x.tolist() == [[0.1, 0.2], [1.0, 0.2]]
    assert m.weight.grad.tolist() == [-1.0, -11.0]  # sum of min(x, 0) per channel


def test_swish_limits_and_silu():
    x = np.linspace(-3, 3, 13)
    np.testing.assert_allclose(A.swish(x, beta=0.0), x / 2, rtol=1e-15)  # sigmoid(0) = 1/2
    np.testing.assert_allclose(A.swish(x, beta=60.0), A.relu(x), atol=1e-12)  # beta -> inf
    np.testing.assert_allclose(nn.SiLU()(x), x * A.sigmoid(x), rtol=1e-15)
    assert A.swish(1.0) == pytest.approx(1 / (1 + math.exp(-1)), rel=1e-15)


def test_gelu_reference_values():
    # GELU(x) = x Phi(x): Phi(1) = 0.8413447460685429, Phi(-1) = 1 - Phi(1)
    assert A.gelu(1.0) == pytest.approx(0.8413447460685429, rel=1e-15, abs=0)
    assert A.gelu(np.array([-1.0]))[0] == pytest.approx(-0.15865525393145707, rel=1e-14)
    assert A.gelu(0.0) == 0.0
    assert A.gelu_grad(0.0) == 0.5
    # GELU'(x) = Phi(x) + x phi(x); at 1: 0.8413447460685429 + exp(-1/2) / sqrt(2 pi)
    expected = 0.8413447460685429 + math.exp(-0.5) / math.sqrt(2 * math.pi)
    assert A.gelu_grad(1.0) == pytest.approx(expected, rel=1e-14)
    assert nn.GELU()(np.array([[1.0]]))[0, 0] == pytest.approx(0.8413447460685429, rel=1e-15)


def test_gelu_tanh_approximation_is_close_but_not_identical():
    x = np.linspace(-6, 6, 1201)
    diff = np.abs(A.gelu(x, "tanh") - A.gelu(x))
    assert diff.max() < 1e-3
    assert diff.max() > 1e-5  # it is an approximation: a test that silently used erf would fail
    grad_diff = np.abs(A.gelu_grad(x, "tanh") - A.gelu_grad(x))
    assert grad_diff.max() < 1e-2


def test_gelu_accepts_scalars_and_keeps_float32():
    assert np.ndim(A.gelu(0.5)) == 0 and np.ndim(A.gelu_grad(0.5)) == 0
    assert A.gelu(np.ones(3, dtype=np.float32)).dtype == np.float32
    assert nn.GELU()(np.ones((2, 2), dtype=np.float32)).dtype == np.float32


def test_softmax_by_hand():
    p = A.softmax(np.array([0.0, math.log(2.0)]))
    np.testing.assert_allclose(p, [1 / 3, 2 / 3], rtol=1e-15)
    x = np.random.default_rng(0).normal(size=(5, 4)) * 10
    np.testing.assert_allclose(A.softmax(x).sum(axis=1), 1.0, rtol=1e-14)
    np.testing.assert_allclose(A.softmax(x, axis=0).sum(axis=0), 1.0, rtol=1e-14)
    np.testing.assert_allclose(A.softmax(x + 123.0), A.softmax(x), rtol=1e-13)  # shift-invariant
    np.testing.assert_allclose(A.softmax(np.zeros((2, 5))), 0.2, rtol=1e-15)
    assert nn.Softmax()(x).shape == (5, 4)


def test_softmax_of_huge_logits_is_finite(strict_floats):
    p = A.softmax(np.array([[1000.0, 1000.0, -1000.0]]))
    np.testing.assert_allclose(p, [[0.5, 0.5, 0.0]], atol=1e-300)
    np.testing.assert_allclose(A.log_softmax(np.array([[1000.0, 0.0]])), [[0.0, -1000.0]],
                               rtol=1e-15)


def test_softmax_backward_of_uniform_upstream_is_zero():
    """sum_i softmax_i = 1, so a constant upstream gradient has no effect."""
    y = A.softmax(np.array([[0.3, -1.2, 2.0]]))
    np.testing.assert_allclose(A.softmax_backward(y, np.full((1, 3), 7.0)), 0.0, atol=1e-15)
    g = np.array([[1.0, 0.0, 0.0]])  # d y_0 / d x = y_0 (e_0 - y)
    np.testing.assert_allclose(A.softmax_backward(y, g), y[0, 0] * (g - y), rtol=1e-14)


# ------------------------------------------------------------------------------------- linear

def test_linear_by_hand():
    layer = nn.Linear(2, 2)
    layer.weight.data = np.array([[1.0, 2.0], [3.0, 4.0]])
    layer.bias.data = np.array([1.0, -1.0])
    x = np.array([[1.0, 1.0], [2.0, 0.0]])
    assert layer(x).tolist() == [[4.0, 6.0], [3.0, 5.0]]
    layer.zero_grad()
    grad_x = layer.backward(np.array([[1.0, 0.0], [0.0, 1.0]]))
    assert grad_x.tolist() == [[1.0, 2.0], [3.0, 4.0]]        # rows of W
    assert layer.weight.grad.tolist() == [[1.0, 1.0], [2.0, 0.0]]  # grad_out.T @ x
    assert layer.bias.grad.tolist() == [1.0, 1.0]


# ------------------------------------------------------------------------------------- losses

def test_mse_family_by_hand():
    pred = np.array([[1.0], [2.0], [3.0]])
    target = np.ones((3, 1))
    loss = nn.MSELoss()
    assert loss(pred, target) == pytest.approx(5 / 3, rel=1e-15)
    np.testing.assert_allclose(loss.backward(), [[0.0], [2 / 3], [4 / 3]], rtol=1e-15)
    assert nn.MSELoss(reduction="sum")(pred, target) == 5.0
    half = nn.MSELoss(half=True)
    assert half(pred, target) == pytest.approx(5 / 6, rel=1e-15)
    np.testing.assert_allclose(half.backward(), [[0.0], [1 / 3], [2 / 3]], rtol=1e-15)
    # one sample, half=True: L = (y - t)^2 / 2, dL/dy = y - t (the notes' convention)
    single = nn.MSELoss(half=True)
    assert single(np.array([[3.0]]), np.array([[1.0]])) == 2.0
    assert single.backward().tolist() == [[2.0]]


def test_metrics_rmse_is_sqrt_mse_and_mae():
    pred = np.array([[3.0], [0.0]])
    target = np.array([[0.0], [4.0]])
    assert nn.mse(pred, target) == 12.5
    assert nn.rmse(pred, target) == pytest.approx(math.sqrt(12.5), rel=1e-15)
    assert nn.mae(pred, target) == 3.5
    assert isinstance(nn.rmse(pred, target), float)
    rng = np.random.default_rng(5)
    p, t = rng.normal(size=(20, 3)), rng.normal(size=(20, 3))
    assert nn.rmse(p, t) == pytest.approx(math.sqrt(nn.mse(p, t)), rel=1e-15)
    assert nn.rmse(p, t) == pytest.approx(np.sqrt(np.mean((p - t) ** 2)), rel=1e-13)


def test_l1_by_hand():
    loss = nn.L1Loss()
    assert loss(np.array([1.0, -2.0, 3.0]), np.array([0.0, 0.0, 3.0])) == 1.0
    np.testing.assert_allclose(loss.backward(), [1 / 3, -1 / 3, 0.0])  # sign(0) = 0 at a tie
    assert nn.MAELoss is nn.L1Loss


def test_huber_inside_delta_equals_half_mse():
    rng = np.random.default_rng(1)
    target = rng.normal(size=(10, 2))
    pred = target + rng.uniform(-0.9, 0.9, size=(10, 2))     # all |d| < delta = 1
    huber, half_mse = nn.HuberLoss(delta=1.0), nn.MSELoss(half=True)
    assert huber(pred, target) == pytest.approx(half_mse(pred, target), rel=1e-14)
    assert huber(pred, target) == pytest.approx(nn.mse(pred, target) / 2, rel=1e-14)
    np.testing.assert_allclose(huber.backward(), half_mse.backward(), rtol=1e-14)


def test_huber_outside_delta_is_linear():
    huber = nn.HuberLoss(delta=1.0, reduction="sum")
    # |d| = 3 > 1: delta (|d| - delta/2) = 2.5; d = -0.5: 0.125
    assert huber(np.array([3.0, -0.5]), np.array([0.0, 0.0])) == 2.625
    assert huber.backward().tolist() == [1.0, -0.5]
    huber2 = nn.HuberLoss(delta=2.0, reduction="sum")
    assert huber2(np.array([-10.0]), np.array([0.0])) == 2.0 * (10.0 - 1.0)
    assert huber2.backward().tolist() == [-2.0]


def test_bce_by_hand_and_clamped():
    loss = nn.BCELoss()
    assert loss(np.array([0.5]), np.array([1.0])) == pytest.approx(math.log(2), rel=1e-15)
    assert loss(np.array([0.8, 0.25]), np.array([1.0, 0.0])) == pytest.approx(
        -(math.log(0.8) + math.log(0.75)) / 2, rel=1e-15)
    np.testing.assert_allclose(loss.backward(), [-1 / 0.8 / 2, 1 / 0.75 / 2], rtol=1e-14)


def test_bce_at_zero_and_one_is_clamped_to_100(strict_floats):
    loss = nn.BCELoss(reduction="sum")
    assert loss(np.array([0.0, 1.0]), np.array([1.0, 0.0])) == 200.0  # log clamped at -100
    assert np.all(np.isfinite(loss.backward()))
    assert loss(np.array([0.0, 1.0]), np.array([0.0, 1.0])) == 0.0


def test_bce_with_logits_matches_bce_of_sigmoid_and_survives_huge_logits(strict_floats):
    z = np.array([-3.0, -0.2, 0.0, 1.5, 4.0])
    t = np.array([0.0, 1.0, 1.0, 0.3, 1.0])
    fused, plain = nn.BCEWithLogitsLoss(), nn.BCELoss()
    assert fused(z, t) == pytest.approx(plain(A.sigmoid(z), t), rel=1e-14)
    np.testing.assert_allclose(fused.backward(), (A.sigmoid(z) - t) / 5, rtol=1e-14)
    big = nn.BCEWithLogitsLoss(reduction="sum")
    assert big(np.array([1000.0, -1000.0, 1000.0]), np.array([0.0, 1.0, 1.0])) == 2000.0
    assert big.backward().tolist() == [1.0, -1.0, 0.0]


def test_cross_entropy_of_uniform_logits_is_log_c():
    for c in (2, 3, 10, 1000):
        loss = nn.CrossEntropyLoss()
        labels = np.arange(4) % c
        assert loss(np.zeros((4, c)), labels) == pytest.approx(math.log(c), rel=1e-14)
        grad = loss.backward()
        expected = np.full((4, c), 1.0 / c)
        expected[np.arange(4), labels] -= 1.0
        np.testing.assert_allclose(grad, expected / 4, rtol=1e-13, atol=1e-17)


def test_cross_entropy_by_hand():
    logits = np.array([[2.0, 1.0, 0.1]])
    loss = nn.CrossEntropyLoss()
    z = math.exp(2.0) + math.exp(1.0) + math.exp(0.1)
    assert loss(logits, np.array([0])) == pytest.approx(-math.log(math.exp(2.0) / z), rel=1e-14)
    expected = np.array([[math.exp(2.0) / z - 1, math.exp(1.0) / z, math.exp(0.1) / z]])
    np.testing.assert_allclose(loss.backward(), expected, rtol=1e-14)
    assert abs(loss.backward().sum()) < 1e-15  # each row of softmax - onehot sums to 0


def test_cross_entropy_of_huge_logits_is_finite(strict_floats):
    loss = nn.CrossEntropyLoss()
    logits = np.array([[1000.0, -1000.0], [-1000.0, 1000.0], [1000.0, 1000.0]])
    value = loss(logits, np.array([1, 1, 0]))
    # sample 0: 2000, sample 1: 0, sample 2: log 2
    assert value == pytest.approx((2000.0 + 0.0 + math.log(2)) / 3, rel=1e-15)
    grad = loss.backward()
    assert np.all(np.isfinite(grad))
    np.testing.assert_allclose(grad, np.array([[1.0, -1.0], [0.0, 0.0], [-0.5, 0.5]]) / 3,
                               atol=1e-300)


def test_multiclass_hinge_cs231n_example():
    """CS231n's three-image example: scores for cat, car, frog (one row per image)."""
    scores = np.array([[3.2, 5.1, -1.7],    # a cat:  max(0, 5.1-3.2+1) + max(0, -1.7-3.2+1)
                       [1.3, 4.9, 2.0],     # a car:  max(0, 1.3-4.9+1) + max(0, 2.0-4.9+1)
                       [2.2, 2.5, -3.1]])   # a frog: max(0, 2.2+3.1+1) + max(0, 2.5+3.1+1)
    labels = np.array([0, 1, 2])
    loss = nn.MulticlassHingeLoss()
    per_image = [2.9, 0.0, 12.9]
    assert loss(scores, labels) == pytest.approx(sum(per_image) / 3, rel=1e-14)
    expected = np.array([[-1.0, 1.0, 0.0],   # one active margin: +1 on car, -1 on the label
                         [0.0, 0.0, 0.0],    # no active margin
                         [1.0, 1.0, -2.0]]) / 3  # two active margins
    np.testing.assert_allclose(loss.backward(), expected, rtol=1e-15)
    summed = nn.MulticlassHingeLoss(reduction="sum")
    assert summed(scores, labels) == pytest.approx(15.8, rel=1e-14)
    # margin 0: only strictly higher wrong scores count
    assert nn.MulticlassHingeLoss(margin=0.0, reduction="sum")(scores, labels) == pytest.approx(
        1.9 + 5.3 + 5.6, rel=1e-14)


def test_loss_returns_python_float_and_backward_matches_last_call():
    loss = nn.MSELoss()
    v1 = loss(np.array([1.0, 2.0]), np.array([0.0, 0.0]))
    assert type(v1) is float
    loss(np.array([3.0]), np.array([0.0]))
    assert loss.backward().tolist() == [6.0]


def test_float32_is_kept_by_activations_and_linear():
    x = np.ones((2, 3), dtype=np.float32)
    for module in (nn.Sigmoid(), nn.Tanh(), nn.ReLU(), nn.LeakyReLU(), nn.ELU(), nn.SiLU(),
                   nn.GELU(), nn.GELU("tanh"), nn.Softmax(), nn.Identity()):
        assert module(x).dtype == np.float32, type(module).__name__
    layer = nn.Linear(3, 2, dtype=np.float32, rng=np.random.default_rng(0))
    assert layer.weight.data.dtype == np.float32 and layer(x).dtype == np.float32


def test_reduction_none_returns_per_element_losses_and_the_gradient_of_their_sum():
    pred, target = np.array([[1.0, -2.0], [0.5, 3.0]]), np.array([[0.0, 0.0], [1.0, 1.0]])
    loss = nn.MSELoss(reduction="none")
    np.testing.assert_array_equal(loss(pred, target), (pred - target) ** 2)
    np.testing.assert_array_equal(loss.backward(), 2 * (pred - target))
    ce = nn.CrossEntropyLoss(reduction="none")
    logits, labels = np.array([[2.0, 0.0], [0.0, 0.0]]), np.array([0, 1])
    per_sample = ce(logits, labels)
    assert per_sample.shape == (2,)
    assert per_sample.mean() == pytest.approx(nn.CrossEntropyLoss()(logits, labels), abs=1e-15)
