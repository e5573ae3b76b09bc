"""Chapter 5's exercise checkers accept the right answer and reject the likely wrong ones.

Each correct answer below is written in plain numpy, as a learner would write it (not with
course_nn's modules, which the references use), so a pass is a real cross-check. Each wrong
answer is a mistake a learner is likely to make: a flipped sign (the error in note 002),
a forgotten activation derivative, a transposed weight gradient, a mean where the layer sums
over the batch, a sum where the loss takes the mean, the derivative taken at the wrong place.

IDS, SOLUTIONS and WRONG feed the checks every exercise gets, in tests/test_exercises.py
(registered, reference and solutions pass, each wrong answer rejected).
"""

import numpy as np
import pytest

import course_nn as nn
from course_nn.lab.exercises import evaluate, exercises


def sig(z):
    return 1.0 / (1.0 + np.exp(-z))


# ---------------------------------------------------------------- sigmoid_neuron_grad
def neuron_ok(x, w, b, y):
    a = sig(w * x + b)
    delta = (a - y) * a * (1 - a)
    return delta * x, delta


def neuron_note_sign(x, w, b, y):      # note 002's formula: (y - y_hat) sigma' x
    dw, db = neuron_ok(x, w, b, y)
    return -dw, -db


def buggy_sigmoid_neuron_grad(x, w, b, y):   # the chapter's debug exercise: both bugs
    a = sig(w * x + b)
    delta = (y - a) * a
    return delta * x, delta


def neuron_no_sigma_prime(x, w, b, y):
    a = sig(w * x + b)
    return (a - y) * x, a - y


def neuron_sigma_not_prime(x, w, b, y):   # multiplies by sigma(z) instead of sigma'(z)
    a = sig(w * x + b)
    return (a - y) * a * x, (a - y) * a


def neuron_db_times_x(x, w, b, y):
    dw, _ = neuron_ok(x, w, b, y)
    return dw, dw


def neuron_full_mse(x, w, b, y):         # L = (y - y_hat)^2 without the 1/2: twice too large
    dw, db = neuron_ok(x, w, b, y)
    return 2 * dw, 2 * db


def neuron_as_list(x, w, b, y):
    return list(neuron_ok(x, w, b, y))


# ------------------------------------------------------------------------- gate_grads
def gates_ok(x, y, z, w):
    m, total = max(z, w), x + y
    return m, m, total if z > w else 0.0, total if w > z else 0.0


def gates_add_passes_one(x, y, z, w):     # the add gate read alone: 1 for x and y
    return (1.0, 1.0) + gates_ok(x, y, z, w)[2:]


def gates_max_to_both(x, y, z, w):        # max sends the gradient to both inputs
    return gates_ok(x, y, z, w)[:2] + (x + y, x + y)


def gates_max_splits(x, y, z, w):         # max splits the gradient in half
    return gates_ok(x, y, z, w)[:2] + ((x + y) / 2, (x + y) / 2)


def gates_no_swap(x, y, z, w):            # multiply gate without the swap
    m = max(z, w)
    return (x + y, x + y) + ((m, 0.0) if z > w else (0.0, m))


def gates_max_to_loser(x, y, z, w):
    total = x + y
    return max(z, w), max(z, w), total if z < w else 0.0, total if w < z else 0.0


# --------------------------------------------------------------------- dense_backward
def dense_ok(x, W, b, g):
    return g @ W, g.T @ x, g.sum(axis=0)


def dense_transposed_dw(x, W, b, g):
    return g @ W, x.T @ g, g.sum(axis=0)


def dense_mean_db(x, W, b, g):
    return g @ W, g.T @ x, g.mean(axis=0)


def dense_mean_dw(x, W, b, g):
    return g @ W, g.T @ x / len(x), g.sum(axis=0)


def dense_dx_with_transpose(x, W, b, g):
    return g @ W.T, g.T @ x, g.sum(axis=0)


def dense_forgets_batch(x, W, b, g):      # uses only the first sample
    return g @ W, np.outer(g[0], x[0]), g[0]


def buggy_dense_backward(x, W, b, g):  # the chapter's debug exercise: both bugs
    return g @ W, x.T @ g, g.mean(axis=0)


def dense_flipped(x, W, b, g):
    dx, dW, db = dense_ok(x, W, b, g)
    return dx, -dW, -db


# -------------------------------------------------------------------- two_layer_grads
def two_layer_ok(x, W1, W2, y):
    h = sig(x @ W1.T)
    o = h @ W2.T
    d_o = (o - y) / len(x)
    d_h = d_o @ W2
    d_z = d_h * h * (1 - h)
    return d_z.T @ x, d_o.T @ h


def two_layer_sum(x, W1, W2, y):          # sums the per-sample losses instead of averaging
    dW1, dW2 = two_layer_ok(x, W1, W2, y)
    return dW1 * len(x), dW2 * len(x)


def two_layer_no_sigma_prime(x, W1, W2, y):
    h = sig(x @ W1.T)
    d_o = (h @ W2.T - y) / len(x)
    return (d_o @ W2).T @ x, d_o.T @ h


def two_layer_sigma_prime_of_h(x, W1, W2, y):   # sigma'(h) instead of sigma'(z) = h (1 - h)
    h = sig(x @ W1.T)
    d_o = (h @ W2.T - y) / len(x)
    s = sig(h)
    return ((d_o @ W2) * s * (1 - s)).T @ x, d_o.T @ h


def two_layer_flipped(x, W1, W2, y):      # note 001 written as (y - o) instead of -(y - o)
    dW1, dW2 = two_layer_ok(x, W1, W2, y)
    return -dW1, -dW2


def two_layer_transposed(x, W1, W2, y):
    h = sig(x @ W1.T)
    d_o = (h @ W2.T - y) / len(x)
    d_z = (d_o @ W2) * h * (1 - h)
    return x.T @ d_z, h.T @ d_o


def two_layer_only_w2(x, W1, W2, y):      # note 001 updates W2 only: a zero dW1 is wrong
    dW1, dW2 = two_layer_ok(x, W1, W2, y)
    return np.zeros_like(dW1), dW2


IDS = ["backprop.sigmoid_neuron_grad", "backprop.gate_grads", "backprop.dense_backward",
       "backprop.two_layer_grads"]

SOLUTIONS = {
    "backprop.sigmoid_neuron_grad": neuron_ok,
    "backprop.gate_grads": gates_ok,
    "backprop.dense_backward": dense_ok,
    "backprop.two_layer_grads": two_layer_ok,
}


def _by_name(*fns):
    return {fn.__name__: fn for fn in fns}


WRONG = {
    "backprop.sigmoid_neuron_grad": _by_name(buggy_sigmoid_neuron_grad, neuron_note_sign,
                                             neuron_no_sigma_prime,
                                             neuron_sigma_not_prime, neuron_db_times_x,
                                             neuron_full_mse, neuron_as_list),
    "backprop.gate_grads": _by_name(gates_add_passes_one, gates_max_to_both, gates_max_splits,
                                    gates_no_swap, gates_max_to_loser),
    "backprop.dense_backward": _by_name(buggy_dense_backward, dense_transposed_dw, dense_mean_db,
                                        dense_mean_dw,
                                        dense_dx_with_transpose, dense_forgets_batch, dense_flipped),
    "backprop.two_layer_grads": _by_name(two_layer_sum, two_layer_no_sigma_prime,
                                         two_layer_sigma_prime_of_h, two_layer_flipped,
                                         two_layer_transposed, two_layer_only_w2),
}


def test_transposed_dw_is_caught_on_a_fixed_case():
    """The square fixed case catches a transposed dW by value, not only by shape."""
    result = evaluate("backprop.dense_backward", dense_transposed_dw)
    assert "result 1" in result.message


def test_debug_exercise_names_the_bugs_it_recognizes():
    """The chapter's buggy_dense_backward: the transposed dW is named first (on the first
    case, where its shape differs); once dW is fixed, the averaged db is named."""
    msg = evaluate("backprop.dense_backward", buggy_dense_backward).message
    assert "result 1" in msg and "dW is transposed" in msg
    msg = evaluate("backprop.dense_backward", dense_mean_db).message
    assert "result 2" in msg and "db averages over the batch" in msg
    assert "dW averages" in evaluate("backprop.dense_backward", dense_mean_dw).message
    # an unrecognized mistake is still rejected, without a wrong diagnosis
    msg = evaluate("backprop.dense_backward", dense_flipped).message
    assert "wrong answer" in msg and "transposed" not in msg and "averages" not in msg


@pytest.mark.parametrize("fn, fragment", [
    (gates_add_passes_one, "an add gate passes the upstream gradient on unchanged"),
    (gates_max_to_both, "routes the whole upstream gradient to the input that won"),
    (gates_max_splits, "does not split the gradient"),
    (gates_no_swap, "the multiply gate swaps its inputs"),
])
def test_gate_predictions_are_named(fn, fragment):
    assert fragment in evaluate("backprop.gate_grads", fn).message


def test_gate_grads_agree_with_a_numerical_gradient():
    f = lambda v: (v[0] + v[1]) * max(v[2], v[3])  # noqa: E731
    for point in ((1.0, 2.0, 3.0, -1.0), (-2.0, 0.5, 0.25, 0.5)):
        numeric = nn.numerical_gradient(f, np.array(point))
        np.testing.assert_allclose(gates_ok(*point), numeric, atol=1e-7)


@pytest.mark.parametrize("fn, fragment", [
    (buggy_sigmoid_neuron_grad, "two slips"),
    (neuron_note_sign, "the sign is flipped"),
    (neuron_sigma_not_prime, "sigma(z) stands where"),
    (neuron_no_sigma_prime, "the factor sigma'(z) is missing"),
])
def test_neuron_debug_names_the_bugs(fn, fragment):
    assert fragment in evaluate("backprop.sigmoid_neuron_grad", fn).message


def test_note_002_sign_is_caught_on_the_chapter_neuron():
    """The first fixed case is the chapter's neuron (x = 1.5, w = 0.8, b = -0.5, y = 1)."""
    result = evaluate("backprop.sigmoid_neuron_grad", neuron_note_sign)
    assert "x = 1.5" in result.message and result.cases == 1


def test_reference_does_not_modify_its_inputs():
    x = np.array([[0.5, 0.8]])
    W1 = np.array([[0.1, 0.2], [0.3, 0.4]])
    W2 = np.array([[0.5, 0.6]])
    y = np.array([[1.0]])
    before = [a.copy() for a in (x, W1, W2, y)]
    exercises()["backprop.two_layer_grads"].reference(x, W1, W2, y)
    for a, b in zip((x, W1, W2, y), before, strict=True):
        np.testing.assert_array_equal(a, b)
