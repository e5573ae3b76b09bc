"""Exercises of chapters 15-17, sequence data, RNNs and BPTT, LSTM and GRU (ids "rnn.<name>").

Chapter 15: make_windows, one_hot, pad_sequences (references from course_nn.lab.sequences).
Chapter 16: rnn_step, param_count, tanh_step_backward, rnn_bptt (references from
course_nn.RNN).
Chapter 17: lstm_cell_step, gru_step, forget_gate_grad, lstm_step_backward, gru_step_backward
(references from course_nn.LSTM/GRU: a single step through the layer with T = 1).

The backward exercises return tuples of gradients; a wrong one is named in the message
("dW_hh: expected ...").

The fixed cases hold the inputs a plausible wrong answer gets wrong: D != H (a transposed
weight fails with a shape error or a wrong value), non-symmetric W_hh, different b_ih and
b_hh (a missing bias_hh), nonzero c_prev and h_prev of different sizes (h_prev used where
c_prev belongs), ids whose largest value is below vocab_size - 1, sequences longer than the
padded length.
"""

import numpy as np

from ...recurrent import GRU, LSTM, RNN
from ..sequences import make_windows, one_hot, pad_sequences
from . import Exercise, _default_compare, register

CELL_CLASSES = {"RNN": RNN, "LSTM": LSTM, "GRU": GRU}


def _layer(cls, W_ih, W_hh, b_ih, b_hh):
    """A course_nn recurrent layer holding the given parameters (its own rng: the initial
    weights are overwritten, and the package generator a learner may have seeded is untouched)."""
    W_ih, W_hh = np.asarray(W_ih, dtype=float), np.asarray(W_hh, dtype=float)
    layer = cls(W_ih.shape[1], W_hh.shape[1], rng=np.random.default_rng(0))
    layer.weight_ih.data[...] = W_ih
    layer.weight_hh.data[...] = W_hh
    layer.bias_ih.data[...] = np.asarray(b_ih, dtype=float)
    layer.bias_hh.data[...] = np.asarray(b_hh, dtype=float)
    return layer


def _params(rng, gates, d, h, scale=0.8):
    return (scale * rng.standard_normal((gates * h, d)), scale * rng.standard_normal((gates * h, h)),
            scale * rng.standard_normal(gates * h), scale * rng.standard_normal(gates * h))


def _sizes(rng):
    return int(rng.integers(1, 5)), int(rng.integers(1, 5)), int(rng.integers(1, 5))   # N, D, H


def _named(names):
    """A comparison of a tuple of results that names the first wrong one ("dW_hh: ...")."""
    def compare(expected, got):
        if not isinstance(got, tuple) or len(got) != len(expected):
            return (_default_compare(expected, got, 1e-6, 1e-9)
                    + f" (return the tuple ({', '.join(names)}))")
        for name, e, g in zip(names, expected, got):
            reason = _default_compare(e, g, 1e-6, 1e-9)
            if reason:
                return f"{name}: {reason}"
        return None
    return compare


# =============================================================================================
# Chapter 15: turning sequences into arrays
# =============================================================================================

def make_windows_reference(series, width):
    """series (T,) -> (T - width + 1, width): row i is series[i : i + width]."""
    return make_windows(np.asarray(series), width)


register(Exercise(
    id="rnn.make_windows",
    kind="transcribe",
    reference=make_windows_reference,
    fixed=[
        (np.array([1.0, 2.0, 3.0, 4.0, 5.0]), 3),
        (np.array([0.5, -1.0, 2.0]), 1),                  # width 1: one column
        (np.array([0.5, -1.0, 2.0]), 3),                  # width T: a single window
        (np.arange(10.0), 4),
        (np.array([3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0]), 2),
    ],
    random=lambda rng: (lambda t: (rng.standard_normal(t), int(rng.integers(1, t + 1))))(
        int(rng.integers(1, 12))),
    arg_names=("series", "width"),
))


def one_hot_reference(ids, vocab_size):
    """Integer ids of any shape S -> float array S + (vocab_size,)."""
    return one_hot(np.asarray(ids), vocab_size)


register(Exercise(
    id="rnn.one_hot",
    kind="transcribe",
    reference=one_hot_reference,
    fixed=[
        (np.array([0, 2, 1]), 3),
        (np.array([1, 1, 0]), 5),                         # vocab larger than max(ids) + 1
        (np.array([[0, 3], [2, 2], [1, 0]]), 4),          # a batch (N, T) -> (N, T, V)
        (np.array([4]), 6),
        (np.array([[2, 0, 1, 1]]), 3),
    ],
    random=lambda rng: (lambda v: (rng.integers(0, v, size=tuple(int(s) for s in rng.integers(
        1, 5, size=int(rng.integers(1, 3))))), v))(int(rng.integers(1, 8))),
    arg_names=("ids", "vocab_size"),
))


def pad_sequences_reference(seqs, length, value):
    """List of 1-D sequences -> (N, length): post-padding with value, cut to the first items."""
    return pad_sequences(seqs, length, value)


def _pad_case(rng):
    n = int(rng.integers(1, 5))
    seqs = [rng.integers(1, 9, size=int(rng.integers(1, 8))).astype(float) for _ in range(n)]
    return seqs, int(rng.integers(1, 8)), float(rng.integers(-2, 1))


register(Exercise(
    id="rnn.pad_sequences",
    kind="transcribe",
    reference=pad_sequences_reference,
    fixed=[
        ([np.array([3.0, 1.0, 4.0]), np.array([1.0, 5.0]), np.array([9.0])], 4, 0.0),
        ([np.array([3.0, 1.0, 4.0]), np.array([1.0, 5.0])], 3, -1.0),     # value matters
        ([np.array([1.0, 2.0, 3.0, 4.0, 5.0]), np.array([7.0])], 3, 0.0),  # cut a long one
        ([np.array([2.0, 7.0])], 2, 0.0),                                  # already the length
        ([np.array([5.0, 6.0, 7.0]), np.array([8.0, 9.0])], 1, 0.0),
    ],
    random=_pad_case,
    arg_names=("seqs", "length", "value"),
))


# =============================================================================================
# Chapter 16: the recurrence and backpropagation through time
# =============================================================================================

def _one_step(cls, x, h, W_ih, W_hh, b_ih, b_hh):
    """h_new after one time step of a course_nn RNN or GRU layer holding the given weights."""
    layer = _layer(cls, W_ih, W_hh, b_ih, b_hh)
    out, _ = layer(np.asarray(x, dtype=float)[:, None, :], np.asarray(h, dtype=float))
    return out[:, 0]


def _step_case(rng, gates, n=None, d=None, h=None):
    """(x (N, D), h (N, H)) plus the weights of a layer with ``gates`` stacked gates."""
    n0, d0, h0 = _sizes(rng)
    n, d, h = n or n0, d or d0, h or h0
    return (rng.standard_normal((n, d)), rng.standard_normal((n, h))) + _params(rng, gates, d, h)


def rnn_step_reference(x, h, W_ih, W_hh, b_ih, b_hh):
    """One step of course_nn.RNN: x (N, D), h (N, H) -> tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)."""
    return _one_step(RNN, x, h, W_ih, W_hh, b_ih, b_hh)


def _rnn_case(rng, n=None, d=None, h=None):
    return _step_case(rng, 1, n, d, h)


_fixed_rng = np.random.default_rng(160)
register(Exercise(
    id="rnn.rnn_step",
    kind="transcribe",
    reference=rnn_step_reference,
    fixed=[
        (np.array([[1.0, 0.0]]), np.array([[0.5, -0.5, 0.0]]),
         np.array([[0.5, -0.2], [0.1, 0.3], [-0.4, 0.2]]),
         np.array([[0.2, -0.1, 0.0], [0.3, 0.2, -0.2], [0.0, 0.4, 0.1]]),   # not symmetric
         np.array([0.1, 0.0, -0.1]), np.array([0.0, 0.2, 0.05])),           # b_hh != b_ih
        _rnn_case(_fixed_rng, 2, 3, 4),
        _rnn_case(_fixed_rng, 3, 4, 2),
        _rnn_case(_fixed_rng, 1, 1, 3),
    ],
    random=_rnn_case,
    arg_names=("x", "h", "W_ih", "W_hh", "b_ih", "b_hh"),
))


def param_count_reference(cell, input_size, hidden_size):
    """Trainable parameters of one course_nn / torch.nn recurrent layer (an int)."""
    return int(CELL_CLASSES[cell](input_size, hidden_size, rng=np.random.default_rng(0)).num_parameters())


register(Exercise(
    id="rnn.param_count",
    kind="transcribe",
    reference=param_count_reference,
    fixed=[("RNN", 3, 5), ("LSTM", 3, 5), ("GRU", 3, 5), ("RNN", 1, 1), ("LSTM", 10, 20),
           ("GRU", 28, 64), ("LSTM", 100, 1)],
    random=lambda rng: (str(rng.choice(["RNN", "LSTM", "GRU"])), int(rng.integers(1, 50)),
                        int(rng.integers(1, 50))),
    arg_names=("cell", "input_size", "hidden_size"),
))


def tanh_step_backward_reference(dh, h_new, h_prev, W_hh):
    """Backward through h_new = tanh(z), z = ... + h_prev W_hh^T: returns (dh_prev, dW_hh).

    Computed with course_nn.RNN: a layer with W_ih = I and zero biases, fed the input
    z - h_prev W_hh^T with z = artanh(h_new), reproduces h_new from h_prev; its backward
    returns dL/dh_prev (the state gradient) and accumulates dL/dW_hh.
    """
    dh, h_new, h_prev, W_hh = (np.asarray(a, dtype=float) for a in (dh, h_new, h_prev, W_hh))
    hidden = W_hh.shape[0]
    layer = _layer(RNN, np.eye(hidden), W_hh, np.zeros(hidden), np.zeros(hidden))
    x = np.arctanh(h_new) - h_prev @ W_hh.T
    layer(x[:, None, :], h_prev)
    _, dh_prev = layer.backward(dh[:, None, :])
    return dh_prev, layer.weight_hh.grad.copy()


def _tanh_backward_case(rng, n=None, h=None):
    n = n or int(rng.integers(1, 5))
    h = h or int(rng.integers(1, 5))
    return (rng.standard_normal((n, h)), np.tanh(rng.uniform(-2.0, 2.0, size=(n, h))),
            np.tanh(rng.uniform(-2.0, 2.0, size=(n, h))), rng.standard_normal((h, h)))


register(Exercise(
    id="rnn.tanh_step_backward",
    kind="transcribe",
    reference=tanh_step_backward_reference,
    fixed=[
        (np.array([[1.0, -2.0]]), np.array([[0.5, -0.8]]), np.array([[0.3, 0.9]]),
         np.array([[0.5, -1.0], [2.0, 0.25]])),
        _tanh_backward_case(np.random.default_rng(161), 3, 2),
        _tanh_backward_case(np.random.default_rng(162), 2, 4),
    ],
    random=_tanh_backward_case,
    arg_names=("dh", "h_new", "h_prev", "W_hh"),
))


def rnn_bptt_reference(x, hs, W_ih, W_hh, grad_out):
    """BPTT through a tanh RNN from its forward's cached states.

    x: (N, T, D); hs: (N, T + 1, H) with hs[:, 0] = h_0 and hs[:, t] = h_t; grad_out:
    (N, T, H), dL/dh_t from the outputs -> (dx (N, T, D), dh0 (N, H), dW_ih (H, D),
    dW_hh (H, H), db (H,)), db being the gradient of b_ih and of b_hh alike.

    Computed with course_nn.RNN: a layer with the input weight [W_ih, I] and zero biases, fed
    [x_t, r_t] with r_t = artanh(h_t) - x_t W_ih^T - h_(t-1) W_hh^T (what the biases added),
    reproduces the cached states; its backward gives every gradient.
    """
    x, hs, W_ih, W_hh, grad_out = (np.asarray(a, dtype=float) for a in (x, hs, W_ih, W_hh, grad_out))
    hidden, d = W_ih.shape
    rest = np.arctanh(hs[:, 1:]) - x @ W_ih.T - hs[:, :-1] @ W_hh.T
    layer = _layer(RNN, np.hstack([W_ih, np.eye(hidden)]), W_hh, np.zeros(hidden), np.zeros(hidden))
    layer(np.concatenate([x, rest], axis=2), hs[:, 0])
    dx, dh0 = layer.backward(grad_out)
    return (dx[..., :d], dh0, layer.weight_ih.grad[:, :d].copy(), layer.weight_hh.grad.copy(),
            layer.bias_ih.grad.copy())


def _bptt_case(rng, n=None, t=None, d=None, h=None):
    """(x, hs, W_ih, W_hh, grad_out): the cache of a forward of course_nn.RNN with random
    biases from a nonzero h_0, and an upstream gradient at every step."""
    n0, d0, h0 = _sizes(rng)
    n, d, h, t = n or n0, d or d0, h or h0, t or int(rng.integers(1, 6))
    W_ih, W_hh, b_ih, b_hh = _params(rng, 1, d, h, scale=0.6)
    x = rng.standard_normal((n, t, d))
    h_0 = 0.5 * rng.standard_normal((n, h))
    out, _ = _layer(RNN, W_ih, W_hh, b_ih, b_hh)(x, h_0)
    return x, np.concatenate([h_0[:, None], out], axis=1), W_ih, W_hh, rng.standard_normal((n, t, h))


_fixed_rng = np.random.default_rng(163)
register(Exercise(
    id="rnn.rnn_bptt",
    kind="transcribe",
    reference=rnn_bptt_reference,
    fixed=[_bptt_case(_fixed_rng, 2, 4, 3, 2), _bptt_case(_fixed_rng, 1, 3, 2, 3),
           _bptt_case(_fixed_rng, 3, 1, 2, 4), _bptt_case(_fixed_rng, 2, 5, 1, 3)],
    random=_bptt_case,
    arg_names=("x", "hs", "W_ih", "W_hh", "grad_out"),
    compare=_named(("dx", "dh0", "dW_ih", "dW_hh", "db")),
))


# =============================================================================================
# Chapter 17: LSTM and GRU
# =============================================================================================

def lstm_cell_step_reference(x, h, c, W_ih, W_hh, b_ih, b_hh):
    """One step of course_nn.LSTM (gates i, f, g, o stacked in that order): returns (h_new, c_new)."""
    layer = _layer(LSTM, W_ih, W_hh, b_ih, b_hh)
    _, (h_new, c_new) = layer(np.asarray(x, dtype=float)[:, None, :],
                              (np.asarray(h, dtype=float), np.asarray(c, dtype=float)))
    return h_new, c_new


def _lstm_case(rng, n=None, d=None, h=None):
    n0, d0, h0 = _sizes(rng)
    n, d, h = n or n0, d or d0, h or h0
    return (rng.standard_normal((n, d)), rng.standard_normal((n, h)), 2.0 * rng.standard_normal((n, h))) \
        + _params(rng, 4, d, h)


_fixed_rng = np.random.default_rng(170)
register(Exercise(
    id="rnn.lstm_cell_step",
    kind="transcribe",
    reference=lstm_cell_step_reference,
    fixed=[_lstm_case(_fixed_rng, 2, 3, 2), _lstm_case(_fixed_rng, 1, 2, 3),
           _lstm_case(_fixed_rng, 3, 1, 4), _lstm_case(_fixed_rng, 2, 4, 1)],
    random=_lstm_case,
    arg_names=("x", "h", "c", "W_ih", "W_hh", "b_ih", "b_hh"),
))


def gru_step_reference(x, h, W_ih, W_hh, b_ih, b_hh):
    """One step of course_nn.GRU (PyTorch's formulation, gates r, z, n): returns h_new."""
    return _one_step(GRU, x, h, W_ih, W_hh, b_ih, b_hh)


def _gru_case(rng, n=None, d=None, h=None):
    return _step_case(rng, 3, n, d, h)


def _with_upstream(case, count):
    """``case`` (rng, n, d, h) -> one step's arguments, extended by ``count`` upstream
    gradients shaped like the state h (dL/dh_new, dL/dc_new): the backward exercises' cases."""
    def extended(rng, n=None, d=None, h=None):
        args = case(rng, n, d, h)
        return args + tuple(rng.standard_normal(args[1].shape) for _ in range(count))
    return extended


def _fixed_cases(case, seed, sizes):
    """The checker's fixed cases: ``case`` at each (n, d, h) in ``sizes``, drawn in order."""
    rng = np.random.default_rng(seed)
    return [case(rng, *size) for size in sizes]


_BACKWARD_SIZES = [(2, 3, 2), (1, 2, 3), (3, 1, 4), (4, 2, 1)]


_fixed_rng = np.random.default_rng(171)
register(Exercise(
    id="rnn.gru_step",
    kind="transcribe",
    reference=gru_step_reference,
    fixed=[_gru_case(_fixed_rng, 2, 3, 2), _gru_case(_fixed_rng, 1, 2, 3),
           _gru_case(_fixed_rng, 3, 1, 4), _gru_case(_fixed_rng, 2, 4, 1)],
    random=_gru_case,
    arg_names=("x", "h", "W_ih", "W_hh", "b_ih", "b_hh"),
))


def forget_gate_grad_reference(x, h, c, W_ih, W_hh, b_ih, b_hh, dc_new):
    """dL/dW_hf, the forget-gate block (rows H..2H) of dL/dW_hh, for one LSTM step from
    (h, c) when the loss reaches the step only through c_new, with dL/dc_new = dc_new.

    Computed with course_nn.LSTM (T = 1): backward with a zero output gradient and the
    state gradient (0, dc_new)."""
    layer = _layer(LSTM, W_ih, W_hh, b_ih, b_hh)
    h = np.asarray(h, dtype=float)
    out, _ = layer(np.asarray(x, dtype=float)[:, None, :], (h, np.asarray(c, dtype=float)))
    layer.backward(np.zeros_like(out), (np.zeros_like(h), np.asarray(dc_new, dtype=float)))
    hidden = h.shape[1]
    return layer.weight_hh.grad[hidden:2 * hidden].copy()


_forget_case = _with_upstream(_lstm_case, 1)
register(Exercise(
    id="rnn.forget_gate_grad",
    kind="transcribe",
    reference=forget_gate_grad_reference,
    fixed=_fixed_cases(_forget_case, 172, _BACKWARD_SIZES),
    random=_forget_case,
    arg_names=("x", "h", "c", "W_ih", "W_hh", "b_ih", "b_hh", "dc_new"),
))


def lstm_step_backward_reference(x, h, c, W_ih, W_hh, b_ih, b_hh, dh_new, dc_new):
    """Backward through one LSTM step from (h, c), given dL/dh_new and dL/dc_new (the latter
    from the future steps only) -> (dx (N, D), dh (N, H), dc (N, H), dW_ih (4H, D),
    dW_hh (4H, H), db (4H,)), db being the gradient of b_ih and of b_hh alike.

    Computed with course_nn.LSTM (T = 1): forward from (h, c), backward with the output
    gradient dh_new and the state gradient (None, dc_new)."""
    layer = _layer(LSTM, W_ih, W_hh, b_ih, b_hh)
    layer(np.asarray(x, dtype=float)[:, None, :], (np.asarray(h, dtype=float), np.asarray(c, dtype=float)))
    dx, (dh, dc) = layer.backward(np.asarray(dh_new, dtype=float)[:, None, :],
                                  (None, np.asarray(dc_new, dtype=float)))
    return (dx[:, 0], dh, dc, layer.weight_ih.grad.copy(), layer.weight_hh.grad.copy(),
            layer.bias_ih.grad.copy())


_lstm_backward_case = _with_upstream(_lstm_case, 2)
register(Exercise(
    id="rnn.lstm_step_backward",
    kind="transcribe",
    reference=lstm_step_backward_reference,
    fixed=_fixed_cases(_lstm_backward_case, 173, _BACKWARD_SIZES),
    random=_lstm_backward_case,
    arg_names=("x", "h", "c", "W_ih", "W_hh", "b_ih", "b_hh", "dh_new", "dc_new"),
    compare=_named(("dx", "dh", "dc", "dW_ih", "dW_hh", "db")),
))


def gru_step_backward_reference(x, h, W_ih, W_hh, b_ih, b_hh, dh_new):
    """Backward through one step of PyTorch's GRU from h, given dL/dh_new -> (dx (N, D),
    dh (N, H), dW_ih (3H, D), dW_hh (3H, H), db_ih (3H,), db_hh (3H,)); the two bias
    gradients differ in the n block, where r multiplies only the hidden side.

    Computed with course_nn.GRU (T = 1)."""
    layer = _layer(GRU, W_ih, W_hh, b_ih, b_hh)
    layer(np.asarray(x, dtype=float)[:, None, :], np.asarray(h, dtype=float))
    dx, dh = layer.backward(np.asarray(dh_new, dtype=float)[:, None, :])
    return (dx[:, 0], dh, layer.weight_ih.grad.copy(), layer.weight_hh.grad.copy(),
            layer.bias_ih.grad.copy(), layer.bias_hh.grad.copy())


_gru_backward_case = _with_upstream(_gru_case, 1)
register(Exercise(
    id="rnn.gru_step_backward",
    kind="transcribe",
    reference=gru_step_backward_reference,
    fixed=_fixed_cases(_gru_backward_case, 174, _BACKWARD_SIZES),
    random=_gru_backward_case,
    arg_names=("x", "h", "W_ih", "W_hh", "b_ih", "b_hh", "dh_new"),
    compare=_named(("dx", "dh", "dW_ih", "dW_hh", "db_ih", "db_hh")),
))
