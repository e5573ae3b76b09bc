"""Bad input fails early with an error that names what was expected and what arrived."""

import re

import numpy as np
import pytest

import course_nn as nn
from course_nn import init


def esc(text):
    return re.escape(text)


@pytest.fixture
def linear():
    return nn.Linear(3, 2, rng=np.random.default_rng(0))


# ------------------------------------------------------------------------------------ Linear

def test_linear_wrong_feature_count_names_both_shapes(linear):
    with pytest.raises(ValueError, match=esc("expected shape (N, 3), got (5, 4)")):
        linear(np.ones((5, 4)))


def test_linear_rejects_a_single_vector(linear):
    with pytest.raises(ValueError, match=esc("expected shape (N, 3), got (3,)")):
        linear(np.ones(3))


def test_linear_rejects_3d_input(linear):
    with pytest.raises(ValueError, match=esc("expected shape (N, 3), got (2, 2, 3)")):
        linear(np.ones((2, 2, 3)))


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.bool_])
def test_integer_and_bool_inputs_raise_type_error(linear, dtype):
    x = np.ones((2, 3), dtype=dtype)
    with pytest.raises(TypeError, match=f"expected a float array.*got dtype {np.dtype(dtype)}"):
        linear(x)


def test_string_input_raises_type_error(linear):
    with pytest.raises(TypeError, match="Linear input: expected a float array, got dtype <U"):
        linear(np.array([["a", "b", "c"]]))


@pytest.mark.parametrize("bad,count", [(np.nan, 1), (np.inf, 1), (-np.inf, 1)])
def test_non_finite_input_raises(linear, bad, count):
    x = np.ones((2, 3))
    x[1, 2] = bad
    with pytest.raises(ValueError, match=f"expected finite values, got {count} NaN or inf"):
        linear(x)


def test_non_finite_count_is_reported(linear):
    x = np.array([[np.nan, np.inf, 1.0], [1.0, -np.inf, 2.0]])
    with pytest.raises(ValueError, match="got 3 NaN or inf entries"):
        linear(x)


def test_empty_batch_raises(linear):
    with pytest.raises(ValueError, match=esc("expected a non-empty array, got shape (0, 3)")):
        linear(np.ones((0, 3)))


def test_backward_before_forward_raises_runtime_error(linear):
    with pytest.raises(RuntimeError, match="Linear.backward called before forward"):
        linear.backward(np.ones((1, 2)))


@pytest.mark.parametrize("module", [nn.ReLU(), nn.Sigmoid(), nn.GELU(), nn.PReLU(),
                                    nn.Softmax()], ids=lambda m: type(m).__name__)
def test_activation_backward_before_forward(module):
    with pytest.raises(RuntimeError, match=f"{type(module).__name__}.backward called before"):
        module.backward(np.ones((2, 2)))


def test_linear_wrong_grad_out_shape_names_both_shapes(linear):
    linear(np.ones((4, 3)))
    with pytest.raises(ValueError, match=esc("Linear grad_out: expected shape (4, 2), got (4, 3)")):
        linear.backward(np.ones((4, 3)))
    with pytest.raises(ValueError, match=esc("expected shape (4, 2), got (5, 2)")):
        linear.backward(np.ones((5, 2)))


@pytest.mark.parametrize("module", [nn.ReLU(), nn.Tanh(), nn.PReLU(), nn.Softmax()],
                         ids=lambda m: type(m).__name__)
def test_activation_wrong_grad_out_shape(module):
    module(np.ones((2, 3)))
    with pytest.raises(ValueError, match=esc("grad_out: expected shape (2, 3), got (3, 2)")):
        module.backward(np.ones((3, 2)))


@pytest.mark.parametrize("bad", [0, -2, 2.5, True, "3"])
def test_linear_sizes_must_be_positive_integers(bad):
    with pytest.raises(ValueError, match=f"in_features: expected a positive integer, got {bad!r}"):
        nn.Linear(bad, 3)
    with pytest.raises(ValueError, match=f"out_features: expected a positive integer, got {bad!r}"):
        nn.Linear(3, bad)


def test_linear_zero_inputs():
    with pytest.raises(ValueError, match="in_features: expected a positive integer, got 0"):
        nn.Linear(0, 3)


def test_linear_rejects_a_non_generator_rng():
    with pytest.raises(TypeError, match="expected a numpy Generator .* got int"):
        nn.Linear(3, 2, rng=42)


# ------------------------------------------------------------------------ activation settings

def test_leaky_relu_negative_slope():
    with pytest.raises(ValueError, match=esc("negative_slope: expected a value >= 0, got -0.1")):
        nn.LeakyReLU(-0.1)


def test_elu_alpha_zero():
    with pytest.raises(ValueError, match=esc("alpha: expected a value > 0, got 0.0")):
        nn.ELU(0)


def test_swish_negative_beta():
    with pytest.raises(ValueError, match=esc("beta: expected a value >= 0, got -1.0")):
        nn.Swish(-1)


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_hyperparameters(bad):
    with pytest.raises(ValueError, match="alpha: expected a finite number"):
        nn.ELU(bad)


@pytest.mark.parametrize("make,name", [(lambda v: nn.ELU(v), "alpha"),
                                       (lambda v: nn.optim.SGD(nn.Linear(2, 1).parameters(), lr=v),
                                        "lr"),
                                       (lambda v: nn.LeakyReLU(v), "negative_slope")])
@pytest.mark.parametrize("huge", [10**400, -10**400])
def test_integers_beyond_the_largest_float_are_refused_by_name(make, name, huge):
    with pytest.raises(ValueError, match=f"{name}: expected a finite number, got an integer of 401 "
                                         "digits"):
        make(huge)


def test_non_numeric_hyperparameter():
    with pytest.raises(TypeError, match="negative_slope: expected a real number, got '0.1'"):
        nn.LeakyReLU("0.1")


def test_gelu_approximate_name():
    with pytest.raises(ValueError, match="approximate: expected 'none' or 'tanh', got 'fast'"):
        nn.GELU("fast")


def test_prelu_channel_mismatch_names_both():
    with pytest.raises(ValueError, match=esc("expected 3 channels on axis 1, got shape (2, 4)")):
        nn.PReLU(3)(np.ones((2, 4)))


def test_prelu_num_parameters():
    with pytest.raises(ValueError, match="num_parameters: expected a positive integer, got 0"):
        nn.PReLU(0)


def test_sequential_rejects_non_modules():
    with pytest.raises(TypeError, match="Sequential: layer 1 must be a Module, got int"):
        nn.Sequential(nn.ReLU(), 3)


def test_base_module_forward_is_abstract():
    with pytest.raises(NotImplementedError, match="Module does not implement forward"):
        nn.Module()(np.ones(2))


# ------------------------------------------------------------------------------------- losses

def test_huber_delta_zero():
    with pytest.raises(ValueError, match=esc("delta: expected a value > 0, got 0.0")):
        nn.HuberLoss(delta=0)


@pytest.mark.parametrize("cls", [nn.MSELoss, nn.L1Loss, nn.HuberLoss, nn.BCELoss,
                                 nn.BCEWithLogitsLoss, nn.CrossEntropyLoss,
                                 nn.MulticlassHingeLoss])
def test_bad_reduction_string(cls):
    with pytest.raises(ValueError, match=esc("reduction: expected one of ('mean', 'sum', 'none'), "
                                             "got 'avg'")):
        cls(reduction="avg")


def test_regression_target_shape_must_match():
    with pytest.raises(ValueError, match=esc("expected shape (3, 1) to match pred, got (3,)")):
        nn.MSELoss()(np.ones((3, 1)), np.ones(3))


def test_loss_backward_before_call():
    with pytest.raises(RuntimeError, match="MSELoss.backward called before the loss"):
        nn.MSELoss().backward()


def test_loss_pred_must_be_finite():
    with pytest.raises(ValueError, match="MSELoss pred: expected finite values, got 1 NaN"):
        nn.MSELoss()(np.array([1.0, np.nan]), np.zeros(2))


def test_cross_entropy_float_labels():
    with pytest.raises(TypeError, match="CrossEntropyLoss target: expected integer class labels,"
                                        " got dtype float64"):
        nn.CrossEntropyLoss()(np.zeros((3, 4)), np.array([0.0, 1.0, 2.0]))


@pytest.mark.parametrize("labels,got", [([0, 1, 4], "[0, 4]"), ([0, -1, 2], "[-1, 2]")])
def test_cross_entropy_out_of_range_labels(labels, got):
    with pytest.raises(ValueError, match=esc(f"expected labels in [0, 3], got values in {got}")):
        nn.CrossEntropyLoss()(np.zeros((3, 4)), np.array(labels))


def test_cross_entropy_wrong_label_shape():
    with pytest.raises(ValueError, match=esc("target: expected shape (3,), got (3, 1)")):
        nn.CrossEntropyLoss()(np.zeros((3, 4)), np.array([[0], [1], [2]]))
    with pytest.raises(ValueError, match=esc("target: expected shape (3,), got (2,)")):
        nn.CrossEntropyLoss()(np.zeros((3, 4)), np.array([0, 1]))


def test_cross_entropy_needs_2d_scores():
    with pytest.raises(ValueError, match=esc("pred: expected shape (N, C), got (4,)")):
        nn.CrossEntropyLoss()(np.zeros(4), np.array([0]))


def test_hinge_validates_like_cross_entropy():
    with pytest.raises(ValueError, match=esc("MulticlassHingeLoss target: expected labels in "
                                             "[0, 2], got values in [0, 3]")):
        nn.MulticlassHingeLoss()(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(ValueError, match=esc("margin: expected a value >= 0, got -1.0")):
        nn.MulticlassHingeLoss(margin=-1)


@pytest.mark.parametrize("pred,got", [([0.5, 1.2], "[0.5, 1.2]"), ([-0.2, 0.5], "[-0.2, 0.5]")])
def test_bce_probabilities_outside_unit_interval(pred, got):
    with pytest.raises(ValueError, match=esc(f"BCELoss pred: expected probabilities in [0, 1], "
                                             f"got values in {got}")):
        nn.BCELoss()(np.array(pred), np.array([1.0, 0.0]))


@pytest.mark.parametrize("cls", [nn.BCELoss, nn.BCEWithLogitsLoss])
def test_bce_targets_outside_unit_interval(cls):
    with pytest.raises(ValueError, match=esc(f"{cls.__name__} target: expected values in [0, 1],"
                                             f" got values in [1, 2]")):
        cls()(np.array([0.5, 0.2]), np.array([1.0, 2.0]))


# ------------------------------------------------------------------------------- initializers

@pytest.mark.parametrize("fn", [init.xavier_uniform, init.xavier_normal, init.he_normal,
                                init.he_uniform, init.small_random, init.default_uniform])
@pytest.mark.parametrize("rng,got", [(0, "int"), (np.random.RandomState(0), "RandomState")])
def test_initializers_reject_non_generator_rng(fn, rng, got):
    with pytest.raises(TypeError, match=f"rng: expected a numpy Generator .*got {got}"):
        fn((3, 4), rng=rng)


def test_initializer_arguments():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=esc("scale: expected a value > 0, got 0.0")):
        init.small_random((2, 2), rng, scale=0)
    with pytest.raises(ValueError, match=esc("gain: expected a value >= 0, got -1.0")):
        init.xavier_uniform((2, 2), rng, gain=-1)
    with pytest.raises(TypeError, match="value: expected a real number, got 'a'"):
        init.constant((2, 2), "a")
    with pytest.raises(ValueError, match=esc("expected a weight with >= 2 dimensions, got (3,)")):
        init.fan_in_and_fan_out((3,))


# ------------------------------------------------------------------------------ gradient tools

def test_gradcheck_tools_validate():
    with pytest.raises(ValueError, match=esc("shapes differ, (2,) vs (3,)")):
        nn.rel_error(np.ones(2), np.ones(3))
    with pytest.raises(TypeError, match="expected a float64 array, got float32"):
        nn.numerical_gradient(np.sum, np.ones(3, dtype=np.float32))


def _mlp():
    rng = np.random.default_rng(0)
    return nn.Sequential(nn.Linear(3, 4, rng=rng), nn.ReLU(), nn.Linear(4, 2, rng=rng))


def test_sequential_checks_the_callers_arrays_for_nan():
    model = _mlp()
    with pytest.raises(ValueError, match="Linear input: expected finite values, got 1 NaN"):
        model(np.array([[1.0, np.nan, 0.0]]))
    model(np.ones((2, 3)))
    with pytest.raises(ValueError, match="Linear grad_out: expected finite values, got 1 NaN"):
        model.backward(np.array([[np.inf, 0.0], [0.0, 0.0]]))
    with pytest.raises(ValueError, match="Linear grad_out: expected finite values"):
        model.backward_params(np.array([[np.nan, 0.0], [0.0, 0.0]]))


def test_an_overflow_between_layers_is_caught_by_the_loss_and_the_optimizer():
    """Arrays passed between a Sequential's layers are not rescanned; what overflows inside
    still stops training: the loss scans the output, the optimizer the gradients."""
    model = _mlp()
    model[0].weight.data[:] = 1e308  # finite, but the products overflow to inf
    x, y = np.ones((2, 3)), np.array([0, 1])
    with np.errstate(over="ignore", invalid="ignore"):  # numpy warns about the overflow itself
        scores = model(x)
    assert not np.all(np.isfinite(scores))
    with pytest.raises(ValueError, match="CrossEntropyLoss pred: expected finite values"):
        nn.CrossEntropyLoss()(scores, y)
    model = _mlp()
    model[2].weight.data[:] = 1e308
    with np.errstate(over="ignore", invalid="ignore"):
        model(x)
        model.backward_params(np.ones((2, 2)))
    with pytest.raises(ValueError, match="gradient of .* contains NaN or inf"):
        nn.optim.SGD(model.parameters(), lr=0.1).step()


def test_layers_called_on_their_own_still_scan_and_the_skip_ends_with_an_error():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(5, 2))  # wrong width inside
    with pytest.raises(ValueError, match=r"Linear input: expected shape \(N, 5\), got \(1, 4\)"):
        model(np.ones((1, 3)))
    with pytest.raises(ValueError, match="ReLU input: expected finite values, got 1 NaN"):
        nn.ReLU()(np.array([np.nan, 1.0]))
