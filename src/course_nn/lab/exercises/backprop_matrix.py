"""Exercises of chapter 8, backpropagation in matrix form (ids "backprop_matrix.<name>").

Everything is in the **column layout** of note 003: one column per sample, so a batch of m
samples in layer l is an (n_l, m) array, W^(l) is (n_l, n_(l-1)) and b^(l) is (n_l, 1).
course_nn's layers are batch-first, so every reference transposes its inputs, runs the
course_nn modules forward and backward, and transposes the result back.

- ``backprop_matrix.layer_backward``: dz^(l) = (W^(l+1))^T dz^(l+1) * g'(z^(l)).
- ``backprop_matrix.batch_grads``: dW = (1/m) dz a^T and db = (1/m) sum_i dz_i, db of shape (n, 1).
- ``backprop_matrix.sigmoid_mse_dz``: the output delta of sigmoid + 1/2 squared error, which
  is NOT y_hat - y.
- ``backprop_matrix.network_backward``: all dW, db of a sigmoid network with a softmax +
  cross-entropy output, averaged over the batch.

Fixed cases use non-square shapes (a missing or misplaced transpose raises or gives the wrong
shape) and square ones (a transpose that happens to fit gives the wrong values).
"""

import numpy as np

from ...activations import (
    Identity,
    ReLU,
    Sigmoid,
    Tanh,
    identity_grad,
    relu_grad,
    sigmoid_grad,
    tanh_grad,
)
from ...linear import Linear
from ...losses import CrossEntropyLoss, MSELoss
from ...module import Sequential
from . import Exercise, _default_compare, register


def _linear_from(weight, bias=None):
    """A Linear layer holding ``weight`` (out, in) and ``bias`` (out,); draws no random numbers."""
    weight = np.array(weight, dtype=np.float64)
    layer = Linear(weight.shape[1], weight.shape[0], bias=bias is not None,
                   init=lambda shape, rng: weight.copy())
    if bias is not None:
        layer.bias.data[...] = np.asarray(bias, dtype=np.float64).reshape(-1)
    return layer


class ActivationDerivative:
    """g'(z) as a callable that knows its course_nn Module and prints as its name.

    The learner calls it like a function: ``activation_grad(z)`` returns g'(z) elementwise.
    """

    def __init__(self, name, grad, module):
        self.name = name
        self._grad = grad
        self.module = module

    def __call__(self, z):
        return self._grad(np.asarray(z, dtype=np.float64))

    def __repr__(self):
        return self.name


DERIVATIVES = {
    "sigmoid_grad": ActivationDerivative("sigmoid_grad", sigmoid_grad, Sigmoid),
    "tanh_grad": ActivationDerivative("tanh_grad", tanh_grad, Tanh),
    "relu_grad": ActivationDerivative("relu_grad", relu_grad, ReLU),
    "identity_grad": ActivationDerivative("identity_grad", identity_grad, Identity),
}
"""The derivatives the checkers pass as ``activation_grad`` (also handy in the notebook)."""


# ---------------------------------------------------------------------------------------------
# One step of the backward recursion
# ---------------------------------------------------------------------------------------------

def layer_backward_reference(dz_next, W_next, z, activation_grad):
    """dz^(l) = (W^(l+1))^T dz^(l+1) * g'(z^(l)).

    dz_next: (n_(l+1), m), W_next: (n_(l+1), n_l), z: (n_l, m) -> dz: (n_l, m).
    """
    act = activation_grad.module()
    lin = _linear_from(W_next)
    lin(act(np.asarray(z, dtype=np.float64).T))        # batch-first: (m, n_l) -> (m, n_(l+1))
    return act.backward(lin.backward(np.asarray(dz_next, dtype=np.float64).T)).T


def _layer_case(rng, n_next, n, m, name):
    z = rng.standard_normal((n, m))
    z[np.abs(z) < 0.05] += 0.2                          # keep ReLU away from its kink
    return (rng.standard_normal((n_next, m)), rng.standard_normal((n_next, n)), z,
            DERIVATIVES[name])


def _layer_random(rng):
    n_next, n, m = (int(v) for v in rng.integers(1, 6, size=3))
    name = ("sigmoid_grad", "tanh_grad", "relu_grad", "identity_grad")[int(rng.integers(0, 4))]
    return _layer_case(rng, n_next, n, m, name)


_case_rng = np.random.default_rng(8)
register(Exercise(
    id="backprop_matrix.layer_backward",
    kind="transcribe",
    reference=layer_backward_reference,
    fixed=[
        _layer_case(_case_rng, 3, 4, 5, "sigmoid_grad"),     # all shapes different
        _layer_case(_case_rng, 3, 3, 3, "tanh_grad"),        # square: W instead of W^T has the right shape
        _layer_case(_case_rng, 2, 5, 1, "relu_grad"),        # one sample
        _layer_case(_case_rng, 4, 2, 6, "identity_grad"),    # g' = 1: only the product matters
    ],
    random=_layer_random,
    arg_names=("dz_next", "W_next", "z", "activation_grad"),
))


# ---------------------------------------------------------------------------------------------
# The parameter gradients of one layer, averaged over the batch
# ---------------------------------------------------------------------------------------------

def batch_grads_reference(dz, a_prev):
    """dW = (1/m) dz a_prev^T: (n, n_prev); db = (1/m) sum of the columns of dz: (n, 1).

    dz: (n, m), the per-sample deltas of the layer (one column per sample); a_prev: (n_prev, m).
    """
    dz = np.asarray(dz, dtype=np.float64)
    a_prev = np.asarray(a_prev, dtype=np.float64)
    n, m = dz.shape
    lin = _linear_from(np.zeros((n, a_prev.shape[0])), np.zeros(n))
    lin(a_prev.T)
    lin.backward(dz.T / m)            # the mean loss: dJ/dZ = dz / m (batch-first: transposed)
    return lin.weight.grad.copy(), lin.bias.grad.reshape(n, 1)


def _grads_case(rng, n, n_prev, m):
    return rng.standard_normal((n, m)), rng.standard_normal((n_prev, m))


_case_rng = np.random.default_rng(9)
register(Exercise(
    id="backprop_matrix.batch_grads",
    kind="transcribe",
    reference=batch_grads_reference,
    fixed=[
        _grads_case(_case_rng, 3, 4, 5),       # n, n_prev, m all different
        _grads_case(_case_rng, 3, 3, 3),       # square: a transposed dW has the right shape
        _grads_case(_case_rng, 2, 3, 1),       # m = 1: the 1/m changes nothing here...
        _grads_case(_case_rng, 4, 2, 10),      # ...and a lot here
    ],
    random=lambda rng: _grads_case(rng, *(int(v) for v in rng.integers(1, 7, size=3))),
    arg_names=("dz", "a_prev"),
))


# ---------------------------------------------------------------------------------------------
# The output delta of sigmoid + squared error
# ---------------------------------------------------------------------------------------------

def sigmoid_mse_dz_reference(z, y):
    """dL_i/dz_i for a = sigmoid(z), L_i = 1/2 ||a_i - y_i||^2, per sample (no 1/m).

    z, y: (n_L, m) in column layout -> (n_L, m). Equals (a - y) * sigmoid'(z), not a - y.
    """
    act = Sigmoid()
    loss = MSELoss(half=True, reduction="sum")     # the sum over samples: per-sample derivatives
    loss(act(np.asarray(z, dtype=np.float64).T), np.asarray(y, dtype=np.float64).T)
    return act.backward(loss.backward()).T


def _dz_case(rng, n, m):
    return 2.0 * rng.standard_normal((n, m)), rng.uniform(0.0, 1.0, size=(n, m))


_case_rng = np.random.default_rng(10)
register(Exercise(
    id="backprop_matrix.sigmoid_mse_dz",
    kind="derive",
    reference=sigmoid_mse_dz_reference,
    fixed=[
        (np.array([[0.0, 2.0, -2.0]]), np.array([[1.0, 0.0, 1.0]])),   # sigma'(0) = 1/4
        (np.array([[6.0], [-6.0]]), np.array([[0.0], [1.0]])),          # saturated and wrong
        _dz_case(_case_rng, 3, 4),
        _dz_case(_case_rng, 2, 1),
    ],
    random=lambda rng: _dz_case(rng, int(rng.integers(1, 5)), int(rng.integers(1, 7))),
    arg_names=("z", "y"),
))


# ---------------------------------------------------------------------------------------------
# The whole backward pass of a network
# ---------------------------------------------------------------------------------------------

def network_backward_reference(Ws, bs, X, Y):
    """All gradients of the mean cross-entropy of a sigmoid network with a softmax output.

    Ws[k]: W^(k+1) of shape (n_(k+1), n_k); bs[k]: b^(k+1) of shape (n_(k+1), 1);
    X: (n_0, m) inputs; Y: (C, m) one-hot targets. Hidden layers use sigmoid, the last layer
    softmax, the loss is J = (1/m) sum_i -log(y_hat_i[label_i]).
    Returns (dWs, dbs): two lists shaped like Ws and bs.
    """
    layers = []
    for k, (W, b) in enumerate(zip(Ws, bs)):
        layers.append(_linear_from(W, b))
        if k < len(Ws) - 1:
            layers.append(Sigmoid())
    model = Sequential(*layers)
    loss = CrossEntropyLoss()
    loss(model(np.asarray(X, dtype=np.float64).T), np.asarray(Y).argmax(axis=0))
    model.backward(loss.backward())
    linears = [layer for layer in model if isinstance(layer, Linear)]
    return ([lin.weight.grad.copy() for lin in linears],
            [lin.bias.grad.reshape(-1, 1) for lin in linears])


class ArrayList(list):
    """A list of arrays that prints as its shapes (a failing input stays readable)."""

    def __repr__(self):
        return "[" + ", ".join(f"array of shape {a.shape}" for a in self) + "]"


def _network_case(rng, sizes, m):
    Ws = ArrayList(rng.standard_normal((n_out, n_in)) for n_in, n_out in zip(sizes[:-1], sizes[1:]))
    bs = ArrayList(0.5 * rng.standard_normal((n_out, 1)) for n_out in sizes[1:])
    X = rng.standard_normal((sizes[0], m))
    Y = np.eye(sizes[-1])[:, rng.integers(0, sizes[-1], size=m)]
    return Ws, bs, X, Y


def _network_random(rng):
    hidden = [int(v) for v in rng.integers(2, 6, size=int(rng.integers(1, 3)))]
    sizes = [int(rng.integers(2, 5)), *hidden, int(rng.integers(2, 5))]
    return _network_case(rng, sizes, int(rng.integers(1, 7)))


def _compare_network(expected, got):
    exp_W, exp_b = expected
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        return f"expected a pair (dWs, dbs) of two lists, got {type(got).__name__}"
    for what, exp_list, got_list in (("dWs", exp_W, got[0]), ("dbs", exp_b, got[1])):
        if not isinstance(got_list, (tuple, list)) or len(got_list) != len(exp_list):
            return f"{what}: expected a list of {len(exp_list)} arrays, one per layer"
        for k, (e, g) in enumerate(zip(exp_list, got_list), start=1):
            reason = _default_compare(e, g, 1e-6, 1e-9)
            if reason:
                return f"{what}[{k - 1}] (layer {k}): {reason}"
    return None


_case_rng = np.random.default_rng(11)
register(Exercise(
    id="backprop_matrix.network_backward",
    kind="transcribe",
    reference=network_backward_reference,
    fixed=[
        _network_case(_case_rng, [3, 4, 2], 5),        # one hidden layer
        _network_case(_case_rng, [2, 3, 3, 3], 3),     # two hidden layers, square matrices
        _network_case(_case_rng, [4, 5, 3], 1),        # a single sample
        _network_case(_case_rng, [2, 2, 4], 8),
    ],
    random=_network_random,
    arg_names=("Ws", "bs", "X", "Y"),
    compare=_compare_network,
))
