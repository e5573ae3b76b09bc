"""Property-based tests (hypothesis) over every layer, loss and optimizer of course_nn.

The registries below describe each public layer (LAYERS), loss (LOSSES) and optimizer
(OPTIMIZERS): how to build it, how to draw a valid input of a given batch size and dtype, and
the shapes and dtype of what comes out. ``test_registry_covers_every_public_class`` fails when
a Module, Loss or Optimizer class exported by course_nn has no entry. The properties, each
checked over every entry:

1. valid input -> output of the documented shape and dtype, finite; backward returns gradients
   of the inputs' shapes; a float64 gradient check passes (relative error < 1e-7);
2. NaN or inf at a random position of an input or of grad_out -> ValueError, and the failed
   call changed nothing: parameters, gradients, running statistics, the random generator, and
   the backward the layer was armed for still gives what an untouched twin layer gives;
3. wrong dtype -> TypeError naming the dtype; wrong ndim, feature size or state shape, or an
   empty batch -> ValueError naming the shape that came (and nothing changed);
4. writing into the caller's inputs and the returned outputs after forward (and into grad_out
   and the returned gradients after backward) changes no gradient (the aliasing class);
5. backward before forward, or twice after one forward -> RuntimeError, nothing changed;
6. optimizers: a NaN/inf/wrong-shape/wrong-dtype gradient at a random parameter -> step raises
   and changes no parameter, gradient, state or step count; valid steps follow the formulas;
7. losses: finite values, reductions consistent (sum == none.sum(), mean == none.mean()),
   gradient check; mismatched shapes, bad labels, dtypes, NaN/inf -> errors that keep the
   previous backward.

Inputs come from hypothesis arrays (zeros, repeated values, subnormals, +-100) except for the
gradient checks, which use smooth values from a seeded generator, kept away from kinks (ReLU
at 0, MaxPool ties, |d| = delta in Huber, hinge margins at 0). Every test is derandomized.
"""

import copy
import functools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

import course_nn as nn
from course_nn import optim
from course_nn.losses import Loss
from course_nn.module import Module

F32, F64 = np.dtype(np.float32), np.dtype(np.float64)
FLOAT_DTYPES = st.sampled_from([F32, F64])
SEEDS = st.integers(0, 2**32 - 1)
VALUE_BOUND = 100.0  # hypothesis-drawn inputs lie in [-100, 100]
GRAD_TOL = 1e-7      # relative error of a float64 gradient check
NON_FINITE = st.sampled_from([np.nan, np.inf, -np.inf])


def _settings(n):
    return settings(max_examples=n, deadline=None, derandomize=True, database=None)


FAST = _settings(30)
SLOW = _settings(12)  # gradient checks: several hundred forward passes per example


# ------------------------------------------------------------------------- drawing values

class Values:
    """Draws the float arrays of one example in one dtype.

    source "hypothesis": hypothesis arrays in [-VALUE_BOUND, VALUE_BOUND] (zeros, repeats and
    subnormals included), for every property but the gradient checks; source "rng": smooth
    standard-normal values from a seeded generator, for the gradient checks, where
    ``kinkfree`` keeps values 0.1 away from 0 and ``distinct`` spaces all values 0.25 apart
    (no ties for MaxPool).
    """

    def __init__(self, data, dtype, source):
        self.data, self.dtype, self.source = data, np.dtype(dtype), source
        self.gradcheck = source == "rng"
        if self.gradcheck:
            self.rng = np.random.default_rng(data.draw(SEEDS, label="value seed"))

    def __call__(self, shape):
        if self.gradcheck:
            return self.rng.standard_normal(shape).astype(self.dtype)
        elements = st.floats(-VALUE_BOUND, VALUE_BOUND, width=8 * self.dtype.itemsize)
        return self.data.draw(arrays(self.dtype, shape, elements=elements), label="values")

    def kinkfree(self, shape):
        x = self(shape)
        return np.where(x >= 0, x + 0.1, x - 0.1).astype(self.dtype) if self.gradcheck else x

    def distinct(self, shape):
        if not self.gradcheck:
            return self(shape)
        size = math.prod(shape)
        return ((self.rng.permutation(size) - size / 2) * 0.25).reshape(shape).astype(self.dtype)

    def unit(self, shape):
        """Values in [0, 1] (in (0.05, 0.95) for gradient checks)."""
        if self.gradcheck:
            return self.rng.uniform(0.05, 0.95, shape).astype(self.dtype)
        elements = st.floats(0.0, 1.0, width=8 * self.dtype.itemsize)
        return self.data.draw(arrays(self.dtype, shape, elements=elements), label="unit values")


def seeded(seed):
    return np.random.default_rng(seed)


# ------------------------------------------------------------------------- nested arrays

def leaves(tree, path=()):
    """(path, array) for every array in a nested tuple/list (None entries skipped)."""
    if isinstance(tree, np.ndarray):
        yield path, tree
    elif isinstance(tree, (tuple, list)):
        for i, item in enumerate(tree):
            yield from leaves(item, path + (i,))


def at(tree, path):
    for i in path:
        tree = tree[i]
    return tree


def replaced(tree, path, value):
    """A copy of the nested tuple/list ``tree`` with the entry at ``path`` replaced."""
    if not path:
        return value
    items = list(tree)
    items[path[0]] = replaced(tree[path[0]], path[1:], value)
    return type(tree)(items)


def shapes_of(tree):
    """Arrays -> shape tuples, tuples and lists -> lists (None stays None)."""
    if tree is None:
        return None
    if isinstance(tree, np.ndarray):
        return tree.shape
    return [shapes_of(item) for item in tree]


def assert_tree_equal(got, want):
    assert shapes_of(got) == shapes_of(want)
    for (_, a), (_, b) in zip(leaves(got), leaves(want)):
        np.testing.assert_array_equal(a, b, strict=True)


def shape_texts(shape):
    """How an error message may spell ``shape``: numpy's "(3,)" or course_nn's "(3)"."""
    return {str(tuple(shape)), "(" + ", ".join(str(s) for s in shape) + ")"}


# ----------------------------------------------------------------------- layer registry

@dataclass
class Case:
    """One drawn example of a layer.

    make: builds a fresh layer; every call gives an identical one (same weights, same rng).
    args: the forward arguments; out: the output shapes (a shape tuple, or lists of them for
    (output, state) pairs); dtype: the dtype of every output array; back: the shapes backward
    returns (None: nothing, for Embedding); fixed: axis of args[0] -> size the layer requires;
    ndims: the numbers of dimensions args[0] may have (None: any); grad_state: which parts of
    a recurrent layer's final state get a gradient.
    """

    make: Callable[[], Module]
    args: tuple
    out: Any
    dtype: np.dtype
    back: Any
    fixed: dict = field(default_factory=dict)
    ndims: frozenset | None = None
    grad_state: str = "none"


@dataclass(frozen=True)
class LayerSpec:
    name: str
    cls: type
    draw: Callable  # (data, vals, pdtype) -> Case; pdtype is the parameters' dtype
    recurrent: bool = False
    stochastic: bool = False  # Dropout in training: checked against its mask, not numerically

    def __repr__(self):
        return self.name


def small(data, low=1, high=3, label=None):
    return data.draw(st.integers(low, high), label=label)


def any_shape(data, min_dims=1):
    return data.draw(array_shapes(min_dims=min_dims, max_dims=3, max_side=3), label="shape")


def result(x, pdtype):
    return np.result_type(x.dtype, pdtype)


def elementwise(factory, kinkfree=False):
    """An activation applied elementwise: any shape -> the same shape, the input's dtype.
    ``factory(data)`` draws the hyperparameters and returns the constructor."""
    def draw(data, vals, pdtype):
        make = factory(data)
        shape = any_shape(data)
        x = vals.kinkfree(shape) if kinkfree else vals(shape)
        return Case(make, (x,), shape, x.dtype, shape)
    return draw


def hyper(cls, **choices):
    """factory(data) -> constructor of ``cls`` with each keyword drawn from its choices."""
    def factory(data):
        kwargs = {k: data.draw(st.sampled_from(v), label=k) for k, v in choices.items()}
        return lambda: cls(**kwargs)
    return factory


def prelu_case(data, vals, pdtype):
    channels = data.draw(st.sampled_from([1, 2, 3]), label="num_parameters")
    slopes = data.draw(st.lists(st.floats(-0.5, 1.5), min_size=channels, max_size=channels))
    if vals.gradcheck:  # a slope of 1e-16 gives input gradients below the numerical noise
        slopes = [s if abs(s) > 0.05 else 0.25 for s in slopes]

    def make():
        layer = nn.PReLU(channels)
        layer.weight.data = np.array(slopes)
        return layer

    if channels == 1:
        shape = any_shape(data)
        fixed, ndims = {}, None
    else:
        shape = (small(data), channels) + any_shape(data, min_dims=0)[:2]
        fixed, ndims = {1: channels}, frozenset(range(2, 6))
    x = vals.kinkfree(shape)
    return Case(make, (x,), shape, result(x, F64), shape, fixed, ndims)  # the slopes are float64


def softmax_case(data, vals, pdtype):
    shape = any_shape(data)
    dim = data.draw(st.integers(-len(shape), len(shape) - 1), label="dim")
    x = vals(shape)
    return Case(lambda: nn.Softmax(dim), (x,), shape, x.dtype, shape)


def linear_case(data, vals, pdtype):
    n, i, o = small(data, 1, 4), small(data), small(data)
    bias, seed = data.draw(st.booleans()), data.draw(SEEDS)
    x = vals((n, i))
    return Case(lambda: nn.Linear(i, o, bias=bias, rng=seeded(seed), dtype=pdtype), (x,),
                (n, o), result(x, pdtype), (n, i), {1: i}, frozenset({2}))


def batchnorm_case(training):
    def draw(data, vals, pdtype):
        # training needs 2 samples; a gradient check 3 (with 2, x_hat is +-1 whatever x is,
        # and the gradient is too small for a relative-error check)
        n = small(data, 3 if vals.gradcheck else (2 if training else 1), 4)
        c, seed = small(data), data.draw(SEEDS)
        eps = data.draw(st.sampled_from([1e-5, 1e-3, 0.1]), label="eps")
        momentum = data.draw(st.sampled_from([0.0, 0.1, 1.0]), label="momentum")

        def make():
            r = seeded(seed)
            bn = nn.BatchNorm1d(c, eps=eps, momentum=momentum, dtype=pdtype)
            bn.weight.data = r.uniform(0.5, 1.5, c)
            bn.bias.data = r.standard_normal(c)
            if not training:
                bn.running_mean = r.standard_normal(c).astype(pdtype)
                bn.running_var = r.uniform(0.5, 2.0, c).astype(pdtype)
                bn.eval()
            return bn

        x = vals((n, c))
        return Case(make, (x,), (n, c), result(x, pdtype), (n, c), {1: c}, frozenset({2}))
    return draw


def batchnorm2d_case(training):
    def draw(data, vals, pdtype):
        h, w = small(data), small(data)
        # values per channel (N*H*W): training needs 2, a gradient check 3 (see batchnorm_case)
        need = 3 if vals.gradcheck else (2 if training else 1)
        n = small(data, -(-need // (h * w)), 3)
        c, seed = small(data), data.draw(SEEDS)
        eps = data.draw(st.sampled_from([1e-5, 1e-3, 0.1]), label="eps")
        momentum = data.draw(st.sampled_from([0.0, 0.1, 1.0]), label="momentum")
        affine = data.draw(st.booleans(), label="affine")

        def make():
            r = seeded(seed)
            bn = nn.BatchNorm2d(c, eps=eps, momentum=momentum, affine=affine, dtype=pdtype)
            if affine:
                bn.weight.data = r.uniform(0.5, 1.5, c)
                bn.bias.data = r.standard_normal(c)
            if not training:
                bn.running_mean = r.standard_normal(c).astype(pdtype)
                bn.running_var = r.uniform(0.5, 2.0, c).astype(pdtype)
                bn.eval()
            return bn

        x = vals((n, c, h, w))
        # without weight and bias, training normalizes with the batch's own statistics,
        # computed in x's dtype
        dtype = result(x, pdtype) if affine or not training else x.dtype
        return Case(make, (x,), x.shape, dtype, x.shape, {1: c}, frozenset({4}))
    return draw


def residual_mlp_case(data, vals, pdtype):
    n, d, h, seed = small(data), small(data), small(data), data.draw(SEEDS)

    def make():
        r = seeded(seed)
        return nn.Residual(nn.Sequential(nn.Linear(d, h, rng=r, dtype=pdtype), nn.Tanh(),
                                         nn.Linear(h, d, rng=r, dtype=pdtype)))

    x = vals((n, d))
    return Case(make, (x,), (n, d), result(x, pdtype), (n, d), {1: d}, frozenset({2}))


def residual_cnn_case(data, vals, pdtype):
    n, c, hw, seed = small(data, 2, 3), small(data, 1, 2), small(data, 2, 3), data.draw(SEEDS)

    def make():
        r = seeded(seed)
        return nn.Residual(nn.Sequential(
            nn.Conv2d(c, c, 3, padding=1, bias=False, rng=r, dtype=pdtype),
            nn.BatchNorm2d(c, dtype=pdtype), nn.Tanh()))

    x = vals((n, c, hw, hw))
    return Case(make, (x,), x.shape, result(x, pdtype), x.shape, {1: c}, frozenset({4}))


def dropout_case(training):
    def draw(data, vals, pdtype):
        p = data.draw(st.sampled_from([0.0, 0.2, 0.5, 1.0]), label="p")
        seed = data.draw(SEEDS)

        def make():
            layer = nn.Dropout(p, rng=seeded(seed))
            return layer if training else layer.eval()

        shape = any_shape(data)
        x = vals(shape)
        return Case(make, (x,), shape, x.dtype, shape)
    return draw


def conv_case(data, vals, pdtype):
    n, c, o = small(data, 1, 2), small(data, 1, 2), small(data, 1, 2)
    (kh, kw), (sh, sw) = (small(data), small(data)), (small(data, 1, 2), small(data, 1, 2))
    ph, pw = small(data, 0, 1), small(data, 0, 1)
    h = small(data, max(1, kh - 2 * ph), kh - 2 * ph + 3)
    w = small(data, max(1, kw - 2 * pw), kw - 2 * pw + 3)
    bias, seed = data.draw(st.booleans()), data.draw(SEEDS)
    out_hw = ((h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1)
    x = vals((n, c, h, w))

    def make():
        return nn.Conv2d(c, o, (kh, kw), stride=(sh, sw), padding=(ph, pw), bias=bias,
                         rng=seeded(seed), dtype=pdtype)

    return Case(make, (x,), (n, o) + out_hw, result(x, pdtype), x.shape, {1: c}, frozenset({4}))


def pool_case(cls):
    def draw(data, vals, pdtype):
        n, c = small(data, 1, 2), small(data, 1, 2)
        kernel = (small(data), small(data))
        stride = data.draw(st.none() | st.tuples(st.integers(1, 3), st.integers(1, 3)))
        padding = (small(data, 0, kernel[0] // 2), small(data, 0, kernel[1] // 2))
        hw = tuple(small(data, max(1, k - 2 * p), k - 2 * p + 3) for k, p in zip(kernel, padding))
        s = kernel if stride is None else stride
        out_hw = tuple((size + 2 * p - k) // st_ + 1
                       for size, k, st_, p in zip(hw, kernel, s, padding))
        x = vals.distinct((n, c) + hw) if cls is nn.MaxPool2d else vals((n, c) + hw)
        return Case(lambda: cls(kernel, stride, padding), (x,), (n, c) + out_hw, x.dtype, x.shape,
                    ndims=frozenset({4}))
    return draw


def flatten_case(data, vals, pdtype):
    shape = (small(data),) + any_shape(data)
    x = vals(shape)
    return Case(nn.Flatten, (x,), (shape[0], math.prod(shape[1:])), x.dtype, shape,
                ndims=frozenset(range(2, 6)))


def recurrent_case(cls, **kwargs):
    lstm = cls is nn.LSTM

    def draw(data, vals, pdtype):
        n, t, d, h = small(data), small(data), small(data), small(data)
        seed = data.draw(SEEDS)
        x = vals((n, t, d))
        if data.draw(st.booleans(), label="initial state"):
            state = (vals((n, h)), vals((n, h))) if lstm else vals((n, h))
            args = (x, state)
        else:
            args = (x,)
        modes = ["none", "both", "h", "c"] if lstm else ["none", "both"]
        grad_state = data.draw(st.sampled_from(modes), label="grad_state")
        state_shapes = [(n, h), (n, h)] if lstm else (n, h)
        return Case(lambda: cls(d, h, rng=seeded(seed), dtype=pdtype, **kwargs), args,
                    [(n, t, h), state_shapes], result(x, pdtype), [(n, t, d), state_shapes],
                    {2: d}, frozenset({3}), grad_state)
    return draw


def embedding_case(data, vals, pdtype):
    num, dim, seed = small(data, 1, 5), small(data), data.draw(SEEDS)
    shape = any_shape(data)[:2]
    id_dtype = data.draw(st.sampled_from([np.int64, np.int32, np.uint8]), label="id dtype")
    ids = data.draw(arrays(id_dtype, shape, elements=st.integers(0, num - 1)), label="ids")
    return Case(lambda: nn.Embedding(num, dim, rng=seeded(seed), dtype=pdtype), (ids,),
                shape + (dim,), np.dtype(pdtype), None)


def mlp_case(data, vals, pdtype):
    n, i, h, o, seed = small(data, 3, 4), small(data), small(data), small(data), data.draw(SEEDS)

    def make():
        r = seeded(seed)
        # no bias before BatchNorm1d (the batch mean removes it: its gradient is exactly 0)
        return nn.Sequential(nn.Linear(i, h, bias=False, rng=r, dtype=pdtype),
                             nn.BatchNorm1d(h, dtype=pdtype),
                             nn.GELU(), nn.Linear(h, o, rng=r, dtype=pdtype), nn.Softmax())

    x = vals((n, i))
    return Case(make, (x,), (n, o), result(x, pdtype), (n, i), {1: i}, frozenset({2}))


def cnn_case(data, vals, pdtype):
    n, c, o, k, p = small(data, 1, 2), small(data, 1, 2), small(data, 1, 2), small(data), small(data, 0, 1)
    h = small(data, max(1, k - 2 * p + 1), k - 2 * p + 4)  # convolution output >= 2
    w = small(data, max(1, k - 2 * p + 1), k - 2 * p + 4)
    ho, wo = h + 2 * p - k + 1, w + 2 * p - k + 1
    seed = data.draw(SEEDS)

    def make():
        r = seeded(seed)
        return nn.Sequential(nn.Conv2d(c, o, k, padding=p, rng=r, dtype=pdtype), nn.Tanh(),
                             nn.AvgPool2d(2), nn.Flatten(),
                             nn.Linear(o * (ho // 2) * (wo // 2), 2, rng=r, dtype=pdtype))

    x = vals((n, c, h, w))
    return Case(make, (x,), (n, 2), result(x, pdtype), x.shape, {1: c}, frozenset({4}))


def empty_sequential_case(data, vals, pdtype):
    shape = any_shape(data)
    x = vals(shape)
    return Case(nn.Sequential, (x,), shape, x.dtype, shape)


LAYERS = [
    LayerSpec("Linear", nn.Linear, linear_case),
    LayerSpec("Identity", nn.Identity, elementwise(lambda data: nn.Identity)),
    LayerSpec("Sigmoid", nn.Sigmoid, elementwise(lambda data: nn.Sigmoid)),
    LayerSpec("Tanh", nn.Tanh, elementwise(lambda data: nn.Tanh)),
    LayerSpec("ReLU", nn.ReLU, elementwise(lambda data: nn.ReLU, kinkfree=True)),
    LayerSpec("LeakyReLU", nn.LeakyReLU,
              elementwise(hyper(nn.LeakyReLU, negative_slope=[0.0, 0.01, 0.3, 2.0]), kinkfree=True)),
    LayerSpec("PReLU", nn.PReLU, prelu_case),
    LayerSpec("ELU", nn.ELU, elementwise(hyper(nn.ELU, alpha=[0.5, 1.0, 2.0]), kinkfree=True)),
    LayerSpec("GELU", nn.GELU, elementwise(lambda data: nn.GELU)),
    LayerSpec("GELU_tanh", nn.GELU, elementwise(hyper(nn.GELU, approximate=["tanh"]))),
    LayerSpec("SiLU", nn.SiLU, elementwise(lambda data: nn.SiLU)),
    LayerSpec("Swish", nn.Swish, elementwise(hyper(nn.Swish, beta=[0.0, 0.5, 1.0, 3.0]))),
    LayerSpec("Softmax", nn.Softmax, softmax_case),
    LayerSpec("BatchNorm1d_train", nn.BatchNorm1d, batchnorm_case(training=True)),
    LayerSpec("BatchNorm1d_eval", nn.BatchNorm1d, batchnorm_case(training=False)),
    LayerSpec("BatchNorm2d_train", nn.BatchNorm2d, batchnorm2d_case(training=True)),
    LayerSpec("BatchNorm2d_eval", nn.BatchNorm2d, batchnorm2d_case(training=False)),
    LayerSpec("Residual_mlp", nn.Residual, residual_mlp_case),
    LayerSpec("Residual_cnn", nn.Residual, residual_cnn_case),
    LayerSpec("Dropout_train", nn.Dropout, dropout_case(training=True), stochastic=True),
    LayerSpec("Dropout_eval", nn.Dropout, dropout_case(training=False)),
    LayerSpec("Conv2d", nn.Conv2d, conv_case),
    LayerSpec("MaxPool2d", nn.MaxPool2d, pool_case(nn.MaxPool2d)),
    LayerSpec("AvgPool2d", nn.AvgPool2d, pool_case(nn.AvgPool2d)),
    LayerSpec("Flatten", nn.Flatten, flatten_case),
    LayerSpec("RNN_tanh", nn.RNN, recurrent_case(nn.RNN), recurrent=True),
    LayerSpec("RNN_relu", nn.RNN, recurrent_case(nn.RNN, nonlinearity="relu"), recurrent=True),
    LayerSpec("LSTM", nn.LSTM, recurrent_case(nn.LSTM), recurrent=True),
    LayerSpec("GRU", nn.GRU, recurrent_case(nn.GRU), recurrent=True),
    LayerSpec("Embedding", nn.Embedding, embedding_case),
    LayerSpec("Sequential_mlp", nn.Sequential, mlp_case),
    LayerSpec("Sequential_cnn", nn.Sequential, cnn_case),
    LayerSpec("Sequential_empty", nn.Sequential, empty_sequential_case),
]

over_layers = pytest.mark.parametrize("spec", LAYERS, ids=[s.name for s in LAYERS])


def draw_case(spec, data, source="hypothesis"):
    """A case of ``spec`` with input and parameter dtypes drawn (float64 for gradient checks)."""
    xdtype = F64 if source == "rng" else data.draw(FLOAT_DTYPES, label="input dtype")
    pdtype = F64 if source == "rng" else data.draw(FLOAT_DTYPES, label="parameter dtype")
    return spec.draw(data, Values(data, xdtype, source), pdtype)


def fresh_args(case):
    return copy.deepcopy(case.args)


def draw_grads(case, spec, out, data):
    """backward's arguments for the output ``out``: grad_out (and grad_state) in its dtype."""
    rng = seeded(data.draw(SEEDS, label="grad seed"))

    def like(a):
        return rng.standard_normal(a.shape).astype(a.dtype)

    if not spec.recurrent:
        return (like(out),)
    grad, state = like(out[0]), out[1]
    if case.grad_state == "none":
        return (grad,)
    if isinstance(state, tuple):  # LSTM: (dL/dh_T, dL/dc_T), either may be None
        return (grad, (like(state[0]) if case.grad_state in ("both", "h") else None,
                       like(state[1]) if case.grad_state in ("both", "c") else None))
    return (grad, like(state))


def snapshot(module):
    """Everything observable of a layer: parameters and gradients, public arrays (running
    statistics), random generators' states and training flags of every module inside it."""
    state = {}
    for name, p in module.named_parameters():
        state[f"{name}.data"] = p.data.copy()
        state[f"{name}.grad"] = p.grad.copy()
    for i, m in enumerate(module.modules()):
        state[f"{i}.training"] = m.training
        for key, value in vars(m).items():
            if isinstance(value, np.ndarray) and not key.startswith("_"):
                state[f"{i}.{key}"] = value.copy()
            elif isinstance(value, np.random.Generator):
                state[f"{i}.{key}"] = copy.deepcopy(value.bit_generator.state)
    return state


def assert_same_state(got, want):
    assert got.keys() == want.keys()
    for key, value in want.items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(got[key], value, strict=True, err_msg=key)
        else:
            assert got[key] == value, key


def assert_left_as_before(module, twin, before, grads):
    """After a failed call: nothing observable changed, and the module can still do the
    backward it was armed for (``grads``: its arguments, also given to the twin that ran the
    same good forward) with the twin's results; ``grads=None``: no forward had run, so
    backward still refuses."""
    assert_same_state(snapshot(module), before)
    if grads is None:
        with pytest.raises(RuntimeError, match="before forward"):
            module.backward(np.zeros(1))
    else:
        assert_tree_equal(module.backward(*copy.deepcopy(grads)), twin.backward(*grads))
        assert_same_state(snapshot(module), snapshot(twin))


def armed_pair(case, spec, data):
    """A module and its twin, both after the same good forward (or neither: grads None)."""
    module, twin = case.make(), case.make()
    if not data.draw(st.booleans(), label="armed"):
        return module, twin, None
    out = module(*fresh_args(case))
    twin(*fresh_args(case))
    return module, twin, draw_grads(case, spec, out, data)


def poisoned(data, tree, path, array):
    """``tree`` with a copy of ``array`` (at ``path``) holding NaN/inf at 1-3 random positions."""
    bad = array.copy()
    for _ in range(data.draw(st.integers(1, 3), label="how many")):
        bad.flat[data.draw(st.integers(0, bad.size - 1), label="position")] = data.draw(NON_FINITE)
    return replaced(tree, path, bad)


# ----------------------------------------------------------- 0. the registry is complete

def _exported(base):
    return {obj for obj in (getattr(nn, name) for name in nn.__all__)
            if isinstance(obj, type) and issubclass(obj, base) and obj is not base}


def test_registry_covers_every_public_class():
    assert _exported(Module) - {s.cls for s in LAYERS} == set()
    assert _exported(Loss) - {s.cls for s in LOSSES} == set()
    optimizers = {obj for obj in vars(optim).values() if isinstance(obj, type)
                  and issubclass(obj, optim.Optimizer) and obj is not optim.Optimizer}
    assert optimizers - {s.cls for s in OPTIMIZERS} == set()


# ------------------------------------------------------------------- 1. valid input

@over_layers
@FAST
@given(data=st.data())
def test_valid_input_gives_the_documented_output_and_gradients(spec, data):
    case = draw_case(spec, data)
    module = case.make()
    out = module(*fresh_args(case))
    assert shapes_of(out) == case.out
    for _, leaf in leaves(out):
        assert leaf.dtype == case.dtype
        assert np.all(np.isfinite(leaf))
    back = module.backward(*draw_grads(case, spec, out, data))
    assert shapes_of(back) == case.back
    for _, leaf in leaves(back):
        assert leaf.dtype.kind == "f" and np.all(np.isfinite(leaf))
    for _, p in module.named_parameters():
        assert p.grad.shape == p.data.shape and p.grad.dtype == p.data.dtype
        assert np.all(np.isfinite(p.grad))


def numerical_check(module, args, grads):
    """({name: (backward's gradient, course_nn.numerical_gradient's)}, scale) for every float
    input array in ``args`` (x and an initial state) and every parameter, with the loss
    L = sum over the outputs of output * grad (grad_state included for recurrent layers);
    scale: the size of the numbers L is summed from, sum |output| |grad| + sum |grad|."""
    grads = list(grads)
    paired = list(leaves(grads))

    def outputs():
        out = module(*args)
        return out if isinstance(out, tuple) else (out,)

    def loss(_=None):
        out = outputs()
        return float(sum(np.sum(at(out, path) * g) for path, g in paired))

    out = outputs()
    scale = sum(float(np.sum(np.abs(at(out, path) * g)) + np.sum(np.abs(g))) for path, g in paired)
    module.zero_grad()
    back = module.backward(*grads)
    back = back if isinstance(back, tuple) else (back,)
    analytic = {name: p.grad.copy() for name, p in module.named_parameters()}
    pairs = {}
    for path, x in leaves(args):
        if x.dtype.kind == "f":
            pairs[f"input{list(path)}"] = (at(back, path), nn.numerical_gradient(loss, x))
    for name, p in module.named_parameters():
        pairs[name] = (analytic[name], nn.numerical_gradient(loss, p.data))
    return pairs, scale


def scaled_errors(pairs, scale):
    """nn.rel_error's elementwise relative error, except that an entry below 1e-3 * scale
    is measured against 1e-3 * scale (so an error below 1e-10 * scale passes). The four-point
    stencil's rounding noise is about eps * scale / h = 2e-12 * scale in absolute terms,
    which is a large relative error for an entry that is small by chance (or zero but for
    rounding, as a BatchNorm input's or a tiny PReLU slope's); a wrong formula still shows
    as an error of order 1 on the entries that are not small."""
    floor = max(1e-3 * scale, 1e-300)
    return {name: float(np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), floor),
                               initial=0.0))
            for name, (a, b) in pairs.items()}


def assert_gradients_check(errors, recheck):
    """``errors``: course_nn's check (rel_error per array) must be below GRAD_TOL; where it is
    not, ``recheck()`` -> (pairs, scale) must pass ``scaled_errors``."""
    if max(errors.values()) < GRAD_TOL:
        return
    scaled = scaled_errors(*recheck())
    assert max(scaled.values()) < GRAD_TOL, (errors, scaled)


def relu_rnn_margin(rnn, x, h0):
    """Smallest |pre-activation| of a ReLU RNN: the distance from its kinks."""
    h = np.zeros((x.shape[0], rnn.hidden_size)) if h0 is None else h0
    margin = np.inf
    for t in range(x.shape[1]):
        a = (x[:, t] @ rnn.weight_ih.data.T + rnn.bias_ih.data + h @ rnn.weight_hh.data.T
             + rnn.bias_hh.data)
        margin = min(margin, float(np.min(np.abs(a))))
        h = np.maximum(a, 0.0)
    return margin


@over_layers
@SLOW
@given(data=st.data())
def test_float64_gradient_check(spec, data):
    case = draw_case(spec, data, source="rng")
    module = case.make()
    args = fresh_args(case)
    if spec.name == "RNN_relu":
        assume(relu_rnn_margin(module, args[0], args[1] if len(args) > 1 else None) > 1e-3)
    if spec.stochastic and 0 < module.p < 1:  # a random mask: dx = g * mask, mask = out / x
        x = args[0]
        assume(np.all(x != 0))
        out = module(x)
        g = draw_grads(case, spec, out, data)[0]
        np.testing.assert_allclose(module.backward(g), g * out / x, rtol=1e-12)
        return
    grads = draw_grads(case, spec, case.make()(*fresh_args(case)), data)

    def recheck():
        return numerical_check(module, args, grads)

    if spec.recurrent or spec.cls is nn.Embedding:  # states, grad_state, integer ids
        assert_gradients_check({"not run": np.inf}, recheck)
    else:
        assert_gradients_check(
            nn.check_module_gradients(module, args[0], grad_out=grads[0]), recheck)


# --------------------------------------------------------------- 2. NaN or inf anywhere

@over_layers
@FAST
@given(data=st.data())
def test_nan_or_inf_in_an_input_raises_and_changes_nothing(spec, data):
    case = draw_case(spec, data)
    module, twin, grads = armed_pair(case, spec, data)
    before = snapshot(module)
    path, array = data.draw(st.sampled_from(list(leaves(case.args))), label="poisoned input")
    if array.dtype.kind != "f":  # Embedding's token ids: a float array is refused for its dtype
        bad_args = poisoned(data, case.args, path, array.astype(np.float64))
        with pytest.raises(TypeError, match="expected integer token ids, got dtype float64"):
            module(*bad_args)
    else:
        bad_args = poisoned(data, case.args, path, array)
        with pytest.raises(ValueError, match="expected finite values, got [1-3] NaN or inf"):
            module(*bad_args)
    assert_left_as_before(module, twin, before, grads)


@over_layers
@FAST
@given(data=st.data())
def test_nan_or_inf_in_grad_out_raises_and_changes_nothing(spec, data):
    case = draw_case(spec, data)
    module, twin = case.make(), case.make()
    out = module(*fresh_args(case))
    twin(*fresh_args(case))
    grads = draw_grads(case, spec, out, data)
    before = snapshot(module)
    path, array = data.draw(st.sampled_from(list(leaves(grads))), label="poisoned gradient")
    with pytest.raises(ValueError, match="expected finite values, got [1-3] NaN or inf"):
        module.backward(*poisoned(data, grads, path, array))
    assert_left_as_before(module, twin, before, grads)


# ------------------------------------------------------- 3. wrong dtype, shape or size

BAD_DTYPES = ["int64", "bool", "complex128", "object", "str"]


def retyped(array, kind):
    if kind == "str":
        return array.astype(str)
    if kind == "bool":
        return array != 0
    return array.astype(kind)


@over_layers
@FAST
@given(data=st.data())
def test_wrong_dtype_raises_type_error_and_changes_nothing(spec, data):
    case = draw_case(spec, data)
    module, twin, grads = armed_pair(case, spec, data)
    in_backward = grads is not None and data.draw(st.booleans(), label="in backward")
    tree = grads if in_backward else case.args
    path, array = data.draw(st.sampled_from(list(leaves(tree))), label="retyped array")
    kinds = BAD_DTYPES if array.dtype.kind == "f" else ["float64"] + BAD_DTYPES[1:]
    bad = retyped(array, data.draw(st.sampled_from(kinds), label="bad dtype"))
    before = snapshot(module)
    with pytest.raises(TypeError) as err:
        if in_backward:
            module.backward(*replaced(grads, path, bad))
        else:
            module(*replaced(case.args, path, bad))
    assert "expected" in str(err.value) and f"dtype {bad.dtype}" in str(err.value)
    assert_left_as_before(module, twin, before, grads)


def _bad_shapes(case, spec, data):
    """(what, forward args or None, backward grads or None, shape named in the error, size
    the error must name or None) for one wrong shape drawn from those that apply."""
    x = case.args[0]
    kinds = ["empty"]
    if case.ndims is not None:
        kinds.append("ndim")
    if case.fixed:
        kinds.append("feature")
    if spec.recurrent and len(case.args) > 1:
        kinds.append("state")
    kind = data.draw(st.sampled_from(kinds), label="wrong shape")
    if kind == "empty":
        axis = data.draw(st.integers(0, x.ndim - 1), label="empty axis")
        shape = x.shape[:axis] + (0,) + x.shape[axis + 1:]
        return kind, replaced(case.args, (0,), np.zeros(shape, x.dtype)), shape, None
    if kind == "ndim":
        ndim = data.draw(st.sampled_from(sorted(set(range(6)) - case.ndims)), label="ndim")
        shape = x.shape[:ndim] + (1,) * (ndim - x.ndim)
        return kind, replaced(case.args, (0,), np.ones(shape, x.dtype)), shape, None
    if kind == "feature":
        axis, size = data.draw(st.sampled_from(sorted(case.fixed.items())), label="axis")
        wrong = size + data.draw(st.sampled_from([-1, 1, 2]) if size > 1 else st.sampled_from([1, 2]))
        shape = x.shape[:axis] + (wrong,) + x.shape[axis + 1:]
        return kind, replaced(case.args, (0,), np.ones(shape, x.dtype)), shape, size
    path, state = data.draw(st.sampled_from(list(leaves(case.args[1], (1,)))), label="state")
    axis = data.draw(st.integers(0, 1), label="state axis")
    shape = state.shape[:axis] + (state.shape[axis] + 1,) + state.shape[axis + 1:]
    return kind, replaced(case.args, path, np.ones(shape, state.dtype)), shape, state.shape[axis]


@over_layers
@FAST
@given(data=st.data())
def test_wrong_shape_or_empty_batch_raises_value_error_and_changes_nothing(spec, data):
    case = draw_case(spec, data)
    module, twin, grads = armed_pair(case, spec, data)
    before = snapshot(module)
    if grads is not None and data.draw(st.booleans(), label="in backward"):
        g = grads[0]  # grad_out of the wrong shape: an extra axis or one size off
        if data.draw(st.booleans(), label="extra axis"):
            shape = g.shape + (1,)
        else:
            axis = data.draw(st.integers(0, g.ndim - 1), label="axis")
            shape = g.shape[:axis] + (g.shape[axis] + 1,) + g.shape[axis + 1:]
        with pytest.raises(ValueError) as err:
            module.backward(*replaced(grads, (0,), np.ones(shape, g.dtype)))
        message = str(err.value)
        assert any(text in message for text in shape_texts(g.shape)), message  # expected
        assert any(text in message for text in shape_texts(shape)), message    # and got
    else:
        kind, bad_args, shape, size = _bad_shapes(case, spec, data)
        with pytest.raises(ValueError) as err:
            module(*bad_args)
        message = str(err.value)
        assert "expected" in message and any(t in message for t in shape_texts(shape)), message
        if size is not None:  # the size the layer requires is named
            assert str(size) in message.split("got")[0], message
    assert_left_as_before(module, twin, before, grads)


# ------------------------------------------------------------------ 4. aliasing

def scribble(data, tree, label):
    """Write random values (NaN and inf included) at random positions of every array in
    ``tree``, in place, as a caller reusing its buffers would."""
    for _, array in leaves(tree):
        if array.dtype.kind == "f":
            values = st.floats(allow_nan=True, allow_infinity=True, width=8 * array.itemsize)
        else:
            values = st.integers(0, 100)
        for _ in range(data.draw(st.integers(1, 4), label=f"{label} writes")):
            array.flat[data.draw(st.integers(0, array.size - 1), label=label)] = data.draw(values)


@over_layers
@FAST
@given(data=st.data())
def test_writing_into_inputs_and_outputs_does_not_change_the_gradients(spec, data):
    case = draw_case(spec, data)
    module, twin = case.make(), case.make()
    args = fresh_args(case)
    out = module(*args)
    twin_out = twin(*fresh_args(case))
    kept_out = copy.deepcopy(twin_out)
    scribble(data, args, "input")   # the caller reuses its input buffers before backward
    scribble(data, out, "output")   # ... and writes into what forward returned
    grads = draw_grads(case, spec, twin_out, data)
    my_grads = copy.deepcopy(grads)
    back = module.backward(*my_grads)
    assert_tree_equal(back, twin.backward(*grads))
    assert_same_state(snapshot(module), snapshot(twin))
    scribble(data, my_grads, "grad_out")  # after backward: neither grad_out nor the returned
    scribble(data, back, "dx")            # gradients are kept inside the parameters' .grad
    assert_same_state(snapshot(module), snapshot(twin))
    twin(*fresh_args(case))  # a later forward does not write into an earlier output
    assert_tree_equal(twin_out, kept_out)


# -------------------------------------------------------------- 5. call order

@over_layers
@FAST
@given(data=st.data())
def test_backward_needs_a_forward_before_every_call(spec, data):
    case = draw_case(spec, data)
    module, twin = case.make(), case.make()
    before = snapshot(module)
    with pytest.raises(RuntimeError, match="before forward"):
        module.backward(np.zeros(1))
    assert_same_state(snapshot(module), before)
    out = module(*fresh_args(case))
    twin(*fresh_args(case))
    grads = draw_grads(case, spec, out, data)
    assert_tree_equal(module.backward(*copy.deepcopy(grads)), twin.backward(*grads))
    with pytest.raises(RuntimeError, match="twice after one forward"):
        module.backward(*copy.deepcopy(grads))
    if module.parameters():
        with pytest.raises(RuntimeError, match="twice after one forward"):
            module.backward_params(grads[0])
    assert_same_state(snapshot(module), snapshot(twin))
    # a new forward arms it again: the twin, which made no failed calls, gives the same
    assert_tree_equal(module(*fresh_args(case)), twin(*fresh_args(case)))
    assert_tree_equal(module.backward(*copy.deepcopy(grads)), twin.backward(*grads))
    assert_same_state(snapshot(module), snapshot(twin))


# ------------------------------------------------------------------------ loss registry

@dataclass
class LossCase:
    """make(reduction) builds the loss; per_sample: reduction 'none' gives one loss per
    sample (classification, shape (N,)) rather than one per element (pred's shape)."""

    make: Callable[[str], Loss]
    pred: np.ndarray
    target: np.ndarray
    per_sample: bool = False

    @property
    def none_shape(self):
        return self.pred.shape[:1] if self.per_sample else self.pred.shape


@dataclass(frozen=True)
class LossSpec:
    name: str
    cls: type
    draw: Callable  # (data, vals) -> LossCase
    classification: bool = False
    float_target: bool = True  # regression targets are floats (NaN/inf can hide in them)

    def __repr__(self):
        return self.name


def regression(make, target="any"):
    """Same-shape pred and target. target: "any", "unit" (in [0, 1]; as 0/1 ints too),
    "apart" (|pred - target| >= 0.1 in gradient checks: L1's kink), or "huber" (|d| kept 0.05
    away from delta, where the second derivative jumps)."""
    def draw(data, vals):
        shape = any_shape(data)
        kwargs = make.draw(data)
        pred = vals.unit(shape) if make.probabilities else vals(shape)
        if target == "unit":
            if data.draw(st.booleans(), label="integer target"):
                t = data.draw(arrays(np.int64, shape, elements=st.integers(0, 1)))
            else:
                t = vals.unit(shape)
        elif target == "apart":
            t = pred - vals.kinkfree(shape)
        elif target == "huber" and vals.gradcheck:
            delta = kwargs["delta"]
            u, sign = vals.rng.uniform(0.05, 1.0, shape), vals.rng.choice([-1.0, 1.0], shape)
            size = np.where(vals.rng.random(shape) < 0.5, u * (delta - 0.05), delta + u)
            t = pred - sign * size
        else:
            t = vals(shape)
        return LossCase(lambda reduction: make.cls(reduction=reduction, **kwargs), pred, t)
    return draw


@dataclass(frozen=True)
class Maker:
    cls: type
    choices: dict = field(default_factory=dict)
    probabilities: bool = False  # pred in [0, 1]

    def draw(self, data):
        return {k: data.draw(st.sampled_from(v), label=k) for k, v in self.choices.items()}


def classification(cls, **choices):
    def draw(data, vals):
        n, c = small(data, 1, 4), small(data, 1, 4)
        kwargs = {k: data.draw(st.sampled_from(v), label=k) for k, v in choices.items()}
        pred = vals((n, c))
        label_dtype = data.draw(st.sampled_from([np.int64, np.int32, np.uint8]), label="labels")
        labels = data.draw(arrays(label_dtype, (n,), elements=st.integers(0, c - 1)))
        if vals.gradcheck and cls is nn.MulticlassHingeLoss:  # margins away from the kink at 0
            margins = pred - pred[np.arange(n), labels][:, None] + kwargs["margin"]
            margins[np.arange(n), labels] = 1.0
            assume(np.min(np.abs(margins)) > 1e-3)
        return LossCase(lambda reduction: cls(reduction=reduction, **kwargs), pred, labels,
                        per_sample=True)
    return draw


LOSSES = [
    LossSpec("MSELoss", nn.MSELoss, regression(Maker(nn.MSELoss))),
    LossSpec("MSELoss_half", nn.MSELoss, regression(Maker(nn.MSELoss, {"half": [True]}))),
    LossSpec("L1Loss", nn.L1Loss, regression(Maker(nn.L1Loss), target="apart")),
    LossSpec("MAELoss", nn.MAELoss, regression(Maker(nn.MAELoss), target="apart")),
    LossSpec("HuberLoss", nn.HuberLoss,
             regression(Maker(nn.HuberLoss, {"delta": [0.5, 1.0, 2.0]}), target="huber")),
    LossSpec("BCELoss", nn.BCELoss, regression(Maker(nn.BCELoss, probabilities=True), "unit")),
    LossSpec("BCEWithLogitsLoss", nn.BCEWithLogitsLoss,
             regression(Maker(nn.BCEWithLogitsLoss), "unit")),
    LossSpec("CrossEntropyLoss", nn.CrossEntropyLoss, classification(nn.CrossEntropyLoss),
             classification=True, float_target=False),
    LossSpec("MulticlassHingeLoss", nn.MulticlassHingeLoss,
             classification(nn.MulticlassHingeLoss, margin=[0.0, 0.5, 1.0]),
             classification=True, float_target=False),
]
REDUCTIONS = ("mean", "sum", "none")

over_losses = pytest.mark.parametrize("spec", LOSSES, ids=[s.name for s in LOSSES])


def draw_loss_case(spec, data, source="hypothesis"):
    dtype = F64 if source == "rng" else data.draw(FLOAT_DTYPES, label="pred dtype")
    return spec.draw(data, Values(data, dtype, source))


# ------------------------------------------------------------------------ 7. losses

@over_losses
@FAST
@given(data=st.data())
def test_loss_values_and_reductions_are_consistent(spec, data):
    case = draw_loss_case(spec, data)
    values, grads = {}, {}
    for reduction in REDUCTIONS:
        loss = case.make(reduction)
        values[reduction] = loss(case.pred.copy(), case.target.copy())
        grads[reduction] = loss.backward()
        assert grads[reduction].shape == case.pred.shape
        assert grads[reduction].dtype == case.pred.dtype
        assert np.all(np.isfinite(grads[reduction]))
    none = values["none"]
    assert none.shape == case.none_shape and none.dtype == case.pred.dtype
    assert np.all(np.isfinite(none)) and np.all(none >= 0)
    for reduction in ("mean", "sum"):
        assert isinstance(values[reduction], float) and math.isfinite(values[reduction])
    rtol = 1e-5 if case.pred.dtype == F32 else 1e-12
    count = none.size if not case.per_sample else case.pred.shape[0]
    assert values["sum"] == pytest.approx(float(none.sum()), rel=rtol, abs=1e-30)
    assert values["mean"] == pytest.approx(float(none.mean()), rel=rtol, abs=1e-30)
    np.testing.assert_array_equal(grads["none"], grads["sum"])  # 'none': the sum's gradient
    np.testing.assert_allclose(grads["mean"], grads["sum"] / count, rtol=rtol, atol=0)


def loss_gradient_pairs(loss, pred, target):
    """({"pred": (backward, numerical gradient)}, scale of the numbers the loss works with)."""
    value = loss(pred, target)
    numeric = nn.numerical_gradient(lambda p: loss(p, target), pred.copy())
    scale = abs(value) + float(np.sum(np.abs(pred))) + float(np.sum(np.abs(target)))
    return {"pred": (loss.backward(), numeric)}, scale


@over_losses
@SLOW
@given(data=st.data())
def test_loss_float64_gradient_check(spec, data):
    case = draw_loss_case(spec, data, source="rng")
    for reduction in ("mean", "sum"):
        loss = case.make(reduction)
        assert_gradients_check({"pred": nn.check_loss_gradient(loss, case.pred, case.target)},
                               functools.partial(loss_gradient_pairs, loss, case.pred, case.target))


def _bad_loss_input(spec, case, data):
    """(pred, target, error type, regex) for one bad input drawn from those that apply."""
    pred, target = case.pred, case.target
    kinds = ["shape", "nan_pred", "pred_dtype", "empty"]
    if spec.float_target:
        kinds += ["nan_target", "target_dtype"]
    if spec.classification:
        kinds += ["label_range", "float_labels", "pred_ndim"]
    if spec.cls in (nn.BCELoss, nn.BCEWithLogitsLoss):
        kinds += ["target_range"]
    if spec.cls is nn.BCELoss:
        kinds += ["pred_range"]
    kind = data.draw(st.sampled_from(kinds), label="bad input")

    def at_random(array, values):
        bad = array.astype(np.result_type(array.dtype, np.float32)) if array.dtype.kind != "f" \
            else array.copy()
        bad.flat[data.draw(st.integers(0, bad.size - 1), label="position")] = data.draw(values)
        return bad

    if kind == "shape":
        if spec.classification:
            shape = data.draw(st.sampled_from([(target.size + 1,), (target.size, 1), ()]))
        else:
            axis = data.draw(st.integers(0, target.ndim), label="axis")
            shape = (target.shape + (1,) if axis == target.ndim else
                     target.shape[:axis] + (target.shape[axis] + 1,) + target.shape[axis + 1:])
        bad = np.resize(target, shape)
        return pred, bad, ValueError, r"target: expected .*shape.*" + re.escape(str(shape))
    if kind == "nan_pred":
        return at_random(pred, NON_FINITE), target, ValueError, "pred: expected finite values"
    if kind == "nan_target":
        return pred, at_random(target, NON_FINITE), ValueError, "target: expected finite values"
    if kind in ("pred_dtype", "target_dtype"):
        bad_kinds = BAD_DTYPES if kind == "pred_dtype" else ["complex128", "object", "str"]
        bad_kind = data.draw(st.sampled_from(bad_kinds), label="bad dtype")
        if kind == "pred_dtype":
            return retyped(pred, bad_kind), target, TypeError, "pred: expected a float array"
        return pred, retyped(target, bad_kind), TypeError, "target: expected a float array"
    if kind == "empty":
        return (pred[:0], target[:0], ValueError,
                r"pred: expected a non-empty array, got shape \(0")
    if kind == "label_range":
        c = pred.shape[1]
        wrong = data.draw(st.sampled_from([c, c + 3, -1]) if target.dtype.kind == "i"
                          else st.sampled_from([c, c + 3]), label="label")
        bad = target.copy()
        bad[data.draw(st.integers(0, bad.size - 1))] = wrong
        return pred, bad, ValueError, rf"target: expected labels in \[0, {c - 1}\]"
    if kind == "float_labels":
        return pred, target.astype(np.float64), TypeError, "target: expected integer class labels"
    if kind == "pred_ndim":
        bad = pred[:, 0] if data.draw(st.booleans()) else pred[..., None]
        return bad, target, ValueError, r"pred: expected shape \(N, C\)"
    if kind == "target_range":
        bad = at_random(target, st.sampled_from([-0.5, 1.5, 7.0]))
        return pred, bad, ValueError, r"target: expected values in \[0, 1\]"
    bad = at_random(pred, st.sampled_from([-0.5, 1.5, 7.0]))
    return bad, target, ValueError, r"pred: expected probabilities in \[0, 1\]"


@over_losses
@FAST
@given(data=st.data())
def test_bad_loss_input_raises_and_keeps_the_previous_backward(spec, data):
    case = draw_loss_case(spec, data)
    loss = case.make(data.draw(st.sampled_from(REDUCTIONS), label="reduction"))
    called = data.draw(st.booleans(), label="called before")
    if called:
        loss(case.pred.copy(), case.target.copy())
        before = loss.backward()
    pred, target, error, pattern = _bad_loss_input(spec, case, data)
    with pytest.raises(error, match=pattern):
        loss(pred, target)
    if called:
        np.testing.assert_array_equal(loss.backward(), before, strict=True)
    else:
        with pytest.raises(RuntimeError, match="backward called before the loss was computed"):
            loss.backward()


@over_losses
@FAST
@given(data=st.data())
def test_writing_into_loss_inputs_and_results_does_not_change_backward(spec, data):
    case = draw_loss_case(spec, data)
    reduction = data.draw(st.sampled_from(REDUCTIONS), label="reduction")
    loss, twin = case.make(reduction), case.make(reduction)
    pred, target = case.pred.copy(), case.target.copy()
    value = loss(pred, target)
    twin(case.pred.copy(), case.target.copy())
    scribble(data, [pred, target] + ([value] if reduction == "none" else []), "loss input")
    grad = loss.backward()
    np.testing.assert_array_equal(grad, twin.backward(), strict=True)
    scribble(data, [grad], "loss gradient")  # backward returns a fresh copy each time
    np.testing.assert_array_equal(loss.backward(), twin.backward(), strict=True)


# ------------------------------------------------------------------- optimizer registry

def ref_sgd(p, g, state, t, hp):
    g = g + hp.get("weight_decay", 0.0) * p
    momentum = hp.get("momentum", 0.0)
    if momentum:
        state["velocity"] = g.copy() if t == 1 else momentum * state["velocity"] + g
        g = state["velocity"]
    return p - hp["lr"] * g


def ref_adagrad(p, g, state, t, hp):
    g = g + hp.get("weight_decay", 0.0) * p
    state["sum_sq"] = state.get("sum_sq", 0.0) + g * g
    return p - hp["lr"] * g / (np.sqrt(state["sum_sq"]) + hp["eps"])


def ref_rmsprop(p, g, state, t, hp):
    g = g + hp.get("weight_decay", 0.0) * p
    alpha = hp["alpha"]
    state["square_avg"] = alpha * state.get("square_avg", 0.0) + (1 - alpha) * g * g
    step = g / (np.sqrt(state["square_avg"]) + hp["eps"])
    if hp.get("momentum", 0.0):
        state["buffer"] = step if t == 1 else hp["momentum"] * state["buffer"] + step
        step = state["buffer"]
    return p - hp["lr"] * step


def ref_adam(p, g, state, t, hp):
    g = g + hp.get("weight_decay", 0.0) * p
    b1, b2 = hp["betas"]
    state["m"] = b1 * state.get("m", 0.0) + (1 - b1) * g
    state["v"] = b2 * state.get("v", 0.0) + (1 - b2) * g * g
    m_hat, v_hat = state["m"] / (1 - b1**t), state["v"] / (1 - b2**t)
    return p - hp["lr"] * m_hat / (np.sqrt(v_hat) + hp["eps"])


@dataclass(frozen=True)
class OptSpec:
    """An optimizer, its hyperparameters (a strategy of keyword dicts) and the documented
    update rule ref(p, g, state, t, hp) -> new p, computed in float64."""

    name: str
    cls: type
    hyper: st.SearchStrategy
    ref: Callable

    def __repr__(self):
        return self.name


LR = st.floats(1e-3, 1.0)
DECAY = st.sampled_from([0.0, 0.01, 0.5])
EPS = st.sampled_from([1e-10, 1e-8, 1e-3, 0.1])
OPTIMIZERS = [
    OptSpec("SGD", optim.SGD, st.fixed_dictionaries({"lr": LR, "weight_decay": DECAY}), ref_sgd),
    OptSpec("SGD_momentum", optim.SGD, st.fixed_dictionaries(
        {"lr": LR, "momentum": st.floats(0.01, 0.99), "weight_decay": DECAY}), ref_sgd),
    OptSpec("AdaGrad", optim.AdaGrad, st.fixed_dictionaries(
        {"lr": LR, "eps": EPS, "weight_decay": DECAY}), ref_adagrad),
    OptSpec("RMSProp", optim.RMSProp, st.fixed_dictionaries(
        {"lr": LR, "alpha": st.floats(0.0, 0.999), "eps": EPS,
         "momentum": st.sampled_from([0.0, 0.5, 0.9]), "weight_decay": DECAY}), ref_rmsprop),
    OptSpec("Adam", optim.Adam, st.fixed_dictionaries(
        {"lr": LR, "betas": st.tuples(st.floats(0.0, 0.99), st.floats(0.0, 0.9999)), "eps": EPS,
         "weight_decay": DECAY}), ref_adam),
]

over_optimizers = pytest.mark.parametrize("spec", OPTIMIZERS, ids=[s.name for s in OPTIMIZERS])


def draw_parameters(data):
    """1-3 Parameters of random shapes and dtypes, and a generator for their gradients."""
    rng = seeded(data.draw(SEEDS, label="parameter seed"))
    shapes = data.draw(st.lists(array_shapes(min_dims=1, max_dims=3, max_side=3), min_size=1,
                                max_size=3), label="shapes")
    dtypes = [data.draw(FLOAT_DTYPES, label="dtype") for _ in shapes]
    params = [nn.Parameter(rng.standard_normal(s).astype(d)) for s, d in zip(shapes, dtypes)]
    return params, rng


def set_gradients(params, rng, data):
    """Give every parameter a fresh finite gradient (scale 1e-3, 1 or 10); return them."""
    scale = data.draw(st.sampled_from([1e-3, 1.0, 10.0]), label="gradient scale")
    grads = [(scale * rng.standard_normal(p.shape)).astype(p.data.dtype) for p in params]
    for p, g in zip(params, grads):
        p.grad = g.copy()
    return grads


def optimizer_snapshot(opt, grads=True):
    """Parameters, gradients (reading p.grad makes a zero gradient appear where there was
    none: grads=False leaves them unread), state and step count."""
    return ([p.data.copy() for p in opt.params], [p.grad.copy() for p in opt.params] if grads
            else [], copy.deepcopy(opt.state), opt.steps)


def assert_same_optimizer(got, want):
    for a, b in zip(got[0] + got[1], want[0] + want[1]):
        np.testing.assert_array_equal(a, b, strict=True)
    assert [sorted(s) for s in got[2]] == [sorted(s) for s in want[2]]
    for s_got, s_want in zip(got[2], want[2]):
        for key in s_want:
            np.testing.assert_array_equal(s_got[key], s_want[key], strict=True)
    assert got[3] == want[3]


def check_step_follows_formula(spec, opt, hp, grads, ref_state):
    """opt.step() with ``grads`` set moves every parameter as ``spec.ref`` says (from the
    parameter's value before the step; ``ref_state`` is the float64 reference state)."""
    before = [p.data.copy() for p in opt.params]
    opt.step()
    for p, old, g, state in zip(opt.params, before, grads, ref_state):
        want = spec.ref(old.astype(F64), g.astype(F64), state, opt.steps, hp)
        rtol = 1e-4 if p.data.dtype == F32 else 1e-10
        # the update to within rtol, and the rounding of p - update in p's dtype
        tol = rtol * np.abs(want - old) + 2 * np.spacing(np.maximum(np.abs(old), np.abs(want)).
                                                          astype(p.data.dtype))
        assert np.all(np.abs(p.data.astype(F64) - want) <= tol), (p.data, want)


# --------------------------------------------------------------------- 6. optimizers

@over_optimizers
@FAST
@given(data=st.data())
def test_optimizer_steps_follow_the_documented_formula(spec, data):
    hp = data.draw(spec.hyper, label="hyperparameters")
    params, rng = draw_parameters(data)
    opt = spec.cls(params, **hp)
    ref_state = [{} for _ in params]
    for t in range(1, data.draw(st.integers(1, 3), label="steps") + 1):
        check_step_follows_formula(spec, opt, hp, set_gradients(params, rng, data), ref_state)
        assert opt.steps == t


def _spoil_gradient(p, grad, data):
    """Make ``p``'s gradient bad: NaN/inf at random positions (through p.grad, in place or
    assigned), or the wrong shape or dtype. Parameter.grad's setter refuses those two (checked
    here), so they are put in place behind its back, as code writing p._grad would."""
    kind = data.draw(st.sampled_from(["nonfinite", "assigned", "shape", "dtype"]), label="kind")
    if kind in ("nonfinite", "assigned"):
        target = p.grad if kind == "nonfinite" else grad.copy()
        for _ in range(data.draw(st.integers(1, 3), label="how many")):
            target.flat[data.draw(st.integers(0, target.size - 1))] = data.draw(NON_FINITE)
        p.grad = target
        return ValueError, "contains NaN or inf"
    if kind == "shape":
        bad = np.ones(data.draw(st.sampled_from([grad.shape + (1,), (grad.size + 1,)])),
                      grad.dtype)
        with pytest.raises(ValueError, match="Parameter grad: expected shape"):
            p.grad = bad
        np.testing.assert_array_equal(p.grad, grad)
        p._grad = bad
        return ValueError, "expected shape"
    other = F32 if grad.dtype == F64 else F64
    p._grad = grad.astype(other)
    return TypeError, f"expected dtype {grad.dtype}"


@over_optimizers
@FAST
@given(data=st.data())
def test_a_bad_gradient_makes_step_raise_and_change_nothing(spec, data):
    hp = data.draw(spec.hyper, label="hyperparameters")
    params, rng = draw_parameters(data)
    opt = spec.cls(params, **hp)
    ref_state = [{} for _ in params]
    for _ in range(data.draw(st.integers(0, 2), label="steps before")):
        check_step_follows_formula(spec, opt, hp, set_gradients(params, rng, data), ref_state)
    grads = set_gradients(params, rng, data)
    i = data.draw(st.integers(0, len(params) - 1), label="bad parameter")
    error, message = _spoil_gradient(params[i], grads[i], data)
    before = optimizer_snapshot(opt)
    with pytest.raises(error, match=rf"step: gradient of parameter {i} .*{re.escape(message)}"):
        opt.step()
    assert_same_optimizer(optimizer_snapshot(opt), before)
    # with the gradient repaired, the step is the one the failed call would have been
    params[i].grad = grads[i]
    check_step_follows_formula(spec, opt, hp, grads, ref_state)
    opt.zero_grad()  # no gradient at all: RuntimeError, nothing changed
    before = optimizer_snapshot(opt, grads=False)
    with pytest.raises(RuntimeError, match="no parameter has a gradient"):
        opt.step()
    assert_same_optimizer(optimizer_snapshot(opt, grads=False), before)
