"""Exercises of chapter 3, activation functions (ids "activations.<name>").

Every reference is a course_nn function. The fixed cases hold the inputs a plausible wrong
answer gets wrong: logits of +-1000 (an exponential that overflows gives nan), rows of very
different scale (a softmax over the wrong axis, or with one global max), negative inputs
(a derivative that is wrong on the left of the kink) and beta != 1 (a Swish that ignores it).
Exact zeros are left out where a derivative has a kink: either one-sided value is defensible.

activations.softmax (debug) hands over a softmax with one maximum for the whole batch and the
sum over the wrong axis; activations.stacked_sigmoid_grad (predict, then run) asks how fast
the gradient through n sigmoids in a row vanishes (the reference runs course_nn's Sigmoid modules backward);
activations.swish_beta_grad (derive) asks for the derivative of Swish with respect to a
learnable beta, which the chapter's table does not give; activations.units_needed (experiment)
asks for the fewest ReLU units whose interpolant of a curve stays within a tolerance, found by
building and measuring the networks.
"""

import numpy as np

from ...activations import ReLU, Sigmoid, sigmoid, sigmoid_grad, softmax
from ...module import Sequential
from . import Exercise, _default_compare, _slip_hint, register


def _finite_then_close(rtol=1e-6, atol=1e-9):
    """A compare that names nan/inf in the answer (an overflow) before comparing values."""

    def compare(expected, got):
        try:
            arr = np.asarray(got, dtype=float)
        except (TypeError, ValueError):
            return f"expected a number or array, got {type(got).__name__}"
        if arr.shape == np.shape(expected) and not np.all(np.isfinite(arr)):
            where = np.flatnonzero(~np.isfinite(arr.reshape(-1)))
            return (f"your result contains nan or inf at flat position(s) {where[:5].tolist()} "
                    f"(did np.exp overflow? keep every exponent <= 0)")
        return _default_compare(expected, got, rtol, atol)

    return compare


# ---------------------------------------------------------------------------------------------
# A sigmoid that never overflows
# ---------------------------------------------------------------------------------------------

def sigmoid_reference(x):
    """1 / (1 + e^-x) elementwise, for an array of any shape, with no overflow at +-1000."""
    return sigmoid(np.asarray(x, dtype=float))


def _random_array(rng, scale):
    shape = tuple(int(s) for s in rng.integers(1, 6, size=int(rng.integers(1, 3))))
    return scale * rng.standard_normal(shape)


register(Exercise(
    id="activations.sigmoid",
    kind="transcribe",
    reference=sigmoid_reference,
    fixed=[
        (np.array([0.0, 1.0, -1.0, 2.5]),),
        (np.array([-1000.0, 1000.0]),),                      # e^1000 overflows: no nan allowed
        (np.array([[-800.0, -30.0, -1e-3], [1e-3, 30.0, 800.0]]),),
        (np.array([-40.0, -20.0, 20.0, 40.0]),),
        (np.array([7.0]),),
    ],
    random=lambda rng: (_random_array(rng, 10.0),),
    compare=_finite_then_close(),
))


# ---------------------------------------------------------------------------------------------
# The derivative of Leaky ReLU
# ---------------------------------------------------------------------------------------------

def stacked_sigmoid_grad_reference(x, n):
    """d/dx of sigmoid applied n times, sigma(sigma(...sigma(x))), elementwise: the gradient
    course_nn's Sequential of n Sigmoid modules sends back for an upstream gradient of ones.
    x: (m,) -> (m,); n >= 1."""
    x = np.asarray(x, dtype=float).reshape(-1, 1)
    net = Sequential(*[Sigmoid() for _ in range(int(n))])
    net(x)
    return net.backward(np.ones_like(x)).reshape(-1)


class _Decay(np.ndarray):
    """The reference's gradients, carrying what each recognized prediction would give."""

    slips = ()


def _stacked_reference(x, n):
    grad = np.asarray(stacked_sigmoid_grad_reference(x, n)).view(_Decay)
    x = np.asarray(x, dtype=float)
    first = sigmoid_grad(x)
    grad.slips = (
        (first ** n, "that is sigma'(x) to the power n: each later layer sees sigma of the "
                     "previous output, not x, so each factor is sigma' at a different point"),
        (0.25 ** n * np.ones_like(x), "0.25^n is only the bound: sigma' reaches 0.25 at 0 "
                                      "alone, and the inputs of the later layers are not 0"),
        (first, "that is one layer's derivative; the chain rule multiplies one factor per "
                "layer"),
    )
    return grad


def _compare_stacked(expected, got):
    want = np.asarray(expected).view(np.ndarray)
    return _slip_hint(_default_compare(want, got, 1e-6, 1e-12), got, want, expected.slips,
                      atol=1e-12)


register(Exercise(
    id="activations.stacked_sigmoid_grad",
    kind="predict",
    reference=_stacked_reference,
    fixed=[
        (np.array([0.0]), 1),                         # one layer: 0.25
        (np.array([0.0, 1.0, -2.0]), 2),              # not sigma'(x)^2, not 0.25^2
        (np.array([0.0]), 2),                         # sigma'(0) sigma'(0.5), not 0.25^2
        (np.array([0.0, 1.0, -2.0]), 5),
        (np.array([-3.0, 0.5, 4.0]), 10),
        (np.array([0.0]), 30),                        # deep: tiny, but not 0
    ],
    random=lambda rng: (rng.uniform(-4.0, 4.0, size=int(rng.integers(1, 6))),
                        int(rng.integers(1, 16))),
    arg_names=("x", "n"),
    compare=_compare_stacked,
))


# ---------------------------------------------------------------------------------------------
# A numerically stable softmax over the rows of a batch
# ---------------------------------------------------------------------------------------------

def softmax_rows_reference(x):
    """x: (N, C) logits -> (N, C) probabilities, each row summing to 1 (softmax along axis 1)."""
    return softmax(np.asarray(x, dtype=float), axis=1)


class _Probabilities(np.ndarray):
    """The reference's probabilities, carrying what each recognized bug would give."""

    slips = ()


def _softmax_reference(x):
    out = np.asarray(softmax_rows_reference(x)).view(_Probabilities)
    x = np.asarray(x, dtype=float)
    with np.errstate(all="ignore"):
        e_global = np.exp(x - x.max())
        e_rows = np.exp(x - x.max(axis=1, keepdims=True))
        out.slips = (
            (e_global / e_global.sum(axis=0, keepdims=True),
             "each column sums to 1, not each row: sum over axis=1 (one example per row); and "
             "one maximum for the whole batch is not enough: subtract each row's own"),
            (e_rows / e_rows.sum(axis=0, keepdims=True),
             "each column sums to 1, not each row: sum over axis=1 (one example per row)"),
        )
    return out


def _compare_softmax(expected, got):
    want = np.asarray(expected).view(np.ndarray)
    reason = _finite_then_close()(want, got)
    hinted = _slip_hint(reason, got, want, expected.slips, rtol=1e-5, atol=1e-8, equal_nan=True)
    if hinted != reason:
        return hinted
    try:
        mine = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        return reason
    if mine.shape == want.shape and not np.all(np.isfinite(mine)):
        return reason + ("\n  hint: one maximum for the whole batch is not enough: a row far "
                         "below it underflows to all zeros, and 0 / 0 is nan; subtract each "
                         "row's own maximum")
    return reason


register(Exercise(
    id="activations.softmax",
    kind="debug",
    reference=_softmax_reference,
    fixed=[
        (np.array([[1.0, 2.0, 3.0], [1.0, 1.0, 1.0]]),),              # (2, 3): not square
        (np.array([[1000.0, 1000.0, 999.0]]),),                       # naive e^x overflows
        (np.array([[1000.0, 999.0, 998.0], [-1000.0, -1001.0, -1002.0]]),),  # one global max fails
        (np.array([[0.0, 1.0, 2.0], [3.0, 0.0, -1.0], [2.0, 2.0, -4.0]]),),  # square (3, 3)
        (np.array([[5.0, -5.0]]),),
    ],
    random=lambda rng: (3.0 * rng.standard_normal((int(rng.integers(1, 6)),
                                                   int(rng.integers(2, 6)))),),
    compare=_compare_softmax,
))


# ---------------------------------------------------------------------------------------------
# Swish with its beta
# ---------------------------------------------------------------------------------------------

def swish_beta_grad_reference(x, beta):
    """d/d beta of Swish x sigma(beta x), elementwise: x^2 sigma'(beta x), with course_nn's
    stable sigmoid_grad (no overflow at +-1000). x: any shape, beta a number."""
    x = np.asarray(x, dtype=float)
    return x * x * sigmoid_grad(beta * x)


def _swish_beta_slips(x, beta):
    s = sigmoid(beta * x)
    return (
        (s + beta * x * s * (1 - s), "that is the derivative with respect to x (the table's); "
                                     "here x is fixed and beta varies"),
        (x * s * (1 - s), "one factor x is missing: d(beta x)/d beta = x, times the x in front"),
        (beta * x * x * s * (1 - s), "the extra factor beta comes from d/dx; d(beta x)/d beta "
                                     "is x"),
        (x * x * s, "sigma(beta x) in place of its derivative sigma(beta x)(1 - sigma(beta x))"),
    )


class _BetaGrad(np.ndarray):
    slips = ()


def _swish_beta_reference(x, beta):
    grad = np.asarray(swish_beta_grad_reference(x, beta)).view(_BetaGrad)
    with np.errstate(all="ignore"):
        grad.slips = _swish_beta_slips(np.asarray(x, dtype=float), beta)
    return grad


def _compare_beta(expected, got):
    want = np.asarray(expected).view(np.ndarray)
    reason = _finite_then_close()(want, got)
    if reason is None or "nan or inf" in reason:
        return reason
    return _slip_hint(reason, got, want, expected.slips)


register(Exercise(
    id="activations.swish_beta_grad",
    kind="derive",
    reference=_swish_beta_reference,
    fixed=[
        (np.array([-2.0, -1.0, 0.5, 1.0, 2.0]), 1.0),
        (np.array([-2.0, -1.0, 0.5, 1.0, 2.0]), 2.0),        # beta matters
        (np.array([-3.0, 0.5, 3.0]), 0.0),                   # beta = 0: x^2 / 4
        (np.array([-1000.0, 1000.0]), 1.0),                  # no nan at the far ends
        (np.array([[-0.5, 0.25], [4.0, -6.0]]), 10.0),
    ],
    random=lambda rng: (_random_array(rng, 3.0), float(rng.uniform(0.1, 5.0))),
    arg_names=("x", "beta"),
    compare=_compare_beta,
))


# ---------------------------------------------------------------------------------------------
# Experiment: how many ReLU units does a curve need?
# ---------------------------------------------------------------------------------------------

class _Curve:
    """f(x) = sin(a x) + c x^2, a callable that prints as its formula."""

    def __init__(self, a, c):
        self.a, self.c = float(a), float(c)

    def __call__(self, x):
        x = np.asarray(x, dtype=float)
        return np.sin(self.a * x) + self.c * x * x

    def __repr__(self):
        sign = "+" if self.c >= 0 else "-"
        return f"f(x) = sin({self.a:g} x) {sign} {abs(self.c):g} x^2"


def _interpolant_error(f, lo, hi, k):
    """Max |error| on 2001 points of [lo, hi] of the 1-k-1 ReLU network (course_nn layers)
    equal to f at k + 1 equally spaced knots, as the chapter builds it."""
    from ...init import zeros
    from ...linear import Linear

    t = np.linspace(lo, hi, k + 1)
    slopes = np.diff(f(t)) / np.diff(t)
    net = Sequential(Linear(1, k, init=zeros), ReLU(), Linear(k, 1, init=zeros))
    net[0].weight.data[...] = 1.0
    net[0].bias.data[...] = -t[:-1]
    net[2].weight.data[0] = np.concatenate([[slopes[0]], np.diff(slopes)])
    net[2].bias.data[...] = f(t[0])
    xs = np.linspace(lo, hi, 2001).reshape(-1, 1)
    return float(np.max(np.abs(net(xs)[:, 0] - f(xs[:, 0]))))


def units_needed_reference(f, lo, hi, tol):
    """The fewest units k >= 1 whose interpolant of f on [lo, hi] has max |error| <= tol on
    2001 equally spaced points (the first k, counting up from 1)."""
    k = 1
    while _interpolant_error(f, lo, hi, k) > tol:
        k += 1
    return k


def _random_units(rng):
    return (_Curve(np.round(rng.uniform(0.5, 3.0), 2), np.round(rng.uniform(-0.5, 0.5), 2)),
            -3.0, 3.0, float(rng.choice([0.2, 0.05, 0.02])))


register(Exercise(
    id="activations.units_needed",
    kind="experiment",
    reference=units_needed_reference,
    fixed=[
        (_Curve(2.0, 0.2), -3.0, 3.0, 0.1),       # the chapter's curve
        (_Curve(2.0, 0.2), -3.0, 3.0, 0.01),
        (_Curve(1.0, 0.0), 0.0, 3.0, 0.05),
        (_Curve(0.0, 1.0), -1.0, 1.0, 0.3),       # x^2: one unit is too coarse, two are enough
        (_Curve(3.0, -0.5), -2.0, 2.0, 0.05),
    ],
    random=_random_units,
    arg_names=("f", "lo", "hi", "tol"),
))
