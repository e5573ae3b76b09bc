"""Chapter 8 exercises: every checker accepts correct answers and rejects likely wrong ones.

IDS and SOLUTIONS feed the checks every exercise gets, in tests/test_exercises.py
(registered, reference and solutions pass).
"""

import numpy as np
import pytest
from exercise_helpers import rejected

IDS = ["backprop_matrix.layer_backward", "backprop_matrix.batch_grads",
       "backprop_matrix.sigmoid_mse_dz", "backprop_matrix.network_backward"]


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _softmax_columns(z):
    e = np.exp(z - z.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def network_backward(Ws, bs, X, Y, *, one_over_m=True, use_gprime=True, keepdims=True):
    """A learner-style solution, with switches for the usual mistakes."""
    m, L = X.shape[1], len(Ws)
    A, Z = [X], []
    for k, (W, b) in enumerate(zip(Ws, bs)):
        Z.append(W @ A[-1] + b)
        A.append(_sigmoid(Z[-1]) if k < L - 1 else _softmax_columns(Z[-1]))
    scale = 1.0 / m if one_over_m else 1.0
    dWs, dbs = [None] * L, [None] * L
    dz = A[L] - Y
    for k in range(L - 1, -1, -1):
        dWs[k] = scale * dz @ A[k].T
        dbs[k] = scale * dz.sum(axis=1, keepdims=keepdims)
        if k > 0:
            dz = Ws[k].T @ dz
            if use_gprime:
                dz = dz * A[k] * (1.0 - A[k])
    return dWs, dbs


SOLUTIONS = {
    "backprop_matrix.layer_backward": lambda dz, W, z, g: (W.T @ dz) * g(z),
    "backprop_matrix.batch_grads": lambda dz, a: (dz @ a.T / dz.shape[1],
                                                  dz.mean(axis=1, keepdims=True)),
    "backprop_matrix.sigmoid_mse_dz": lambda z, y: (_sigmoid(z) - y) * _sigmoid(z) * (1 - _sigmoid(z)),
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


# --- batch_grads -----------------------------------------------------------------------------

def test_batch_grads_rejects_the_missing_one_over_m():
    rejected("backprop_matrix.batch_grads",
             lambda dz, a: (dz @ a.T, dz.sum(axis=1, keepdims=True)), "result 0")


def test_batch_grads_rejects_a_missing_one_over_m_in_db_only():
    rejected("backprop_matrix.batch_grads",
             lambda dz, a: (dz @ a.T / dz.shape[1], dz.sum(axis=1, keepdims=True)), "result 1")


def test_batch_grads_rejects_the_wrong_transpose():
    rejected("backprop_matrix.batch_grads",
             lambda dz, a: (a @ dz.T / dz.shape[1], dz.mean(axis=1, keepdims=True)),
             "result 0: expected shape (3, 4), got shape (4, 3)")


def test_batch_grads_rejects_db_as_a_flat_vector():
    rejected("backprop_matrix.batch_grads",
             lambda dz, a: (dz @ a.T / dz.shape[1], dz.mean(axis=1)),
             "result 1: expected shape (3, 1), got shape (3,)")


@pytest.mark.parametrize("wrong", [
    lambda dz, a: (dz @ a.T / dz.shape[0], dz.sum(axis=1, keepdims=True) / dz.shape[0]),  # 1/n
    lambda dz, a: (dz @ a.T / dz.shape[1], dz.mean(axis=0, keepdims=True).T[:dz.shape[0]]),
    lambda dz, a: [dz @ a.T / dz.shape[1], dz.mean(axis=1, keepdims=True)],  # a list, not a tuple
])
def test_batch_grads_rejects_other_mistakes(wrong):
    rejected("backprop_matrix.batch_grads", wrong, "wrong answer")


# --- sigmoid_mse_dz --------------------------------------------------------------------------

@pytest.mark.parametrize("wrong", [
    lambda z, y: _sigmoid(z) - y,                                       # the softmax/BCE shortcut
    lambda z, y: (_sigmoid(z) - y) * _sigmoid(z) * (1 - _sigmoid(z)) / z.shape[1],   # with 1/m
    lambda z, y: (y - _sigmoid(z)) * _sigmoid(z) * (1 - _sigmoid(z)),   # note 002's sign
    lambda z, y: (_sigmoid(z) - y) * _sigmoid(_sigmoid(z)) * (1 - _sigmoid(_sigmoid(z))),  # s'(a)
    lambda z, y: 2 * (_sigmoid(z) - y) * _sigmoid(z) * (1 - _sigmoid(z)),  # un-halved loss
])
def test_sigmoid_mse_dz_rejects_wrong_answers(wrong):
    rejected("backprop_matrix.sigmoid_mse_dz", wrong, "wrong answer", "on input")


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
