"""Exercises of chapter 5, backpropagation by hand.

Four exercises that build up one backward pass, each checked against course_nn's modules:

- ``backprop.sigmoid_neuron_grad`` (debug): the chapter's buggy gradient of one sigmoid neuron
  has note 002's sign, (y - y_hat), and sigma(z) where sigma'(z) belongs; the fixed
  (dL/dw, dL/db); the checker names either bug or both.
- ``backprop.gate_grads`` (predict, then run): the four partial derivatives of
  f = (x + y) * max(z, w), where an add gate, a multiply gate and a max gate meet; the
  reference is course_nn's scalar autograd (max(z, w) = w + relu(z - w)).
- ``backprop.dense_backward`` (debug): the chapter hands over ``buggy_dense_backward``, whose
  dW is transposed and whose db averages over the batch (both invisible on a square layer and
  one sample); the learner finds the bugs with a gradient check and writes the fixed
  (dx, dW, db); the checker names each recognized bug in a wrong answer.
- ``backprop.two_layer_grads``: dW1, dW2 of note 001's sigmoid network, averaged over a batch.

Fixed cases include the chapter's worked examples (note 000's 2-2-1 ReLU network and note
001's 2-2-1 sigmoid network); random cases come from the checker's seeded generator.
"""

import numpy as np

from ...activations import Sigmoid
from ...linear import Linear
from ...losses import MSELoss
from . import Exercise, _default_compare, _slip_hint, register


def linear_from(weight, bias=None):
    """A course_nn Linear layer holding the given weight (out, in) and optional bias (out,)."""
    weight = np.array(weight, dtype=np.float64)
    if weight.ndim != 2:
        raise ValueError(f"linear_from: expected a weight of shape (out, in), got {weight.shape}")
    layer = Linear(weight.shape[1], weight.shape[0], bias=bias is not None,
                   init=lambda shape, rng: weight.copy())
    if bias is not None:
        layer.bias.data[...] = np.asarray(bias, dtype=np.float64)
    return layer


# ---------------------------------------------------------------- sigmoid_neuron_grad
def sigmoid_neuron_grad(x, w, b, y):
    """y_hat = sigmoid(w x + b), L = 1/2 (y - y_hat)^2 -> (dL/dw, dL/db) as floats."""
    layer = linear_from([[w]], [b])
    act = Sigmoid()
    loss = MSELoss(half=True)
    y_hat = act(layer(np.array([[x]], dtype=np.float64)))
    loss(y_hat, np.array([[y]], dtype=np.float64))
    layer.backward(act.backward(loss.backward()))
    return float(layer.weight.grad[0, 0]), float(layer.bias.grad[0])


class _NeuronGrads(tuple):
    """The reference's (dL/dw, dL/db), carrying what each recognized slip would give."""

    slips = ()


def _neuron_reference(x, w, b, y):
    grads = _NeuronGrads(sigmoid_neuron_grad(x, w, b, y))
    y_hat = 1.0 / (1.0 + np.exp(-(w * x + b)))
    def pair(delta):
        return (delta * x, delta)
    grads.slips = (
        (pair((y - y_hat) * y_hat), "two slips: (y - y_hat) has the wrong sign, dL/dy_hat = "
                                    "y_hat - y; and sigma(z) stands where sigma'(z) = "
                                    "sigma(z)(1 - sigma(z)) belongs"),
        (pair((y - y_hat) * y_hat * (1 - y_hat)), "the sign is flipped: dL/dy_hat = y_hat - y "
                                                  "(note 002's y - y_hat climbs the loss)"),
        (pair((y_hat - y) * y_hat), "sigma(z) stands where sigma'(z) = sigma(z)(1 - sigma(z)) "
                                    "belongs"),
        (pair(y_hat - y), "the factor sigma'(z) is missing"),
    )
    return grads


def _compare_neuron(expected, got):
    want = np.array(tuple(expected), dtype=float)
    slips = [(np.asarray(wrong, dtype=float), why) for wrong, why in expected.slips]
    return _slip_hint(_default_compare(tuple(expected), got, 1e-6, 1e-9), got, want, slips, atol=1e-12)


def _random_neuron(rng):
    return (float(2.0 * rng.standard_normal()), float(rng.standard_normal()),
            float(rng.standard_normal()), float(rng.uniform(0.0, 1.0)))


register(Exercise(
    id="backprop.sigmoid_neuron_grad",
    kind="debug",
    reference=_neuron_reference,
    compare=_compare_neuron,
    fixed=[
        (1.5, 0.8, -0.5, 1.0),    # the chapter's neuron: z = 0.7
        (-2.0, 0.5, 0.1, 0.0),    # negative input: dL/dw and dL/db have opposite signs
        (3.0, 1.5, 0.5, 0.0),     # nearly saturated: sigma' is small
        (0.4, -1.2, 0.3, 0.9),
    ],
    random=_random_neuron,
    arg_names=("x", "w", "b", "y"),
))


# ------------------------------------------------------------------------- gate_grads
class _Partials(tuple):
    """The reference's four partial derivatives, carrying what each recognized slip gives."""

    slips = ()


def gate_grads(x, y, z, w):
    """(df/dx, df/dy, df/dz, df/dw) of f = (x + y) * max(z, w) at the given numbers (z != w),
    by course_nn's scalar autograd: max(z, w) is written w + relu(z - w)."""
    from ...autograd import Value

    xs = [Value(float(v)) for v in (x, y, z, w)]
    vx, vy, vz, vw = xs
    f = (vx + vy) * (vw + (vz - vw).relu())
    f.backward()
    out = _Partials(float(v.grad) for v in xs)
    s, m = float(x) + float(y), max(float(z), float(w))
    out.slips = (
        ((1.0, 1.0) + out[2:], "an add gate passes the upstream gradient on unchanged, but here "
                               "the upstream gradient of x + y is what the multiply gate sends "
                               "back: the other factor, max(z, w)"),
        (out[:2] + (s, s), "a max gate routes the whole upstream gradient to the input that won; "
                           "the other one gets 0"),
        (out[:2] + (s / 2, s / 2), "a max gate does not split the gradient: the winner gets all "
                                   "of it, the loser none"),
        ((s, s) + tuple(m if g else 0.0 for g in out[2:]),
         "the multiply gate swaps its inputs: the gradient to one factor is the upstream "
         "gradient times the *other* factor"),
    )
    return out


def _compare_gates(expected, got):
    want = np.array(tuple(expected), dtype=float)
    slips = [(np.asarray(wrong, dtype=float), why) for wrong, why in expected.slips]
    return _slip_hint(_default_compare(tuple(expected), got, 1e-6, 1e-9), got, want, slips)


def _random_gates(rng):
    x, y, z = (float(np.round(v, 3)) for v in rng.normal(size=3))
    w = float(np.round(z + rng.choice([-1, 1]) * rng.uniform(0.2, 2.0), 3))
    return x, y, z, w


register(Exercise(
    id="backprop.gate_grads",
    kind="predict",
    reference=gate_grads,
    fixed=[
        (1.0, 2.0, 3.0, -1.0),       # z wins
        (1.0, 2.0, -1.0, 3.0),       # w wins
        (-2.0, 0.5, 0.25, 0.5),      # x + y < 0: the gradients to z, w change sign
        (0.5, 0.5, 2.0, 1.0),
    ],
    random=_random_gates,
    arg_names=("x", "y", "z", "w"),
    compare=_compare_gates,
))


# --------------------------------------------------------------------- dense_backward
def dense_backward(x, W, b, grad_out):
    """Backward of y = x @ W.T + b.

    x: (N, in), W: (out, in), b: (out,), grad_out = dL/dy: (N, out)
    -> (dL/dx: (N, in), dL/dW: (out, in), dL/db: (out,)), gradients summed over the batch.
    """
    layer = linear_from(W, b)
    layer(x)
    dx = layer.backward(grad_out)
    return dx, layer.weight.grad.copy(), layer.bias.grad.copy()


class _Grads(tuple):
    """The reference's (dx, dW, db), carrying what each recognized slip would give."""

    slips = ()


_DENSE_SLIPS = (
    (1, "dW is transposed: x.T @ grad_out has shape (in, out), and on a square layer the "
        "shape hides it; dW = grad_out.T @ x", lambda x, W, g: x.T @ g),
    (2, "db averages over the batch; the loss is a sum over the samples, so db sums "
        "grad_out over axis 0", lambda x, W, g: g.mean(axis=0)),
    (1, "dW averages over the batch; like db it sums the samples' contributions",
     lambda x, W, g: g.T @ x / len(x)),
    (0, "dx multiplies by W.T; dx = grad_out @ W has the shape of x",
     lambda x, W, g: g @ W.T if W.shape[0] == W.shape[1] else None),
)


def _dense_backward_reference(x, W, b, grad_out):
    grads = _Grads(dense_backward(x, W, b, grad_out))
    slips = []
    for index, reason, slip in _DENSE_SLIPS:
        wrong = slip(np.asarray(x, dtype=float), np.asarray(W, dtype=float),
                     np.asarray(grad_out, dtype=float))
        if wrong is not None and (wrong.shape != grads[index].shape
                                  or not np.allclose(wrong, grads[index])):
            slips.append((index, reason, wrong))
    grads.slips = tuple(slips)
    return grads


def _compare_dense(expected, got):
    plain = tuple(expected)
    reason = _default_compare(plain, got, 1e-6, 1e-9)
    if reason is None:
        return None
    named = []
    for index, why, wrong in expected.slips:
        try:
            mine = np.asarray(got[index], dtype=float)
        except (TypeError, ValueError, IndexError):
            continue
        if mine.shape == wrong.shape and np.allclose(mine, wrong, rtol=1e-6, atol=1e-9):
            named.append(why)
    return reason + "".join(f"\n  {why}" for why in named)


def _random_dense(rng):
    n, d_in, d_out = (int(v) for v in rng.integers(1, 6, size=3))
    return (rng.standard_normal((n, d_in)), rng.standard_normal((d_out, d_in)),
            rng.standard_normal(d_out), rng.standard_normal((n, d_out)))


_W1_A = np.array([[0.1, 0.2], [0.3, 0.4]])
_W2_A = np.array([[0.5, 0.6]])
register(Exercise(
    id="backprop.dense_backward",
    kind="debug",
    reference=_dense_backward_reference,
    fixed=[
        # note 000's output layer: input h = [0.27, 0.59], dL/dy = y - t = 0.789 - 1
        (np.array([[0.27, 0.59]]), _W2_A.copy(), np.array([0.3]), np.array([[-0.211]])),
        # note 000's hidden layer: input x = [0.5, 0.6], dL/dz = [-0.1055, -0.1266]
        (np.array([[0.5, 0.6]]), _W1_A.copy(), np.array([0.1, 0.2]),
         np.array([[-0.1055, -0.1266]])),
        # a batch of 3 through a square layer: a transposed dW has the right shape, wrong values
        (np.array([[1.0, 2.0, 0.0], [0.0, -1.0, 3.0], [2.0, 0.5, -1.0]]),
         np.array([[1.0, -2.0, 0.5], [0.0, 1.0, 2.0], [-1.0, 0.3, 0.0]]),
         np.array([0.1, -0.2, 0.3]),
         np.array([[1.0, 0.0, -1.0], [0.5, 2.0, 0.0], [-1.0, 1.0, 1.0]])),
        # a batch of 2 through a 4 -> 3 layer
        (np.array([[1.0, -1.0, 0.5, 2.0], [0.0, 3.0, -2.0, 1.0]]),
         np.arange(12.0).reshape(3, 4) / 10.0 - 0.5,
         np.array([0.0, 1.0, -1.0]),
         np.array([[1.0, -2.0, 0.5], [0.3, 0.0, -1.0]])),
    ],
    random=_random_dense,
    arg_names=("x", "W", "b", "grad_out"),
    compare=_compare_dense,
))


# -------------------------------------------------------------------- two_layer_grads
def two_layer_grads(x, W1, W2, y):
    """Note 001's network on a batch: o = sigmoid(x @ W1.T) @ W2.T, L = mean_n 1/2 (o_n - y_n)^2.

    x: (N, D), W1: (H, D), W2: (1, H), y: (N, 1) -> (dL/dW1: (H, D), dL/dW2: (1, H)).
    """
    hidden, act, out = linear_from(W1), Sigmoid(), linear_from(W2)
    loss = MSELoss(half=True)
    loss(out(act(hidden(x))), y)
    hidden.backward(act.backward(out.backward(loss.backward())))
    return hidden.weight.grad.copy(), out.weight.grad.copy()


def _random_two_layer(rng):
    n, d, h = (int(v) for v in rng.integers(1, 5, size=3))
    return (rng.standard_normal((n, d)), rng.standard_normal((h, d)),
            rng.standard_normal((1, h)), rng.standard_normal((n, 1)))


register(Exercise(
    id="backprop.two_layer_grads",
    kind="derive",
    reference=two_layer_grads,
    fixed=[
        # note 001's example: x = [0.5, 0.8], target 1
        (np.array([[0.5, 0.8]]), _W1_A.copy(), _W2_A.copy(), np.array([[1.0]])),
        # the same network on a batch of three samples: the loss is the mean, not the sum
        (np.array([[0.5, 0.8], [-1.0, 0.2], [2.0, -0.5]]), _W1_A.copy(), _W2_A.copy(),
         np.array([[1.0], [0.0], [0.5]])),
        # three inputs, two hidden neurons: W1 is not square
        (np.array([[1.0, -0.5, 2.0], [0.3, 0.3, -1.0]]),
         np.array([[0.2, -0.1, 0.4], [-0.3, 0.5, 0.1]]), np.array([[1.0, -2.0]]),
         np.array([[0.5], [-0.5]])),
    ],
    random=_random_two_layer,
    arg_names=("x", "W1", "W2", "y"),
))
