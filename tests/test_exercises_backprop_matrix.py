"""Chapter 8 exercises: every checker accepts correct answers and rejects likely wrong ones.

IDS and SOLUTIONS feed the checks every exercise gets, in tests/test_exercises.py
(registered, reference and solutions pass).
"""

import numpy as np
import pytest
from exercise_helpers import rejected

IDS = ["backprop_matrix.layer_backward", "backprop_matrix.weighted_grads",
       "backprop_matrix.softmax_mse_dz", "backprop_matrix.network_backward"]


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _softmax_columns(z):
    e = np.exp(z - z.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def network_backward(Ws, bs, X, Y, *, one_over_m=True, use_gprime=True, keepdims=True,
                     m_twice=False, grad_of_a=False):
    """A learner-style solution, with switches for the usual mistakes and for the two bugs of
    the chapter's buggy_network_backward (m_twice, grad_of_a)."""
    m, L = X.shape[1], len(Ws)
    A, Z = [X], []
    for k, (W, b) in enumerate(zip(Ws, bs)):
        Z.append(W @ A[-1] + b)
        A.append(_sigmoid(Z[-1]) if k < L - 1 else _softmax_columns(Z[-1]))
    scale = 1.0 / m if one_over_m else 1.0
    dWs, dbs = [None] * L, [None] * L
    dz = (A[L] - Y) / m if m_twice else A[L] - Y
    for k in range(L - 1, -1, -1):
        dWs[k] = scale * dz @ A[k].T
        dbs[k] = scale * dz.sum(axis=1, keepdims=keepdims)
        if k > 0:
            dz = Ws[k].T @ dz
            if grad_of_a:
                dz = dz * _sigmoid(A[k]) * (1.0 - _sigmoid(A[k]))
            elif use_gprime:
                dz = dz * A[k] * (1.0 - A[k])
    return dWs, dbs


def chapter_buggy_network_backward(Ws, bs, X, Y):
    """The broken backward pass the chapter hands over (its cell, with the chapter's imports)."""
    from course_nn.activations import sigmoid, sigmoid_grad, softmax

    m, L = X.shape[1], len(Ws)
    A = [X]
    for k, (W_k, b_k) in enumerate(zip(Ws, bs)):
        z = W_k @ A[-1] + b_k
        A.append(sigmoid(z) if k < L - 1 else softmax(z, axis=0))
    dWs, dbs = [None] * L, [None] * L
    dz = (A[L] - Y) / m
    for k in range(L - 1, -1, -1):
        dWs[k] = dz @ A[k].T / m
        dbs[k] = dz.sum(axis=1, keepdims=True) / m
        if k > 0:
            dz = (Ws[k].T @ dz) * sigmoid_grad(A[k])
    return dWs, dbs


def softmax_mse_dz(z, y):
    y_hat = _softmax_columns(z)
    d = y_hat - y
    return y_hat * (d - (d * y_hat).sum(axis=0, keepdims=True))


def softmax_mse_dz_by_jacobian(z, y):
    """Column by column, with the Jacobian written out: J^T (y_hat - y)."""
    out = np.empty_like(z)
    for i in range(z.shape[1]):
        p = _softmax_columns(z[:, [i]])[:, 0]
        J = np.diag(p) - np.outer(p, p)
        out[:, i] = J.T @ (p - y[:, i])
    return out


def weighted_grads(dz, a_prev, c):
    dzc = dz * c                       # column i scaled by c_i
    return dzc @ a_prev.T, dzc.sum(axis=1, keepdims=True)


SOLUTIONS = {
    "backprop_matrix.layer_backward": lambda dz, W, z, g: (W.T @ dz) * g(z),
    "backprop_matrix.weighted_grads": (weighted_grads,
                                       lambda dz, a, c: (dz @ np.diag(c) @ a.T, (dz @ c)[:, None])),
    "backprop_matrix.softmax_mse_dz": (softmax_mse_dz, softmax_mse_dz_by_jacobian),
    "backprop_matrix.network_backward": network_backward,
}


# --- layer_backward --------------------------------------------------------------------------

@pytest.mark.parametrize("wrong", [
    lambda dz, W, z, g: W.T @ dz,                        # forgot g'
    lambda dz, W, z, g: (W.T @ dz) * z,                  # multiplied by z instead of g'(z)
    lambda dz, W, z, g: (W.T @ dz) * (1.0 / (1.0 + np.exp(-z))),   # g(z) instead of g'(z)
    lambda dz, W, z, g: -(W.T @ dz) * g(z),              # sign
])
def test_layer_backward_rejects_wrong_formulas(wrong):
    rejected("backprop_matrix.layer_backward", wrong, "wrong answer", "on input")


def test_layer_backward_rejects_the_missing_transpose():
    # (W @ dz) fails on the first, non-square case; the checker reports the exception
    result = rejected("backprop_matrix.layer_backward", lambda dz, W, z, g: (W @ dz) * g(z))
    assert "raised ValueError" in result.message


def test_layer_backward_rejects_a_transpose_that_fits_only_square_matrices():
    def wrong(dz, W, z, g):
        W_used = W if W.shape[0] == W.shape[1] else W.T   # right shapes, W instead of W^T
        return (W_used @ dz) * g(z)

    rejected("backprop_matrix.layer_backward", wrong, "wrong answer", "tanh_grad")


def test_layer_backward_failure_names_the_derivative_not_an_address():
    result = rejected("backprop_matrix.layer_backward", lambda dz, W, z, g: W.T @ dz)
    assert "activation_grad = sigmoid_grad" in result.message and "0x" not in result.message


# --- weighted_grads --------------------------------------------------------------------------

def _m(dz):
    return dz.shape[1]


@pytest.mark.parametrize("wrong,words", [
    (lambda dz, a, c: (dz @ a.T / _m(dz), dz.sum(axis=1, keepdims=True) / _m(dz)),
     "that is the plain mean"),
    (lambda dz, a, c: ((dz * c) @ a.T / _m(dz), (dz * c).sum(axis=1, keepdims=True) / _m(dz)),
     "no extra 1/m"),
    (lambda dz, a, c: ((dz * c) @ a.T / c.sum(), (dz * c).sum(axis=1, keepdims=True) / c.sum()),
     "is not divided by sum_i c_i"),
    (lambda dz, a, c: ((dz * c) @ (a * c).T, (dz * c).sum(axis=1, keepdims=True)),
     "not both of its factors"),
    (lambda dz, a, c: ((dz * c) @ a.T, dz.sum(axis=1, keepdims=True) / _m(dz)),
     "db needs the weights too"),
    (lambda dz, a, c: ((dz * c) @ a.T, dz.sum(axis=1, keepdims=True)),
     "db needs the weights too"),
])
def test_weighted_grads_names_each_slip(wrong, words):
    result = rejected("backprop_matrix.weighted_grads", wrong, "wrong answer", words)
    assert "hint: " in result.message


def test_weighted_grads_names_weights_on_the_neuron_axis():
    def rows(dz, a, c):
        if dz.shape[0] != dz.shape[1]:
            return weighted_grads(dz, a, c)
        w = dz * c[:, None]
        return w @ a.T, w.sum(axis=1, keepdims=True)

    rejected("backprop_matrix.weighted_grads", rows, "not row i")


def test_weighted_grads_rejects_shapes():
    rejected("backprop_matrix.weighted_grads",
             lambda dz, a, c: (a @ (dz * c).T, (dz * c).sum(axis=1, keepdims=True)),
             "result 0: expected shape (3, 4), got shape (4, 3)")
    rejected("backprop_matrix.weighted_grads",
             lambda dz, a, c: ((dz * c) @ a.T, (dz * c).sum(axis=1)),
             "result 1: expected shape (3, 1), got shape (3,)")


def test_weighted_grads_reference_against_the_numerical_gradient():
    """The reference is the gradient of J = sum_i c_i L_i for a Linear layer's W and b, with
    L_i a per-sample loss whose dL_i/dz_i is dz's column i (here L_i = sum(G[:, i] * z_i))."""
    import course_nn as cn
    from course_nn.lab.exercises.backprop_matrix import weighted_grads_reference

    rng = np.random.default_rng(3)
    G, a, c = rng.standard_normal((3, 5)), rng.standard_normal((4, 5)), rng.uniform(0, 2, 5)
    W, b = rng.standard_normal((3, 4)), rng.standard_normal((3, 1))

    def J(W_, b_):
        return float(np.sum(c * np.sum(G * (W_ @ a + b_), axis=0)))

    dW, db = weighted_grads_reference(G, a, c)
    assert cn.rel_error(dW, cn.numerical_gradient(lambda W_: J(W_, b), W.copy())) < 1e-7
    assert cn.rel_error(db, cn.numerical_gradient(lambda b_: J(W, b_), b.copy())) < 1e-7


# --- softmax_mse_dz --------------------------------------------------------------------------

def _d(z, y):
    return _softmax_columns(z) - y


@pytest.mark.parametrize("wrong,words", [
    (lambda z, y: _d(z, y), "output error of softmax + CROSS-ENTROPY"),
    (lambda z, y: _d(z, y) * _softmax_columns(z) * (1 - _softmax_columns(z)),
     "only the diagonal of the softmax Jacobian"),
    (lambda z, y: _softmax_columns(z) * (_d(z, y)
                                         - (_d(z, y) * _softmax_columns(z)).sum(axis=1, keepdims=True)),
     "runs over the classes"),
    (lambda z, y: softmax_mse_dz(z, y) / z.shape[1], "no 1/m"),
    (lambda z, y: -softmax_mse_dz(z, y), "the sign"),
])
def test_softmax_mse_dz_names_each_slip(wrong, words):
    result = rejected("backprop_matrix.softmax_mse_dz", wrong, "wrong answer", words)
    assert "hint: " in result.message


def test_softmax_mse_dz_names_softmax_over_the_samples():
    def over_samples(z, y):
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        d = p - y
        return p * (d - (d * p).sum(axis=1, keepdims=True))

    rejected("backprop_matrix.softmax_mse_dz", over_samples, "softmax over axis 0")


def test_softmax_mse_dz_reference_against_the_numerical_gradient():
    import course_nn as cn
    from course_nn.lab.exercises.backprop_matrix import softmax_mse_dz_reference

    rng = np.random.default_rng(4)
    z, y = rng.standard_normal((3, 4)), np.eye(3)[:, [0, 2, 1, 2]]

    def J(z_):
        return 0.5 * float(np.sum((_softmax_columns(z_) - y) ** 2))

    assert cn.rel_error(softmax_mse_dz_reference(z, y), cn.numerical_gradient(J, z.copy())) < 1e-7


# --- network_backward ------------------------------------------------------------------------

def test_network_backward_rejects_the_missing_one_over_m():
    rejected("backprop_matrix.network_backward",
             lambda *a: network_backward(*a, one_over_m=False), "dWs[")


def test_network_backward_rejects_forgetting_g_prime():
    rejected("backprop_matrix.network_backward",
             lambda *a: network_backward(*a, use_gprime=False), "dWs[0] (layer 1)")


def test_network_backward_rejects_flat_biases():
    rejected("backprop_matrix.network_backward",
             lambda *a: network_backward(*a, keepdims=False), "dbs[", "expected shape")


def test_network_backward_rejects_layers_in_backward_order():
    def reversed_lists(*args):
        dWs, dbs = network_backward(*args)
        return dWs[::-1], dbs[::-1]

    rejected("backprop_matrix.network_backward", reversed_lists, "dWs[0]")


def test_network_backward_failure_shows_shapes_of_the_weight_lists():
    result = rejected("backprop_matrix.network_backward", lambda *a: network_backward(*a, one_over_m=False))
    assert "Ws = [array of shape (4, 3), array of shape (2, 4)]" in result.message


def test_network_backward_rejects_a_bad_structure():
    rejected("backprop_matrix.network_backward", lambda *a: network_backward(*a)[0],
             "dWs: expected a list of")
    rejected("backprop_matrix.network_backward", lambda *a: (network_backward(*a)[0], []),
             "dbs: expected a list of")
    rejected("backprop_matrix.network_backward", lambda *a: 1.0, "expected a pair (dWs, dbs)")


def test_network_backward_names_each_planted_bug():
    rejected("backprop_matrix.network_backward", chapter_buggy_network_backward,
             "hint: nothing is fixed yet")
    rejected("backprop_matrix.network_backward", lambda *a: network_backward(*a, m_twice=True),
             "hint: the 1/m is applied twice")
    rejected("backprop_matrix.network_backward", lambda *a: network_backward(*a, grad_of_a=True),
             "hint: sigmoid_grad(A[k]) evaluates sigma' at the activation")
    rejected("backprop_matrix.network_backward", lambda *a: network_backward(*a, use_gprime=False),
             "hint: below a hidden layer")
    rejected("backprop_matrix.network_backward", lambda *a: network_backward(*a, one_over_m=False),
             "hint: dW and db of the mean loss carry a 1/m")


def test_network_backward_names_a_transpose_lost_on_square_weights():
    def transpose_lost(Ws, bs, X, Y):
        if any(W.shape[0] != W.shape[1] for W in Ws[1:]):
            return network_backward(Ws, bs, X, Y)
        m, L = X.shape[1], len(Ws)
        A = [X]
        for k, (W, b) in enumerate(zip(Ws, bs)):
            z = W @ A[-1] + b
            A.append(_sigmoid(z) if k < L - 1 else _softmax_columns(z))
        dWs, dbs, dz = [None] * L, [None] * L, A[L] - Y
        for k in range(L - 1, -1, -1):
            dWs[k], dbs[k] = dz @ A[k].T / m, dz.sum(axis=1, keepdims=True) / m
            if k > 0:
                dz = (Ws[k] @ dz) * A[k] * (1.0 - A[k])
        return dWs, dbs

    rejected("backprop_matrix.network_backward", transpose_lost, "hint: the error travels back")
