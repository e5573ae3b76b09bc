"""The key numbers of chapters 15-17, pinned independently of the notebooks.

Each test recomputes a number the chapters print (with the same seeds and code paths) and
checks it against the value shown in the book, or checks the ordering the prose relies on.
"""

import numpy as np
import pytest

import course_nn as cn
from course_nn import sequences as S
from course_nn.activations import sigmoid
from course_nn.explorers.rnn import gradient_flow_setup, hidden_gradient_norms, layer_gradient_norms

# --- chapter 15 ------------------------------------------------------------------------------


def test_bag_of_words_cannot_tell_who_bit_whom():
    vocab = {"bites": 1, "dog": 2, "man": 3}
    a = np.bincount([vocab[w] for w in "dog bites man".split()], minlength=4).astype(float)[None]
    b = np.bincount([vocab[w] for w in "man bites dog".split()], minlength=4).astype(float)[None]
    mlp = cn.Sequential(cn.Linear(4, 8, rng=np.random.default_rng(0)), cn.Tanh(),
                        cn.Linear(8, 2, rng=np.random.default_rng(1)))
    np.testing.assert_array_equal(mlp(a), mlp(b))
    rnn = cn.RNN(4, 8, rng=np.random.default_rng(2))
    _, ha = rnn(S.one_hot(np.array([2, 1, 3]), 4)[None])
    _, hb = rnn(S.one_hot(np.array([3, 1, 2]), 4)[None])
    assert np.linalg.norm(ha - hb) > 0.1


def test_window_model_sees_a_delay_only_from_width_delay_plus_one():
    rng = np.random.default_rng(7)
    x = rng.normal(size=2000)
    y = np.roll(x, 6) + 0.1 * rng.normal(size=2000)

    def mse(width):
        X = S.make_windows(x, width)[6:]
        t = y[width - 1:][6:]
        X1 = np.hstack([X, np.ones((len(X), 1))])
        coef = np.linalg.lstsq(X1, t, rcond=None)[0]
        return float(np.mean((X1 @ coef - t) ** 2))

    assert mse(6) > 0.9 and mse(7) < 0.011           # chapter 15, 5.2: 0.9779 and 0.0099


def test_padding_changes_the_last_state_unless_read_at_the_true_end():
    rnn = cn.RNN(5, 6, rng=np.random.default_rng(0))
    seqs = [np.array([1, 2, 3, 4]), np.array([2, 3])]
    padded = S.pad_sequences(seqs, 4, value=0)
    out, h_last = rnn(S.one_hot(padded, 5))
    alone = rnn(S.one_hot(seqs[1], 5)[None])[1][0]
    assert np.max(np.abs(h_last[1] - alone)) > 1e-3
    np.testing.assert_allclose(out[1, 1], alone, rtol=0, atol=1e-15)


# --- chapter 16 ------------------------------------------------------------------------------

W_IH = np.array([[0.5, -0.3], [0.2, 0.4]])
W_HH = np.array([[0.1, 0.6], [-0.4, 0.3]])
B_IH, B_HH = np.array([0.1, 0.0]), np.array([0.0, -0.1])
XS = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])


def test_hand_computed_rnn_steps():
    rnn = cn.RNN(2, 2)
    for name, value in [("weight_ih", W_IH), ("weight_hh", W_HH), ("bias_ih", B_IH), ("bias_hh", B_HH)]:
        getattr(rnn, name).data[...] = value
    out, _ = rnn(XS[None])
    # z_1 = (0.5 + 0.1 + 0, 0.2 + 0 - 0.1) = (0.6, 0.1) since h_0 = 0
    np.testing.assert_allclose(out[0, 0], np.tanh([0.6, 0.1]), rtol=1e-14)
    np.testing.assert_allclose(out[0], [[0.5370, 0.0997], [-0.0863, 0.1146], [0.3453, 0.5145]], atol=5e-5)


def test_rnn_parameter_count_is_independent_of_length():
    layer = cn.RNN(10, 32, rng=np.random.default_rng(0))
    assert layer.num_parameters() == 32 * 10 + 32 * 32 + 2 * 32 == 1408
    for T in (1, 10, 100):
        out, _ = layer(np.zeros((1, T, 10)))
        assert out.shape == (1, T, 32) and layer.num_parameters() == 1408


@pytest.mark.parametrize("D, H, counts", [(8, 16, (416, 1664, 1248)), (28, 64, (6016, 24064, 18048)),
                                          (100, 256, (91648, 366592, 274944)), (1, 1, (4, 16, 12))])
def test_lstm_and_gru_have_four_and_three_times_the_parameters(D, H, counts):
    got = tuple(S.CELLS[c](D, H).num_parameters() for c in ("RNN", "LSTM", "GRU"))
    assert got == counts and got[1] == 4 * got[0] and got[2] == 3 * got[0]


def test_gradient_norm_decay_and_growth_follow_the_spectral_radius():
    rhos = [0.5, 0.9, 1.0, 1.2, 1.5]
    measured = {}
    for rho in rhos:
        setup = gradient_flow_setup(rho, 60, hidden_size=32, input_scale=0.01)
        layer = cn.RNN(4, 32)
        layer.weight_ih.data[...] = setup["weight_ih"]
        layer.weight_hh.data[...] = setup["weight_hh"]
        layer.bias_ih.data[...] = 0.0
        layer.bias_hh.data[...] = 0.0
        measured[rho] = layer_gradient_norms(layer, setup["x"], setup["v"])[1]
    ends = [measured[r][-1] for r in rhos]
    assert all(a < b for a, b in zip(ends, ends[1:]))
    # chapter 16's table: 8.644e-19, 1.774e-03, 9.142e-01, 3.739e+01, 1.147e+03 at lag 60
    np.testing.assert_allclose(ends, [8.644e-19, 1.774e-03, 9.142e-01, 3.739e+01, 1.147e+03], rtol=1e-3)
    assert measured[0.5][-1] == pytest.approx(0.5**60, rel=0.01)       # on the rho^k line
    assert measured[1.5][-1] < 1e-6 * 1.5**60                         # saturation damps growth
    k, linear = hidden_gradient_norms(1.2, 60, "identity")
    np.testing.assert_allclose(linear, 1.2 ** k.astype(float), rtol=1e-10)


def test_truncated_bptt_forward_is_exact_and_its_gradient_misses_more_as_rho_grows():
    rng = np.random.default_rng(3)
    rnn = cn.RNN(3, 16, rng=rng)
    x = rng.standard_normal((2, 40, 3))
    G = rng.standard_normal((2, 10, 16))
    full, _ = rnn(x)
    state, outs = None, []
    for w in range(4):
        o, state = rnn(x[:, 10 * w:10 * (w + 1)], state)
        outs.append(o)
    np.testing.assert_array_equal(np.concatenate(outs, axis=1), full)

    Q = S.orthogonal(16, rng=np.random.default_rng(4))
    missing = []
    for rho in (0.5, 0.9, 1.0, 1.2):
        rnn.weight_hh.data[...] = rho * Q
        _, s30 = rnn(x[:, :30])
        rnn.zero_grad()
        rnn(x[:, 30:], s30.copy())
        rnn.backward(G)
        trunc = rnn.weight_hh.grad.copy()
        rnn.zero_grad()
        out, _ = rnn(x)
        g = np.zeros_like(out)
        g[:, 30:] = G
        rnn.backward(g)
        missing.append(np.linalg.norm(rnn.weight_hh.grad - trunc) / np.linalg.norm(rnn.weight_hh.grad))
    assert all(a < b for a, b in zip(missing, missing[1:]))
    np.testing.assert_allclose(missing, [0.1296, 0.2664, 0.3351, 0.4695], atol=2e-4)


def _clipping_run(clip, steps=150, lr=0.2):
    rng = np.random.default_rng(0)
    model = S.SequenceClassifier("RNN", 8, 16, 4, rng=rng)
    model.recurrent.weight_hh.data[...] = 2.0 * S.orthogonal(16, rng=rng)
    params = model.parameters()
    opt = cn.optim.SGD(params, lr=lr)
    loss_fn = cn.CrossEntropyLoss()
    data_rng = np.random.default_rng(1)
    losses = []
    for _ in range(steps):
        xb, yb = S.make_memory_task(32, 15, rng=data_rng)
        opt.zero_grad()
        losses.append(loss_fn(model(xb), yb))
        model.backward(loss_fn.backward())
        if clip is not None:
            cn.clip_grad_norm(params, clip)
        opt.step()
    return np.mean(losses[-30:])


def test_clipping_rescues_training_in_the_exploding_case():
    unclipped, clipped = _clipping_run(None), _clipping_run(1.0)
    assert unclipped > 1.3 and clipped < 0.1          # chapter 16, section 6: 1.416 and 0.031


# --- chapter 17 ------------------------------------------------------------------------------


def test_constant_error_carousel_is_the_product_of_forget_gates():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 30, 3))
    v = rng.standard_normal((2, 4))
    lstm = cn.LSTM(3, 4, rng=rng)
    lstm.weight_hh.data[...] = 0.0
    S.memory_init(lstm, rng=rng)
    out, _ = lstm(x)
    _, (_, dc0) = lstm.backward(np.zeros_like(out), (np.zeros((2, 4)), v))
    H = 4
    f = sigmoid(x @ lstm.weight_ih.data[H:2 * H].T + lstm.bias_ih.data[H:2 * H] + lstm.bias_hh.data[H:2 * H])
    np.testing.assert_allclose(dc0, v * f.prod(axis=1), rtol=1e-12)


def test_gate_biases_keep_the_gradient_alive_over_100_steps():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((1, 100, 8))
    v = rng.standard_normal(32)
    v /= np.linalg.norm(v)
    ends = {}
    for cell in ("RNN", "LSTM", "GRU"):
        for memory in (False, True):
            layer = S.CELLS[cell](8, 32, rng=np.random.default_rng(3))
            if memory:
                S.memory_init(layer, rng=np.random.default_rng(4))
            ends[cell, memory] = layer_gradient_norms(layer, x, v, lags=[100])[1][0]
    for cell in ("RNN", "LSTM", "GRU"):
        assert ends[cell, False] < 1e-15                 # default init: vanished
    assert ends["LSTM", True] > 0.1 and ends["GRU", True] > 0.1


@pytest.mark.parametrize("cell, scale, low, high", [
    ("LSTM", 1, 0.0, 1e-10), ("GRU", 1, 0.0, 1e-10),
    ("LSTM", 20, 1e10, np.inf), ("GRU", 20, 1e10, np.inf),
])
def test_gated_cells_still_explode_with_large_recurrent_weights(cell, scale, low, high):
    rng = np.random.default_rng(8)
    x = 0.1 * rng.standard_normal((1, 80, 4))
    v = rng.standard_normal(32)
    v /= np.linalg.norm(v)
    layer = S.CELLS[cell](4, 32, rng=np.random.default_rng(1))
    layer.weight_hh.data *= scale
    norm = layer_gradient_norms(layer, x, v, lags=[80])[1][0]
    assert low < norm < high


def test_memory_task_gap_between_the_rnn_and_the_gated_cells():
    # chapter 17, section 5.2, seed 0 (the notebook also runs seeds 1-3)
    acc = {(cell, T): S.train_memory_task(cell, T, seed=0).accuracy
           for T in (10, 30) for cell in ("RNN", "LSTM", "GRU")}
    assert min(acc[c, 10] for c in ("RNN", "LSTM", "GRU")) > 0.95
    assert acc["LSTM", 30] > 0.95 and acc["GRU", 30] > 0.95
    assert acc["RNN", 30] < 0.5
    np.testing.assert_allclose([acc["RNN", 30], acc["LSTM", 30], acc["GRU", 30]],
                               [0.417, 0.997, 0.998], atol=0.011)


def test_memory_task_without_gate_biases_fails_for_every_cell():
    for cell in ("RNN", "LSTM", "GRU"):
        assert S.train_memory_task(cell, 30, seed=0, use_memory_init=False).accuracy < 0.3


def test_char_lm_learns_then_overfits_its_short_text():
    text = S.BOOK_TEXT.lower()
    vocab = S.Vocab.from_text(text)
    ids = vocab.encode(text)
    cut = int(0.9 * len(ids))
    model = S.CharLM(len(vocab), 16, 64, "LSTM", rng=np.random.default_rng(0))
    opt = cn.optim.Adam(model.parameters(), lr=0.01)
    batches = S.char_batches(ids[:cut], 16, 32)
    train, val = [], []
    with S.one_blas_thread():
        for _ in range(60):
            state, losses = None, []
            for inputs, targets in batches:
                opt.zero_grad()
                loss, state, loss_fn = model.loss(inputs, targets, state)
                model.backward_loss(loss_fn)
                cn.clip_grad_norm(model.parameters(), 1.0)
                opt.step()
                state = S.detach_state(state)
                losses.append(loss)
            train.append(np.mean(losses))
            val.append(model.loss(ids[None, cut:-1], ids[None, cut + 1:])[0])
    best = int(np.argmin(val))
    assert train[0] > np.log(len(vocab)) - 0.2 and train[-1] < 0.5
    assert val[best] < 2.4 and val[-1] > val[best] + 0.5          # overfitting after the minimum
    # chapter 17, 6.2: lowest validation loss 2.293 at epoch 20; epoch 60: 0.336 / 3.309
    assert best + 1 == 20
    np.testing.assert_allclose([val[best], train[-1], val[-1]], [2.293, 0.336, 3.309], atol=0.01)


def test_pixels_are_not_independent_but_graph_numbering_is_arbitrary():
    # chapter 15, 3.3 (erratum on note 000 §8.2): neighbouring pixels correlate, shuffled ones hardly
    from course_nn.data import load_digits

    images, _ = load_digits(as_images=True)
    flat = images.reshape(len(images), 64)

    def neighbour_corr(f):
        g = f.reshape(-1, 8, 8)
        return float(np.corrcoef(g[:, :, :-1].ravel(), g[:, :, 1:].ravel())[0, 1])

    shuffled = flat[:, np.random.default_rng(3).permutation(64)]
    assert neighbour_corr(flat) == pytest.approx(0.390, abs=5e-4)
    assert neighbour_corr(shuffled) < 0.1
    A = np.zeros((5, 5), dtype=int)
    for i, j in [(0, 1), (0, 2), (1, 2), (2, 3), (3, 4)]:
        A[i, j] = A[j, i] = 1
    P = np.eye(5, dtype=int)[[3, 0, 4, 1, 2]]
    B = P @ A @ P.T
    assert not np.array_equal(A, B)
    np.testing.assert_allclose(np.linalg.eigvalsh(A), np.linalg.eigvalsh(B), atol=1e-12)


def test_bptt_gradient_of_shared_weights_is_the_sum_over_time_steps():
    # chapter 16, 3.2 (erratum on note 004): one backward pass, per-step copies summed
    rng = np.random.default_rng(1)
    rnn = cn.RNN(4, 5, rng=rng)
    x, h0, g = rng.standard_normal((3, 6, 4)), rng.standard_normal((3, 5)), rng.standard_normal((3, 6, 5))
    rnn.zero_grad()
    out, _ = rnn(x, h0)
    rnn.backward(g)
    hs = np.concatenate([h0[:, None], out], axis=1)
    W = rnn.weight_hh.data
    dz_next, copies = np.zeros((3, 5)), []
    for t in reversed(range(6)):
        dz = (g[:, t] + dz_next @ W) * (1 - hs[:, t + 1] ** 2)
        copies.append(dz.T @ hs[:, t])
        dz_next = dz
    np.testing.assert_allclose(sum(copies), rnn.weight_hh.grad, rtol=1e-12, atol=1e-14)
    assert min(np.linalg.norm(c - rnn.weight_hh.grad) for c in copies) > 0.1   # no single step is it
