"""Module / Parameter / Sequential bookkeeping: parameters, names, gradients, modes, seeding."""

import math

import numpy as np
import pytest

import course_nn as nn


def mlp(seed=0):
    rng = np.random.default_rng(seed)
    return nn.Sequential(nn.Linear(4, 5, rng=rng), nn.ReLU(), nn.Linear(5, 3, rng=rng))


@pytest.fixture(autouse=True)
def _restore_package_rng():
    """manual_seed replaces the package generator; put the original back after each test."""
    saved = nn.init._package_rng
    yield
    nn.init._package_rng = saved


class TwoLayer(nn.Module):
    """A hand-written network: attributes, not a Sequential."""

    def __init__(self):
        rng = np.random.default_rng(1)
        self.fc1 = nn.Linear(3, 4, rng=rng)
        self.act = nn.Tanh()
        self.fc2 = nn.Linear(4, 2, bias=False, rng=rng)
        self.scale = nn.Parameter(np.array([2.0]))

    def forward(self, x):
        self._h = self.fc2(self.act(self.fc1(x)))
        return self.scale.data * self._h

    def backward(self, grad_out):
        self.scale.grad += np.sum(grad_out * self._h, keepdims=True).reshape(1)
        g = self.fc2.backward(grad_out * self.scale.data)
        return self.fc1.backward(self.act.backward(g))


class Blocks(nn.Module):
    def __init__(self):
        self.blocks = [nn.Linear(2, 2, rng=np.random.default_rng(i)) for i in range(2)]
        self.head = nn.PReLU()


# ------------------------------------------------------------------------------- parameters

def test_linear_parameters_order_and_shapes():
    layer = nn.Linear(4, 3, rng=np.random.default_rng(0))
    params = layer.parameters()
    assert len(params) == 2
    assert params[0] is layer.weight and params[1] is layer.bias
    assert layer.weight.shape == (3, 4) and layer.bias.shape == (3,)
    assert layer.num_parameters() == 15


def test_linear_without_bias_has_one_parameter():
    layer = nn.Linear(4, 3, bias=False, rng=np.random.default_rng(0))
    assert layer.bias is None
    assert [name for name, _ in layer.named_parameters()] == ["weight"]
    assert layer.num_parameters() == 12


def test_sequential_parameters_order_and_count():
    model = mlp()
    params = model.parameters()
    expected = [model[0].weight, model[0].bias, model[2].weight, model[2].bias]
    assert len(params) == 4
    assert all(p is e for p, e in zip(params, expected, strict=True))
    assert model.num_parameters() == 4 * 5 + 5 + 5 * 3 + 3


def test_sequential_named_parameters():
    names = [name for name, _ in mlp().named_parameters()]
    assert names == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_nested_sequential_names():
    inner = mlp()
    model = nn.Sequential(inner, nn.PReLU(3))
    names = [name for name, _ in model.named_parameters()]
    assert names == ["0.0.weight", "0.0.bias", "0.2.weight", "0.2.bias", "1.weight"]


def test_custom_module_names_own_parameters_first():
    names = [name for name, _ in TwoLayer().named_parameters()]
    assert names == ["scale", "fc1.weight", "fc1.bias", "fc2.weight"]
    assert TwoLayer().num_parameters() == 1 + 12 + 4 + 8


def test_list_of_modules_is_found():
    names = [name for name, _ in Blocks().named_parameters()]
    assert names == ["blocks.0.weight", "blocks.0.bias", "blocks.1.weight", "blocks.1.bias",
                     "head.weight"]


def test_parameter_dtype_and_grad():
    p = nn.Parameter([1, 2, 3])
    assert p.data.dtype == np.float64 and p.grad.dtype == np.float64
    assert p.grad.tolist() == [0.0, 0.0, 0.0] and p.shape == (3,) and p.size == 3
    q = nn.Parameter(np.ones((2, 2), dtype=np.float32))
    assert q.data.dtype == np.float32 and q.grad.dtype == np.float32
    src = np.ones(3)
    r = nn.Parameter(src)
    src[0] = 5.0
    assert r.data[0] == 1.0  # a copy, not a view of the caller's array
    assert repr(r) == "Parameter(shape=(3,), dtype=float64)"


# ------------------------------------------------------------------------- gradients in .grad

def _forward_backward(model, x, g):
    model(x)
    return model.backward(g)


def test_zero_grad_clears_every_parameter():
    model = mlp()
    rng = np.random.default_rng(2)
    _forward_backward(model, rng.normal(size=(6, 4)), rng.normal(size=(6, 3)))
    assert all(np.any(p.grad != 0) for p in model.parameters())
    model.zero_grad()
    for p in model.parameters():
        assert p.grad.shape == p.data.shape and p.grad.dtype == p.data.dtype
        assert np.all(p.grad == 0)


def test_gradients_accumulate_across_backward_calls():
    """Two backward calls add up: grad(A) + grad(B) == grad of the concatenated batch."""
    model = mlp()
    rng = np.random.default_rng(3)
    xa, xb = rng.normal(size=(3, 4)), rng.normal(size=(5, 4))
    ga, gb = rng.normal(size=(3, 3)), rng.normal(size=(5, 3))

    model.zero_grad()
    _forward_backward(model, xa, ga)
    first = [p.grad.copy() for p in model.parameters()]
    _forward_backward(model, xb, gb)
    accumulated = [p.grad.copy() for p in model.parameters()]

    model.zero_grad()
    _forward_backward(model, np.vstack([xa, xb]), np.vstack([ga, gb]))
    together = [p.grad.copy() for p in model.parameters()]

    for f, a, t in zip(first, accumulated, together, strict=True):
        assert not np.allclose(f, a)  # the second call did add something
        np.testing.assert_allclose(a, t, rtol=1e-12, atol=1e-14)


def test_same_batch_twice_doubles_the_gradient():
    model = TwoLayer()
    rng = np.random.default_rng(4)
    x, g = rng.normal(size=(4, 3)), rng.normal(size=(4, 2))
    model.zero_grad()
    _forward_backward(model, x, g)
    once = [p.grad.copy() for p in model.parameters()]
    _forward_backward(model, x, g)
    for o, p in zip(once, model.parameters(), strict=True):
        np.testing.assert_allclose(p.grad, 2 * o, rtol=1e-13)


def test_sequential_backward_chains_in_reverse_order():
    """Linear -> ReLU -> Linear: dL/dx = ((g @ W2) * (h > 0)) @ W1, with h = x @ W1.T + b1."""
    model = mlp()
    rng = np.random.default_rng(5)
    x, g = rng.normal(size=(6, 4)), rng.normal(size=(6, 3))
    w1, b1, w2 = model[0].weight.data, model[0].bias.data, model[2].weight.data
    h = x @ w1.T + b1
    model.zero_grad()
    model(x)
    grad_x = model.backward(g)
    np.testing.assert_allclose(grad_x, ((g @ w2) * (h > 0)) @ w1, rtol=1e-12)
    np.testing.assert_allclose(model[2].weight.grad, g.T @ np.maximum(h, 0), rtol=1e-12)
    np.testing.assert_allclose(model[0].bias.grad, ((g @ w2) * (h > 0)).sum(axis=0), rtol=1e-12)


# ------------------------------------------------------------------------------- train / eval

def test_train_eval_propagate_to_every_descendant():
    model = nn.Sequential(mlp(), nn.Sigmoid(), nn.Sequential(nn.ReLU(), nn.Linear(3, 2)))
    everything = [model, *model.layers, *model[0].layers, *model[2].layers]
    assert all(m.training for m in everything)
    assert model.eval() is model
    assert not any(m.training for m in everything)
    assert model.train() is model
    assert all(m.training for m in everything)
    model.train(False)
    assert not any(m.training for m in everything)


def test_eval_on_a_child_does_not_touch_the_parent():
    model = TwoLayer()
    model.fc1.eval()
    assert model.training and not model.fc1.training and model.fc2.training
    assert nn.Linear(2, 2).training  # a fresh module starts in training mode


# ---------------------------------------------------------------------------------- seeding

def test_manual_seed_makes_default_initialisation_reproducible():
    nn.manual_seed(123)
    a = nn.Linear(6, 4)
    b = nn.Linear(6, 4)
    nn.manual_seed(123)
    c = nn.Linear(6, 4)
    np.testing.assert_array_equal(a.weight.data, c.weight.data)
    np.testing.assert_array_equal(a.bias.data, c.bias.data)
    assert not np.array_equal(a.weight.data, b.weight.data)  # the generator moved on
    nn.manual_seed(124)
    assert not np.array_equal(nn.Linear(6, 4).weight.data, a.weight.data)


def test_explicit_rng_is_reproducible_and_independent_of_manual_seed():
    nn.manual_seed(1)
    a = nn.Linear(6, 4, rng=np.random.default_rng(7))
    nn.manual_seed(2)
    b = nn.Linear(6, 4, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    np.testing.assert_array_equal(a.bias.data, b.bias.data)


def test_manual_seed_also_drives_initializers():
    nn.manual_seed(9)
    w1 = nn.init.he_normal((3, 5))
    nn.manual_seed(9)
    np.testing.assert_array_equal(nn.init.he_normal((3, 5)), w1)


# ------------------------------------------------------------------------- Linear defaults

def test_linear_default_init_bounds():
    """PyTorch's default: weight and bias ~ U(-1/sqrt(in_features), 1/sqrt(in_features))."""
    layer = nn.Linear(16, 2000, rng=np.random.default_rng(0))
    bound = 1 / math.sqrt(16)
    w, b = layer.weight.data, layer.bias.data
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    # 32000 and 2000 uniform draws: the extremes come within 1% of the bound
    assert np.abs(w).max() > 0.99 * bound and np.abs(b).max() > 0.99 * bound
    assert w.min() < 0 < w.max() and b.min() < 0 < b.max()
    assert w.dtype == np.float64 and b.dtype == np.float64


def test_linear_bias_bound_uses_in_features_not_out_features():
    layer = nn.Linear(100, 4000, rng=np.random.default_rng(1))
    assert 0.099 < np.abs(layer.bias.data).max() <= 0.1  # 1/sqrt(100), not 1/sqrt(4000)


def test_linear_with_init_uses_it_and_zero_bias():
    layer = nn.Linear(50, 40, rng=np.random.default_rng(2), init=nn.init.he_normal)
    assert np.all(layer.bias.data == 0)
    assert np.std(layer.weight.data) == pytest.approx(math.sqrt(2 / 50), rel=0.1)
    zeros = nn.Linear(3, 2, init=nn.init.zeros)
    assert np.all(zeros.weight.data == 0) and np.all(zeros.bias.data == 0)


def test_linear_dtype():
    layer = nn.Linear(3, 2, dtype=np.float32, rng=np.random.default_rng(0))
    assert layer.weight.data.dtype == np.float32 and layer.bias.grad.dtype == np.float32


# ------------------------------------------------------------------------------- Sequential

def test_sequential_indexing_len_iter_slicing():
    model = mlp()
    assert len(model) == 3
    assert isinstance(model[1], nn.ReLU) and model[-1] is model.layers[2]
    assert list(model) == model.layers
    head = model[:2]
    assert isinstance(head, nn.Sequential) and len(head) == 2
    assert head[0] is model[0]  # a slice shares the layers
    x = np.random.default_rng(6).normal(size=(2, 4))
    np.testing.assert_array_equal(model[2](head(x)), model(x))
    with pytest.raises(IndexError):
        model[3]


def test_sequential_repr():
    model = nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Sequential(nn.LeakyReLU(0.2)))
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Linear(in_features=4, out_features=5, bias=True)\n"
        "  (1): ReLU()\n"
        "  (2): Sequential(\n"
        "    (0): LeakyReLU(negative_slope=0.2)\n"
        "  )\n"
        ")"
    )


def test_leaf_reprs():
    assert repr(nn.Linear(2, 3, bias=False)) == "Linear(in_features=2, out_features=3, bias=False)"
    assert repr(nn.GELU("tanh")) == "GELU(approximate='tanh')"
    assert repr(nn.PReLU(4)) == "PReLU(num_parameters=4)"
    assert repr(nn.SiLU()) == "SiLU()"
    assert repr(nn.MSELoss(half=True)) == "MSELoss(reduction='mean', half=True)"
    assert repr(nn.HuberLoss(0.5)) == "HuberLoss(delta=0.5, reduction='mean')"


def test_linear_from_weights_holds_the_given_arrays():
    w = np.array([[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]])
    layer = nn.Linear.from_weights(w, np.array([1.0, 2.0, 3.0]))
    assert (layer.in_features, layer.out_features) == (2, 3)
    np.testing.assert_array_equal(layer(np.array([[1.0, 1.0]])), [[1.3, 2.7, 4.1]])
    assert nn.Linear.from_weights(w).bias is None
    w[0, 0] = 9.0  # the layer keeps its own copy
    assert layer.weight.data[0, 0] == 0.1
    with pytest.raises(ValueError, match=r"bias: expected shape \(3\), got \(2,\)"):
        nn.Linear.from_weights(w, np.zeros(2))


def _grads(model):
    return [p.grad.copy() for p in model.parameters()]


@pytest.mark.parametrize("make", [
    lambda rng: nn.Sequential(nn.Linear(5, 4, rng=rng), nn.Tanh(), nn.Linear(4, 3, rng=rng)),
    lambda rng: nn.Sequential(nn.ReLU(), nn.Linear(5, 4, rng=rng), nn.Sigmoid(), nn.Linear(4, 3, rng=rng)),
    lambda rng: nn.Sequential(nn.Sequential(nn.Linear(5, 3, rng=rng)), nn.Tanh()),
])
def test_backward_params_gives_the_parameter_gradients_of_backward(make):
    """backward_params (used by fit: the data needs no gradient) must leave exactly the
    parameter gradients that the full backward leaves."""
    rng = np.random.default_rng(0)
    model = make(rng)
    x, g = rng.standard_normal((6, 5)), rng.standard_normal((6, 3))
    model(x)
    assert model.backward(g).shape == x.shape
    full = _grads(model)
    model.zero_grad()
    model(x)
    assert model.backward_params(g) is None
    for a, b in zip(full, _grads(model)):
        np.testing.assert_array_equal(a, b)


def test_backward_params_skips_the_first_layers_input_gradient():
    class Counting(nn.Linear):
        input_grads = 0

        def backward(self, grad_out):
            Counting.input_grads += 1
            return super().backward(grad_out)

    rng = np.random.default_rng(1)
    first, second = Counting(4, 3, rng=rng), Counting(3, 2, rng=rng)
    model = nn.Sequential(nn.Tanh(), first, nn.ReLU(), second)
    model(rng.standard_normal((5, 4)))
    model.backward_params(rng.standard_normal((5, 2)))
    assert Counting.input_grads == 1  # only the second layer passed a gradient on
    assert np.any(first.weight.grad != 0)


def test_backward_params_of_a_parameter_free_module_does_nothing():
    act = nn.ReLU()
    act(np.ones((2, 2)))
    assert act.backward_params(np.ones((2, 2))) is None


def test_add_grad_keeps_the_first_gradient_and_accumulates_the_rest():
    p = nn.Parameter(np.zeros((2, 3)))
    np.testing.assert_array_equal(p.grad, np.zeros((2, 3)))  # zeros before any backward
    p.zero_grad()
    first = np.ones((2, 3))
    p.add_grad(first)
    assert p.grad is first  # kept as it is: no zeros allocated and added to
    p.add_grad(np.full((2, 3), 2.0))
    np.testing.assert_array_equal(p.grad, np.full((2, 3), 3.0))
    p.zero_grad()
    np.testing.assert_array_equal(p.grad, np.zeros((2, 3)))


def test_add_grad_casts_a_gradient_of_another_dtype():
    p = nn.Parameter(np.zeros(3, dtype=np.float32))
    p.add_grad(np.array([1.0, 2.0, 3.0]))  # float64 into a float32 parameter
    assert p.grad.dtype == np.float32
    np.testing.assert_array_equal(p.grad, [1.0, 2.0, 3.0])


def test_evaluation_mode_restores_every_modules_own_mode():
    inner = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5, rng=np.random.default_rng(0)))
    model = nn.Sequential(inner, nn.ReLU())
    inner[1].eval()  # a mixed state: only the dropout layer in evaluation mode
    before = [m.training for m in model.modules()]
    with nn.module.evaluation_mode(model):
        assert not any(m.training for m in model.modules())
    assert [m.training for m in model.modules()] == before
    with pytest.raises(RuntimeError, match="stop"), nn.module.evaluation_mode(model):
        raise RuntimeError("stop")
    assert [m.training for m in model.modules()] == before
    assert list(model.modules())[:3] == [model, inner, inner[0]]
