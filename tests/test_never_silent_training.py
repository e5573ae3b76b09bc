"""Issue 11 for the training machinery: Parameter, Module, Sequential, optimizers, penalties,
initializers and fit never accept bad input silently, and a failed call changes nothing."""

import re

import numpy as np
import pytest

import course_nn as cn
from course_nn import init
from course_nn.optim import SGD, AdaGrad, Adam, RMSProp
from course_nn.regularization import ElasticNet, L1Penalty, L2Penalty
from course_nn.train import accuracy, evaluate, fit, predict

OPTIMIZERS = [SGD, AdaGrad, RMSProp, Adam]
ids = lambda c: getattr(c, "__name__", str(c))  # noqa: E731


def esc(text):
    return re.escape(text)


def _pair(grad_b):
    """Parameters a (good gradient) and b (the given gradient) of shape (2, 2)."""
    a, b = cn.Parameter(np.ones((2, 2))), cn.Parameter(np.full((2, 2), 2.0))
    a.grad = np.full((2, 2), 0.5)
    b._grad = grad_b
    return a, b


def _snapshot(opt):
    return ([p.data.copy() for p in opt.params], opt.steps,
            [{k: np.copy(v) for k, v in s.items()} for s in opt.state])


def _assert_unchanged(opt, snap):
    data, steps, state = snap
    assert opt.steps == steps
    for p, d in zip(opt.params, data):
        np.testing.assert_array_equal(p.data, d)
    assert [sorted(s) for s in opt.state] == [sorted(s) for s in state]
    for s, old in zip(opt.state, state):
        for k in s:
            np.testing.assert_array_equal(s[k], old[k])


def _mlp(seed=0):
    rng = np.random.default_rng(seed)
    return cn.Sequential(cn.Linear(2, 4, rng=rng), cn.Tanh(), cn.Linear(4, 3, rng=rng))


# ------------------------------------------------------------------ optimizer steps: all or none

@pytest.mark.parametrize("cls", OPTIMIZERS, ids=ids)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_bad_gradient_later_in_the_list_changes_nothing(cls, bad):
    grad = np.ones((2, 2))
    grad[1, 1] = bad
    a, b = _pair(grad)
    opt = cls([a, b], lr=0.1)
    snap = _snapshot(opt)
    with pytest.raises(ValueError, match=esc("gradient of parameter 1 (shape (2, 2)) contains NaN "
                                             "or inf (1 entries); nothing was changed")):
        opt.step()
    _assert_unchanged(opt, snap)
    # the retried step is step 1, exactly as on a fresh optimizer
    b.grad = np.ones((2, 2))
    fresh_a, fresh_b = _pair(np.ones((2, 2)))
    fresh = cls([fresh_a, fresh_b], lr=0.1)
    opt.step()
    fresh.step()
    assert opt.steps == 1
    np.testing.assert_array_equal(a.data, fresh_a.data)
    np.testing.assert_array_equal(b.data, fresh_b.data)


@pytest.mark.parametrize("cls", OPTIMIZERS, ids=ids)
@pytest.mark.parametrize("grad,error,message", [
    (np.ones(1), ValueError, "gradient of parameter 1 (shape (2, 2)): expected shape (2, 2), got (1,)"),
    (np.ones((2, 2, 1)), ValueError, "expected shape (2, 2), got (2, 2, 1)"),
    (np.ones((2, 2), np.float32), TypeError,
     "gradient of parameter 1 (shape (2, 2)): expected dtype float64 (the parameter's), got float32"),
])
def test_a_gradient_of_the_wrong_shape_or_dtype_is_not_broadcast(cls, grad, error, message):
    a, b = _pair(grad)
    opt = cls([a, b], lr=0.1)
    snap = _snapshot(opt)
    with pytest.raises(error, match=esc(message)):
        opt.step()
    _assert_unchanged(opt, snap)


@pytest.mark.parametrize("cls", OPTIMIZERS, ids=ids)
def test_an_update_that_overflows_names_the_parameter_and_changes_nothing(cls):
    a, b = _pair(np.ones((2, 2)))
    a.data = np.full((2, 2), -1.7e308)  # finite, but one step of about lr = 1e308 overflows
    a.grad = np.ones((2, 2))
    opt = cls([a, b], lr=1e308)
    snap = _snapshot(opt)
    with pytest.raises(ValueError, match=esc("parameter 0 (shape (2, 2)): the update would make the "
                                             "parameter NaN or inf (lr=1e+308")):
        opt.step()
    _assert_unchanged(opt, snap)


def test_named_parameters_give_names_in_the_messages():
    model = cn.Sequential(cn.Linear(2, 2), cn.Tanh(), cn.Linear(2, 2))
    opt = Adam(model.named_parameters(), lr=0.1)
    for p in model.parameters():
        p.grad = np.zeros(p.shape)
    model[2].bias.grad = np.array([np.nan, 0.0])
    with pytest.raises(ValueError, match=esc("gradient of parameter 3 '2.bias' (shape (2,))")):
        opt.step()


@pytest.mark.parametrize("cls", [AdaGrad, RMSProp, Adam], ids=ids)
def test_a_huge_finite_gradient_cannot_freeze_an_adaptive_optimizer(cls):
    """g**2 overflows to inf: the update would be 0 now and forever; refuse instead."""
    a, b = _pair(np.full((2, 2), 1e200))
    opt = cls([a, b], lr=0.1)
    snap = _snapshot(opt)
    with pytest.raises(ValueError, match=r"parameter 1 \(shape \(2, 2\)\): the gradient is finite "
                                         r"\(largest \|grad\| 1e\+200\) but the state '\w+' "
                                         r"overflows to inf, which would freeze"):
        opt.step()
    _assert_unchanged(opt, snap)


def test_rmsprop_squares_like_torch_so_a_finite_average_stays_finite():
    """(1 - alpha) g g is formed as ((1 - alpha) g) g, as torch's addcmul: for g = 1e155,
    g**2 overflows but 0.01 * g * g = 1e308 does not."""
    p = cn.Parameter(np.zeros(1))
    p.grad = np.array([1e155])
    opt = RMSProp([p], lr=0.01, alpha=0.99)
    opt.step()
    assert opt.state[0]["square_avg"][0] == (1 - 0.99) * 1e155 * 1e155
    np.testing.assert_allclose(p.data, [-0.1], rtol=1e-12)


def test_weight_decay_overflow_is_refused():
    p = cn.Parameter(np.array([1e308]))
    p.grad = np.zeros(1)
    opt = SGD([p], lr=0.1, weight_decay=10.0)
    with pytest.raises(ValueError, match="weight_decay \\* p overflows"):
        opt.step()
    assert p.data[0] == 1e308


@pytest.mark.parametrize("cls", OPTIMIZERS, ids=ids)
def test_step_without_any_gradient_is_an_error(cls):
    p = cn.Parameter(np.ones(2))
    with pytest.raises(RuntimeError, match=esc(f"{cls.__name__}.step: no parameter has a gradient")):
        cls([p], lr=0.1).step()
    np.testing.assert_array_equal(p.data, [1.0, 1.0])


@pytest.mark.parametrize("cls,key", [(SGD, "velocity"), (AdaGrad, "sum_sq"), (RMSProp, "square_avg"),
                                     (Adam, "v")], ids=ids)
def test_state_set_by_hand_is_checked(cls, key):
    p = cn.Parameter(np.ones(2))
    opt = cls([p], lr=0.1, **({"momentum": 0.9} if cls is SGD else {}))
    p.grad = np.ones(2)
    opt.step()
    p.grad = np.ones(2)
    opt.state[0][key] = np.ones(1)  # would broadcast onto (2,)
    with pytest.raises(ValueError, match=esc(f"state '{key}' of parameter 0 (shape (2,)): expected "
                                             f"an array of shape (2,), got (1,)")):
        opt.step()
    opt.state[0][key] = np.array([np.inf, 1.0])
    before = p.data.copy()
    with pytest.raises(ValueError, match=f"its state '{key}' already holds NaN or inf"):
        opt.step()
    np.testing.assert_array_equal(p.data, before)
    opt.state[0][key] = np.ones(2)
    opt.steps = -1
    with pytest.raises(ValueError, match="steps must be a non-negative integer, got -1"):
        opt.step()


def test_a_rule_written_elsewhere_gets_its_gradients_and_state_scanned():
    class SignSGD(SGD):
        def _update(self, grad, state, p):
            return self.lr * np.sign(grad)  # sign(inf) = 1: the update alone would hide an inf

    p = cn.Parameter(np.ones(2))
    p.grad = np.array([np.inf, 1.0])
    with pytest.raises(ValueError, match="gradient of parameter 0 .* contains NaN or inf"):
        SignSGD([p], lr=0.1).step()
    np.testing.assert_array_equal(p.data, [1.0, 1.0])


# ------------------------------------------------------------------------------- hyperparameters

@pytest.mark.parametrize("betas", [0.9, "ab", (0.9,), (0.9, 0.99, 0.999), None])
def test_adam_betas_must_be_a_pair(betas):
    with pytest.raises(TypeError, match=esc(f"Adam betas: expected a pair (beta1, beta2), got {betas!r}")):
        Adam([cn.Parameter(np.ones(1))], betas=betas)


@pytest.mark.parametrize("cls", OPTIMIZERS, ids=ids)
def test_a_module_or_a_single_parameter_is_not_a_parameter_list(cls):
    model = _mlp()
    with pytest.raises(TypeError, match=esc(f"{cls.__name__}: expected an iterable of Parameters, "
                                            f"got the module Sequential itself; pass model.parameters()")):
        cls(model, lr=0.1)
    with pytest.raises(TypeError, match=esc("parameter 0 must be a Parameter, got Linear; pass "
                                            "model.parameters()")):
        cls([model[0]], lr=0.1)
    with pytest.raises(TypeError, match=esc("got a single Parameter; pass a list: [p]")):
        cls(model[0].weight, lr=0.1)
    with pytest.raises(TypeError, match="expected an ordered iterable of Parameters .* got set"):
        cls(set(model.parameters()), lr=0.1)


@pytest.mark.parametrize("make", [
    lambda ps: SGD(ps, lr=0.1), lambda ps: AdaGrad(ps), lambda ps: RMSProp(ps), lambda ps: Adam(ps),
    lambda ps: L2Penalty(0.1)(ps), lambda ps: L1Penalty(0.1).backward(ps),
    lambda ps: ElasticNet(0.1, 0.1).backward(ps),
])
def test_a_parameter_listed_twice_is_refused_everywhere(make):
    w, b = cn.Parameter(np.ones((2, 2))), cn.Parameter(np.ones(2))
    w.grad = np.ones((2, 2))
    with pytest.raises(ValueError, match=esc("parameter 2 is the same Parameter as parameter 0 (shape "
                                             "(2, 2)); each Parameter must appear once")):
        make([w, b, w])
    np.testing.assert_array_equal(w.grad, np.ones((2, 2)))


@pytest.mark.parametrize("cls,name,value,message", [
    (SGD, "lr", -1.0, "SGD lr: expected a value > 0, got -1.0"),
    (SGD, "momentum", 1.0, "SGD momentum: expected a value < 1, got 1.0"),
    (Adam, "betas", (0.9, 1.0), "Adam betas[1]: expected a value < 1, got 1.0"),
    (Adam, "eps", float("nan"), "Adam eps: expected a finite number, got nan"),
    (RMSProp, "alpha", "0.9", "RMSProp alpha: expected a real number, got '0.9'"),
    (AdaGrad, "weight_decay", -0.1, "AdaGrad weight_decay: expected a value >= 0, got -0.1"),
])
def test_hyperparameters_are_checked_also_when_changed_later(cls, name, value, message):
    opt = cls([cn.Parameter(np.ones(1))], lr=0.1)
    before = getattr(opt, name)
    with pytest.raises((TypeError, ValueError), match=esc(message)):
        setattr(opt, name, value)
    assert getattr(opt, name) == before
    with pytest.raises((TypeError, ValueError), match=esc(message)):
        cls([cn.Parameter(np.ones(1))], **{"lr": 0.1, name: value})


def test_penalties_check_their_strength_their_parameters_and_overflow():
    with pytest.raises(ValueError, match=esc("L2Penalty lam: expected a value >= 0, got -1.0")):
        L2Penalty(-1)
    penalty = L2Penalty(0.1)
    with pytest.raises(ValueError, match=esc("L2Penalty l2: expected a finite number, got nan")):
        penalty.l2 = float("nan")
    assert penalty.l2 == 0.1
    with pytest.raises(ValueError, match="L2Penalty: expected a non-empty list of parameters"):
        penalty([])
    with pytest.raises(TypeError, match="got the module Sequential itself"):
        penalty(_mlp())
    huge = cn.Parameter(np.array([1e200]))
    with pytest.raises(ValueError, match="L2Penalty: the penalty overflows to inf"):
        penalty([huge])
    ok, overflowing = cn.Parameter(np.ones(2)), cn.Parameter(np.array([1.7e308]))
    with pytest.raises(ValueError, match="L2Penalty: the gradient overflows"):
        L2Penalty(1.0).backward([ok, overflowing])
    assert ok._grad is None  # all or none: the first gradient was not added either
    with pytest.raises(ValueError, match="L2Penalty w: expected finite values, got 1 NaN"):
        penalty.gradient(np.array([np.nan, 1.0]))
    with pytest.raises(TypeError, match="weights_only: expected a Module, got list"):
        cn.weights_only([ok])


# ------------------------------------------------------------------------------------ Parameter

@pytest.mark.parametrize("value,error,message", [
    (np.array([1.0, np.nan]), ValueError, "Parameter data: expected finite values, got 1 NaN or inf"),
    (np.array([np.inf]), ValueError, "expected finite values, got 1 NaN or inf"),
    (np.ones(2, complex), TypeError, "Parameter data: expected real numbers (a float or integer array), "
                                     "got dtype complex128"),
    (np.array([1, "a"], dtype=object), TypeError, "got dtype object"),
    (None, TypeError, "expected real numbers (a float or integer array), got None"),
    ("abc", TypeError, "got dtype <U3"),
    (np.array([True, False]), TypeError, "got dtype bool"),
    (np.zeros((0, 3)), ValueError, "Parameter data: expected a non-empty array, got shape (0, 3)"),
    ([[1.0, 2.0], [3.0]], ValueError, "Parameter data: expected a rectangular array"),
])
def test_parameter_refuses_what_cannot_be_trained(value, error, message):
    with pytest.raises(error, match=esc(message)):
        cn.Parameter(value)
    p = cn.Parameter(np.ones((2, 3)) if isinstance(value, np.ndarray) and value.ndim == 2 else np.ones(2))
    before = p.data
    with pytest.raises((TypeError, ValueError)):
        p.data = value
    assert p.data is before


def test_parameter_data_and_grad_assignments_are_checked():
    p = cn.Parameter(np.arange(4, dtype=np.float32).reshape(2, 2))
    assert cn.Parameter(np.arange(3)).data.dtype == np.float64  # integers become float
    with pytest.raises(ValueError, match=esc("Parameter data: expected shape (2, 2) (the parameter's "
                                             "shape), got (4,)")):
        p.data = np.ones(4)
    with pytest.raises(ValueError, match="values overflow the parameter's dtype float32"):
        p.data = np.full((2, 2), 1e300)
    source = np.full((2, 2), 7.0)
    p.data = source
    source[0, 0] = -1.0  # the Parameter keeps its own copy, in its own dtype
    assert p.data[0, 0] == 7.0 and p.data.dtype == np.float32
    with pytest.raises(ValueError, match=esc("Parameter grad: expected shape (2, 2) (the parameter's "
                                             "shape), got (1,)")):
        p.grad = np.ones(1)
    with pytest.raises(TypeError, match="Parameter grad: expected real numbers, got dtype complex128"):
        p.grad = np.ones((2, 2), complex)
    p.grad = np.ones((2, 2))
    assert p.grad.dtype == np.float32
    with pytest.raises(ValueError, match=esc("Parameter.add_grad: expected a gradient of shape (2, 2), "
                                             "got (1,)")):
        p.add_grad(np.ones(1, np.float32))  # would broadcast
    np.testing.assert_array_equal(p.grad, np.ones((2, 2)))


# ------------------------------------------------------------------------------- Module bookkeeping

def test_a_shared_parameter_is_listed_and_stepped_once():
    first, second = cn.Linear(3, 3, rng=np.random.default_rng(0)), cn.Linear(3, 3)
    second.weight = first.weight  # weight tying
    model = cn.Sequential(first, cn.Tanh(), second)
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias", "2.bias"]
    rng = np.random.default_rng(1)
    x, g = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    model(x)
    model.backward(g)
    w0 = first.weight.data.copy()
    SGD(model.parameters(), lr=0.1).step()
    np.testing.assert_allclose(first.weight.data, w0 - 0.1 * first.weight.grad, rtol=1e-15)

    def loss(_):
        return np.sum(model(x) * g)

    numeric = cn.numerical_gradient(loss, first.weight.data)
    model.zero_grad()
    model(x)
    model.backward(g)
    assert cn.rel_error(first.weight.grad, numeric) < 1e-7  # both uses add up


class _Containers(cn.Module):
    def __init__(self):
        rng = np.random.default_rng(0)
        self.blocks = [cn.Linear(2, 2, rng=rng), cn.Linear(2, 2, rng=rng)]
        self.heads = {"left": cn.Linear(2, 1, rng=rng), "right": cn.PReLU()}
        self.scales = [cn.Parameter(np.ones(2))]
        self.gains = {"a": cn.Parameter(np.ones(1))}
        self.alias = self.blocks[0]  # the same module under a second name: listed once


def test_modules_and_parameters_in_lists_and_dicts_are_found_with_torch_names():
    m = _Containers()
    assert [n for n, _ in m.named_parameters()] == [
        "scales.0", "gains.a", "blocks.0.weight", "blocks.0.bias", "blocks.1.weight",
        "blocks.1.bias", "heads.left.weight", "heads.left.bias", "heads.right.weight"]
    assert [n for n, _ in m.named_children()] == ["blocks.0", "blocks.1", "heads.left", "heads.right"]
    assert list(m.modules()) == [m, m.blocks[0], m.blocks[1], m.heads["left"], m.heads["right"]]
    assert m.num_parameters() == 2 + 1 + 6 + 6 + 3 + 1
    m.eval()
    assert not any(module.training for module in m.modules())
    assert [n for n, _ in m.named_parameters("net")][0] == "net.scales.0"


def test_a_module_inside_itself_does_not_hang():
    m = cn.Sequential(cn.Linear(2, 2))
    m.layers[0].parent = m  # a cycle
    assert len(list(m.modules())) == 2 and len(m.parameters()) == 2


def test_empty_sequential_is_the_identity():
    empty = cn.Sequential()
    x = np.arange(6.0).reshape(2, 3)
    assert empty(x) is x
    np.testing.assert_array_equal(empty.backward(np.ones((2, 3))), np.ones((2, 3)))
    assert empty.parameters() == [] and len(empty) == 0
    empty(x)
    with pytest.raises(ValueError, match=esc("Sequential grad_out: expected shape (2, 3), got (3, 2)")):
        empty.backward(np.ones((3, 2)))
    with pytest.raises(TypeError, match="Sequential input: expected a float array"):
        empty(np.ones(2, dtype=int))
    assert cn.Sequential(cn.Linear(3, 2), cn.Sequential())(x).shape == (2, 2)


def test_a_module_used_twice_in_a_sequential_is_refused():
    lin = cn.Linear(2, 2)
    with pytest.raises(ValueError, match=esc("Sequential: layer 2 (Linear) is the same module as layer "
                                             "0; a module keeps the cache of its last forward")):
        cn.Sequential(lin, cn.Tanh(), lin)
    act = cn.ReLU()
    with pytest.raises(ValueError, match=esc("layer 1.1 (ReLU) is the same module as layer 0.1")):
        cn.Sequential(cn.Sequential(cn.Linear(2, 2), act), cn.Sequential(cn.Linear(2, 2), act))
    with pytest.raises(ValueError, match=esc("second.weight = first.weight")):
        cn.Sequential(lin, lin)
    with pytest.raises(TypeError, match=esc("pass the layers as separate arguments: Sequential(*layers)")):
        cn.Sequential([lin, cn.Tanh()])


# --------------------------------------------------------------- one backward per forward

def test_backward_twice_after_one_forward_raises_and_does_not_double():
    lin = cn.Linear(2, 2, rng=np.random.default_rng(0))
    with pytest.raises(RuntimeError, match=esc("Linear.backward called before forward")):
        lin.backward(np.ones((1, 2)))
    lin(np.ones((3, 2)))
    lin.backward(np.ones((3, 2)))
    once = lin.weight.grad.copy()
    with pytest.raises(RuntimeError, match=esc("Linear.backward called twice after one forward (or "
                                               "before forward)")):
        lin.backward(np.ones((3, 2)))
    with pytest.raises(RuntimeError, match=esc("Linear.backward_params called twice after one forward")):
        lin.backward_params(np.ones((3, 2)))
    np.testing.assert_array_equal(lin.weight.grad, once)
    lin(np.ones((3, 2)))  # a new forward allows a new backward, which accumulates
    lin.backward(np.ones((3, 2)))
    np.testing.assert_array_equal(lin.weight.grad, 2 * once)


@pytest.mark.parametrize("method", ["backward", "backward_params"])
def test_sequential_backward_twice_raises(method):
    model = _mlp()
    x, g = np.ones((3, 2)), np.ones((3, 3))
    model(x)
    getattr(model, method)(g)
    grads = [p.grad.copy() for p in model.parameters()]
    with pytest.raises(RuntimeError, match=f"Sequential.{method} called twice after one forward"):
        getattr(model, method)(g)
    for p, before in zip(model.parameters(), grads):
        np.testing.assert_array_equal(p.grad, before)


def test_a_failed_backward_leaves_the_module_armed():
    lin = cn.Linear(2, 2, rng=np.random.default_rng(0))
    lin(np.ones((3, 2)))
    with pytest.raises(ValueError, match=esc("Linear grad_out: expected shape (3, 2), got (2, 2)")):
        lin.backward(np.ones((2, 2)))
    assert lin.weight._grad is None
    lin.backward(np.ones((3, 2)))  # still armed: the correct call goes through
    np.testing.assert_array_equal(lin.weight.grad, np.full((2, 2), 3.0))


def test_subclasses_calling_super_are_wrapped_once_and_still_gradient_check():
    class Scaled(cn.Linear):
        def forward(self, x):
            return 2.0 * super().forward(x)

        def backward(self, grad_out):
            return super().backward(2.0 * grad_out)

    layer = Scaled(3, 2, rng=np.random.default_rng(0))
    errors = cn.check_module_gradients(layer, np.random.default_rng(1).standard_normal((4, 3)))
    assert max(errors.values()) < 1e-7
    layer(np.ones((4, 3)))
    layer.backward(np.ones((4, 2)))
    with pytest.raises(RuntimeError, match="Scaled.backward called twice after one forward"):
        layer.backward(np.ones((4, 2)))
    assert Scaled.backward.__wrapped__.__qualname__.endswith("Scaled.backward")


def test_train_mode_must_be_a_bool():
    model = _mlp()
    with pytest.raises(TypeError, match="Sequential.train mode: expected True or False, got 'no'"):
        model.train("no")
    assert model.training


# ----------------------------------------------------------------------------------- init

@pytest.mark.parametrize("fn", [init.default_uniform, init.xavier_uniform, init.xavier_normal,
                                init.he_normal, init.he_uniform], ids=ids)
@pytest.mark.parametrize("shape", [(3, 0), (0, 3), (2, 3, 0, 3)])
def test_initializers_refuse_zero_sizes(fn, shape):
    with pytest.raises(ValueError, match=esc(f"{fn.__name__} shape: expected sizes >= 1, got {shape}")):
        fn(shape, np.random.default_rng(0))


@pytest.mark.parametrize("shape", [(2.0, 3), ("a", 2), None, "34", (True, 2)])
def test_initializers_refuse_non_integer_sizes(shape):
    with pytest.raises(TypeError, match="he_normal shape: expected a tuple of positive integers"):
        init.he_normal(shape, np.random.default_rng(0))


def test_initializer_settings():
    with pytest.raises(ValueError, match="has no fan_in; pass fan_in="):
        init.default_uniform((3,), np.random.default_rng(0))
    with pytest.raises(ValueError, match="default_uniform fan_in: expected a positive integer, got 0"):
        init.default_uniform((3,), np.random.default_rng(0), fan_in=0)
    with pytest.raises(ValueError, match="xavier_uniform: the bound .* is so large"):
        init.xavier_uniform((2, 3), np.random.default_rng(0), gain=1e308)
    with pytest.raises(TypeError, match="zeros rng: expected a numpy Generator"):
        init.zeros((2, 2), rng=3)
    for seed in (-1, 1.5, "0", None, True):
        with pytest.raises(TypeError, match=f"manual_seed seed: expected a non-negative integer, "
                                            f"got {seed!r}"):
            init.manual_seed(seed)


@pytest.mark.parametrize("result,error,message", [
    (np.ones((3, 2)), ValueError,
     "expected init(shape, rng) to return an array of shape (2, 3), got shape (3, 2)"),
    (0.5, ValueError, "got shape ()"),
    (np.ones((1, 3)), ValueError, "got shape (1, 3)"),
    (np.full((2, 3), np.nan), ValueError, "Linear init: expected finite values from init, got 6 NaN or inf"),
    (None, TypeError, "to return an array of real numbers, got None"),
    (np.ones((2, 3), complex), TypeError, "got dtype complex128"),
    (np.ones((2, 3), bool), TypeError, "got dtype bool"),
])
def test_check_init_result(result, error, message):
    with pytest.raises(error, match=esc(message)):
        init.check_init_result(result, (2, 3), "Linear init")


def test_check_init_result_returns_float():
    out = init.check_init_result(np.ones((2, 3), dtype=int), (2, 3), "Linear init")
    assert out.dtype == np.float64
    w = np.ones((2, 3), np.float32)
    assert init.check_init_result(w, (2, 3)) is w


# -------------------------------------------------------------------------------------- fit

def _task(n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 2))
    return X, (X[:, 0] > 0).astype(int) + (X[:, 1] > 0).astype(int)


def _fit(model=None, train=None, val=None, opt=None, loss=None, **kwargs):
    model = _mlp() if model is None else model
    settings = dict(epochs=2, batch_size=8, rng=np.random.default_rng(0), progress=False)
    settings.update(kwargs)
    return fit(model, cn.CrossEntropyLoss() if loss is None else loss,
               SGD(model.parameters(), lr=0.1) if opt is None else opt,
               _task() if train is None else train, val, **settings)


def test_fit_refuses_an_optimizer_of_another_model():
    model, other = _mlp(0), _mlp(1)
    before = [p.data.copy() for p in model.parameters()]
    with pytest.raises(ValueError, match=esc("fit optimizer: its parameter 0 (shape (4, 2)) is not a "
                                             "parameter of the model")):
        _fit(model, opt=SGD(other.parameters(), lr=0.1))
    for p, b in zip(model.parameters(), before):
        np.testing.assert_array_equal(p.data, b)
    frozen = _mlp(2)  # an optimizer over some of the parameters trains those only
    first = frozen[0].weight.data.copy()
    _fit(frozen, opt=SGD(frozen[2].parameters(), lr=0.1))
    np.testing.assert_array_equal(frozen[0].weight.data, first)


def _bad_rows():
    X, y = _task()
    nan_x = X.copy()
    nan_x[39, 1] = np.nan
    return {
        "nan in the last row": ((nan_x, y), None, ValueError,
                                "fit train X: expected finite values, got 1 NaN"),
        "labels too short": ((X, y[:39]), None, ValueError, "fit train: X has 40 samples but y has 39"),
        "label out of range": ((X, np.where(np.arange(40) == 39, 3, y)), None, ValueError,
                               "fit train y: expected labels in [0, 2] (the model has 3 outputs), "
                               "got values in [0, 3]"),
        "float labels": ((X, y.astype(float)), None, TypeError,
                         "fit train y: expected integer class labels for CrossEntropyLoss, "
                         "got dtype float64"),
        "labels as a column": ((X, y[:, None]), None, ValueError,
                               "fit train y: expected labels of shape (N,)"),
        "empty": ((X[:0], y[:0]), None, ValueError,
                  "fit train X: expected a non-empty array, got shape (0, 2)"),
        "val features": ((X, y), (np.ones((5, 3)), y[:5]), ValueError,
                         "fit val X: the model refuses its first row: Linear input: expected shape"),
        "val nan": ((X, y), (nan_x, y), ValueError, "fit val X: expected finite values"),
        "val labels": ((X, y), (X, y + 1), ValueError, "fit val y: expected labels in [0, 2]"),
        "not a pair": ((X,), None, TypeError, "fit train: expected a pair (X, y), got tuple of length 1"),
    }


@pytest.mark.parametrize("case", sorted(_bad_rows()))
def test_fit_checks_all_its_data_before_the_first_step(case):
    train, val, error, message = _bad_rows()[case]
    model = _mlp()
    before = [p.data.copy() for p in model.parameters()]
    with pytest.raises(error, match=esc(message)):
        _fit(model, train=train, val=val)
    for p, b in zip(model.parameters(), before):
        np.testing.assert_array_equal(p.data, b)


@pytest.mark.parametrize("kwargs,error,message", [
    (dict(batch_size=0), ValueError, "fit batch_size: expected a positive integer, got 0"),
    (dict(batch_size=2.0), ValueError, "fit batch_size: expected a positive integer, got 2.0"),
    (dict(epochs=True), ValueError, "fit epochs: expected a positive integer, got True"),
    (dict(progress="no"), TypeError, "fit progress: expected True or False, got 'no'"),
    (dict(rng=0), TypeError, "fit rng: expected a numpy Generator"),
    (dict(loss=cn.losses.mse), TypeError, "fit loss_fn: expected a loss object such as CrossEntropyLoss()"),
    (dict(loss=cn.CrossEntropyLoss(reduction="none")), ValueError, "expected reduction 'mean' or 'sum'"),
    (dict(opt=3), TypeError, "fit optimizer: expected a course_nn optimizer"),
    (dict(penalty=3), TypeError, "fit penalty: expected a penalty such as L2Penalty(1e-4)"),
    (dict(model=cn.Sequential(cn.Linear(2, 3), cn.ReLU()), penalty=L2Penalty(0.1),
          penalty_params=[cn.Parameter(np.ones(2))]), ValueError,
     "fit penalty_params: parameter 0 (shape (2,)) is not a parameter of the model"),
    (dict(model=cn.Sequential(cn.Linear(2, 3)), loss=cn.MSELoss(), train=(np.ones((4, 2)), np.ones(4))),
     ValueError, "fit train y: expected shape (4, 3) to match the model's output, got (4,)"),
    (dict(model=cn.Sequential(cn.Linear(2, 1)), loss=cn.BCEWithLogitsLoss(),
          train=(np.ones((4, 2)), np.full((4, 1), 2.0))), ValueError,
     "fit train y: expected targets in [0, 1] for BCEWithLogitsLoss"),
])
def test_fit_settings(kwargs, error, message):
    with pytest.raises(error, match=esc(message)):
        _fit(**kwargs)


def test_fit_refuses_a_last_batch_of_one_for_batch_norm():
    model = cn.Sequential(cn.Linear(2, 4), cn.BatchNorm1d(4), cn.ReLU(), cn.Linear(4, 3))
    X, y = _task(41)
    with pytest.raises(ValueError, match=esc("fit batch_size: 41 training samples in batches of 8 leave "
                                             "a batch of 1 sample, which BatchNorm1d cannot normalize")):
        _fit(model, train=(X, y))
    _fit(model, train=(X, y), batch_size=7)  # 5 batches of 7 and one of 6


def test_fit_without_parameters():
    model = cn.Sequential(cn.ReLU())
    with pytest.raises(ValueError, match="fit model: Sequential has no parameters to train"):
        fit(model, cn.MSELoss(), SGD([cn.Parameter(np.ones(1))], lr=0.1), (np.ones((2, 2)), np.ones((2, 2))),
            epochs=1, batch_size=1, rng=np.random.default_rng(0), progress=False)


# ----------------------------------------------------------------- accuracy, evaluate, predict

def test_accuracy_refuses_what_would_broadcast_or_hide_nans():
    scores = np.array([[2.0, 0.0], [0.0, 1.0], [3.0, 1.0]])
    y = np.array([0, 1, 1])
    assert accuracy(scores, y) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match=esc("accuracy y: expected shape (3,) (one label per row of "
                                             "scores), got (3, 1)")):
        accuracy(scores, y[:, None])  # used to broadcast to a 3 x 3 comparison
    with pytest.raises(ValueError, match="accuracy scores: expected finite values, got 6 NaN"):
        accuracy(np.full((3, 2), np.nan), y)  # used to give 1/3 (argmax 0)
    with pytest.raises(TypeError, match="accuracy y: expected integer class labels, got dtype float64"):
        accuracy(scores, y.astype(float))
    with pytest.raises(ValueError, match=esc("accuracy y: expected labels in [0, 1], got values in [0, 2]")):
        accuracy(scores, np.array([0, 1, 2]))
    with pytest.raises(ValueError, match=esc("accuracy scores: expected a non-empty array")):
        accuracy(np.zeros((0, 2)), np.zeros(0, int))
    with pytest.raises(TypeError, match="accuracy loss_fn: expected None or a classification loss"):
        accuracy(scores, y, cn.MSELoss())


def test_binary_accuracy_thresholds():
    logits = np.array([[2.0], [-1.0], [0.5]])
    assert accuracy(logits, np.array([1, 0, 0])) == pytest.approx(2 / 3)
    probs = np.array([0.9, 0.2, 0.4])  # probabilities: BCELoss means a threshold of 0.5
    assert accuracy(probs, np.array([1.0, 0.0, 0.0]), cn.BCELoss()) == 1.0
    with pytest.raises(ValueError, match=esc("accuracy y: expected binary targets in [0, 1], got "
                                             "values in [0, 2]")):
        accuracy(logits, np.array([0, 2, 1]))
    with pytest.raises(ValueError, match=esc("accuracy y: expected shape (3, 1) to match the scores, "
                                             "got (2,)")):
        accuracy(logits, np.array([0, 1]))


def test_predict_and_evaluate_check_their_arguments():
    model = _mlp()
    X, y = _task(10)
    for bad in (0, -1, 2.5, None, True):
        with pytest.raises(ValueError, match=f"predict batch_size: expected a positive integer, got {bad!r}"):
            predict(model, X, batch_size=bad)
    with pytest.raises(ValueError, match=esc("predict X: expected a non-empty array with one row per "
                                             "sample, got shape (0, 2)")):
        predict(model, X[:0])
    with pytest.raises(TypeError, match="predict model: expected a course_nn Module, got function"):
        predict(lambda x: x, X)
    with pytest.raises(ValueError, match="predict: expected the model to return an array with one row "
                                         "per input row"):
        predict(cn.RNN(2, 3), X[:, None, :])  # (output, state): not one array
    with pytest.raises(ValueError, match=esc("evaluate: expected X and y with one row per sample each, "
                                             "got shapes (10, 2) and (9,)")):
        evaluate(model, cn.CrossEntropyLoss(), X, y[:9])
    assert predict(model, X, batch_size=3).shape == (10, 3)


def test_check_init_result_casts_to_the_layer_dtype():
    """1e39 is finite in float64 and inf in float32: the check happens after the cast, for
    Linear and Conv2d alike (one checker, one wording)."""
    with pytest.raises(ValueError, match=esc("Linear init: expected finite values in float32 from "
                                             "init, got 6 NaN or inf entries")):
        init.check_init_result(np.full((2, 3), 1e39), (2, 3), "Linear init", np.float32)
    out = init.check_init_result(np.ones((2, 3)), (2, 3), "Linear init", np.float32)
    assert out.dtype == np.float32
    with pytest.raises(ValueError, match=esc("Conv2d init (<lambda>): expected finite values in "
                                             "float32 from init, got 18 NaN or inf entries")):
        cn.Conv2d(1, 2, 3, init=lambda s, r: np.full(s, 1e39), dtype=np.float32)
