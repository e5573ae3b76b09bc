"""Exercises of chapter 8, backpropagation in matrix form (ids "backprop_matrix.<name>").

Everything is in the **column layout** of note 003: one column per sample, so a batch of m
samples in layer l is an (n_l, m) array, W^(l) is (n_l, n_(l-1)) and b^(l) is (n_l, 1).
course_nn's layers are batch-first, so every reference transposes its inputs, runs the
course_nn modules forward and backward, and transposes the result back.

- ``backprop_matrix.layer_backward`` (transcribe): dz^(l) = (W^(l+1))^T dz^(l+1) * g'(z^(l)).
- ``backprop_matrix.weighted_grads`` (derive): dW and db of a weighted loss J = sum_i c_i L_i,
  from the one-sample gradients dz_i a_i^T and dz_i: dW = (dz * c) a^T, db = dz c, db of shape
  (n, 1); the plain mean is c_i = 1/m.
- ``backprop_matrix.softmax_mse_dz`` (derive): the output delta of softmax + 1/2 squared
  error, J^T (y_hat - y) through the softmax Jacobian; the chapter shows only sigmoid + squared
  error, (y_hat - y) sigma'(z), whose softmax analogue is not elementwise.
- ``backprop_matrix.network_backward`` (debug): the chapter hands over a backward pass of a
  sigmoid network with a softmax + cross-entropy output that divides by m twice and takes
  sigma' of the activation instead of the weighted input; the learner's fixed version must
  give all dW, db of the mean loss, and the checker names each planted bug still there.

Fixed cases use non-square shapes (a missing or misplaced transpose raises or gives the wrong
shape) and square ones (a transpose that happens to fit gives the wrong values).
"""

import numpy as np

from ...activations import (
    Identity,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
    identity_grad,
    relu_grad,
    sigmoid_grad,
    tanh_grad,
)
from ...linear import Linear
from ...losses import CrossEntropyLoss, MSELoss
from ...module import Sequential
from . import Exercise, _default_compare, _slip_hint, register


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
# The parameter gradients of one layer for a weighted loss (derive)
# ---------------------------------------------------------------------------------------------

def weighted_grads_reference(dz, a_prev, c):
    """dW = sum_i c_i dz_i a_i^T = (dz * c) a_prev^T: (n, n_prev); db = sum_i c_i dz_i: (n, 1).

    dz: (n, m), the per-sample deltas of the layer (one column per sample); a_prev: (n_prev, m);
    c: (m,), the weight of each sample's loss in J = sum_i c_i L_i.
    """
    dz = np.asarray(dz, dtype=np.float64)
    a_prev = np.asarray(a_prev, dtype=np.float64)
    c = np.asarray(c, dtype=np.float64)
    n = dz.shape[0]
    lin = _linear_from(np.zeros((n, a_prev.shape[0])), np.zeros(n))
    lin(a_prev.T)
    lin.backward((dz * c).T)          # dJ/dZ for J = sum_i c_i L_i (batch-first: transposed)
    return lin.weight.grad.copy(), lin.bias.grad.reshape(n, 1)


def _weighted_slips(dz, a_prev, c):
    """(wrong answer, hint) pairs: the slips a derivation of the weighted gradient makes."""
    m = dz.shape[1]
    dzc = dz * c
    slips = [
        ((dz @ a_prev.T / m, dz.sum(axis=1, keepdims=True) / m),
         "that is the plain mean (c_i = 1/m): each sample's outer product dz_i a_i^T must be "
         "weighted by its own c_i"),
        ((dzc @ a_prev.T / m, dzc.sum(axis=1, keepdims=True) / m),
         "the weights replace the 1/m of the mean (the mean is c_i = 1/m): no extra 1/m"),
        ((dzc @ a_prev.T / c.sum(), dzc.sum(axis=1, keepdims=True) / c.sum()),
         "J = sum_i c_i L_i is not divided by sum_i c_i"),
        ((dzc @ (a_prev * c).T, dzc.sum(axis=1, keepdims=True)),
         "c_i multiplies sample i's outer product once, not both of its factors"),
        ((dzc @ a_prev.T, dz.sum(axis=1, keepdims=True) / m),
         "db needs the weights too: db = sum_i c_i dz_i"),
        ((dzc @ a_prev.T, dz.sum(axis=1, keepdims=True)),
         "db needs the weights too: db = sum_i c_i dz_i"),
    ]
    if dz.shape[0] == m:
        rows = dz * c[:, None]
        slips.append(((rows @ a_prev.T, rows.sum(axis=1, keepdims=True)),
                      "c weighs samples, which are the columns of dz: scale column i by c_i "
                      "(dz * c), not row i"))
    return slips


class _Pair(tuple):
    """The reference's (dW, db), carrying the recognized slips for the comparison."""

    slips = ()


def _weighted_reference(dz, a_prev, c):
    found = _Pair(weighted_grads_reference(dz, a_prev, c))
    found.slips = tuple(_weighted_slips(np.asarray(dz, dtype=np.float64),
                                        np.asarray(a_prev, dtype=np.float64),
                                        np.asarray(c, dtype=np.float64)))
    return found


def _compare_pair(expected, got, rtol=1e-6, atol=1e-9):
    if isinstance(got, list):
        got = tuple(got)
    reason = _default_compare(tuple(expected), got, rtol, atol)
    if reason is None:
        return None
    for wrong, why in getattr(expected, "slips", ()):
        if (_default_compare(tuple(expected), wrong, rtol, atol) is not None
                and _default_compare(wrong, got, rtol, atol) is None):
            return f"{reason}\n  hint: {why}"
    return reason


def _weighted_case(rng, n, n_prev, m):
    return (rng.standard_normal((n, m)), rng.standard_normal((n_prev, m)),
            rng.uniform(0.0, 2.0, size=m))


_case_rng = np.random.default_rng(9)
register(Exercise(
    id="backprop_matrix.weighted_grads",
    kind="derive",
    reference=_weighted_reference,
    fixed=[
        _weighted_case(_case_rng, 3, 4, 5),          # n, n_prev, m all different
        _weighted_case(_case_rng, 3, 3, 3),          # square: weights on the rows fit the shapes
        (*_weighted_case(_case_rng, 2, 3, 4)[:2], np.array([0.25, 0.25, 0.25, 0.25])),  # the mean
        (*_weighted_case(_case_rng, 4, 2, 5)[:2], np.array([1.0, 0.0, 3.0, 0.0, 0.5])),  # zeros
        _weighted_case(_case_rng, 2, 3, 1),          # one sample
    ],
    random=lambda rng: _weighted_case(rng, *(int(v) for v in rng.integers(1, 7, size=3))),
    arg_names=("dz", "a_prev", "c"),
    compare=_compare_pair,
))


# ---------------------------------------------------------------------------------------------
# The output delta of softmax + squared error (derive)
# ---------------------------------------------------------------------------------------------

def softmax_mse_dz_reference(z, y):
    """dL_i/dz_i for y_hat = softmax(z) over the classes, L_i = 1/2 ||y_hat_i - y_i||^2, per
    sample (no 1/m).

    z, y: (C, m) in column layout -> (C, m). Equals J^T (y_hat - y) with the softmax Jacobian
    J = diag(y_hat) - y_hat y_hat^T: y_hat * (d - sum_c y_hat_c d_c), d = y_hat - y; not y_hat - y.
    """
    act = Softmax(dim=1)                            # batch-first: the classes are axis 1
    loss = MSELoss(half=True, reduction="sum")      # the sum over samples: per-sample derivatives
    loss(act(np.asarray(z, dtype=np.float64).T), np.asarray(y, dtype=np.float64).T)
    return act.backward(loss.backward()).T


class _Delta(np.ndarray):
    """The reference's dz, carrying the recognized slips for the comparison."""

    slips = ()


def _softmax_columns(z, axis=0):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _softmax_mse_reference(z, y):
    found = np.asarray(softmax_mse_dz_reference(z, y)).view(_Delta)
    z, y = np.asarray(z, dtype=np.float64), np.asarray(y, dtype=np.float64)
    y_hat = _softmax_columns(z)
    d = y_hat - y
    by_samples = _softmax_columns(z, axis=1)
    d_s = by_samples - y
    found.slips = (
        (d, "y_hat - y is the output error of softmax + CROSS-ENTROPY; with squared error, "
            "chain dL/dy_hat = y_hat - y through the softmax Jacobian"),
        (d * y_hat * (1 - y_hat), "that is only the diagonal of the softmax Jacobian, as if "
                                  "softmax were elementwise: every y_hat_c depends on every z_k"),
        (y_hat * (d - (d * y_hat).sum(axis=1, keepdims=True)),
         "the sum in J^T d runs over the classes (axis 0, the rows), not over the samples"),
        (by_samples * (d_s - (d_s * by_samples).sum(axis=1, keepdims=True)),
         "in column layout the classes are the rows: softmax over axis 0"),
        (y_hat * (d - (d * y_hat).sum(axis=0, keepdims=True)) / z.shape[1],
         "the output error is per sample: no 1/m (it enters dW and db)"),
        (-y_hat * (d - (d * y_hat).sum(axis=0, keepdims=True)),
         "the sign: dL/dy_hat = y_hat - y for L = 1/2 ||y_hat - y||^2"),
    )
    return found


def _compare_delta(expected, got):
    want = np.asarray(expected).view(np.ndarray)
    reason = _default_compare(want, got, 1e-6, 1e-9)
    return _slip_hint(reason, got, want, [(np.asarray(w), why) for w, why in expected.slips])


def _softmax_dz_case(rng, c, m):
    y = np.eye(c)[:, rng.integers(0, c, size=m)]
    return 2.0 * rng.standard_normal((c, m)), y


_case_rng = np.random.default_rng(10)
register(Exercise(
    id="backprop_matrix.softmax_mse_dz",
    kind="derive",
    reference=_softmax_mse_reference,
    fixed=[
        (np.array([[0.0, 2.0, -1.0], [0.0, -1.0, 3.0]]), np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])),
        (np.array([[6.0], [-6.0], [0.0]]), np.array([[0.0], [1.0], [0.0]])),    # confidently wrong
        _softmax_dz_case(_case_rng, 3, 4),
        _softmax_dz_case(_case_rng, 4, 1),
        (_case_rng.standard_normal((3, 3)), _case_rng.uniform(0.0, 1.0, (3, 3))),   # square, soft targets
    ],
    random=lambda rng: _softmax_dz_case(rng, int(rng.integers(2, 6)), int(rng.integers(1, 7))),
    arg_names=("z", "y"),
    compare=_compare_delta,
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


def _sigmoid(z):
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-z))


def _network_variant(Ws, bs, X, Y, *, m_twice=False, grad_of_a=False, no_transpose=False,
                     no_gprime=False, no_m=False):
    """The backward pass written out, with the chapter's planted bugs (and other slips) as
    switches; None when a switch makes the shapes impossible."""
    m, L = X.shape[1], len(Ws)
    A, Z = [X], []
    for k, (W, b) in enumerate(zip(Ws, bs)):
        Z.append(W @ A[-1] + b)
        if k < L - 1:
            A.append(_sigmoid(Z[-1]))
        else:
            e = np.exp(Z[-1] - Z[-1].max(axis=0, keepdims=True))
            A.append(e / e.sum(axis=0, keepdims=True))
    scale = 1.0 if no_m else 1.0 / m
    dz = (A[L] - Y) / m if m_twice else A[L] - Y
    dWs, dbs = [None] * L, [None] * L
    for k in range(L - 1, -1, -1):
        dWs[k] = scale * dz @ A[k].T
        dbs[k] = scale * dz.sum(axis=1, keepdims=True)
        if k > 0:
            if no_transpose:
                if Ws[k].shape[0] != Ws[k].shape[1]:
                    return None
                up = Ws[k] @ dz
            else:
                up = Ws[k].T @ dz
            if no_gprime:
                dz = up
            elif grad_of_a:
                s_a = _sigmoid(A[k])
                dz = up * s_a * (1.0 - s_a)          # sigmoid_grad(A[k]): sigma'(a), not sigma'(z)
            else:
                dz = up * A[k] * (1.0 - A[k])
    return dWs, dbs


_NETWORK_BUGS = (
    ("nothing is fixed yet: the 1/m of the mean loss is applied twice (in dz^(L) and again in "
     "dW, db), and sigmoid_grad(A[k]) is sigma' of the activation, not of the weighted input z",
     dict(m_twice=True, grad_of_a=True)),
    ("the 1/m is applied twice: with dz^(L) = (y_hat - y) / m the 1/m in dW and db divides "
     "again; dz^(L) = y_hat - y is per sample", dict(m_twice=True)),
    ("sigmoid_grad(A[k]) evaluates sigma' at the activation a = sigma(z); the chain rule needs "
     "sigma'(z) = a (1 - a)", dict(grad_of_a=True)),
    ("the error travels back through the transposed weights: W^T dz, not W dz",
     dict(no_transpose=True)),
    ("below a hidden layer, multiply by sigma'(z) = a (1 - a) elementwise", dict(no_gprime=True)),
    ("dW and db of the mean loss carry a 1/m", dict(no_m=True)),
)


class _Grads(tuple):
    """The reference's (dWs, dbs), carrying what each recognized bug would have returned."""

    variants = ()


def _network_debug_reference(Ws, bs, X, Y):
    found = _Grads(network_backward_reference(Ws, bs, X, Y))
    variants = []
    for why, switches in _NETWORK_BUGS:
        wrong = _network_variant(Ws, bs, np.asarray(X, dtype=np.float64),
                                 np.asarray(Y, dtype=np.float64), **switches)
        if wrong is not None:
            variants.append((why, wrong))
    found.variants = tuple(variants)
    return found


def _compare_network_debug(expected, got):
    reason = _compare_network(expected, got)
    if reason is None:
        return None
    for why, wrong in getattr(expected, "variants", ()):
        if _compare_network(expected, wrong) is not None and _compare_network(wrong, got) is None:
            return f"{reason}\n  hint: {why}"
    return reason


_case_rng = np.random.default_rng(11)
register(Exercise(
    id="backprop_matrix.network_backward",
    kind="debug",
    reference=_network_debug_reference,
    fixed=[
        _network_case(_case_rng, [3, 4, 2], 5),        # one hidden layer
        _network_case(_case_rng, [2, 3, 3, 3], 3),     # two hidden layers, square matrices
        _network_case(_case_rng, [4, 5, 3], 1),        # a single sample
        _network_case(_case_rng, [2, 2, 4], 8),
    ],
    random=_network_random,
    arg_names=("Ws", "bs", "X", "Y"),
    compare=_compare_network_debug,
))
