"""Chapter 3 exercises: every checker accepts correct answers and rejects likely wrong ones.

IDS and SOLUTIONS feed the checks every exercise gets, in tests/test_exercises.py
(registered, reference and solutions pass).
"""

import numpy as np
import pytest
from exercise_helpers import rejected

from course_nn.lab.exercises import evaluate

IDS = ["activations.sigmoid", "activations.stacked_sigmoid_grad", "activations.softmax",
       "activations.swish_beta_grad", "activations.units_needed"]


def _stable_sigmoid(x):
    x = np.asarray(x, dtype=float)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def stacked_sigmoid_grad(x, n):
    grad, a = np.ones_like(x, dtype=float), x
    for _ in range(n):                  # layer k sees the previous layer's output a
        s = _stable_sigmoid(a)
        grad, a = grad * s * (1 - s), s
    return grad


def swish_beta_grad(x, beta):
    s = _stable_sigmoid(beta * x)
    return x * x * s * (1 - s)          # d(beta x)/d beta = x, times the x in front


def _interp_error(f, lo, hi, k):
    t = np.linspace(lo, hi, k + 1)
    xs = np.linspace(lo, hi, 2001)
    return np.max(np.abs(np.interp(xs, t, f(t)) - f(xs)))


def units_needed(f, lo, hi, tol):
    k = 1
    while _interp_error(f, lo, hi, k) > tol:     # the interpolant is the 1-k-1 ReLU network
        k += 1
    return k


def _units_by_doubling(f, lo, hi, tol):
    k = 1
    while _interp_error(f, lo, hi, k) > tol:
        k *= 2
    return k


def _units_error_at_knots(f, lo, hi, tol):        # the interpolant is exact there: always 1
    return 1


def _units_from_the_law(f, lo, hi, tol):          # one measurement, then error ~ 1/k^2
    return int(np.ceil(np.sqrt(_interp_error(f, lo, hi, 1) / tol)))


# Plain-numpy solutions, as a learner would write them (the notebook's solution cells).
SOLUTIONS = {
    "activations.sigmoid": _stable_sigmoid,
    "activations.stacked_sigmoid_grad": stacked_sigmoid_grad,
    "activations.softmax": lambda x: (lambda e: e / e.sum(axis=1, keepdims=True))(
        np.exp(x - x.max(axis=1, keepdims=True))),
    "activations.swish_beta_grad": swish_beta_grad,
    "activations.units_needed": units_needed,
}


# --- sigmoid -------------------------------------------------------------------------------

def test_sigmoid_rejects_the_overflowing_form_with_a_nan_message():
    # e^x / (1 + e^x) is inf / inf = nan at x = 1000; evaluate() silences the overflow warning
    rejected("activations.sigmoid", lambda x: np.exp(x) / (1.0 + np.exp(x)),
             "wrong answer", "nan or inf", "overflow")


@pytest.mark.parametrize("wrong", [
    lambda x: 1.0 / (1.0 + np.exp(x)),                       # sign error: sigma(-x)
    lambda x: np.exp(-np.abs(x)) / (1.0 + np.exp(-np.abs(x))),   # forgot the x >= 0 branch
    lambda x: np.clip(0.5 + x / 4, 0.0, 1.0),                 # the linear (hard) approximation
    lambda x: np.tanh(x),                                     # the wrong squashing function
    lambda x: _stable_sigmoid(x).sum(),                        # a scalar, not elementwise
])
def test_sigmoid_rejects_wrong_formulas(wrong):
    rejected("activations.sigmoid", wrong, "wrong answer", "on input")


def test_naive_but_finite_sigmoid_is_accepted_by_value():
    # 1 / (1 + e^-x) overflows inside at x = -1000 but returns the right value (1 / inf = 0);
    # the checker judges values, and evaluate() runs the learner's code under np.errstate.
    result = evaluate("activations.sigmoid", lambda x: 1.0 / (1.0 + np.exp(-x)))
    assert result.passed, result.message


# --- stacked_sigmoid_grad --------------------------------------------------------------------

@pytest.mark.parametrize("wrong, fragment", [
    (lambda x, n: (_stable_sigmoid(x) * (1 - _stable_sigmoid(x))) ** n, "to the power n"),
    (lambda x, n: 0.25 ** n * np.ones_like(x), "only the bound"),
    (lambda x, n: _stable_sigmoid(x) * (1 - _stable_sigmoid(x)), "one layer's derivative"),
    (lambda x, n: stacked_sigmoid_grad(x, n - 1), "wrong answer"),          # a layer short
    (lambda x, n: np.zeros_like(x), "wrong answer"),                        # "it vanishes"
])
def test_stacked_sigmoid_grad_rejects_wrong_predictions(wrong, fragment):
    rejected("activations.stacked_sigmoid_grad", wrong, fragment)


def test_stacked_sigmoid_grad_agrees_with_a_numerical_gradient():
    import course_nn as cn

    def f(x):
        for _ in range(6):
            x = _stable_sigmoid(x)
        return float(np.sum(x))

    x = np.array([-1.0, 0.0, 2.0])
    assert cn.rel_error(stacked_sigmoid_grad(x, 6), cn.numerical_gradient(f, x.copy())) < 1e-7


# --- softmax -------------------------------------------------------------------------------

def test_softmax_rejects_the_naive_formula_with_a_nan_message():
    rejected("activations.softmax", lambda x: np.exp(x) / np.exp(x).sum(axis=1, keepdims=True),
             "nan or inf")


def test_softmax_rejects_one_global_max():
    # fine for one row, but a row far below the global max underflows to 0 / 0
    def global_max(x):
        e = np.exp(x - x.max())
        return e / e.sum(axis=1, keepdims=True)

    rejected("activations.softmax", global_max, "nan or inf")


@pytest.mark.parametrize("wrong", [
    lambda x: (lambda e: e / e.sum(axis=0, keepdims=True))(np.exp(x - x.max(axis=0, keepdims=True))),
    lambda x: (lambda e: e / e.sum())(np.exp(x - x.max(axis=1, keepdims=True))),  # one total
    lambda x: (lambda e: e / e.sum(axis=1, keepdims=True))(x - x.min(axis=1, keepdims=True) + 1),
    lambda x: 1.0 / (1.0 + np.exp(-x)),                        # elementwise sigmoid
])
def test_softmax_rejects_wrong_axis_and_formulas(wrong):
    rejected("activations.softmax", wrong, "wrong answer")


def buggy_softmax(x):      # the chapter's debug exercise: both bugs
    e = np.exp(x - x.max())
    return e / e.sum(axis=0, keepdims=True)


def test_softmax_debug_names_the_bugs():
    msg = evaluate("activations.softmax", buggy_softmax).message
    assert "each column sums to 1" in msg and "one maximum for the whole batch" in msg

    def axis_fixed(x):
        e = np.exp(x - x.max())
        return e / e.sum(axis=1, keepdims=True)

    assert "a row far below it underflows" in evaluate("activations.softmax", axis_fixed).message

    def max_fixed(x):
        e = np.exp(x - x.max(axis=1, keepdims=True))
        return e / e.sum(axis=0, keepdims=True)

    msg = evaluate("activations.softmax", max_fixed).message
    assert "each column sums to 1" in msg and "whole batch" not in msg


def test_softmax_rejects_a_missing_keepdims_with_a_clear_message():
    def no_keepdims(x):
        e = np.exp(x - x.max(axis=1, keepdims=True))
        return e / e.sum(axis=1)          # (N, C) / (N,): broadcasts wrongly or raises

    result = evaluate("activations.softmax", no_keepdims)
    assert not result.passed
    assert "wrong answer" in result.message or "raised ValueError" in result.message


# --- swish_beta_grad -------------------------------------------------------------------------

@pytest.mark.parametrize("wrong, fragment", [
    (lambda x, beta: _stable_sigmoid(beta * x)
     + beta * x * _stable_sigmoid(beta * x) * (1 - _stable_sigmoid(beta * x)), "with respect to x"),
    (lambda x, beta: x * _stable_sigmoid(beta * x) * (1 - _stable_sigmoid(beta * x)),
     "one factor x is missing"),
    (lambda x, beta: beta * swish_beta_grad(x, beta), "the extra factor beta"),
    (lambda x, beta: x * x * _stable_sigmoid(beta * x), "in place of its derivative"),
    (lambda x, beta: -swish_beta_grad(x, beta), "wrong answer"),
])
def test_swish_beta_grad_rejects_wrong_derivatives(wrong, fragment):
    rejected("activations.swish_beta_grad", wrong, fragment)


def test_swish_beta_grad_rejects_nan_at_the_far_ends():
    # x^2 e^(-beta x) / (1 + e^(-beta x))^2 is inf / inf = nan at x = -1000
    rejected("activations.swish_beta_grad",
             lambda x, beta: x * x * np.exp(-beta * x) / (1.0 + np.exp(-beta * x)) ** 2, "nan or inf")


def test_swish_beta_grad_agrees_with_a_numerical_gradient_in_beta():
    import course_nn as cn

    x = np.array([-2.0, -0.3, 0.7, 3.0])
    for beta in (0.5, 1.0, 4.0):
        numeric = np.array([cn.numerical_gradient(
            lambda b, xi=xi: float(cn.activations.swish(np.array([xi]), b[0])[0]),
            np.array([beta]))[0] for xi in x])
        assert cn.rel_error(swish_beta_grad(x, beta), numeric) < 1e-7


# --- units_needed ---------------------------------------------------------------------------

@pytest.mark.parametrize("wrong", [
    _units_by_doubling, _units_error_at_knots, _units_from_the_law,
    lambda f, lo, hi, tol: units_needed(f, lo, hi, tol) + 1,          # one too many
    lambda f, lo, hi, tol: units_needed(f, lo, hi, tol) - 1,          # the last failing k
])
def test_units_needed_rejects_wrong_experiments(wrong):
    rejected("activations.units_needed", wrong, "wrong answer")


def test_units_needed_reference_is_the_relu_network():
    from course_nn.lab.exercises.activations import _Curve, _interpolant_error

    f = _Curve(2.0, 0.2)
    for k in (1, 3, 14, 45):
        assert abs(_interpolant_error(f, -3.0, 3.0, k) - _interp_error(f, -3.0, 3.0, k)) < 1e-12


def test_checkers_raise_no_runtime_warning_for_overflowing_answers():
    # pytest turns RuntimeWarning into an error: these would fail if a warning escaped
    for exercise_id, fn in [
        ("activations.sigmoid", lambda x: np.exp(x) / (1.0 + np.exp(x))),
        ("activations.softmax", lambda x: np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)),
        ("activations.swish_beta_grad",
         lambda x, beta: x * x * np.exp(-beta * x) / (1.0 + np.exp(-beta * x)) ** 2),
    ]:
        assert not evaluate(exercise_id, fn).passed
