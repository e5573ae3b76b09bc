"""Exercises of chapter 1 (ids "intro.<name>") and chapter 2 (ids "neurons.<name>").

Every reference is built from course_nn: a neuron or a layer is ``Linear.from_weights`` with
the given values, and a network's size is read from ``Sequential``. Networks that are only
counted are built with ``init=init.zeros``, so checking an answer never draws from the
package random generator.
"""

import numpy as np

from .. import init
from ..activations import ReLU
from ..linear import Linear
from ..module import Sequential
from . import Exercise, _show, _whole_number, register


def _linear_with(W, b=None):
    """A course_nn Linear whose weight is ``W`` (out, in) and bias ``b`` (out,), or no bias."""
    W = np.asarray(W, dtype=float)
    return Linear.from_weights(W, None if b is None else np.asarray(b, dtype=float).reshape(-1))


def _dense_net(layer_sizes, bias=True):
    """Sequential of Linear layers through the given sizes (no activations: only sizes matter)."""
    sizes = [int(s) for s in layer_sizes]
    return Sequential(*[Linear(n_in, n_out, bias=bias, init=init.zeros)
                        for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True)])


def _sizes_cases(*layer_sizes):
    """Fixed cases of the exercises whose only argument is a list of layer sizes."""
    return [(list(sizes),) for sizes in layer_sizes]


def _random_sizes(rng, low=1, high=12):
    n_layers = int(rng.integers(2, 6))
    return [int(s) for s in rng.integers(low, high + 1, size=n_layers)]


# ---------------------------------------------------------------------------------------------
# Chapter 1: Introduction
# ---------------------------------------------------------------------------------------------

def neuron_output_reference(x, w, b):
    """ReLU(w . x + b) for one sample: x (n,), w (n,), b a number -> a float."""
    layer = _linear_with(np.asarray(w, dtype=float)[None, :], [b])
    return float(ReLU()(layer(np.asarray(x, dtype=float)[None, :]))[0, 0])


register(Exercise(
    id="intro.neuron_output",
    kind="transcribe",
    reference=neuron_output_reference,
    fixed=[
        (np.array([1.0, 2.0]), np.array([0.5, -1.0]), 0.25),       # z < 0: ReLU must clip to 0
        (np.array([1.0, 2.0, 3.0]), np.array([0.2, 0.4, 0.1]), 0.5),  # z > 0
        (np.array([0.0, 0.0]), np.array([3.0, -2.0]), 0.7),         # zero input: only the bias
        (np.array([2.0]), np.array([-1.5]), 4.0),                   # the bias wins
        (np.array([-1.0, 3.0, 0.5]), np.array([2.0, 0.5, -4.0]), -1.0),
    ],
    random=lambda rng: (lambda n: (rng.normal(size=n), rng.normal(size=n),
                                   float(rng.normal())))(int(rng.integers(1, 7))),
    arg_names=("x", "w", "b"),
))


def count_connections_reference(layer_sizes):
    """Number of weights (connections) of a dense network; biases are not counted."""
    return int(_dense_net(layer_sizes, bias=False).num_parameters())


register(Exercise(
    id="intro.count_connections",
    kind="transcribe",
    reference=count_connections_reference,
    fixed=_sizes_cases([2, 3, 1], [3, 4], [784, 128, 10], [4, 4, 4, 4], [1, 1], [5, 2, 7]),
    random=lambda rng: (_random_sizes(rng),),
    arg_names=("layer_sizes",),
))


def weight_shapes_reference(layer_sizes):
    """Shapes of the weight matrices of a dense network, in course_nn's (out, in) layout."""
    return [tuple(int(s) for s in layer.weight.shape) for layer in _dense_net(layer_sizes)]


def _compare_shapes(expected, got):
    if not isinstance(got, (list, tuple)):
        return f"expected a list of shapes such as {expected}, got {type(got).__name__}"
    try:
        got_shapes = [tuple(_whole_number(s) for s in shape) for shape in got]
    except TypeError:
        got_shapes = None
    if got_shapes is None or any(None in shape for shape in got_shapes):
        return f"expected a list of (out, in) tuples of whole numbers, got {_show(got)}"
    if len(got_shapes) != len(expected):
        return (f"expected {len(expected)} weight matrices {expected}, "
                f"got {len(got_shapes)}: {_show(got_shapes)}")
    for i, (e, g) in enumerate(zip(expected, got_shapes, strict=True)):
        if e != g:
            hint = " (that is (in, out): course_nn stores (out, in))" if g == e[::-1] else ""
            return f"weight {i}: expected shape {e}, got {_show(g)}{hint}"
    return None


register(Exercise(
    id="intro.weight_shapes",
    kind="transcribe",
    reference=weight_shapes_reference,
    fixed=_sizes_cases([2, 3, 1], [3, 4], [784, 128, 10], [1, 5, 5, 2], [6]),
    random=lambda rng: (_random_sizes(rng),),
    compare=_compare_shapes,
    arg_names=("layer_sizes",),
))


# ---------------------------------------------------------------------------------------------
# Chapter 2: Neurons, layers, weights and biases
# ---------------------------------------------------------------------------------------------

def dot_reference(a, b):
    """a . b for two 1-D arrays of the same length: a single neuron without bias, weights a."""
    layer = _linear_with(np.asarray(a, dtype=float)[None, :])
    return float(layer(np.asarray(b, dtype=float)[None, :])[0, 0])


register(Exercise(
    id="neurons.dot",
    kind="transcribe",
    reference=dot_reference,
    fixed=[
        (np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0, 6.0])),
        (np.array([1.0, 0.0]), np.array([0.0, 1.0])),              # orthogonal: 0
        (np.array([-2.0]), np.array([3.5])),
        (np.array([0.5, -1.0, 2.0, 0.0]), np.array([2.0, 2.0, -0.25, 9.0])),
    ],
    random=lambda rng: (lambda n: (rng.normal(size=n), rng.normal(size=n)))(
        int(rng.integers(1, 10))),
    arg_names=("a", "b"),
))


def dense_forward_reference(x, W, b):
    """x (N, in), W (out, in), b (out,) -> x @ W.T + b, shape (N, out), via course_nn.Linear."""
    return _linear_with(W, b)(np.asarray(x, dtype=float))


def _dense_case(rng, n=None, n_in=None, n_out=None):
    n = int(rng.integers(1, 6)) if n is None else n
    n_in = int(rng.integers(1, 6)) if n_in is None else n_in
    n_out = int(rng.integers(1, 6)) if n_out is None else n_out
    return rng.normal(size=(n, n_in)), rng.normal(size=(n_out, n_in)), rng.normal(size=n_out)


register(Exercise(
    id="neurons.dense_forward",
    kind="transcribe",
    reference=dense_forward_reference,
    fixed=[
        # a square, non-symmetric W: x @ W (no transpose) has the right shape, wrong numbers
        (np.array([[1.0, 2.0], [3.0, -1.0], [0.0, 0.5]]),
         np.array([[1.0, 2.0], [-3.0, 0.5]]), np.array([0.1, -0.2])),
        # 4 samples, 3 inputs, 2 outputs: every shape differs
        (np.arange(12.0).reshape(4, 3) / 10, np.array([[1.0, -1.0, 0.5], [0.0, 2.0, -2.0]]),
         np.array([0.5, -1.0])),
        # a zero input: the output is the bias in every row
        (np.zeros((2, 3)), np.array([[1.0, 1.0, 1.0]]), np.array([-0.75])),
        # a single sample
        (np.array([[0.3, -0.7, 1.1, 2.0]]), np.arange(8.0).reshape(2, 4) - 3.5,
         np.array([1.0, 2.0])),
    ],
    random=_dense_case,
    arg_names=("x", "W", "b"),
))


def dense_forward_columns_reference(A, W, b):
    """The notes' layout: A (in, N) one sample per column, W (out, in), b (out, 1) -> (out, N).

    The same layer as ``dense_forward``, transposed: W A + b = (A.T @ W.T + b.T).T.
    """
    A = np.asarray(A, dtype=float)
    return _linear_with(W, np.asarray(b).reshape(-1))(A.T).T


def _columns_case(rng):
    x, W, b = _dense_case(rng)
    return x.T.copy(), W, b.reshape(-1, 1)


register(Exercise(
    id="neurons.dense_forward_columns",
    kind="transcribe",
    reference=dense_forward_columns_reference,
    fixed=[
        (np.array([[1.0, 3.0, 0.0], [2.0, -1.0, 0.5]]),
         np.array([[1.0, 2.0], [-3.0, 0.5]]), np.array([[0.1], [-0.2]])),
        (np.arange(12.0).reshape(3, 4) / 10, np.array([[1.0, -1.0, 0.5], [0.0, 2.0, -2.0]]),
         np.array([[0.5], [-1.0]])),
        (np.zeros((3, 2)), np.array([[1.0, 1.0, 1.0]]), np.array([[-0.75]])),
        (np.array([[0.3], [-0.7], [1.1], [2.0]]), np.arange(8.0).reshape(2, 4) - 3.5,
         np.array([[1.0], [2.0]])),
    ],
    random=_columns_case,
    arg_names=("A", "W", "b"),
))


def count_parameters_reference(layer_sizes):
    """Weights plus biases of a dense network: Sequential(Linear, ...).num_parameters()."""
    return int(_dense_net(layer_sizes, bias=True).num_parameters())


register(Exercise(
    id="neurons.count_parameters",
    kind="transcribe",
    reference=count_parameters_reference,
    fixed=_sizes_cases([3, 4], [784, 128, 10], [2, 3, 1], [1, 1], [10, 1, 10], [6]),
    random=lambda rng: (_random_sizes(rng),),
    arg_names=("layer_sizes",),
))
