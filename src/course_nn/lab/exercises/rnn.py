"""Exercises of chapters 15-17, sequence data, RNNs and BPTT, LSTM and GRU (ids "rnn.<name>").

Chapter 15 (references from course_nn.lab.sequences):
  batch_shapes    predict: the shapes of windows, a padded batch, its one-hot encoding and
                  the number of real entries of the mask, before the chapter computes them
  make_windows    the sliding windows of a series
  pad_sequences   debug: the chapter's buggy version pads on the left and keeps the last
                  items of a long sequence; the checker names either bug
Chapter 16 (references from course_nn.RNN):
  rnn_step        one step of the recurrence
  tanh_step_backward  debug: tanh' taken at h_prev and a transposed W_hh on the way back
  rnn_bptt        debug: the carried gradient dropped and the weight gradients overwritten
  gradient_window experiment: the spectral radii whose gradient over 50 steps stays within
                  [0.01, 100], measured with course_nn.RNN (not rho^50's window)
Chapter 17 (references from course_nn.LSTM/GRU: a single step through the layer, T = 1):
  lstm_cell_step, gru_step   one step of each cell
  lstm_step_backward  derive: the chapter shows the forget-gate block; the learner derives
                  the other gates, the path through h_t and the input and state gradients
  gru_step_backward   debug: the (1 - z) branch of the candidate missing and the reset gate
                  missing from the hidden side's n block
  memory_outcomes predict: which configurations learn the memory task within the chapter's
                  budget (MEMORY_OUTCOMES, asserted by the chapter's multi-seed run)

The backward exercises return tuples of gradients; a wrong one is named in the message
("dW_hh: expected ..."), with a hint when the answer matches a recognized slip.

The fixed cases hold the inputs a plausible wrong answer gets wrong: D != H (a transposed
weight fails with a shape error or a wrong value), non-symmetric W_hh, different b_ih and
b_hh (a missing bias_hh), nonzero c_prev and h_prev of different sizes (h_prev used where
c_prev belongs), sequences longer than the padded length.
"""

import numpy as np

from ...recurrent import GRU, LSTM, RNN
from ..explorers.rnn import gradient_flow_setup, layer_gradient_norms
from ..sequences import make_windows, one_hot, pad_sequences, padding_mask
from . import Exercise, _default_compare, _describe, _slip_hint, register

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


class _TupleWithSlips(tuple):
    """A reference's tuple of results carrying the recognized slips: (wrong tuple, hint) pairs."""

    slips = ()


def _tuple_with_slips(values, slips):
    out = _TupleWithSlips(np.asarray(v, dtype=float) for v in values)
    out.slips = tuple((tuple(np.asarray(v, dtype=float) for v in wrong), why) for wrong, why in slips)
    return out


def _named_slips(names):
    """``_named(names)``, plus the hint of the first recognized slip that the answer matches
    (a slip equal to the right answer on this input is skipped)."""
    named = _named(names)

    def same(a, b):
        return len(a) == len(b) and all(
            np.shape(x) == np.shape(y) and np.allclose(x, y, rtol=1e-6, atol=1e-9) for x, y in zip(a, b))

    def compare(expected, got):
        reason = named(expected, got)
        if reason is None or not isinstance(got, tuple):
            return reason
        try:
            mine = tuple(np.asarray(g, dtype=float) for g in got)
        except (TypeError, ValueError, OverflowError):
            return reason
        for wrong, why in getattr(expected, "slips", ()):
            if not same(wrong, tuple(expected)) and same(mine, wrong):
                return f"{reason}\n  hint: {why}"
        return reason
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


class _WithSlips(np.ndarray):
    """A reference result carrying what each recognized slip would give (``slips``)."""

    slips = ()


def _with_slips(value, slips):
    out = np.asarray(value, dtype=float).view(_WithSlips)
    out.slips = tuple((np.asarray(wrong, dtype=float), why) for wrong, why in slips)
    return out


def _compare_slips(expected, got):
    want = np.asarray(expected).view(np.ndarray)
    return _slip_hint(_default_compare(want, got, 1e-6, 1e-9), got, want, expected.slips)


def _pad_pre(seqs, length, value, keep="last"):
    """What the chapter's buggy pad_sequences gives (filler at the start), keeping the first
    or (as the bug does) the last ``length`` items of a long sequence."""
    out = np.full((len(seqs), length), value, dtype=float)
    for i, s in enumerate(seqs):
        s = np.asarray(s, dtype=float)
        s = s[:length] if keep == "first" else s[-length:]
        out[i, length - len(s):] = s
    return out


def pad_sequences_reference(seqs, length, value):
    """List of 1-D sequences -> (N, length): post-padding with value, cut to the first items;
    with the results of the chapter's two planted bugs (pre-padding, keeping the last items)."""
    right = pad_sequences([np.asarray(s, dtype=float) for s in seqs], length, float(value))
    keep_last = pad_sequences([np.asarray(s, dtype=float)[-length:] for s in seqs], length, float(value))
    return _with_slips(right, [
        (_pad_pre(seqs, length, value, "last"),
         "both planted bugs are still there: the filler goes at the END of each row (post-padding, "
         "so that a sequence's last real item sits at index length_i - 1), and a sequence that is "
         "too long keeps its FIRST `length` items"),
        (_pad_pre(seqs, length, value, "first"),
         "the cut is fixed, but the filler is still at the start of the row: it goes at the end "
         "(post-padding), so that each sequence starts at index 0"),
        (keep_last,
         "the padding side is fixed, but a sequence longer than `length` must keep its first "
         "`length` items, not its last ones"),
    ])


def _pad_case(rng):
    n = int(rng.integers(1, 5))
    seqs = [rng.integers(1, 9, size=int(rng.integers(1, 8))).astype(float) for _ in range(n)]
    return seqs, int(rng.integers(1, 8)), float(rng.integers(-2, 1))


register(Exercise(
    id="rnn.pad_sequences",
    kind="debug",
    reference=pad_sequences_reference,
    fixed=[
        ([np.array([1.0, 2.0, 3.0, 4.0, 5.0]), np.array([7.0])], 3, 0.0),  # each bug shows
        ([np.array([3.0, 1.0, 4.0]), np.array([1.0, 5.0]), np.array([9.0])], 4, 0.0),
        ([np.array([3.0, 1.0, 4.0]), np.array([1.0, 5.0])], 3, -1.0),     # value matters
        ([np.array([1.0, 2.0, 3.0, 4.0, 5.0]), np.array([7.0, 8.0, 9.0])], 3, 0.0),  # only the cut
        ([np.array([2.0, 7.0])], 2, 0.0),                                  # already the length
        ([np.array([5.0, 6.0, 7.0]), np.array([8.0, 9.0])], 1, 0.0),
    ],
    random=_pad_case,
    arg_names=("seqs", "length", "value"),
    compare=_compare_slips,
))


def batch_shapes_reference(T, width, lengths, length, vocab_size):
    """What course_nn.lab.sequences gives, as shapes and a count: (make_windows of a series of
    T values with ``width``, pad_sequences of sequences of ``lengths`` to ``length``, one_hot
    of that padded batch, the number of True entries of padding_mask(lengths, length))."""
    seqs = [np.zeros(int(n), dtype=int) for n in lengths]
    padded = pad_sequences(seqs, length, 0)
    return (make_windows(np.zeros(T), width).shape, padded.shape,
            one_hot(padded, vocab_size).shape, int(padding_mask(np.asarray(lengths), length).sum()))


_SHAPE_PARTS = ("the windows' shape", "the padded batch's shape", "the one-hot batch's shape",
                "the mask's number of True entries")


def _shape_slips(T, width, lengths, length, vocab_size):
    n = len(lengths)
    return [
        {(T - width, width): "one window short: the last window starts at T - width, so there "
                             "are T - width + 1 of them",
         (T - width + 2, width): "one window too many: there are T - width + 1 starting positions",
         (T // width, width): "the windows overlap: a new one starts at every step, not every "
                              "`width` steps",
         (width, T - width + 1): "(number of windows, width): one window per row"},
        {(n, max(lengths)): "the batch has the requested `length` columns: longer sequences are "
                            "cut, shorter ones padded",
         (length, n): "(N, length): one sequence per row"},
        {(n, length): "one-hot adds an axis of the vocabulary's size at the end",
         (n, length * vocab_size): "one-hot adds a NEW last axis; it does not widen the rows",
         (n, vocab_size): "one-hot keeps the time axis: one vector per position"},
        {int(sum(lengths)): "a sequence longer than `length` was cut: its row holds only "
                            "`length` real items",
         n * length: "the mask is True only where a row holds a real item, not the filler",
         int(sum(length - min(k, length) for k in lengths)): "that is the number of filler "
                                                               "entries (False); count the real ones"},
    ]


class _Shapes(tuple):
    """The reference's four answers, carrying the hint of each recognized slip (``slips``:
    one {wrong answer: hint} dict per answer)."""

    slips = ()


def _compare_shapes(expected, got):
    if not isinstance(got, tuple) or len(got) != 4:
        what = f"a tuple of {len(got)}" if isinstance(got, tuple) else _describe(got)
        return f"expected a tuple of 4 results ({', '.join(_SHAPE_PARTS)}), got {what}"
    for k, (name, e, g) in enumerate(zip(_SHAPE_PARTS, expected, got)):
        try:
            mine = tuple(int(v) for v in g) if k < 3 else int(g)
            if k == 3 and mine != g:
                raise ValueError
        except (TypeError, ValueError, OverflowError):
            return f"{name}: expected {e!r}, got {_describe(g)}"
        if mine != e:
            hint = expected.slips[k].get(mine) if expected.slips else None
            return f"{name}: expected {e!r}, got {mine!r}" + (f"\n  hint: {hint}" if hint else "")
    return None


def _shapes_with_slips(T, width, lengths, length, vocab_size):
    out = _Shapes(batch_shapes_reference(T, width, lengths, length, vocab_size))
    out.slips = _shape_slips(T, width, list(lengths), length, vocab_size)
    return out


def _shapes_case(rng):
    T = int(rng.integers(2, 40))
    lengths = [int(k) for k in rng.integers(1, 12, size=int(rng.integers(1, 6)))]
    return T, int(rng.integers(1, T + 1)), lengths, int(rng.integers(1, 12)), int(rng.integers(2, 30))


register(Exercise(
    id="rnn.batch_shapes",
    kind="predict",
    reference=_shapes_with_slips,
    fixed=[
        (7, 3, [5, 5, 3, 3, 5, 3, 5, 2], 5, 8),       # the chapter's series and batch
        (2000, 7, [3, 9, 4], 6, 30),                 # one sequence longer than length
        (10, 10, [4], 8, 5),                         # width T: a single window
        (12, 1, [2, 2], 2, 3),                       # width 1, nothing to pad
        (365, 30, [12, 1, 7, 20, 5], 10, 27),
    ],
    random=_shapes_case,
    arg_names=("T", "width", "lengths", "length", "vocab_size"),
    compare=_compare_shapes,
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


WINDOW_LAG, WINDOW_LOW, WINDOW_HIGH = 50, 0.01, 100.0
"""The experiment of rnn.gradient_window: the lag, and the band of gradient norms that counts
as neither vanished nor exploded."""


def lag_gradient_norm(rho, seed, lag=WINDOW_LAG):
    """||dL/dh_(T-lag)|| of chapter 16's tanh RNN (hidden size 32, W_hh = rho Q, inputs of
    size 0.01, T = lag, L = v . h_T), measured with course_nn.RNN's backward."""
    setup = gradient_flow_setup(rho, lag, hidden_size=32, input_scale=0.01, seed=seed)
    hidden, d = setup["weight_ih"].shape
    layer = _layer(RNN, setup["weight_ih"], setup["weight_hh"], np.zeros(hidden), np.zeros(hidden))
    return float(layer_gradient_norms(layer, setup["x"], setup["v"], lags=[lag])[1][0])


def _window(rhos, norms, low=WINDOW_LOW, high=WINDOW_HIGH):
    inside = [r for r, n in zip(rhos, norms) if low <= n <= high]
    return (min(inside), max(inside)) if inside else None


def gradient_window_reference(rhos, seed):
    """(smallest, largest) rho of ``rhos`` whose lag-50 gradient norm lies in [0.01, 100],
    measured with course_nn.RNN; with the answers of the recognized slips."""
    rhos = [float(r) for r in rhos]
    norms = [lag_gradient_norm(r, seed) for r in rhos]
    right = _window(rhos, norms)
    slips = [
        (_window(rhos, [r ** WINDOW_LAG for r in rhos]),
         "that is where rho^50 lies in [0.01, 100], the linear RNN's prediction. Measure the "
         "tanh RNN: above rho = 1 its state grows until tanh saturates, and the gradient grows "
         "far less than rho^k"),
        (_window(rhos, norms, low=0.0),
         "a gradient below 0.01 has vanished: the window has a lower end too"),
        (_window(rhos, norms, high=np.inf),
         "a gradient above 100 has exploded: the window has an upper end too"),
        (_window(rhos, [lag_gradient_norm(r, seed, 1) for r in rhos]),
         "that is the gradient one step back (lag 1); the question is about lag 50, the state "
         "h_0 at the start of the 50 steps"),
    ]
    out = _TupleWithSlips(right)
    out.slips = tuple((wrong, why) for wrong, why in slips if wrong is not None)
    return out


def _compare_window(expected, got):
    if not isinstance(got, tuple) or len(got) != 2:
        return f"expected a tuple (smallest rho, largest rho), got {_describe(got)}"
    reason = _default_compare(tuple(expected), got, 1e-6, 1e-9)
    if reason is None:
        return None
    reason = reason.replace("result 0", "smallest rho").replace("result 1", "largest rho")
    try:
        mine = tuple(float(g) for g in got)
    except (TypeError, ValueError):
        return reason
    for wrong, why in expected.slips:
        if tuple(wrong) != tuple(expected) and np.allclose(mine, wrong, rtol=1e-6, atol=1e-9):
            return f"{reason}\n  hint: {why}"
    return reason


_WINDOW_GRID = [round(0.8 + 0.05 * k, 2) for k in range(13)]        # 0.8, 0.85, ..., 1.4
register(Exercise(
    id="rnn.gradient_window",
    kind="experiment",
    reference=gradient_window_reference,
    fixed=[(_WINDOW_GRID, 0), (_WINDOW_GRID, 1), (_WINDOW_GRID, 3),
           ([0.5, 0.9, 1.0, 1.1, 1.2, 1.5], 2)],
    random=lambda rng: (sorted({round(float(r), 2) for r in rng.uniform(0.85, 1.35, size=6)} | {1.0}),
                        int(rng.integers(0, 20))),
    n_random=2,
    arg_names=("rhos", "seed"),
    compare=_compare_window,
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
    dz_new, dz_prev = dh * (1.0 - h_new**2), dh * (1.0 - h_prev**2)
    return _tuple_with_slips((dh_prev, layer.weight_hh.grad.copy()), [
        ((dz_prev @ W_hh.T, dz_prev.T @ h_prev),
         "both planted bugs are still there: tanh' belongs to the state the step produced, "
         "1 - h_new**2 (tanh'(z) = 1 - tanh(z)**2 and h_new = tanh(z)), and the gradient "
         "goes back through z = ... + h_prev W_hh^T by a product with W_hh itself, not W_hh^T"),
        ((dz_new @ W_hh.T, dz_new.T @ h_prev),
         "dh_prev: z = ... + h_prev W_hh^T, so dL/dh_prev = dz W_hh (no transpose: the "
         "forward's transpose is undone going back)"),
        ((dz_prev @ W_hh, dz_prev.T @ h_prev),
         "tanh' is evaluated at the output of this step: 1 - h_new**2, not 1 - h_prev**2"),
    ])


def _tanh_backward_case(rng, n=None, h=None):
    n = n or int(rng.integers(1, 5))
    h = h or int(rng.integers(1, 5))
    return (rng.standard_normal((n, h)), np.tanh(rng.uniform(-2.0, 2.0, size=(n, h))),
            np.tanh(rng.uniform(-2.0, 2.0, size=(n, h))), rng.standard_normal((h, h)))


register(Exercise(
    id="rnn.tanh_step_backward",
    kind="debug",
    reference=tanh_step_backward_reference,
    fixed=[
        (np.array([[1.0, -2.0]]), np.array([[0.5, -0.8]]), np.array([[0.3, 0.9]]),
         np.array([[0.5, -1.0], [2.0, 0.25]])),
        _tanh_backward_case(np.random.default_rng(161), 3, 2),
        _tanh_backward_case(np.random.default_rng(162), 2, 4),
    ],
    random=_tanh_backward_case,
    arg_names=("dh", "h_new", "h_prev", "W_hh"),
    compare=_named_slips(("dh_prev", "dW_hh")),
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
    right = (dx[..., :d], dh0, layer.weight_ih.grad[:, :d].copy(), layer.weight_hh.grad.copy(),
             layer.bias_ih.grad.copy())
    return _tuple_with_slips(right, [
        (_bptt_variant(x, hs, W_ih, W_hh, grad_out, carry=False, accumulate=False),
         "both planted bugs are still there: the gradient that step t + 1 sends back (dh_next) "
         "must be added to grad_out at step t, and the weight gradients must be summed over "
         "the steps (+=), not overwritten"),
        (_bptt_variant(x, hs, W_ih, W_hh, grad_out, carry=False, accumulate=True),
         "the weight gradients are summed now, but dL/dh_t also has the part that step t + 1 "
         "sends back: add dh_next to grad_out[:, t - 1]"),
        (_bptt_variant(x, hs, W_ih, W_hh, grad_out, carry=True, accumulate=False),
         "the gradient is carried now, but W_ih, W_hh and the biases are shared by every step: "
         "their gradients are the SUM over the steps (+=), not the last step's share"),
    ])


def _bptt_variant(x, hs, W_ih, W_hh, grad_out, *, carry, accumulate):
    """The chapter's BPTT loop with the planted bugs switched on or off (carry=False: dh_next
    is not added; accumulate=False: the weight gradients are overwritten at every step)."""
    T = x.shape[1]
    dx = np.zeros_like(x)
    dW_ih, dW_hh, db = np.zeros_like(W_ih), np.zeros_like(W_hh), np.zeros(W_hh.shape[0])
    dh_next = np.zeros_like(hs[:, 0])
    for t in range(T, 0, -1):
        dh = grad_out[:, t - 1] + (dh_next if carry else 0.0)
        da = dh * (1.0 - hs[:, t] ** 2)
        if accumulate:
            dW_ih, dW_hh, db = dW_ih + da.T @ x[:, t - 1], dW_hh + da.T @ hs[:, t - 1], db + da.sum(axis=0)
        else:
            dW_ih, dW_hh, db = da.T @ x[:, t - 1], da.T @ hs[:, t - 1], da.sum(axis=0)
        dx[:, t - 1] = da @ W_ih
        dh_next = da @ W_hh
    return dx, dh_next, dW_ih, dW_hh, db


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
    kind="debug",
    reference=rnn_bptt_reference,
    fixed=[_bptt_case(_fixed_rng, 2, 4, 3, 2), _bptt_case(_fixed_rng, 1, 3, 2, 3),
           _bptt_case(_fixed_rng, 3, 1, 2, 4), _bptt_case(_fixed_rng, 2, 5, 1, 3)],
    random=_bptt_case,
    arg_names=("x", "hs", "W_ih", "W_hh", "grad_out"),
    compare=_named_slips(("dx", "dh0", "dW_ih", "dW_hh", "db")),
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
    right = (dx[:, 0], dh, dc, layer.weight_ih.grad.copy(), layer.weight_hh.grad.copy(),
             layer.bias_ih.grad.copy())
    args = (x, h, c, W_ih, W_hh, b_ih, b_hh, dh_new, dc_new)
    return _tuple_with_slips(right, [
        (_lstm_backward_variant(*args, h_path=False),
         "c_t reaches the loss along two paths: through c_(t+1) (dc_new) and through "
         "h_t = o * tanh(c_t); add dh_new * o * (1 - tanh(c_t)**2) to dc_new first"),
        (_lstm_backward_variant(*args, do_from="c"),
         "h_t = o * tanh(c_t): the output gate's gradient is dh_new * tanh(c_t), not dh_new * c_t"),
        (_lstm_backward_variant(*args, order=(0, 1, 3, 2)),
         "the gate blocks of da are stacked in the order of the weight rows: i, f, g, o"),
        (_lstm_backward_variant(*args, f_on_dc=False),
         "c_(t-1) enters c_t multiplied by the forget gate: dc_prev = dc * f"),
        (_lstm_backward_variant(*args, sig_grad=False),
         "each gate passes its gradient through its activation: sigmoid' = s (1 - s) for "
         "i, f, o and tanh' = 1 - g**2 for g"),
    ])


def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def _lstm_backward_variant(x, h, c, W_ih, W_hh, b_ih, b_hh, dh_new, dc_new, *, h_path=True,
                           do_from="tanh", order=(0, 1, 2, 3), f_on_dc=True, sig_grad=True):
    """One LSTM step's backward written out, with a recognized slip switched on."""
    a = x @ W_ih.T + b_ih + h @ W_hh.T + b_hh
    a_i, a_f, a_g, a_o = np.split(a, 4, axis=1)
    i, f, g, o = _sigmoid(a_i), _sigmoid(a_f), np.tanh(a_g), _sigmoid(a_o)
    c_new = f * c + i * g
    tc = np.tanh(c_new)
    do = dh_new * (tc if do_from == "tanh" else c_new)
    dc = dc_new + (dh_new * o * (1.0 - tc**2) if h_path else 0.0)
    s = (lambda v: v * (1.0 - v)) if sig_grad else (lambda v: 1.0)
    t = (lambda v: 1.0 - v**2) if sig_grad else (lambda v: 1.0)
    blocks = [dc * g * s(i), dc * c * s(f), dc * i * t(g), do * s(o)]
    da = np.hstack([blocks[k] for k in order])
    return (da @ W_ih, da @ W_hh, dc * f if f_on_dc else dc, da.T @ x, da.T @ h, da.sum(axis=0))


_lstm_backward_case = _with_upstream(_lstm_case, 2)
register(Exercise(
    id="rnn.lstm_step_backward",
    kind="derive",
    reference=lstm_step_backward_reference,
    fixed=_fixed_cases(_lstm_backward_case, 173, _BACKWARD_SIZES),
    random=_lstm_backward_case,
    arg_names=("x", "h", "c", "W_ih", "W_hh", "b_ih", "b_hh", "dh_new", "dc_new"),
    compare=_named_slips(("dx", "dh", "dc", "dW_ih", "dW_hh", "db")),
))


def gru_step_backward_reference(x, h, W_ih, W_hh, b_ih, b_hh, dh_new):
    """Backward through one step of PyTorch's GRU from h, given dL/dh_new -> (dx (N, D),
    dh (N, H), dW_ih (3H, D), dW_hh (3H, H), db_ih (3H,), db_hh (3H,)); the two bias
    gradients differ in the n block, where r multiplies only the hidden side.

    Computed with course_nn.GRU (T = 1)."""
    layer = _layer(GRU, W_ih, W_hh, b_ih, b_hh)
    layer(np.asarray(x, dtype=float)[:, None, :], np.asarray(h, dtype=float))
    dx, dh = layer.backward(np.asarray(dh_new, dtype=float)[:, None, :])
    right = (dx[:, 0], dh, layer.weight_ih.grad.copy(), layer.weight_hh.grad.copy(),
             layer.bias_ih.grad.copy(), layer.bias_hh.grad.copy())
    args = (x, h, W_ih, W_hh, b_ih, b_hh, dh_new)
    return _tuple_with_slips(right, [
        (_gru_backward_variant(*args, one_minus_z=False, r_on_hidden=False),
         "both planted bugs are still there: the candidate enters h_t weighted by (1 - z), so "
         "dn = dh_new * (1 - z); and r multiplies only the hidden part of the candidate, so the "
         "hidden side's n block is da_n * r (the input side's is da_n)"),
        (_gru_backward_variant(*args, one_minus_z=False),
         "h_t = (1 - z) * n + z * h_prev: the candidate's gradient is dn = dh_new * (1 - z)"),
        (_gru_backward_variant(*args, r_on_hidden=False),
         "a_n = x W_in^T + b_in + r * (h_prev W_hn^T + b_hn): on the hidden side the n block "
         "of the gradient is da_n * r"),
    ])


def _gru_backward_variant(x, h, W_ih, W_hh, b_ih, b_hh, dh_new, *, one_minus_z=True, r_on_hidden=True):
    """One GRU step's backward written out, with the planted bugs switched on or off."""
    i_r, i_z, i_n = np.split(x @ W_ih.T + b_ih, 3, axis=1)
    h_r, h_z, n_hat = np.split(h @ W_hh.T + b_hh, 3, axis=1)
    r, z = _sigmoid(i_r + h_r), _sigmoid(i_z + h_z)
    n = np.tanh(i_n + r * n_hat)
    dn = dh_new * (1.0 - z) if one_minus_z else dh_new
    dz = dh_new * (h - n)
    da_n = dn * (1.0 - n**2)
    da_r, da_z = da_n * n_hat * r * (1.0 - r), dz * z * (1.0 - z)
    gx = np.hstack([da_r, da_z, da_n])
    gh = np.hstack([da_r, da_z, da_n * r if r_on_hidden else da_n])
    return (gx @ W_ih, dh_new * z + gh @ W_hh, gx.T @ x, gh.T @ h, gx.sum(axis=0), gh.sum(axis=0))


_gru_backward_case = _with_upstream(_gru_case, 1)
register(Exercise(
    id="rnn.gru_step_backward",
    kind="debug",
    reference=gru_step_backward_reference,
    fixed=_fixed_cases(_gru_backward_case, 174, _BACKWARD_SIZES),
    random=_gru_backward_case,
    arg_names=("x", "h", "W_ih", "W_hh", "b_ih", "b_hh", "dh_new"),
    compare=_named_slips(("dx", "dh", "dW_ih", "dW_hh", "db_ih", "db_hh")),
))


MEMORY_OUTCOMES = {
    "RNN, default init": "none", "RNN, orthogonal W_hh": "some",
    "LSTM, default init": "none", "LSTM, gate biases": "all",
    "GRU, default init": "none", "GRU, gate biases": "all",
}
"""Chapter 17's memory task (T = 30, 16 hidden units, at most 400 Adam steps): in how many of
its seeds each configuration learns, "all", "some" or "none". The chapter's multi-seed run
asserts these outcomes (and tests/test_rnn_chapters.py re-runs them)."""

_MEMORY_WHY = {
    "RNN, default init": "PyTorch's default W_hh shrinks the gradient at every step (chapter "
                         "16's vanishing gradients): 30 steps back almost nothing arrives",
    "RNN, orthogonal W_hh": "an orthogonal W_hh (spectral radius 1) neither shrinks nor grows "
                            "the gradient, so the RNN can learn; but it trains at the edge "
                            "between vanishing and exploding, where outcomes scatter from seed "
                            "to seed",
    "LSTM, default init": "with default biases the forget gate starts near 0.5, and the "
                          "carousel multiplies the gradient by f at every step: 0.5^30",
    "LSTM, gate biases": "with the forget gate at sigmoid(4) = 0.98 the carousel carries the "
                         "gradient across 30 steps from the first step on",
    "GRU, default init": "with default biases the update gate starts near 0.5: the direct "
                         "path multiplies the gradient by z = 0.5 at every step",
    "GRU, gate biases": "with the update gate at sigmoid(4) = 0.98 the direct path carries "
                        "the gradient across 30 steps from the first step on",
}


def memory_outcomes_reference():
    """{configuration: "all", "some" or "none"}: in how many seeds it learns the memory task."""
    return dict(MEMORY_OUTCOMES)


def _compare_outcomes(expected, got):
    want = "expected a dict {configuration: 'all', 'some' or 'none'}"
    if got is None:
        return f"{want}, got None: did your function forget to `return` its result?"
    if isinstance(got, (str, bytes, bytearray)):
        return f"{want}, got {_describe(got)}: return the dict itself, not text"
    if not isinstance(got, dict):
        return f"{want}, got {_describe(got)}"
    missing = [k for k in expected if k not in got]
    if missing:
        return f"no prediction for {', '.join(repr(k) for k in missing)}"
    odd = [k for k in got if k not in expected]
    if odd:
        return f"unknown configuration {odd[0]!r}; the six are {', '.join(repr(k) for k in expected)}"
    bad = [k for k in expected if got[k] not in ("all", "some", "none")]
    if bad:
        return f"{bad[0]!r}: expected 'all', 'some' or 'none', got {_describe(got[bad[0]])}"
    wrong = [k for k in expected if got[k] != expected[k]]
    if not wrong:
        return None
    lines = [f"{len(wrong)} of 6 predictions differ from the chapter's runs:"]
    lines += [f"  {k}: learns in {expected[k]} of its seeds, not {got[k]}: {_MEMORY_WHY[k]}"
              for k in wrong]
    return "\n".join(lines)


register(Exercise(
    id="rnn.memory_outcomes",
    kind="predict",
    reference=memory_outcomes_reference,
    fixed=[()],
    arg_names=(),
    compare=_compare_outcomes,
))
