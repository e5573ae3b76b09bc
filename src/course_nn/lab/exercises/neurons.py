"""Exercises of chapter 1 (ids "intro.<name>") and chapter 2 (ids "neurons.<name>").

Every reference is built from course_nn: a neuron or a layer is ``Linear.from_weights`` with
the given values, and a network's size is read from ``Sequential``. ``intro.active_region``
asks to predict, then run, where a one-input ReLU neuron is active; ``intro.weight_shapes`` is a
debug exercise (the chapter's ``buggy_weight_shapes`` loops over every layer, wrapping around
to the last one, and lists (in, out)). ``neurons.dense_forward``
is a debug exercise (the chapter's ``buggy_dense_forward`` forgets the transpose and the bias,
both invisible in its author's test); ``neurons.broadcast_shape`` asks to predict, then run,
what shape numpy gives ``x @ W.T + b`` for a bias of a given shape (the reference runs numpy).
Networks that are only counted are built with ``init=init.zeros``, so checking an answer
never draws from the package random generator.
"""

import numpy as np

from ... import init
from ...activations import ReLU
from ...linear import Linear
from ...module import Sequential
from . import Exercise, _default_compare, _describe, _show, _slip_hint, _whole_number, register


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


def active_region_reference(w, b):
    """Where the one-input ReLU neuron max(0, w x + b) is active (output > 0): the open
    interval (lo, hi) of x, -inf or inf for an unbounded side, and (0.0, 0.0), an empty
    interval, if it never is. w, b: numbers -> a tuple of two floats. The line w x + b is read
    off course_nn's Linear.from_weights([[w]], [b]) at x = 0 and x = 1."""
    layer = _linear_with(np.array([[float(w)]]), [float(b)])
    z0, z1 = (float(v) for v in layer(np.array([[0.0], [1.0]]))[:, 0])
    slope, intercept = z1 - z0, z0
    if slope == 0:
        return (-np.inf, np.inf) if intercept > 0 else (0.0, 0.0)
    edge = -intercept / slope
    return (edge, np.inf) if slope > 0 else (-np.inf, edge)


def _compare_region(expected, got):
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        return f"expected a pair (lo, hi), got {_show(got)}"
    try:
        lo, hi = (float(v) for v in got)
    except (TypeError, ValueError):
        return f"expected a pair of numbers (lo, hi), got {_show(got)}"
    e_lo, e_hi = expected
    if e_lo >= e_hi:
        if lo >= hi:
            return None
        return (f"expected an empty interval (the neuron is never active: with w = 0 its output "
                f"is max(0, b) and b <= 0), got ({lo:g}, {hi:g})")
    if np.allclose([lo, hi], [e_lo, e_hi], rtol=1e-9, atol=1e-12):
        return None
    reason = f"expected ({e_lo:g}, {e_hi:g}), got ({lo:g}, {hi:g})"
    edge = e_lo if np.isfinite(e_lo) else e_hi
    if np.isfinite(edge) and np.isclose(lo, edge) and hi == np.inf and e_hi != np.inf:
        return reason + (": with a negative weight the neuron is active on the left; w x + b > 0 "
                         "means x < -b / w when w < 0 (dividing by w flips the inequality)")
    if np.isfinite(edge) and (np.isclose(lo, -edge) or np.isclose(hi, -edge)):
        return reason + ": the boundary is where w x + b = 0, at x = -b / w"
    if not np.isfinite(e_lo) and not np.isfinite(e_hi):
        return reason + ": with w = 0 the output is max(0, b) for every x"
    return reason


def _random_region(rng):
    w = 0.0 if rng.random() < 0.15 else float(np.round(rng.normal(), 3))
    return w, float(np.round(rng.normal(), 3))


register(Exercise(
    id="intro.active_region",
    kind="predict",
    reference=active_region_reference,
    fixed=[
        (1.0, -2.0),      # active for x > 2
        (-1.0, 1.0),      # a negative weight: active on the left, x < 1
        (2.0, 0.0),       # no bias: the boundary at 0
        (-0.5, -1.0),     # x < -2
        (0.25, 3.0),      # x > -12
        (0.0, 0.5),       # no weight, positive bias: always active
        (0.0, -1.0),      # no weight, negative bias: never
        (0.0, 0.0),       # output 0 everywhere: never active
    ],
    random=_random_region,
    arg_names=("w", "b"),
    compare=_compare_region,
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
    kind="debug",
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


class _Output(np.ndarray):
    """The reference's output, carrying what each recognized bug would give."""

    slips = ()


def _dense_forward_debug_reference(x, W, b):
    out = np.asarray(dense_forward_reference(x, W, b)).view(_Output)
    x, W, b = (np.asarray(a, dtype=float) for a in (x, W, b))
    slips = [("the bias is missing: add b (shape (n_out,)) to every row", x @ W.T)]
    if W.shape[0] == W.shape[1]:
        slips.insert(0, ("the bias is missing, and x @ W uses W, not W.T: on a square W the "
                         "shape is right and the numbers are not", x @ W))
        slips.append(("x @ W uses W, not W.T: on a square W the shape is right and the "
                      "numbers are not; entry (n, j) is sample n times neuron j's row of W",
                      x @ W + b))
    out.slips = tuple((why, wrong) for why, wrong in slips
                      if not np.allclose(wrong, out.view(np.ndarray)))
    return out


def _compare_dense_forward(expected, got):
    want = np.asarray(expected).view(np.ndarray)
    return _slip_hint(_default_compare(want, got, 1e-6, 1e-9), got, want,
                      [(wrong, why) for why, wrong in expected.slips])


def _dense_case(rng, n=None, n_in=None, n_out=None):
    n = int(rng.integers(1, 6)) if n is None else n
    n_in = int(rng.integers(1, 6)) if n_in is None else n_in
    n_out = int(rng.integers(1, 6)) if n_out is None else n_out
    return rng.normal(size=(n, n_in)), rng.normal(size=(n_out, n_in)), rng.normal(size=n_out)


register(Exercise(
    id="neurons.dense_forward",
    kind="debug",
    reference=_dense_forward_debug_reference,
    compare=_compare_dense_forward,
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


class _ShapeAnswer:
    """A shape tuple or None (numpy refuses), wrapped so that the checker's kind checks for
    tuples do not read None, a valid answer here, as a forgotten return."""

    def __init__(self, shape):
        self.shape = shape

    def __repr__(self):
        return repr(self.shape)


def _broadcast_shape(n, n_in, n_out, bias_shape):
    return broadcast_shape_reference(n, n_in, n_out, bias_shape).shape


def broadcast_shape_reference(n, n_in, n_out, bias_shape):
    """The shape of ``x @ W.T + b`` for x (n, n_in), W (n_out, n_in) and b of ``bias_shape``,
    found by running it (a course_nn Linear without bias, then numpy's +); None if numpy
    refuses (ValueError: the shapes do not broadcast)."""
    z = _linear_with(np.zeros((n_out, n_in)))(np.zeros((n, n_in)))
    try:
        return _ShapeAnswer(tuple(int(d) for d in (z + np.zeros(tuple(bias_shape))).shape))
    except ValueError:
        return _ShapeAnswer(None)


def _compare_broadcast(expected, got):
    expected = expected.shape
    if isinstance(got, _ShapeAnswer):
        got = got.shape
    if isinstance(got, (str, bytes)):
        return (f"expected a shape tuple such as {expected}, or None, got {_describe(got)}: "
                f"return a tuple, not text")
    if got is not None and not isinstance(got, (tuple, list)):
        return f"expected a shape tuple such as (3, 4), or None, got {_describe(got)}"
    if expected is None:
        if got is None:
            return None
        return (f"expected None: numpy raises ValueError here (the shapes do not broadcast), "
                f"got {_show(got)}")
    if got is None:
        return (f"expected the shape {expected}: numpy broadcasts these shapes, got None (return "
                f"None only where numpy raises; or did your function forget to `return`?)")
    shape = tuple(_whole_number(d) for d in got)
    if None in shape:
        return f"expected a tuple of whole numbers {expected}, got {_show(got)}"
    if shape != expected:
        return f"expected the shape {expected}, got {shape}"
    return None


_BIAS_SHAPES = ("(n_out,)", "(n_out, 1)", "(1, n_out)", "(n, 1)", "(n,)", "()", "(n_in,)")


def _bias_shape(name, n, n_in, n_out):
    return {"(n_out,)": (n_out,), "(n_out, 1)": (n_out, 1), "(1, n_out)": (1, n_out),
            "(n, 1)": (n, 1), "(n,)": (n,), "()": (), "(n_in,)": (n_in,)}[name]


def _random_broadcast(rng):
    n, n_in, n_out = (int(v) for v in rng.integers(1, 6, size=3))
    return n, n_in, n_out, _bias_shape(str(rng.choice(_BIAS_SHAPES)), n, n_in, n_out)


register(Exercise(
    id="neurons.broadcast_shape",
    kind="predict",
    reference=broadcast_shape_reference,
    fixed=[
        (5, 3, 4, (4,)),        # the right bias: (5, 4)
        (5, 3, 4, (4, 1)),      # the column layout's bias in the row layout: an error
        (4, 3, 4, (4, 1)),      # ... unless n == n_out: a silent (4, 4) of wrong sums
        (1, 3, 4, (4, 1)),      # one sample: (4, 4), a matrix where a row was meant
        (5, 3, 1, (5,)),        # one output and one bias per sample: (5, 5)
        (5, 3, 4, (5, 1)),      # a bias per sample broadcasts along the row: (5, 4)
        (5, 3, 4, (1, 4)),
        (5, 3, 4, (3,)),        # a bias per input: an error
        (5, 3, 4, ()),          # a scalar bias
    ],
    random=_random_broadcast,
    arg_names=("n", "n_in", "n_out", "bias_shape"),
    compare=_compare_broadcast,
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
