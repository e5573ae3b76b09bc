"""Exercises of chapter 3, activation functions (ids "activations.<name>").

Every reference is a course_nn function. The fixed cases hold the inputs a plausible wrong
answer gets wrong: logits of +-1000 (an exponential that overflows gives nan), rows of very
different scale (a softmax over the wrong axis, or with one global max), negative inputs
(a derivative that is wrong on the left of the kink) and beta != 1 (a Swish that ignores it).
Exact zeros are left out where a derivative has a kink: either one-sided value is defensible.
"""

import numpy as np

from ..activations import leaky_relu_grad, relu, sigmoid, softmax, swish
from . import Exercise, _default_compare, register


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

def leaky_relu_grad_reference(x, alpha):
    """d LeakyReLU / dx: 1 where x > 0, alpha where x < 0 (same shape as x)."""
    return leaky_relu_grad(np.asarray(x, dtype=float), alpha)


register(Exercise(
    id="activations.leaky_relu_grad",
    kind="transcribe",
    reference=leaky_relu_grad_reference,
    fixed=[
        (np.array([-2.0, -0.5, 0.5, 2.0]), 0.01),
        (np.array([-3.0, -1e-4, 1e-4, 3.0]), 0.2),
        (np.array([[-1.5, 4.0], [2.0, -7.0]]), 0.3),
        (np.array([-5.0, -2.0, -1.0]), 0.1),               # all negative: the slope everywhere
        (np.array([0.25, 9.0]), 0.05),                     # all positive: ones
    ],
    random=lambda rng: (_random_array(rng, 2.0), float(rng.uniform(0.01, 0.5))),
    arg_names=("x", "alpha"),
))


# ---------------------------------------------------------------------------------------------
# A numerically stable softmax over the rows of a batch
# ---------------------------------------------------------------------------------------------

def softmax_rows_reference(x):
    """x: (N, C) logits -> (N, C) probabilities, each row summing to 1 (softmax along axis 1)."""
    return softmax(np.asarray(x, dtype=float), axis=1)


register(Exercise(
    id="activations.softmax",
    kind="transcribe",
    reference=softmax_rows_reference,
    fixed=[
        (np.array([[1.0, 2.0, 3.0], [1.0, 1.0, 1.0]]),),              # (2, 3): not square
        (np.array([[1000.0, 1000.0, 999.0]]),),                       # naive e^x overflows
        (np.array([[1000.0, 999.0, 998.0], [-1000.0, -1001.0, -1002.0]]),),  # one global max fails
        (np.array([[0.0, 1.0, 2.0], [3.0, 0.0, -1.0], [2.0, 2.0, -4.0]]),),  # square (3, 3)
        (np.array([[5.0, -5.0]]),),
    ],
    random=lambda rng: (3.0 * rng.standard_normal((int(rng.integers(1, 6)),
                                                   int(rng.integers(2, 6)))),),
    compare=_finite_then_close(),
))


# ---------------------------------------------------------------------------------------------
# Swish with its beta
# ---------------------------------------------------------------------------------------------

def swish_reference(x, beta):
    """x * sigmoid(beta * x) elementwise; beta = 1 is SiLU, beta = 0 gives x / 2."""
    return swish(np.asarray(x, dtype=float), beta)


register(Exercise(
    id="activations.swish",
    kind="transcribe",
    reference=swish_reference,
    fixed=[
        (np.array([-2.0, -1.0, 0.0, 1.0, 2.0]), 1.0),
        (np.array([-2.0, -1.0, 0.0, 1.0, 2.0]), 2.0),          # beta matters
        (np.array([-3.0, 0.5, 3.0]), 0.0),                     # beta = 0: a straight line x / 2
        (np.array([-1000.0, 1000.0]), 1.0),                    # no nan at the far ends
        (np.array([[-0.5, 0.25], [4.0, -6.0]]), 10.0),         # large beta: close to ReLU
    ],
    random=lambda rng: (_random_array(rng, 3.0), float(rng.uniform(0.1, 5.0))),
    arg_names=("x", "beta"),
    compare=_finite_then_close(),
))


# ---------------------------------------------------------------------------------------------
# Note 003: a sum of ReLU units is a piecewise-linear curve
# ---------------------------------------------------------------------------------------------

def relu_sum_reference(x, c, b, w):
    """sum_i c_i max(0, b_i + w_i x) for every entry of x: x (N,), c, b, w (k,) -> (N,)."""
    x = np.asarray(x, dtype=float)
    z = np.outer(x, np.asarray(w, dtype=float)) + np.asarray(b, dtype=float)   # (N, k)
    return relu(z) @ np.asarray(c, dtype=float)


def _relu_sum_case(rng):
    k = int(rng.integers(1, 6))
    return (rng.uniform(-3.0, 3.0, size=int(rng.integers(1, 8))),
            rng.standard_normal(k), rng.standard_normal(k), rng.standard_normal(k))


register(Exercise(
    id="activations.relu_sum",
    kind="transcribe",
    reference=relu_sum_reference,
    fixed=[
        # note 003's two units: 1*max(0, x) - 1*max(0, -1 + x), the "hard sigmoid" clip(x, 0, 1)
        (np.array([-1.0, 0.0, 0.5, 1.0, 2.0]), np.array([1.0, -1.0]), np.array([0.0, -1.0]),
         np.array([1.0, 1.0])),
        # a negative weight w: the unit is active on the left
        (np.array([-2.0, -0.5, 0.5, 2.0]), np.array([2.0]), np.array([0.0]), np.array([-1.0])),
        # three units, k != N
        (np.array([-1.5, 0.0, 1.5]), np.array([1.0, -2.0, 0.5]), np.array([0.5, -0.25, 1.0]),
         np.array([1.0, 2.0, -1.0])),
        # one sample
        (np.array([0.3]), np.array([1.0, 1.0]), np.array([1.0, -1.0]), np.array([2.0, 3.0])),
    ],
    random=_relu_sum_case,
    arg_names=("x", "c", "b", "w"),
))
