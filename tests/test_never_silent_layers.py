"""Layers, activations and losses never fail silently (issue 11).

One test (or parametrized test) per class of bad input: caches the caller can corrupt,
unchecked gradients, non-float dtypes, overflow where the true value is finite, and bad
hyperparameters. Each asserts the error type, the key part of the message and, where the
object has state, that a failed call changed nothing.
"""

import re

import numpy as np
import pytest

import course_nn as nn
from course_nn import activations as A
from course_nn import init
from course_nn._validate import between_layers


def esc(text):
    return re.escape(text)


def rng(seed=0):
    return np.random.default_rng(seed)


ELEMENTWISE = [nn.Identity, nn.Sigmoid, nn.Tanh, nn.ReLU, nn.LeakyReLU, nn.ELU, nn.SiLU,
               lambda: nn.Swish(2.0), nn.GELU, lambda: nn.GELU("tanh"), nn.PReLU,
               lambda: nn.PReLU(4)]


def all_modules():
    """(id, factory) for every layer of linear/activations/batchnorm/dropout on (3, 4) input."""
    return [("Linear", lambda: nn.Linear(4, 4, rng=rng(1))),
            *[(f"act{i}", f) for i, f in enumerate(ELEMENTWISE)],
            ("Softmax", nn.Softmax), ("Softmax0", lambda: nn.Softmax(0)),
            ("BatchNorm1d", lambda: nn.BatchNorm1d(4)),
            ("BatchNorm1d_eval", lambda: nn.BatchNorm1d(4).eval()),
            ("Dropout", lambda: nn.Dropout(0.5, rng=rng(2)))]


MODULES = all_modules()


def _grads(module):
    return [p.grad.copy() for p in module.parameters()]


# ------------------------------------------------------ 1. no cache the caller can corrupt

def test_linear_keeps_its_own_copy_of_the_callers_input():
    lin = nn.Linear(3, 2, rng=rng())
    x, g = rng(1).standard_normal((4, 3)), rng(2).standard_normal((4, 2))
    expected = g.T @ x
    lin(x)
    x[...] = 0.0  # the caller reuses its buffer before backward
    lin.backward(g)
    np.testing.assert_array_equal(lin.weight.grad, expected)


@pytest.mark.parametrize("make", [f for _, f in MODULES], ids=[n for n, _ in MODULES])
def test_writing_into_the_input_or_the_output_does_not_change_the_gradient(make):
    x, g = rng(3).standard_normal((3, 4)), rng(4).standard_normal((3, 4))
    reference = make()
    reference(x)
    expected = reference.backward(g)
    expected_params = _grads(reference)
    module = make()
    out = module(x)
    x[...] = 7.0
    out += 1.0  # Softmax used to return its backward cache itself
    np.testing.assert_array_equal(module.backward(g), expected)
    for got, want in zip(_grads(module), expected_params):
        np.testing.assert_array_equal(got, want)


def test_a_sequentials_final_output_is_not_a_cache():
    def model():
        r = rng(5)
        return nn.Sequential(nn.Linear(3, 4, rng=r), nn.Tanh(), nn.Linear(4, 3, rng=r),
                             nn.Softmax())
    x, g = rng(6).standard_normal((5, 3)), rng(7).standard_normal((5, 3))
    reference = model()
    reference(x)
    expected = reference.backward(g)
    net = model()
    out = net(x)
    out += 3.0
    x[...] = 0.0
    np.testing.assert_array_equal(net.backward(g), expected)
    np.testing.assert_array_equal(net[0].weight.grad, reference[0].weight.grad)


def test_between_layers_the_input_is_cached_without_a_copy():
    """The copy is for the caller's arrays only: Sequential's own arrays are kept as they are
    (the hot path of every MLP step)."""
    lin, relu = nn.Linear(3, 2, rng=rng()), nn.ReLU()
    x = rng(1).standard_normal((4, 3))
    lin(x)
    relu(x)
    assert not np.shares_memory(lin._x, x) and not np.shares_memory(relu._x, x)
    with between_layers():
        lin(x)
        relu(x)
    assert lin._x is x and relu._x is x


def test_loss_backward_returns_a_fresh_array_and_keeps_no_reference_to_pred():
    loss = nn.MSELoss()
    pred, target = rng(1).standard_normal((4, 2)), rng(2).standard_normal((4, 2))
    loss(pred, target)
    first = loss.backward()
    first[...] = 0.0
    pred[...] = 0.0
    np.testing.assert_array_equal(loss.backward(), loss.backward())
    assert np.any(loss.backward() != 0.0)


# ------------------------------------------------------ 2. every backward checks its gradient

@pytest.mark.parametrize("make", [f for _, f in MODULES], ids=[n for n, _ in MODULES])
@pytest.mark.parametrize("bad,error,message", [
    (np.ones((4, 3)), ValueError, "grad_out: expected shape (3, 4), got (4, 3)"),
    (np.ones((3, 4, 1)), ValueError, "grad_out: expected shape (3, 4), got (3, 4, 1)"),
    (np.ones((3, 4), dtype=int), TypeError, "grad_out: expected a float array"),
    (np.ones((3, 4), dtype=complex), TypeError, "grad_out: expected a float array"),
    (np.full((3, 4), np.nan), ValueError, "grad_out: expected finite values, got 12 NaN"),
    (np.full((3, 4), -np.inf), ValueError, "grad_out: expected finite values"),
], ids=["transposed", "ndim", "int", "complex", "nan", "inf"])
def test_backward_checks_grad_out_and_changes_nothing_when_it_fails(make, bad, error, message):
    module = make()
    module(rng(3).standard_normal((3, 4)))
    before = _grads(module)
    with pytest.raises(error, match=esc(message)):
        module.backward(bad)
    for got, want in zip(_grads(module), before):
        np.testing.assert_array_equal(got, want)


def test_cross_entropy_rejects_class_probabilities_with_a_clear_message():
    probs = A.softmax(rng().standard_normal((3, 4)))
    with pytest.raises(TypeError, match="CrossEntropyLoss target: expected integer class labels, "
                                        "got dtype float64 .class probabilities"):
        nn.CrossEntropyLoss()(np.zeros((3, 4)), probs)


@pytest.mark.parametrize("cls", [nn.CrossEntropyLoss, nn.MulticlassHingeLoss])
@pytest.mark.parametrize("labels,error,message", [
    ([True, False, True], TypeError, "target: expected integer class labels, got dtype bool"),
    ([0, 4, 1], ValueError, "target: expected labels in [0, 3], got values in [0, 4]"),
    ([[0, 1], [2]], ValueError, "target: expected a rectangular array"),
])
def test_classification_targets(cls, labels, error, message):
    loss = cls()
    loss(np.zeros((3, 4)), np.array([0, 1, 2]))
    before = loss.backward()
    with pytest.raises(error, match=esc(message)):
        loss(np.ones((3, 4)), labels)
    np.testing.assert_array_equal(loss.backward(), before)  # the failed call kept the old one


def test_hinge_reduction_none_gives_one_loss_per_sample():
    scores, labels = rng().standard_normal((5, 3)), np.array([0, 2, 1, 1, 0])
    per_sample = nn.MulticlassHingeLoss(reduction="none")(scores, labels)
    assert per_sample.shape == (5,)
    assert np.sum(per_sample) == pytest.approx(
        nn.MulticlassHingeLoss(reduction="sum")(scores, labels))


@pytest.mark.parametrize("cls", [nn.BCELoss, nn.BCEWithLogitsLoss])
def test_binary_targets_in_unit_interval_and_finite(cls):
    with pytest.raises(ValueError, match=esc(f"{cls.__name__} target: expected values in [0, 1], "
                                             f"got values in [-0.5, 1]")):
        cls()(np.array([0.5, 0.2]), np.array([1.0, -0.5]))
    with pytest.raises(ValueError, match=f"{cls.__name__} target: expected finite values"):
        cls()(np.array([0.5, 0.2]), np.array([1.0, np.nan]))


# --------------------------------------------------------------------------- 3. dtypes

@pytest.mark.parametrize("dtype", [int, np.int32, np.float16, bool, np.complex128, "foo"])
@pytest.mark.parametrize("make", [lambda d: nn.Linear(3, 2, dtype=d),
                                  lambda d: nn.BatchNorm1d(3, dtype=d)], ids=["Linear", "BN"])
def test_layers_accept_only_float32_and_float64(make, dtype):
    with pytest.raises(TypeError, match="dtype: expected np.float32 or np.float64, got"):
        make(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, "float32", float, None])
def test_float_dtypes_are_kept(dtype):
    layer = nn.Linear(3, 2, rng=rng(), dtype=dtype)
    assert layer.weight.data.dtype == np.dtype(dtype) and np.any(layer.weight.data != 0)


@pytest.mark.parametrize("bad,error,message", [
    (lambda shape, r: np.zeros(shape[::-1]), ValueError,
     "expected init(shape, rng) to return an array of shape (2, 3), got shape (3, 2)"),
    (lambda shape, r: 0.5, ValueError,
     "expected init(shape, rng) to return an array of shape (2, 3), got shape ()"),
    (lambda shape, r: np.full(shape, np.nan), ValueError,
     "expected finite values in float32 from init, got 6 NaN or inf"),
    (lambda shape, r: np.full(shape, 1e39), ValueError, "expected finite values in float32"),
    (lambda shape, r: np.zeros(shape, dtype=complex), TypeError,
     "expected init(shape, rng) to return an array of real numbers, got dtype complex128"),
    (lambda shape, r: None, TypeError,
     "expected init(shape, rng) to return an array of real numbers, got None"),
    (lambda shape, r: [[1.0, 2.0, 3.0], [1.0]], ValueError, "expected a rectangular array"),
])
def test_linear_checks_what_init_returns(bad, error, message):
    with pytest.raises(error, match=r"Linear init \(<lambda>\): " + esc(message)):
        nn.Linear(3, 2, init=bad, dtype=np.float32)


def test_linear_init_must_be_callable_and_rng_a_generator_even_with_init():
    with pytest.raises(TypeError, match="Linear init: expected a function .shape, rng. -> array"):
        nn.Linear(3, 2, init="he_normal")
    with pytest.raises(TypeError, match="Linear rng: expected a numpy Generator"):
        nn.Linear(3, 2, rng=42, init=init.zeros)  # zeros ignores rng: checked up front


def test_from_weights_checks_dtype_and_bias():
    with pytest.raises(TypeError, match="Linear.from_weights weight dtype: expected np.float32"):
        nn.Linear.from_weights(np.ones((2, 3), dtype=np.float16))
    with pytest.raises(ValueError, match=esc("Linear.from_weights bias: expected shape (2), "
                                             "got (3,)")):
        nn.Linear.from_weights(np.ones((2, 3)), np.ones(3))
    weight = np.ones((2, 3))
    layer = nn.Linear.from_weights(weight, np.zeros(2))
    weight[...] = 5.0  # the layer holds its own copy
    assert np.all(layer.weight.data == 1.0)


def test_a_replaced_parameter_of_the_wrong_shape_is_caught_at_forward():
    layer = nn.Linear(3, 2, bias=False, rng=rng())
    layer.weight = nn.Parameter(np.ones((5, 3)))
    with pytest.raises(ValueError, match=esc("Linear weight: expected shape (2, 3), got (5, 3)")):
        layer(np.ones((4, 3)))


# --------------------------------------------- 4. overflow where the true value is finite

def test_gelu_tanh_derivative_at_huge_inputs():
    """x**3 overflowed above 1e102 and x**2 above 1e154: NaN instead of the limits 1 and 0."""
    x = np.array([1e103, 1e154, 1e200, 1e308, -1e200, -1e308])
    np.testing.assert_array_equal(A.gelu_grad(x, "tanh"), [1, 1, 1, 1, 0, 0])
    np.testing.assert_array_equal(A.gelu(x, "tanh"), np.where(x > 0, x, 0.0))
    np.testing.assert_array_equal(A.gelu_grad(x), [1, 1, 1, 1, 0, 0])


@pytest.mark.parametrize("f,df,limits", [
    (A.sigmoid, A.sigmoid_grad, ([1, 0], [0, 0])),
    (A.tanh, A.tanh_grad, ([1, -1], [0, 0])),
    (lambda x: A.swish(x, 5.0), lambda x: A.swish_grad(x, 5.0), ([1e308, 0], [1, 0])),
    (A.elu, A.elu_grad, ([1e308, -1], [1, 0])),
    (A.gelu, A.gelu_grad, ([1e308, 0], [1, 0])),
])
def test_activations_give_the_finite_limits_at_plus_minus_1e308(f, df, limits):
    x = np.array([1e308, -1e308])
    np.testing.assert_array_equal(f(x), limits[0])
    np.testing.assert_array_equal(df(x), limits[1])


def test_softmax_at_extreme_logits_and_its_backward_at_extreme_gradients():
    np.testing.assert_array_equal(A.softmax(np.array([1e308, -1e308])), [1.0, 0.0])
    y = np.array([[0.5, 0.5]])
    np.testing.assert_allclose(A.softmax_backward(y, np.array([[1e308, -1e308]])),
                               [[5e307, -5e307]], rtol=1e-15)
    layer = nn.Softmax()
    layer(np.zeros((1, 2)))
    np.testing.assert_allclose(layer.backward(np.array([[1e308, -1e308]])), [[5e307, -5e307]],
                               rtol=1e-15)


def test_batchnorm_raises_when_the_variance_is_not_representable_and_keeps_its_state():
    bn = nn.BatchNorm1d(2)
    bn(rng().standard_normal((8, 2)))
    state = (bn.running_mean.copy(), bn.running_var.copy())
    x = rng(1).standard_normal((8, 2)) * 1e200  # variance ~1e400
    with pytest.raises(ValueError, match="BatchNorm1d input: expected values whose per-feature "
                                         "variance is representable in float64, got feature 0"):
        bn(x)
    np.testing.assert_array_equal(bn.running_mean, state[0])
    np.testing.assert_array_equal(bn.running_var, state[1])


def test_batchnorm_overflow_safe_moments():
    bn = nn.BatchNorm1d(1)
    near_max = np.full((3, 1), 1.7e308)  # the sum overflows, the mean and variance do not
    np.testing.assert_array_equal(bn(near_max), np.zeros((3, 1)))
    np.testing.assert_allclose(bn.running_mean, [1.7e307], rtol=1e-15)
    bn = nn.BatchNorm1d(1)
    outlier = np.zeros((1000, 1))
    outlier[-1] = 1.5e154  # its square overflows; the variance, 2.25e305, does not
    out = bn(outlier)
    assert np.all(np.isfinite(out)) and np.all(np.isfinite(bn.running_var))
    assert out[-1, 0] == pytest.approx(np.sqrt(999), rel=1e-12)


def test_batchnorm_backward_with_huge_finite_gradients():
    bn = nn.BatchNorm1d(1)
    bn(np.array([[-3.0], [3.0], [-1.0], [1.0]]))  # variance 5
    g = np.array([[1e308], [1e308], [-1e308], [-1e308]])  # batch sums overflow on the way
    dx = bn.backward(g)
    np.testing.assert_allclose(dx, g / np.sqrt(5 + 1e-5), rtol=1e-12)
    np.testing.assert_array_equal(bn.bias.grad, [0.0])
    bn(np.ones((4, 1)) * np.arange(4)[:, None])
    before = _grads(bn)
    with pytest.raises(ValueError, match="BatchNorm1d grad_out: expected values whose gradients "
                                         "are representable"):
        bn.backward(np.full((4, 1), 1e308))  # dL/dbeta = 4e308 is not representable
    for got, want in zip(_grads(bn), before):
        np.testing.assert_array_equal(got, want)


def test_prelu_weight_gradient_that_overflows_raises():
    prelu = nn.PReLU()
    prelu(-np.full((4, 1), 10.0))
    with pytest.raises(ValueError, match="PReLU grad_out: expected values whose weight gradient"):
        prelu.backward(np.full((4, 1), 1e308))  # sum of -10 * 1e308
    assert prelu.weight.grad[0] == 0.0


def test_mean_losses_do_not_overflow_when_the_mean_is_finite():
    assert nn.L1Loss()(np.full(10, 1e308), np.zeros(10)) == pytest.approx(1e308, rel=1e-15)
    ce = nn.CrossEntropyLoss()(np.array([[1e308, 0.0], [1e308, 0.0]]), np.array([1, 1]))
    assert ce == pytest.approx(1e308, rel=1e-15)
    bce = nn.BCEWithLogitsLoss()(np.array([-1e308, -1e308]), np.array([1.0, 1.0]))
    assert bce == pytest.approx(1e308, rel=1e-15)


@pytest.mark.parametrize("loss,pred,target,message", [
    (nn.MSELoss(), np.full(3, 1e200), np.zeros(3), "MSELoss pred: expected values whose "
     "per-element losses are representable in float64, got 3 that overflow"),
    (nn.MSELoss(), np.full(3, 1e20, dtype=np.float32), np.zeros(3, dtype=np.float32),
     "representable in float32, got 3 that overflow"),
    (nn.L1Loss(reduction="sum"), np.full(10, 1e308), np.zeros(10),
     "L1Loss pred: expected values whose summed loss is representable in float64"),
    (nn.L1Loss(reduction="none"), np.array([1e308, 0.0]), np.array([-1e308, 0.0]),
     "got 1 that overflow to inf"),
    (nn.CrossEntropyLoss(), np.array([[1e308, -1e308]]), np.array([1]),
     "CrossEntropyLoss pred: expected values whose per-element losses are representable"),
    (nn.MulticlassHingeLoss(reduction="none"), np.array([[1e308, -1e308]]), np.array([1]),
     "MulticlassHingeLoss pred: expected values whose per-element losses"),
])
def test_a_loss_that_is_not_representable_raises_and_keeps_the_old_gradient(loss, pred, target,
                                                                             message):
    loss(np.zeros_like(pred), np.ones_like(target))
    before = loss.backward()
    with pytest.raises(ValueError, match=esc(message)):
        loss(pred, target)
    np.testing.assert_array_equal(loss.backward(), before)


# -------------------------------------------------------------------- 5. hyperparameters

@pytest.mark.parametrize("make,error,message", [
    (lambda: nn.LeakyReLU(float("nan")), ValueError, "LeakyReLU negative_slope: expected a "
                                                      "finite number"),
    (lambda: nn.ELU(-1), ValueError, "ELU alpha: expected a value > 0, got -1.0"),
    (lambda: nn.Swish("1"), TypeError, "Swish beta: expected a real number, got '1'"),
    (lambda: nn.GELU(None), TypeError, "GELU approximate: expected 'none' or 'tanh', got None"),
    (lambda: nn.PReLU(2.5), ValueError, "PReLU num_parameters: expected a positive integer"),
    (lambda: nn.PReLU(init=None), TypeError, "PReLU init: expected a real number, got None"),
    (lambda: nn.Softmax(dim=None), TypeError, "Softmax dim: expected an integer, got None"),
    (lambda: nn.Softmax(dim=1.0), TypeError, "Softmax dim: expected an integer, got 1.0"),
    (lambda: nn.Softmax(dim=True), TypeError, "Softmax dim: expected an integer, got True"),
    (lambda: nn.BatchNorm1d(0), ValueError, "BatchNorm1d num_features: expected a positive"),
    (lambda: nn.BatchNorm1d(3, eps=0), ValueError, "BatchNorm1d eps: expected a value > 0"),
    (lambda: nn.BatchNorm1d(3, momentum=1.5), ValueError, "BatchNorm1d momentum: expected a "
                                                           "value <= 1, got 1.5"),
    (lambda: nn.BatchNorm1d(3, momentum=None), TypeError, "BatchNorm1d momentum: expected a "
                                                           "real number, got None"),
    (lambda: nn.Dropout(-0.1), ValueError, "Dropout p: expected a value >= 0, got -0.1"),
    (lambda: nn.Dropout(1.5), ValueError, "Dropout p: expected a value <= 1, got 1.5"),
    (lambda: nn.Dropout("0.5"), TypeError, "Dropout p: expected a real number, got '0.5'"),
    (lambda: nn.Dropout(0.5, rng=42), TypeError, "Dropout rng: expected a numpy Generator"),
    (lambda: nn.Linear(3, 2, bias="no"), TypeError, "Linear bias: expected True or False, "
                                                     "got 'no'"),
    (lambda: nn.MSELoss(half="yes"), TypeError, "MSELoss half: expected True or False"),
    (lambda: nn.HuberLoss(delta=-1), ValueError, "HuberLoss delta: expected a value > 0"),
    (lambda: nn.MulticlassHingeLoss(margin=float("inf")), ValueError,
     "MulticlassHingeLoss margin: expected a finite number"),
    (lambda: nn.CrossEntropyLoss(reduction=None), TypeError, "CrossEntropyLoss reduction: "
                                                              "expected one of"),
    (lambda: nn.L1Loss(reduction=np.array("mean")), TypeError, "L1Loss reduction: expected"),
])
def test_constructor_arguments(make, error, message):
    with pytest.raises(error, match=esc(message)):
        make()


@pytest.mark.parametrize("make,name", [(lambda: nn.Linear(10**6, 10**6), "Linear weight"),
                                       (lambda: nn.BatchNorm1d(10**12), "BatchNorm1d"),
                                       (lambda: nn.PReLU(10**12), "PReLU weight")])
def test_sizes_that_would_exhaust_memory_fail_before_allocating(make, name):
    with pytest.raises(ValueError, match=f"{name}.*: this would allocate .* GiB"):
        make()


def test_dropout_p_one_zeroes_everything_in_training_as_in_pytorch():
    drop = nn.Dropout(1.0)
    x = rng().standard_normal((3, 4))
    np.testing.assert_array_equal(drop(x), np.zeros((3, 4)))
    np.testing.assert_array_equal(drop.backward(np.ones((3, 4))), np.zeros((3, 4)))
    drop.eval()
    np.testing.assert_array_equal(drop(x), x)


def test_softmax_dim_must_name_an_axis_of_the_input():
    layer = nn.Softmax(dim=2)
    with pytest.raises(ValueError, match=esc("Softmax input: expected at least 3 dimensions for "
                                             "dim=2, got shape (3, 4)")):
        layer(np.ones((3, 4)))
    with pytest.raises(ValueError, match=esc("softmax x: expected at least 1 dimensions for "
                                             "axis=-1, got shape ()")):
        A.softmax(1.0)


def test_batchnorm_checks_running_statistics_written_by_hand():
    bn = nn.BatchNorm1d(3).eval()
    bn.running_var[1] = -1.0
    with pytest.raises(ValueError, match="BatchNorm1d running_var: expected values >= 0, got "
                                         "minimum -1"):
        bn(np.ones((2, 3)))
    bn.running_var[1] = np.nan
    with pytest.raises(ValueError, match="BatchNorm1d running_var: expected finite values"):
        bn(np.ones((2, 3)))
    bn.running_mean = np.zeros(4)
    with pytest.raises(ValueError, match=esc("BatchNorm1d running_mean: expected shape (3), got "
                                             "(4,)")):
        bn(np.ones((2, 3)))


# --------------------------------------------------------- plain activation functions

@pytest.mark.parametrize("f", [A.sigmoid, A.relu, A.tanh, A.elu, A.swish, A.gelu, A.softmax,
                               A.identity, A.sigmoid_grad, A.gelu_grad, A.normal_cdf],
                         ids=lambda f: f.__name__)
@pytest.mark.parametrize("bad,error,message", [
    (np.array([1 + 2j]), TypeError, "x: expected real numbers (a float, int or bool array), "
                                    "got dtype complex128"),
    (None, TypeError, "x: expected real numbers (a float, int or bool array), got dtype object"),
    ("abc", TypeError, "x: expected real numbers (a float, int or bool array), got dtype <U3"),
    ([[1.0, 2.0], [1.0]], ValueError, "x: expected a rectangular array"),
], ids=["complex", "None", "str", "ragged"])
def test_plain_functions_reject_non_real_input(f, bad, error, message):
    with pytest.raises(error, match=esc(f"{f.__name__} {message}")):
        f(bad)


def test_plain_functions_keep_accepting_ints_lists_and_scalars():
    np.testing.assert_array_equal(A.relu([-1, 2]), [0.0, 2.0])
    assert A.sigmoid(0) == 0.5 and A.swish_grad(np.array(0.0), 2.0) == 0.5


@pytest.mark.parametrize("call,error,message", [
    (lambda: A.leaky_relu([1.0], -0.1), ValueError, "leaky_relu negative_slope: expected a value "
                                                    ">= 0"),
    (lambda: A.elu_grad([1.0], 0), ValueError, "elu_grad alpha: expected a value > 0"),
    (lambda: A.swish([1.0], None), TypeError, "swish beta: expected a real number"),
    (lambda: A.gelu([1.0], "fast"), ValueError, "gelu approximate: expected 'none' or 'tanh'"),
    (lambda: A.softmax(np.ones((2, 3)), axis=2), ValueError, "softmax x: expected at least 3 "
                                                             "dimensions for axis=2"),
    (lambda: A.log_softmax(np.ones((2, 3)), axis=0.5), TypeError, "log_softmax axis: expected an "
                                                                  "integer"),
    (lambda: A.softmax_backward(np.ones((2, 3)) / 3, np.ones((3, 2))), ValueError,
     "softmax_backward grad_out: expected shape (2, 3) to match y, got (3, 2)"),
])
def test_plain_function_arguments(call, error, message):
    with pytest.raises(error, match=esc(message)):
        call()
