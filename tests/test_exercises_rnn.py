"""Chapters 15-17 exercises: every checker accepts correct answers and rejects likely wrong ones.

IDS and SOLUTIONS feed the checks every exercise gets, in tests/test_exercises.py
(registered, reference and solutions pass).
"""

import numpy as np
import pytest
from exercise_helpers import rejected

import course_nn as cn
from course_nn.lab.exercises import evaluate, exercises
from course_nn.lab.exercises.rnn import MEMORY_OUTCOMES
from course_nn.lab.explorers.rnn import gradient_flow_setup, layer_gradient_norms

IDS = ["rnn.batch_shapes", "rnn.make_windows", "rnn.pad_sequences",
       "rnn.rnn_step", "rnn.tanh_step_backward", "rnn.rnn_bptt", "rnn.gradient_window",
       "rnn.lstm_cell_step", "rnn.gru_step", "rnn.lstm_step_backward", "rnn.gru_step_backward",
       "rnn.memory_outcomes"]


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


# ---- plain-numpy solutions, as in the notebooks' solution cells ------------------------------

def make_windows(series, width):
    n = len(series) - width + 1
    idx = np.arange(n)[:, None] + np.arange(width)[None, :]
    return series[idx]


def batch_shapes(T, width, lengths, length, vocab_size):
    n = len(lengths)
    return ((T - width + 1, width), (n, length), (n, length, vocab_size),
            sum(min(k, length) for k in lengths))


def pad_sequences(seqs, length, value):
    out = np.full((len(seqs), length), value, dtype=float)
    for i, s in enumerate(seqs):
        s = s[:length]
        out[i, :len(s)] = s
    return out


def rnn_step(x, h, W_ih, W_hh, b_ih, b_hh):
    return np.tanh(x @ W_ih.T + b_ih + h @ W_hh.T + b_hh)


def gradient_window(rhos, seed):
    inside = []
    for rho in rhos:
        setup = gradient_flow_setup(rho, 50, hidden_size=32, input_scale=0.01, seed=seed)
        layer = cn.RNN(4, 32, rng=np.random.default_rng(0))      # its weights are replaced
        layer.weight_ih.data[...] = setup["weight_ih"]
        layer.weight_hh.data[...] = setup["weight_hh"]
        layer.bias_ih.data[...] = 0.0
        layer.bias_hh.data[...] = 0.0
        norm = layer_gradient_norms(layer, setup["x"], setup["v"], lags=[50])[1][0]
        if 0.01 <= norm <= 100:
            inside.append(rho)
    return min(inside), max(inside)


def memory_outcomes():
    return {"RNN, default init": "none", "RNN, orthogonal W_hh": "some",
            "LSTM, default init": "none", "LSTM, gate biases": "all",
            "GRU, default init": "none", "GRU, gate biases": "all"}


def tanh_step_backward(dh, h_new, h_prev, W_hh):
    dz = dh * (1.0 - h_new**2)
    return dz @ W_hh, dz.T @ h_prev


def rnn_bptt(x, hs, W_ih, W_hh, grad_out):
    T = x.shape[1]
    dx = np.zeros_like(x)
    dW_ih, dW_hh, db = np.zeros_like(W_ih), np.zeros_like(W_hh), np.zeros(W_hh.shape[0])
    dh_next = np.zeros_like(hs[:, 0])                 # dL/dh_t through h_(t+1)
    for t in range(T, 0, -1):                         # hs[:, t] is h_t
        dh = grad_out[:, t - 1] + dh_next
        da = dh * (1.0 - hs[:, t] ** 2)
        dW_ih += da.T @ x[:, t - 1]
        dW_hh += da.T @ hs[:, t - 1]
        db += da.sum(axis=0)
        dx[:, t - 1] = da @ W_ih
        dh_next = da @ W_hh
    return dx, dh_next, dW_ih, dW_hh, db


def _lstm_gates(x, h, W_ih, W_hh, b_ih, b_hh):
    a = x @ W_ih.T + b_ih + h @ W_hh.T + b_hh
    return np.split(a, 4, axis=1)


def lstm_cell_step(x, h, c, W_ih, W_hh, b_ih, b_hh):
    a_i, a_f, a_g, a_o = _lstm_gates(x, h, W_ih, W_hh, b_ih, b_hh)
    i, f, g, o = sigmoid(a_i), sigmoid(a_f), np.tanh(a_g), sigmoid(a_o)
    c_new = f * c + i * g
    return o * np.tanh(c_new), c_new


def gru_step(x, h, W_ih, W_hh, b_ih, b_hh):
    gi = x @ W_ih.T + b_ih
    gh = h @ W_hh.T + b_hh
    i_r, i_z, i_n = np.split(gi, 3, axis=1)
    h_r, h_z, h_n = np.split(gh, 3, axis=1)
    r, z = sigmoid(i_r + h_r), sigmoid(i_z + h_z)
    n = np.tanh(i_n + r * h_n)
    return (1.0 - z) * n + z * h


def lstm_step_backward(x, h, c, W_ih, W_hh, b_ih, b_hh, dh_new, dc_new):
    a_i, a_f, a_g, a_o = _lstm_gates(x, h, W_ih, W_hh, b_ih, b_hh)
    i, f, g, o = sigmoid(a_i), sigmoid(a_f), np.tanh(a_g), sigmoid(a_o)
    tc = np.tanh(f * c + i * g)
    do = dh_new * tc
    dc = dc_new + dh_new * o * (1.0 - tc**2)
    di, df, dg, dc_prev = dc * g, dc * c, dc * i, dc * f
    da = np.hstack([di * i * (1 - i), df * f * (1 - f), dg * (1 - g**2), do * o * (1 - o)])
    return da @ W_ih, da @ W_hh, dc_prev, da.T @ x, da.T @ h, da.sum(axis=0)


def _gru_parts(x, h, W_ih, W_hh, b_ih, b_hh):
    i_r, i_z, i_n = np.split(x @ W_ih.T + b_ih, 3, axis=1)
    h_r, h_z, h_n = np.split(h @ W_hh.T + b_hh, 3, axis=1)
    r, z = sigmoid(i_r + h_r), sigmoid(i_z + h_z)
    return r, z, np.tanh(i_n + r * h_n), h_n


def gru_step_backward(x, h, W_ih, W_hh, b_ih, b_hh, dh_new):
    r, z, n, h_n = _gru_parts(x, h, W_ih, W_hh, b_ih, b_hh)
    dn, dz = dh_new * (1 - z), dh_new * (h - n)
    da_n = dn * (1 - n**2)
    da_r, da_z = da_n * h_n * r * (1 - r), dz * z * (1 - z)
    gx = np.hstack([da_r, da_z, da_n])                # d(input projection)
    gh = np.hstack([da_r, da_z, da_n * r])            # d(hidden projection)
    return (gx @ W_ih, dh_new * z + gh @ W_hh, gx.T @ x, gh.T @ h,
            gx.sum(axis=0), gh.sum(axis=0))


SOLUTIONS = {
    "rnn.batch_shapes": batch_shapes, "rnn.make_windows": make_windows,
    "rnn.pad_sequences": pad_sequences, "rnn.rnn_step": rnn_step,
    "rnn.gradient_window": gradient_window, "rnn.memory_outcomes": memory_outcomes,
    "rnn.tanh_step_backward": tanh_step_backward, "rnn.lstm_cell_step": lstm_cell_step,
    "rnn.gru_step": gru_step,
    "rnn.rnn_bptt": rnn_bptt, "rnn.lstm_step_backward": lstm_step_backward,
    "rnn.gru_step_backward": gru_step_backward,
}


def test_the_reference_recurrent_steps_agree_with_the_formulas_on_a_hand_example():
    # independent of the checkers: the references are one step through course_nn's layers
    ex = exercises()
    x = np.array([[1.0, -1.0]])
    h = np.array([[0.5, 0.25]])
    W_ih = np.array([[0.1, 0.2], [0.3, -0.4]])
    W_hh = np.array([[0.5, 0.0], [-0.5, 1.0]])
    b_ih, b_hh = np.array([0.1, -0.1]), np.array([0.05, 0.0])
    z = x @ W_ih.T + b_ih + h @ W_hh.T + b_hh      # [[-0.1+0.1+0.25+0.05, 0.7-0.1-0.25+0.25]]
    np.testing.assert_allclose(z, [[0.3, 0.6]])
    np.testing.assert_allclose(ex["rnn.rnn_step"].reference(x, h, W_ih, W_hh, b_ih, b_hh), np.tanh(z))


# --- chapter 15 ------------------------------------------------------------------------------

@pytest.mark.parametrize("wrong", [
    lambda s, w: s[np.arange(len(s) - w)[:, None] + np.arange(w)[None, :]],      # one window short
    lambda s, w: make_windows(s, w).T,                                           # transposed
    lambda s, w: s[: (len(s) // w) * w].reshape(-1, w),                          # non-overlapping
    lambda s, w: make_windows(s, w)[:, ::-1],                                    # reversed in time
])
def test_make_windows_rejects_wrong_windows(wrong):
    rejected("rnn.make_windows", wrong, "wrong answer")


def test_batch_shapes_matches_course_nn_on_the_chapter_batch():
    # the chapter's eight sentences have lengths 5, 5, 3, 3, 5, 3, 5, 2
    assert batch_shapes(7, 3, [5, 5, 3, 3, 5, 3, 5, 2], 5, 8) == ((5, 3), (8, 5), (8, 5, 8), 31)


@pytest.mark.parametrize("wrong, hint", [
    (lambda T, w, lengths, n, v: ((T - w, w),) + batch_shapes(T, w, lengths, n, v)[1:],
     "one window short"),
    (lambda T, w, lengths, n, v: ((T // w, w),) + batch_shapes(T, w, lengths, n, v)[1:],
     "the windows overlap"),
    (lambda T, w, lengths, n, v: batch_shapes(T, w, lengths, n, v)[:1] + ((len(lengths), max(lengths)),)
     + batch_shapes(T, w, lengths, n, v)[2:], "longer sequences are cut"),
    (lambda T, w, lengths, n, v: batch_shapes(T, w, lengths, n, v)[:2] + ((len(lengths), n),)
     + batch_shapes(T, w, lengths, n, v)[3:], "one-hot adds an axis"),
    (lambda T, w, lengths, n, v: batch_shapes(T, w, lengths, n, v)[:3] + (sum(lengths),),
     "was cut"),
    (lambda T, w, lengths, n, v: batch_shapes(T, w, lengths, n, v)[:3] + (len(lengths) * n,),
     "not the filler"),
])
def test_batch_shapes_names_the_slip(wrong, hint):
    rejected("rnn.batch_shapes", wrong, "wrong answer", hint)


def test_batch_shapes_wants_four_results():
    rejected("rnn.batch_shapes", lambda *a: batch_shapes(*a)[:3], "expected a tuple of 4 results")
    rejected("rnn.batch_shapes", lambda *a: batch_shapes(*a)[:3] + (2.5,), "mask's number")


def buggy_pad_sequences(seqs, length, value):
    # the chapter's buggy version (the learner's cell)
    out = np.full((len(seqs), length), value, dtype=float)
    for i, s in enumerate(seqs):
        s = s[-length:]                      # at most `length` items
        out[i, length - len(s):] = s
    return out


def test_pad_sequences_names_both_planted_bugs():
    rejected("rnn.pad_sequences", buggy_pad_sequences, "wrong answer", "both planted bugs")


def _pre_pad(seqs, length, value):
    out = np.full((len(seqs), length), value, dtype=float)
    for i, s in enumerate(seqs):
        s = s[:length]
        out[i, length - len(s):] = s
    return out


def _zero_pad(seqs, length, value):
    return pad_sequences(seqs, length, 0.0)


def _keep_last(seqs, length, value):
    return pad_sequences([s[-length:] for s in seqs], length, value)


def _no_truncation(seqs, length, value):
    out = np.full((len(seqs), length), value, dtype=float)
    for i, s in enumerate(seqs):
        out[i, :len(s)] = s                   # raises when a sequence is longer than length
    return out


@pytest.mark.parametrize("wrong", [_pre_pad, _zero_pad, _keep_last])
def test_pad_sequences_rejects_wrong_padding(wrong):
    rejected("rnn.pad_sequences", wrong, "wrong answer")


@pytest.mark.parametrize("half_fixed, hint", [
    (_pre_pad, "the filler is still at the start"),
    (_keep_last, "must keep its first"),
])
def test_pad_sequences_names_the_bug_left(half_fixed, hint):
    rejected("rnn.pad_sequences", half_fixed, "wrong answer", hint)


def test_pad_sequences_reports_a_missing_truncation_as_an_error():
    rejected("rnn.pad_sequences", _no_truncation, "raised ValueError")


# --- chapter 16 ------------------------------------------------------------------------------

@pytest.mark.parametrize("wrong", [
    lambda x, h, W_ih, W_hh, b_ih, b_hh: np.tanh(x @ W_ih.T + b_ih + h @ W_hh.T),          # no b_hh
    lambda x, h, W_ih, W_hh, b_ih, b_hh: np.tanh(x @ W_ih.T + h @ W_hh.T + b_hh),          # no b_ih
    lambda x, h, W_ih, W_hh, b_ih, b_hh: np.tanh(x @ W_ih.T + b_ih + h @ W_hh + b_hh),     # W_hh untransposed
    lambda x, h, W_ih, W_hh, b_ih, b_hh: sigmoid(x @ W_ih.T + b_ih + h @ W_hh.T + b_hh),   # sigmoid
    lambda x, h, W_ih, W_hh, b_ih, b_hh: x @ W_ih.T + b_ih + h @ W_hh.T + b_hh,            # no tanh
    lambda x, h, W_ih, W_hh, b_ih, b_hh: h + np.tanh(x @ W_ih.T + b_ih + h @ W_hh.T + b_hh),  # residual
])
def test_rnn_step_rejects_wrong_steps(wrong):
    rejected("rnn.rnn_step", wrong, "wrong answer")


def test_rnn_step_rejects_a_transposed_input_weight_with_a_message():
    result = evaluate("rnn.rnn_step",
                      lambda x, h, W_ih, W_hh, b_ih, b_hh: np.tanh(x @ W_ih + b_ih + h @ W_hh.T + b_hh))
    assert not result.passed
    assert "raised ValueError" in result.message or "wrong answer" in result.message


def _window_of(norm_of, low=0.01, high=100.0):
    def window(rhos, seed):
        inside = [r for r in rhos if low <= norm_of(r, seed) <= high]
        return min(inside), max(inside)
    return window


@pytest.mark.parametrize("wrong, hint", [
    (_window_of(lambda r, seed: r ** 50), "rho^50"),                    # the linear prediction
    (_window_of(lambda r, seed: gradient_window_norm(r, seed), low=0.0), "lower end"),
    (_window_of(lambda r, seed: gradient_window_norm(r, seed), high=np.inf), "upper end"),
])
def test_gradient_window_names_the_slip(wrong, hint):
    rejected("rnn.gradient_window", wrong, "wrong answer", hint)


def gradient_window_norm(rho, seed):
    from course_nn.lab.exercises.rnn import lag_gradient_norm
    return lag_gradient_norm(rho, seed)


def test_gradient_window_is_wider_above_one_than_rho_to_the_50():
    # the finding: the lower end is rho^50's, the upper end lies beyond it (tanh saturates)
    from course_nn.lab.exercises.rnn import _WINDOW_GRID
    for seed in range(5):
        lo, hi = gradient_window(_WINDOW_GRID, seed)
        assert lo == 0.95 and 1.15 <= hi <= 1.25


def test_gradient_window_wants_a_pair():
    rejected("rnn.gradient_window", lambda rhos, seed: 1.0, "expected a tuple")


@pytest.mark.parametrize("wrong", [
    lambda dh, hn, hp, W: (dh @ W, dh.T @ hp),                                   # no tanh'
    lambda dh, hn, hp, W: ((dh * (1 - hp**2)) @ W, (dh * (1 - hp**2)).T @ hp),   # tanh' at h_prev
    lambda dh, hn, hp, W: ((dh * (1 - hn**2)) @ W.T, (dh * (1 - hn**2)).T @ hp),  # W_hh transposed
    lambda dh, hn, hp, W: ((dh * (1 - hn**2)) @ W, hp.T @ (dh * (1 - hn**2))),   # dW transposed
    lambda dh, hn, hp, W: ((dh * (1 - hn)) @ W, (dh * (1 - hn)).T @ hp),          # 1 - h, not 1 - h^2
    lambda dh, hn, hp, W: ((dh * (1 - hn**2)) @ W, (dh * (1 - hn**2)).T @ hn),   # h_new in dW
])
def test_tanh_step_backward_rejects_wrong_gradients(wrong):
    rejected("rnn.tanh_step_backward", wrong, "wrong answer")


def buggy_tanh_step_backward(dh, h_new, h_prev, W_hh):
    # the chapter's buggy version (the learner's cell)
    dz = dh * (1.0 - h_prev**2)
    return dz @ W_hh.T, dz.T @ h_prev


@pytest.mark.parametrize("wrong, hint", [
    (buggy_tanh_step_backward, "both planted bugs"),
    (lambda dh, hn, hp, W: ((dh * (1 - hn**2)) @ W.T, (dh * (1 - hn**2)).T @ hp), "no transpose"),
    (lambda dh, hn, hp, W: ((dh * (1 - hp**2)) @ W, (dh * (1 - hp**2)).T @ hp), "1 - h_new**2"),
])
def test_tanh_step_backward_names_the_planted_bugs(wrong, hint):
    rejected("rnn.tanh_step_backward", wrong, "wrong answer", hint)


def test_tanh_step_backward_wants_both_results():
    rejected("rnn.tanh_step_backward", lambda dh, hn, hp, W: (dh * (1 - hn**2)) @ W,
             "expected a tuple of 2 results")


def _bptt_with(carry=True, h_for_dW="prev", accumulate=True, carry_before_tanh=False,
               forward_in_time=False, slope_at="new"):
    def bptt(x, hs, W_ih, W_hh, grad_out):
        T = x.shape[1]
        dx = np.zeros_like(x)
        dW_ih, dW_hh, db = np.zeros_like(W_ih), np.zeros_like(W_hh), np.zeros(W_hh.shape[0])
        dh_next = np.zeros_like(hs[:, 0])
        steps = range(1, T + 1) if forward_in_time else range(T, 0, -1)
        for t in steps:
            dh = grad_out[:, t - 1] + (dh_next if carry else 0.0)
            h_slope = hs[:, t] if slope_at == "new" else hs[:, t - 1]
            da = dh * (1.0 - h_slope ** 2)
            h_dW = hs[:, t - 1] if h_for_dW == "prev" else hs[:, t]
            if accumulate:
                dW_ih += da.T @ x[:, t - 1]
                dW_hh += da.T @ h_dW
                db += da.sum(axis=0)
            else:                                     # overwritten: only one step's share
                dW_ih, dW_hh, db = da.T @ x[:, t - 1], da.T @ h_dW, da.sum(axis=0)
            dx[:, t - 1] = da @ W_ih
            dh_next = (dh if carry_before_tanh else da) @ W_hh
        return dx, dh_next, dW_ih, dW_hh, db
    return bptt


@pytest.mark.parametrize("wrong, named", [
    (_bptt_with(carry=False), "dx"),                       # gradient not carried from t+1
    (_bptt_with(h_for_dW="new"), "dW_hh"),                 # h_t instead of h_(t-1)
    (_bptt_with(accumulate=False), "dW_ih"),               # not accumulated over time
    (_bptt_with(carry_before_tanh=True), "dx"),            # carried dh, not da, through W_hh
    (_bptt_with(forward_in_time=True), "dx"),              # looped forward in time
    (_bptt_with(slope_at="prev"), "dx"),                   # tanh' at h_(t-1)
])
def test_rnn_bptt_rejects_wrong_backward_passes_naming_the_gradient(wrong, named):
    rejected("rnn.rnn_bptt", wrong, "wrong answer", f"{named}: ")


def buggy_rnn_bptt(x, hs, W_ih, W_hh, grad_out):
    # the chapter's buggy version (the learner's cell)
    T = x.shape[1]
    dx = np.zeros_like(x)
    dW_ih, dW_hh, db = np.zeros_like(W_ih), np.zeros_like(W_hh), np.zeros(W_hh.shape[0])
    dh_next = np.zeros_like(hs[:, 0])
    for t in range(T, 0, -1):
        dh = grad_out[:, t - 1]
        da = dh * (1.0 - hs[:, t] ** 2)
        dW_ih = da.T @ x[:, t - 1]
        dW_hh = da.T @ hs[:, t - 1]
        db = da.sum(axis=0)
        dx[:, t - 1] = da @ W_ih
        dh_next = da @ W_hh
    return dx, dh_next, dW_ih, dW_hh, db


@pytest.mark.parametrize("wrong, hint", [
    (buggy_rnn_bptt, "both planted bugs"),
    (_bptt_with(carry=False), "add dh_next"),
    (_bptt_with(accumulate=False), "SUM over the steps"),
])
def test_rnn_bptt_names_the_planted_bugs(wrong, hint):
    rejected("rnn.rnn_bptt", wrong, "wrong answer", hint)


def test_rnn_bptt_wants_five_results():
    result = rejected("rnn.rnn_bptt", lambda *a: rnn_bptt(*a)[:4], "expected a tuple of 5 results")
    assert "(dx, dh0, dW_ih, dW_hh, db)" in result.message


def test_rnn_bptt_solution_agrees_with_the_numerical_gradient():
    # independent of course_nn's backward: central differences of L = sum(grad_out * h_t)
    rng = np.random.default_rng(5)
    N, T, D, H = 2, 4, 3, 2
    W_ih, W_hh = 0.6 * rng.standard_normal((H, D)), 0.6 * rng.standard_normal((H, H))
    b = 0.6 * rng.standard_normal(H)
    x, h0, g = rng.standard_normal((N, T, D)), rng.standard_normal((N, H)), rng.standard_normal((N, T, H))

    def states():
        hs = [h0]
        for t in range(T):
            hs.append(np.tanh(x[:, t] @ W_ih.T + hs[-1] @ W_hh.T + b))
        return np.stack(hs, axis=1)

    def loss(_):
        return np.sum(g * states()[:, 1:])

    got = rnn_bptt(x, states(), W_ih, W_hh, g)
    for value, wrt in zip(got, (x, h0, W_ih, W_hh, b)):
        assert cn.rel_error(value, cn.numerical_gradient(loss, wrt)) < 1e-7


# --- chapter 17 ------------------------------------------------------------------------------

def _lstm_with(order=(0, 1, 2, 3), acts=(sigmoid, sigmoid, np.tanh, sigmoid), use_b_hh=True,
               c_source="c", out="tanh"):
    def step(x, h, c, W_ih, W_hh, b_ih, b_hh):
        blocks = _lstm_gates(x, h, W_ih, W_hh, b_ih, b_hh if use_b_hh else 0 * b_hh)
        a_i, a_f, a_g, a_o = (blocks[k] for k in order)
        i, f, g, o = (act(a) for act, a in zip(acts, (a_i, a_f, a_g, a_o)))
        prev = c if c_source == "c" else h
        c_new = f * prev + i * g
        h_new = o * np.tanh(c_new) if out == "tanh" else o * c_new
        return h_new, c_new
    return step


@pytest.mark.parametrize("wrong", [
    _lstm_with(order=(0, 1, 3, 2)),                                 # i, f, o, g (another library's order)
    _lstm_with(order=(1, 0, 2, 3)),                                 # f, i, g, o
    _lstm_with(order=(0, 2, 1, 3)),                                 # TensorFlow's i, g(j), f, o
    _lstm_with(acts=(sigmoid, sigmoid, sigmoid, sigmoid)),          # sigmoid for g
    _lstm_with(acts=(np.tanh, np.tanh, np.tanh, np.tanh)),          # tanh for the gates
    _lstm_with(acts=(sigmoid, sigmoid, np.tanh, np.tanh)),          # tanh and sigmoid swapped on o
    _lstm_with(use_b_hh=False),                                     # missing bias_hh
    _lstm_with(c_source="h"),                                       # h_prev instead of c_prev
    _lstm_with(out="linear"),                                       # h = o * c, no tanh
])
def test_lstm_cell_step_rejects_wrong_cells(wrong):
    rejected("rnn.lstm_cell_step", wrong, "wrong answer")


def test_lstm_cell_step_wants_h_and_c():
    rejected("rnn.lstm_cell_step", lambda *a: lstm_cell_step(*a)[0], "expected a tuple of 2 results")
    rejected("rnn.lstm_cell_step", lambda *a: lstm_cell_step(*a)[::-1], "wrong answer")


def _gru_with(order=(0, 1, 2), swap_z=False, reset_outside=False, use_b_hh=True):
    def step(x, h, W_ih, W_hh, b_ih, b_hh):
        gi = np.split(x @ W_ih.T + b_ih, 3, axis=1)
        gh = np.split(h @ W_hh.T + (b_hh if use_b_hh else 0 * b_hh), 3, axis=1)
        i_r, i_z, i_n = (gi[k] for k in order)
        h_r, h_z, h_n = (gh[k] for k in order)
        r, z = sigmoid(i_r + h_r), sigmoid(i_z + h_z)
        if reset_outside:   # the other GRU variant: r multiplies h before W_hn, b_hn outside r
            n_hh = (r * h) @ W_hh[2 * h.shape[1]:].T + (b_hh[2 * h.shape[1]:] if use_b_hh else 0)
            n = np.tanh(i_n + n_hh)
        else:
            n = np.tanh(i_n + r * h_n)
        return z * n + (1.0 - z) * h if swap_z else (1.0 - z) * n + z * h
    return step


@pytest.mark.parametrize("wrong", [
    _gru_with(order=(1, 0, 2)),              # z, r, n
    _gru_with(swap_z=True),                  # h = z n + (1 - z) h_prev (another convention)
    _gru_with(reset_outside=True),           # reset applied to h before the matrix product
    _gru_with(use_b_hh=False),               # missing bias_hh
])
def test_gru_step_rejects_wrong_cells(wrong):
    rejected("rnn.gru_step", wrong, "wrong answer")


def _lstm_backward_with(dh_path=True, order=(0, 1, 2, 3), f_on_dc=True, df_from="c",
                        do_from="tanh", sig_grad=True):
    def backward(x, h, c, W_ih, W_hh, b_ih, b_hh, dh_new, dc_new):
        a_i, a_f, a_g, a_o = _lstm_gates(x, h, W_ih, W_hh, b_ih, b_hh)
        i, f, g, o = sigmoid(a_i), sigmoid(a_f), np.tanh(a_g), sigmoid(a_o)
        c_new = f * c + i * g
        tc = np.tanh(c_new)
        do = dh_new * (tc if do_from == "tanh" else c_new)
        dc = dc_new + (dh_new * o * (1.0 - tc**2) if dh_path else 0.0)
        df = dc * (c if df_from == "c" else h)
        s = (lambda v: v * (1 - v)) if sig_grad else (lambda v: 1.0)
        blocks = [dc * g * s(i), df * s(f), dc * i * (1 - g**2), do * s(o)]
        da = np.hstack([blocks[k] for k in order])
        return da @ W_ih, da @ W_hh, dc * f if f_on_dc else dc, da.T @ x, da.T @ h, da.sum(axis=0)
    return backward


@pytest.mark.parametrize("wrong, named", [
    (_lstm_backward_with(dh_path=False), "dx"),            # dc without the path through h
    (_lstm_backward_with(order=(0, 1, 3, 2)), "dx"),       # gate blocks in the order i, f, o, g
    (_lstm_backward_with(order=(1, 0, 2, 3)), "dx"),       # f, i, g, o
    (_lstm_backward_with(f_on_dc=False), "dc"),            # dc_prev = dc, the forget gate dropped
    (_lstm_backward_with(df_from="h"), "dx"),              # df = dc * h_prev
    (_lstm_backward_with(do_from="c"), "dx"),              # do = dh * c, not dh * tanh(c)
    (_lstm_backward_with(sig_grad=False), "dx"),           # forgot sigmoid'
])
def test_lstm_step_backward_rejects_wrong_gradients(wrong, named):
    rejected("rnn.lstm_step_backward", wrong, "wrong answer", f"{named}: ")


@pytest.mark.parametrize("wrong, hint", [
    (_lstm_backward_with(dh_path=False), "two paths"),
    (_lstm_backward_with(do_from="c"), "not dh_new * c_t"),
    (_lstm_backward_with(order=(0, 1, 3, 2)), "i, f, g, o"),
    (_lstm_backward_with(f_on_dc=False), "dc_prev = dc * f"),
])
def test_lstm_step_backward_names_the_slip(wrong, hint):
    rejected("rnn.lstm_step_backward", wrong, "wrong answer", hint)


def _gru_backward_with(reset_path=True, r_on_hn=True, direct=True, swap_z=False, bias_hh="own"):
    def backward(x, h, W_ih, W_hh, b_ih, b_hh, dh_new):
        r, z, n, h_n = _gru_parts(x, h, W_ih, W_hh, b_ih, b_hh)
        keep, take = (1 - z, z) if swap_z else (z, 1 - z)
        dn, dz = dh_new * take, dh_new * (h - n) * (-1 if swap_z else 1)
        da_n = dn * (1 - n**2)
        da_r = da_n * h_n * r * (1 - r) if reset_path else 0 * da_n
        da_z = dz * z * (1 - z)
        gx = np.hstack([da_r, da_z, da_n])
        gh = np.hstack([da_r, da_z, da_n * r if r_on_hn else da_n])
        db_hh = gh.sum(axis=0) if bias_hh == "own" else gx.sum(axis=0)
        return (gx @ W_ih, (dh_new * keep if direct else 0) + gh @ W_hh, gx.T @ x, gh.T @ h,
                gx.sum(axis=0), db_hh)
    return backward


@pytest.mark.parametrize("wrong, named", [
    (_gru_backward_with(reset_path=False), "dx"),          # the path through r inside n missing
    (_gru_backward_with(r_on_hn=False), "dh"),             # W_hn h + b_hn's gradient without r
    (_gru_backward_with(direct=False), "dh"),              # the direct path z * dh missing
    (_gru_backward_with(swap_z=True), "dx"),               # h = z n + (1 - z) h_prev
    (_gru_backward_with(bias_hh="same"), "db_hh"),         # db_hh = db_ih
])
def test_gru_step_backward_rejects_wrong_gradients(wrong, named):
    rejected("rnn.gru_step_backward", wrong, "wrong answer", f"{named}: ")


def buggy_gru_step_backward(x, h, W_ih, W_hh, b_ih, b_hh, dh_new):
    # the chapter's buggy version (the learner's cell)
    r, z, n, n_hat = _gru_parts(x, h, W_ih, W_hh, b_ih, b_hh)
    dn = dh_new
    dz = dh_new * (h - n)
    da_n = dn * (1 - n**2)
    da_r, da_z = da_n * n_hat * r * (1 - r), dz * z * (1 - z)
    gx = np.hstack([da_r, da_z, da_n])
    gh = np.hstack([da_r, da_z, da_n])
    return (gx @ W_ih, dh_new * z + gh @ W_hh, gx.T @ x, gh.T @ h, gx.sum(axis=0), gh.sum(axis=0))


def _gru_half_fixed(one_minus_z):
    def backward(x, h, W_ih, W_hh, b_ih, b_hh, dh_new):
        r, z, n, n_hat = _gru_parts(x, h, W_ih, W_hh, b_ih, b_hh)
        dn = dh_new * (1 - z) if one_minus_z else dh_new
        dz = dh_new * (h - n)
        da_n = dn * (1 - n**2)
        da_r, da_z = da_n * n_hat * r * (1 - r), dz * z * (1 - z)
        gx = np.hstack([da_r, da_z, da_n])
        gh = np.hstack([da_r, da_z, da_n if one_minus_z else da_n * r])
        return (gx @ W_ih, dh_new * z + gh @ W_hh, gx.T @ x, gh.T @ h, gx.sum(axis=0), gh.sum(axis=0))
    return backward


@pytest.mark.parametrize("wrong, hint", [
    (buggy_gru_step_backward, "both planted bugs"),
    (_gru_half_fixed(one_minus_z=True), "the n block of the gradient is da_n * r"),
    (_gru_half_fixed(one_minus_z=False), "dn = dh_new * (1 - z)"),
])
def test_gru_step_backward_names_the_planted_bugs(wrong, hint):
    rejected("rnn.gru_step_backward", wrong, "wrong answer", hint)


def test_memory_outcomes_are_the_chapters():
    assert memory_outcomes() == MEMORY_OUTCOMES


@pytest.mark.parametrize("change, named", [
    ({"LSTM, default init": "all"}, "0.5^30"),                # gates help by being there
    ({"GRU, default init": "some"}, "z = 0.5"),
    ({"RNN, orthogonal W_hh": "none"}, "scatter"),
    ({"RNN, orthogonal W_hh": "all"}, "scatter"),
    ({"LSTM, gate biases": "some"}, "carousel carries"),
    ({"RNN, default init": "some"}, "vanishing"),
])
def test_memory_outcomes_explains_each_wrong_prediction(change, named):
    result = rejected("rnn.memory_outcomes", lambda: memory_outcomes() | change, "wrong answer",
                      "1 of 6 predictions", named)
    assert list(change)[0] in result.message


def test_memory_outcomes_wants_the_six_configurations():
    rejected("rnn.memory_outcomes", lambda: {"LSTM, gate biases": "all"}, "no prediction for")
    rejected("rnn.memory_outcomes", lambda: memory_outcomes() | {"GRU, gate biases": 5},
             "expected 'all', 'some' or 'none'")
    rejected("rnn.memory_outcomes", lambda: ["all"] * 6, "expected a dict")


def _step_inputs(rng, gates, N=2, D=3, H=2):
    return (rng.standard_normal((N, D)), rng.standard_normal((N, H)),
            0.8 * rng.standard_normal((gates * H, D)), 0.8 * rng.standard_normal((gates * H, H)),
            0.8 * rng.standard_normal(gates * H), 0.8 * rng.standard_normal(gates * H))


def test_lstm_step_backward_solution_agrees_with_the_numerical_gradient():
    rng = np.random.default_rng(6)
    x, h, W_ih, W_hh, b_ih, b_hh = _step_inputs(rng, 4)
    c = 2.0 * rng.standard_normal(h.shape)
    dh_new, dc_new = rng.standard_normal(h.shape), rng.standard_normal(h.shape)

    def loss(_):
        h_new, c_new = lstm_cell_step(x, h, c, W_ih, W_hh, b_ih, b_hh)
        return np.sum(dh_new * h_new) + np.sum(dc_new * c_new)

    got = lstm_step_backward(x, h, c, W_ih, W_hh, b_ih, b_hh, dh_new, dc_new)
    for value, wrt in zip(got + (got[-1],), (x, h, c, W_ih, W_hh, b_ih, b_hh)):
        assert cn.rel_error(value, cn.numerical_gradient(loss, wrt)) < 1e-7


def test_gru_step_backward_solution_agrees_with_the_numerical_gradient():
    rng = np.random.default_rng(7)
    x, h, W_ih, W_hh, b_ih, b_hh = _step_inputs(rng, 3)
    dh_new = rng.standard_normal(h.shape)

    def loss(_):
        return np.sum(dh_new * gru_step(x, h, W_ih, W_hh, b_ih, b_hh))

    got = gru_step_backward(x, h, W_ih, W_hh, b_ih, b_hh, dh_new)
    for value, wrt in zip(got, (x, h, W_ih, W_hh, b_ih, b_hh)):
        assert cn.rel_error(value, cn.numerical_gradient(loss, wrt)) < 1e-7
