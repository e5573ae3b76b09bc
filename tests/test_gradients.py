"""Every hand-written backward against float64 central differences (worst relative error < 1e-7).

The checks use course_nn.gradcheck's defaults (four-point stencil, h = 1e-4).

Inputs come from seeded generators and are pushed away from the points where a central
difference is meaningless or the relative error is ill-conditioned:

* kinks (relu / leaky_relu / elu / prelu at 0, L1 at a tie, Huber at |d| = delta, a hinge
  margin at 0): a stencil x - 2h .. x + 2h straddling a kink mixes two slopes;
* stationary points, where the true derivative is ~0 and the relative error of a ~1e-10
  rounding error is large (swish at beta*x = -1.2785, GELU at x = -0.7518, sigmoid and
  tanh far out in their tails, hence inputs in [-3, 3]);
* upstream gradients ``grad_out`` near 0, for the same reason (their magnitude is kept in
  [0.5, 1.5] with random signs).

The last tests are negative controls: a deliberately wrong backward must fail the same check.
"""

import numpy as np
import pytest

import course_nn as nn
from course_nn import activations as A

TOL = 1e-7
KINK_GAP = 1e-2      # distance kept from kinks: >> 2h = 2e-4 (and > 1e-3)
SWISH_STATIONARY_U = -1.2785   # d/dx [x sigmoid(beta x)] = 0 at beta*x = -1.2785
GELU_STATIONARY = -0.7518      # GELU'(x) = 0 (exact: -0.75179, tanh form: -0.75246)


def push_away(x, points, gap):
    """Move every entry of ``x`` closer than ``gap`` to one of ``points`` out to distance gap."""
    x = np.array(x, dtype=np.float64)
    for p in points:
        close = np.abs(x - p) < gap
        x[close] = p + np.where(x[close] >= p, gap, -gap)
    return x


def inputs(seed, shape=(4, 5), low=-3.0, high=3.0, avoid=(), gap=KINK_GAP):
    rng = np.random.default_rng(seed)
    return push_away(rng.uniform(low, high, size=shape), avoid, gap)


def upstream(seed, shape):
    """A grad_out with entries of magnitude in [0.5, 1.5] and random signs."""
    rng = np.random.default_rng(seed)
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.5, 1.5, size=shape)


def swish_avoid(beta):
    return (SWISH_STATIONARY_U / beta,)


# ------------------------------------------------------------------ function + derivative pairs

FUNCTION_CASES = [
    ("identity", A.identity, A.identity_grad, ()),
    ("sigmoid", A.sigmoid, A.sigmoid_grad, ()),
    ("tanh", A.tanh, A.tanh_grad, ()),
    ("relu", A.relu, A.relu_grad, (0.0,)),
    ("leaky_relu_default", A.leaky_relu, A.leaky_relu_grad, (0.0,)),
    ("leaky_relu_0.3", lambda x: A.leaky_relu(x, 0.3), lambda x: A.leaky_relu_grad(x, 0.3),
     (0.0,)),
    ("elu_1", A.elu, A.elu_grad, (0.0,)),
    ("elu_0.5", lambda x: A.elu(x, 0.5), lambda x: A.elu_grad(x, 0.5), (0.0,)),
    ("elu_2", lambda x: A.elu(x, 2.0), lambda x: A.elu_grad(x, 2.0), (0.0,)),
    ("swish_0.5", lambda x: A.swish(x, 0.5), lambda x: A.swish_grad(x, 0.5), swish_avoid(0.5)),
    ("swish_1", A.swish, A.swish_grad, swish_avoid(1.0)),
    ("swish_2", lambda x: A.swish(x, 2.0), lambda x: A.swish_grad(x, 2.0), swish_avoid(2.0)),
    ("swish_5", lambda x: A.swish(x, 5.0), lambda x: A.swish_grad(x, 5.0), swish_avoid(5.0)),
    ("gelu", A.gelu, A.gelu_grad, (GELU_STATIONARY,)),
    ("gelu_tanh", lambda x: A.gelu(x, "tanh"), lambda x: A.gelu_grad(x, "tanh"),
     (GELU_STATIONARY,)),
]


@pytest.mark.parametrize("name,f,df,avoid", FUNCTION_CASES, ids=[c[0] for c in FUNCTION_CASES])
def test_activation_function_derivative(name, f, df, avoid):
    # swish with a large beta saturates fast: keep beta*x within a range where it still bends
    high = 3.0 if not name.startswith("swish_5") else 1.0
    x = inputs(1, shape=(4, 5), low=-high, high=high, avoid=avoid, gap=0.1)
    err = nn.check_function_gradient(f, df, x)
    assert err < TOL, f"{name}: worst relative error {err:.2e}"


def test_activation_table_pairs_match_numerical_derivatives():
    """The ACTIVATIONS table used for plots pairs each function with its own derivative."""
    avoid = {"swish": swish_avoid(1.0), "gelu": (GELU_STATIONARY,),
             "gelu_tanh": (GELU_STATIONARY,)}
    assert set(A.ACTIVATIONS) == {"identity", "sigmoid", "tanh", "relu", "leaky_relu", "elu",
                                  "swish", "gelu", "gelu_tanh"}
    for name, (f, df) in A.ACTIVATIONS.items():
        x = inputs(2, shape=(4, 5), avoid=avoid.get(name, (0.0,)), gap=0.1)
        err = nn.check_function_gradient(f, df, x)
        assert err < TOL, f"{name}: worst relative error {err:.2e}"


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_softmax_backward_is_the_vector_jacobian_product(axis):
    x = inputs(3, shape=(4, 5))
    g = upstream(4, x.shape)
    numeric = nn.numerical_gradient(lambda z: np.sum(A.softmax(z, axis=axis) * g), x.copy())
    err = nn.rel_error(A.softmax_backward(A.softmax(x, axis=axis), g, axis=axis), numeric)
    assert err < TOL


# ------------------------------------------------------------------------------------- modules

def _prelu(num_parameters, seed):
    m = nn.PReLU(num_parameters)
    # distinct, non-default slopes so a mix-up between channels shows
    m.weight.data = np.random.default_rng(seed).uniform(0.05, 0.6, size=num_parameters)
    return m


def _linear(bias, seed=10):
    return nn.Linear(5, 3, bias=bias, rng=np.random.default_rng(seed))


def _sequential():
    rng = np.random.default_rng(11)
    return nn.Sequential(
        nn.Linear(5, 6, rng=rng), nn.Tanh(),
        nn.Linear(6, 4, rng=rng), nn.GELU(),
        nn.Linear(4, 3, rng=rng, init=nn.init.xavier_normal), nn.Sigmoid(),
    )


def _sequential_kinked():
    rng = np.random.default_rng(12)
    return nn.Sequential(nn.Linear(5, 4, rng=rng), _prelu(4, 13), nn.Linear(4, 3, rng=rng),
                         nn.Softmax())


# (id, module factory, input shape, points to avoid in the input, expected gradient names)
MODULE_CASES = [
    ("Identity", nn.Identity, (4, 5), (), {"input"}),
    ("Sigmoid", nn.Sigmoid, (4, 5), (), {"input"}),
    ("Tanh", nn.Tanh, (4, 5), (), {"input"}),
    ("ReLU", nn.ReLU, (4, 5), (0.0,), {"input"}),
    ("LeakyReLU_default", nn.LeakyReLU, (4, 5), (0.0,), {"input"}),
    ("LeakyReLU_0.2", lambda: nn.LeakyReLU(0.2), (4, 5), (0.0,), {"input"}),
    ("ELU_1", nn.ELU, (4, 5), (0.0,), {"input"}),
    ("ELU_0.3", lambda: nn.ELU(0.3), (4, 5), (0.0,), {"input"}),
    ("SiLU", nn.SiLU, (4, 5), swish_avoid(1.0), {"input"}),
    ("Swish_0.5", lambda: nn.Swish(0.5), (4, 5), swish_avoid(0.5), {"input"}),
    ("Swish_1.7", lambda: nn.Swish(1.7), (4, 5), swish_avoid(1.7), {"input"}),
    ("Swish_3", lambda: nn.Swish(3.0), (4, 5), swish_avoid(3.0), {"input"}),
    ("GELU", nn.GELU, (4, 5), (GELU_STATIONARY,), {"input"}),
    ("GELU_tanh", lambda: nn.GELU("tanh"), (4, 5), (GELU_STATIONARY,), {"input"}),
    ("Softmax_last", nn.Softmax, (4, 5), (), {"input"}),
    ("Softmax_dim0", lambda: nn.Softmax(dim=0), (4, 5), (), {"input"}),
    ("PReLU_shared", lambda: _prelu(1, 20), (4, 5), (0.0,), {"input", "weight"}),
    ("PReLU_channels_2d", lambda: _prelu(5, 21), (4, 5), (0.0,), {"input", "weight"}),
    ("PReLU_channels_4d", lambda: _prelu(3, 22), (2, 3, 2, 3), (0.0,), {"input", "weight"}),
    ("Linear_bias", lambda: _linear(True), (4, 5), (), {"input", "weight", "bias"}),
    ("Linear_nobias", lambda: _linear(False), (4, 5), (), {"input", "weight"}),
    ("Sequential", _sequential, (4, 5), (),
     {"input", "0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"}),
    ("Sequential_prelu_softmax", _sequential_kinked, (4, 5), (),
     {"input", "0.weight", "0.bias", "1.weight", "2.weight", "2.bias"}),
]


@pytest.mark.parametrize("name,factory,shape,avoid,names", MODULE_CASES,
                         ids=[c[0] for c in MODULE_CASES])
def test_module_gradients(name, factory, shape, avoid, names):
    module = factory()
    x = inputs(30, shape=shape, avoid=avoid)
    if name.startswith("Sequential_prelu"):
        # the PReLU's input is the first layer's output: keep it away from the kink too
        assert np.min(np.abs(module[0](x))) > 1e-3
    out_shape = module(x).shape
    errors = nn.check_module_gradients(module, x, grad_out=upstream(31, out_shape))
    assert set(errors) == names
    worst = max(errors, key=errors.get)
    assert errors[worst] < TOL, f"{name}: {worst} worst relative error {errors[worst]:.2e}"


def test_prelu_weight_gradient_sums_over_batch_and_spatial_axes():
    """Per-channel PReLU: the slope's gradient is sum(min(x, 0) * grad_out) over N, H, W."""
    m = _prelu(3, 40)
    x = inputs(41, shape=(2, 3, 4, 4), avoid=(0.0,))
    g = upstream(42, x.shape)
    m.zero_grad()
    m(x)
    m.backward(g)
    expected = (np.minimum(x, 0.0) * g).sum(axis=(0, 2, 3))
    np.testing.assert_allclose(m.weight.grad, expected, rtol=1e-13)
    assert np.all(np.abs(expected) > 0.1)  # every channel has negative inputs


# --------------------------------------------------------------------------------------- losses

def _regression(seed, shape=(5, 3), avoid=(0.0,), low=0.05, high=3.0):
    """(pred, target) whose differences stay at least KINK_GAP from each point in ``avoid``."""
    rng = np.random.default_rng(seed)
    target = rng.standard_normal(shape)
    diff = rng.choice([-1.0, 1.0], size=shape) * rng.uniform(low, high, size=shape)
    diff = push_away(diff, avoid, KINK_GAP)
    return target + diff, target


def _huber_data(delta, seed):
    pred, target = _regression(seed, shape=(6, 3), avoid=(-delta, 0.0, delta),
                               low=0.05 * delta, high=4.0 * delta)
    d = pred - target
    # outliers and inliers on both sides: |d| < delta and |d| > delta, positive and negative
    d.flat[:4] = [0.3 * delta, -0.6 * delta, 2.5 * delta, -3.0 * delta]
    return target + d, target


def _bce_data(seed):
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.05, 0.95, size=(6, 3))
    t = rng.integers(0, 2, size=(6, 3)).astype(np.float64)
    t[0] = rng.uniform(0.0, 1.0, size=3)
    p = np.where(np.abs(p - t) < 0.05, np.clip(t + 0.1, 0.05, 0.95), p)  # grad ~ p - t
    return p, t


def _bce_logits_data(seed):
    rng = np.random.default_rng(seed)
    z = rng.uniform(-4.0, 4.0, size=(6, 3))
    t = rng.integers(0, 2, size=(6, 3)).astype(np.float64)
    s = A.sigmoid(z)
    soft = np.where(s < 0.5, s + 0.3, s - 0.3)  # soft labels, but not equal to sigmoid(z)
    t[:2] = soft[:2]
    return z, t


def _classification(seed, n=6, c=5):
    rng = np.random.default_rng(seed)
    return 1.5 * rng.standard_normal((n, c)), rng.integers(0, c, size=n)


def _hinge_data(margin, seed, n=6, c=5):
    """Scores whose margins s_j - s_y + margin (j != y) are all at least KINK_GAP from 0."""
    scores, labels = _classification(seed, n, c)
    for i, y in enumerate(labels):
        for j in range(c):
            if j != y:
                m = scores[i, j] - scores[i, y] + margin
                if abs(m) < KINK_GAP:
                    scores[i, j] = scores[i, y] - margin + (KINK_GAP if m >= 0 else -KINK_GAP)
    return scores, labels


# (id, loss, (pred, target))
LOSS_CASES = [
    ("MSE_mean", nn.MSELoss(), _regression(50)),
    ("MSE_sum", nn.MSELoss(reduction="sum"), _regression(51)),
    ("MSE_half_mean", nn.MSELoss(half=True), _regression(52)),
    ("MSE_half_sum", nn.MSELoss(reduction="sum", half=True), _regression(53)),
    ("L1_mean", nn.L1Loss(), _regression(54)),
    ("L1_sum", nn.L1Loss(reduction="sum"), _regression(55)),
    ("MAE_alias", nn.MAELoss(), _regression(56)),
    ("Huber_1_mean", nn.HuberLoss(), _huber_data(1.0, 57)),
    ("Huber_0.3_mean", nn.HuberLoss(delta=0.3), _huber_data(0.3, 58)),
    ("Huber_2.5_sum", nn.HuberLoss(delta=2.5, reduction="sum"), _huber_data(2.5, 59)),
    ("BCE_mean", nn.BCELoss(), _bce_data(60)),
    ("BCE_sum", nn.BCELoss(reduction="sum"), _bce_data(61)),
    ("BCEWithLogits_mean", nn.BCEWithLogitsLoss(), _bce_logits_data(62)),
    ("BCEWithLogits_sum", nn.BCEWithLogitsLoss(reduction="sum"), _bce_logits_data(63)),
    ("CrossEntropy_mean", nn.CrossEntropyLoss(), _classification(64)),
    ("CrossEntropy_sum", nn.CrossEntropyLoss(reduction="sum"), _classification(65)),
    ("Hinge_1_mean", nn.MulticlassHingeLoss(), _hinge_data(1.0, 66)),
    ("Hinge_0.5_sum", nn.MulticlassHingeLoss(margin=0.5, reduction="sum"),
     _hinge_data(0.5, 67)),
    ("Hinge_2_mean", nn.MulticlassHingeLoss(margin=2.0), _hinge_data(2.0, 68)),
]


@pytest.mark.parametrize("name,loss,data", LOSS_CASES, ids=[c[0] for c in LOSS_CASES])
def test_loss_gradient(name, loss, data):
    pred, target = data
    err = nn.check_loss_gradient(loss, pred, target)
    assert err < TOL, f"{name}: worst relative error {err:.2e}"


@pytest.mark.parametrize("delta,seed", [(1.0, 57), (0.3, 58), (2.5, 59)])
def test_huber_data_has_outliers_on_both_sides_of_delta(delta, seed):
    """Precondition of the Huber gradient checks: both branches, both signs, no kink."""
    pred, target = _huber_data(delta, seed)
    d = (pred - target).ravel()
    assert np.any((d > 0) & (d < delta)) and np.any((d < 0) & (d > -delta))
    assert np.any(d > delta) and np.any(d < -delta)
    assert np.min(np.abs(np.abs(d) - delta)) >= KINK_GAP - 1e-12
    assert np.min(np.abs(d)) >= KINK_GAP - 1e-12


@pytest.mark.parametrize("margin,seed", [(1.0, 66), (0.5, 67), (2.0, 68)])
def test_hinge_data_has_active_and_inactive_margins_away_from_the_kink(margin, seed):
    scores, labels = _hinge_data(margin, seed)
    rows = np.arange(len(labels))
    m = scores - scores[rows, labels][:, None] + margin
    off_label = np.ones_like(m, dtype=bool)
    off_label[rows, labels] = False
    m = m[off_label]
    assert np.any(m > 0) and np.any(m < 0)
    assert np.min(np.abs(m)) >= KINK_GAP - 1e-12


def test_numerical_gradient_is_exactly_zero_where_f_ignores_the_entry():
    """Dead ReLU units: the stencil must give exactly 0 there, like the analytic gradient.

    Otherwise rel_error(0, rounding noise) = 1 and every ReLU network fails its check.
    """
    from course_nn.gradcheck import numerical_gradient

    x = inputs(80, shape=(6, 7), low=-50.0, high=50.0, avoid=(0.0,))
    g = upstream(81, x.shape)
    numeric = numerical_gradient(lambda z: np.sum(A.relu(z) * g), x.copy())
    assert np.any(x < 0) and np.all(numeric[x < 0] == 0.0)
    np.testing.assert_allclose(numeric[x > 0], g[x > 0], rtol=1e-9)
    assert nn.check_module_gradients(nn.ReLU(), x, grad_out=g)["input"] < TOL
    scores, labels = _hinge_data(1.0, 82)
    scores = scores * 30.0  # large scores: most margins inactive, loss of order 100
    assert nn.check_loss_gradient(nn.MulticlassHingeLoss(), scores, labels) < TOL


# ---------------------------------------------------------------------------- negative controls

def test_check_function_gradient_catches_a_wrong_derivative():
    x = inputs(70, shape=(10,))
    # sigmoid' = s (1 - s), not s: a learner's classic slip
    assert nn.check_function_gradient(A.sigmoid, A.sigmoid, x) > 1e-2
    # tanh' = 1 - tanh^2, not 1 - tanh
    assert nn.check_function_gradient(A.tanh, lambda z: 1 - np.tanh(z), x) > 1e-2


class _LinearDoubleCountsWeight(nn.Linear):
    """Adds the weight gradient twice: wrong by a factor of 2."""

    def backward(self, grad_out):
        grad_in = super().backward(grad_out)
        self.weight.grad += grad_out.T @ self._x  # counted twice
        return grad_in


class _PReLUWithoutWeightGrad(nn.PReLU):
    def backward(self, grad_out):
        w = self.weight.grad.copy()
        grad_in = super().backward(grad_out)
        self.weight.grad = w  # forgets dL/da
        return grad_in


def test_check_module_gradients_catches_a_wrong_backward():
    x = inputs(71, shape=(4, 5), avoid=(0.0,))
    layer = _LinearDoubleCountsWeight(5, 3, rng=np.random.default_rng(0))
    errors = nn.check_module_gradients(layer, x, grad_out=upstream(72, (4, 3)))
    assert errors["weight"] > 1e-2 and errors["input"] < TOL and errors["bias"] < TOL

    prelu = _PReLUWithoutWeightGrad(5)
    errors = nn.check_module_gradients(prelu, x, grad_out=upstream(73, (4, 5)))
    assert errors["weight"] > 1e-2 and errors["input"] < TOL


class _MSEWithHalfGradient(nn.MSELoss):
    """Loss mean((p - t)^2) but gradient (p - t) / n: the 1/2-convention mixed up."""

    def _loss_and_grad(self, pred, target):
        loss, grad = super()._loss_and_grad(pred, target)
        return loss, grad / 2


def test_check_loss_gradient_catches_a_wrong_gradient():
    pred, target = _regression(74)
    assert nn.check_loss_gradient(_MSEWithHalfGradient(), pred, target) > 1e-2
