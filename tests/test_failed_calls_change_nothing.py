"""A forward or backward that raises, in any layer of a network, leaves the whole network as it
was: caches, batch-norm running statistics, armed state and every parameter's gradient."""

import numpy as np
import pytest

import course_nn as cn


def _snapshot(model):
    """Everything a later call could see: each module's attributes (arrays copied) and grads."""
    state = []
    for m in model.modules():
        attrs = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in vars(m).items()
                 if not isinstance(v, (cn.Module, cn.Parameter, list, tuple, dict))}
        state.append(attrs)
    grads = [None if p._grad is None else p._grad.copy() for p in model.parameters()]
    return state, grads


def _assert_same(a, b):
    (state_a, grads_a), (state_b, grads_b) = a, b
    assert len(state_a) == len(state_b)
    for attrs_a, attrs_b in zip(state_a, state_b):
        assert attrs_a.keys() == attrs_b.keys()
        for k in attrs_a:
            va, vb = attrs_a[k], attrs_b[k]
            if isinstance(va, np.ndarray):
                assert np.array_equal(va, vb), k
            else:
                assert va is vb or va == vb, k
    for ga, gb in zip(grads_a, grads_b):
        assert (ga is None and gb is None) or np.array_equal(ga, gb)


def _linear_bn():
    return cn.Sequential(cn.Linear.from_weights(np.eye(2), np.zeros(2)), cn.BatchNorm1d(2))


X0 = np.array([[1.0, 2.0], [3.0, 5.0], [0.0, 1.0]])
G = np.arange(6.0).reshape(3, 2)


@pytest.mark.parametrize("bad, message", [
    (np.array([[1e308, 1e308], [-1e308, 0.0]]), "variance"),
    (np.array([[1.0, 2.0]]), "more than 1 sample"),
])
def test_forward_failing_in_a_later_layer_changes_nothing(bad, message):
    model, twin = _linear_bn(), _linear_bn()
    model(X0)
    twin(X0)
    before = _snapshot(model)
    with pytest.raises(ValueError, match=message):
        model(bad)
    _assert_same(_snapshot(model), before)
    # the backward still belongs to X0: same input gradient and parameter gradients as a twin
    assert np.array_equal(model.backward(G), twin.backward(G))
    for p, q in zip(model.parameters(), twin.parameters()):
        assert np.array_equal(p.grad, q.grad)


def test_forward_failing_in_a_later_layer_before_any_forward_leaves_network_unarmed():
    model = _linear_bn()
    with pytest.raises(ValueError):
        model(np.array([[1.0, 2.0]]))
    with pytest.raises(RuntimeError, match="before forward"):
        model.backward(np.ones((1, 2)))


def test_backward_failing_midway_adds_no_gradient_and_stays_armed():
    model, twin = _linear_bn(), _linear_bn()
    for m in (model, twin):
        m(X0)
        m.backward(G)  # some gradient already accumulated: it must survive the failure exactly
        m(X0)
    model[0]._backward_ready = False  # the first layer's backward will refuse (as if already run)
    before = _snapshot(model)
    with pytest.raises(RuntimeError, match="called twice"):
        model.backward(G)
    _assert_same(_snapshot(model), before)  # BatchNorm1d's weight/bias grads were not added
    model[0]._backward_ready = True
    assert np.array_equal(model.backward(G), twin.backward(G))
    for p, q in zip(model.parameters(), twin.parameters()):
        assert np.array_equal(p.grad, q.grad)


class TwoBranch(cn.Module):
    """A user-written network (not a Sequential): the same guarantee holds."""

    def __init__(self):
        self.a = cn.Linear.from_weights(np.eye(2), np.zeros(2))
        self.norm = cn.BatchNorm1d(2)
        self.b = cn.Linear.from_weights(2 * np.eye(2), np.ones(2))

    def forward(self, x):
        return self.b(self.norm(self.a(x)))

    def backward(self, grad_out):
        return self.a.backward(self.norm.backward(self.b.backward(grad_out)))


def test_user_module_forward_and_backward_failures_change_nothing():
    model = TwoBranch()
    model(X0)
    model.backward(G)
    model(X0)
    before = _snapshot(model)
    with pytest.raises(ValueError):
        model(np.array([[1.0, 2.0]]))  # the middle layer refuses one sample
    _assert_same(_snapshot(model), before)
    with pytest.raises(ValueError, match="grad_out"):
        model.backward(np.full((3, 2), np.nan))
    _assert_same(_snapshot(model), before)
    model.backward(G)  # still armed for X0


def test_nested_calls_succeed_as_before():
    model = cn.Sequential(cn.Sequential(cn.Linear(3, 4), cn.ReLU()), cn.Linear(4, 2))
    x = np.random.default_rng(0).normal(size=(5, 3))
    out = model(x)
    dx = model.backward(np.ones_like(out))
    assert dx.shape == x.shape
    with pytest.raises(RuntimeError, match="called twice"):
        model.backward(np.ones_like(out))


@pytest.mark.parametrize("layer, x, grad", [
    (lambda: cn.PReLU(), np.array([[1.0, -2.0]]), np.array([[1.0, 1.0]])),
    (lambda: cn.Embedding(4, 2), np.array([[0, 3, 3]]), np.ones((1, 3, 2))),
])
def test_gradients_accumulate_into_new_arrays(layer, x, grad):
    """add_grad never writes into the previous gradient, so a rollback can restore it."""
    m = layer()
    m(x)
    m.backward(grad)
    first = m.weight.grad
    kept = first.copy()
    m(x)
    m.backward(grad)
    assert np.array_equal(first, kept)
    assert np.array_equal(m.weight.grad, 2 * kept)


def _conv_bn():
    rng = np.random.default_rng(0)
    return cn.Sequential(cn.Conv2d(2, 2, 1, rng=rng), cn.BatchNorm2d(2), cn.Tanh())


def _residual_bn():
    rng = np.random.default_rng(0)
    return cn.Sequential(cn.Linear(2, 2, rng=rng),
                         cn.Residual(cn.Sequential(cn.Linear(2, 2, rng=rng), cn.BatchNorm1d(2))))


class _Narrowing(cn.Module):
    """A block that changes the shape only for inputs of 3 rows (so Residual refuses it after
    the block's layer has already run)."""

    def __init__(self):
        self.fc = cn.Linear.from_weights(np.ones((2, 2)), np.zeros(2))

    def forward(self, x):
        out = self.fc(x)
        return out[:, :1] if x.shape[0] == 3 else out

    def backward(self, grad_out):
        return self.fc.backward(grad_out)


X4 = np.random.default_rng(1).normal(size=(2, 2, 3, 3))


@pytest.mark.parametrize("build, good, bad, message", [
    (_conv_bn, X4, X4[:1, :, :1, :1], "more than 1 value per channel"),   # BatchNorm2d refuses
    (_conv_bn, X4, np.sign(X4) * 1e308, "finite|representable"),  # variance overflows
    (_residual_bn, X0[:2], X0[:1], "more than 1 sample"),  # BatchNorm1d inside the block refuses
    (lambda: cn.Residual(_Narrowing()), np.ones((2, 2)), X0, "the input's shape"),
])
def test_batchnorm2d_and_residual_failures_change_nothing(build, good, bad, message):
    model, twin = build(), build()
    model(good)
    twin(good)
    before = _snapshot(model)
    with pytest.raises(ValueError, match=message):
        model(bad)
    _assert_same(_snapshot(model), before)
    g = np.random.default_rng(2).normal(size=model(good).shape)
    twin(good)
    assert np.array_equal(model.backward(g), twin.backward(g))
    for p, q in zip(model.parameters(), twin.parameters()):
        assert np.array_equal(p.grad, q.grad)


def test_residual_backward_failing_in_the_block_adds_no_gradient():
    model, twin = _residual_bn(), _residual_bn()
    g = np.ones((2, 2))
    for m in (model, twin):
        m(X0[:2])
        m.backward(g)
        m(X0[:2])
    model[1].block[0]._backward_ready = False  # the block's first layer will refuse
    before = _snapshot(model)
    with pytest.raises(RuntimeError, match="called twice"):
        model.backward(g)
    _assert_same(_snapshot(model), before)  # the block's BatchNorm1d grads were not added
    model[1].block[0]._backward_ready = True
    assert np.array_equal(model.backward(g), twin.backward(g))
    for p, q in zip(model.parameters(), twin.parameters()):
        assert np.array_equal(p.grad, q.grad)
