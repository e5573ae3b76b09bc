"""course_nn.lab.sequences: array helpers, the memory task, the character language model, sampling."""

import numpy as np
import pytest

import course_nn as cn
from course_nn.gradcheck import numerical_gradient, rel_error
from course_nn.lab import sequences as S

# --- one_hot, make_windows, pad_sequences, padding_mask ----------------------------------


def test_one_hot_shapes_and_values():
    ids = np.array([[0, 3], [2, 2]])
    out = S.one_hot(ids, 5)
    assert out.shape == (2, 2, 5) and out.dtype == np.float64
    np.testing.assert_array_equal(out.argmax(axis=-1), ids)
    np.testing.assert_array_equal(out.sum(axis=-1), np.ones((2, 2)))
    assert S.one_hot(np.array([1]), 3).tolist() == [[0.0, 1.0, 0.0]]


def test_one_hot_rejects_bad_ids():
    with pytest.raises(ValueError, match=r"expected values in \[0, 2\]"):
        S.one_hot(np.array([0, 3]), 3)
    with pytest.raises(TypeError, match="integer ids"):
        S.one_hot(np.array([0.0, 1.0]), 3)


def test_make_windows_matches_slicing_and_is_a_copy():
    series = np.arange(10.0)
    win = S.make_windows(series, 4)
    assert win.shape == (7, 4)
    for i in range(7):
        np.testing.assert_array_equal(win[i], series[i:i + 4])
    win[0, 0] = 99.0                       # a copy: the series is untouched
    assert series[0] == 0.0


def test_make_windows_keeps_trailing_feature_axes():
    series = np.arange(12.0).reshape(6, 2)          # (T, D)
    win = S.make_windows(series, 3)
    assert win.shape == (4, 3, 2)
    np.testing.assert_array_equal(win[2], series[2:5])


@pytest.mark.parametrize("width", [0, 6])
def test_make_windows_rejects_bad_widths(width):
    with pytest.raises(ValueError):
        S.make_windows(np.arange(5.0), width)


def test_pad_sequences_post_pads_and_truncates():
    seqs = [np.array([1, 2, 3]), np.array([4]), np.array([5, 6, 7, 8, 9])]
    out = S.pad_sequences(seqs, 4, value=-1)
    np.testing.assert_array_equal(out, [[1, 2, 3, -1], [4, -1, -1, -1], [5, 6, 7, 8]])
    assert np.issubdtype(out.dtype, np.integer)
    assert S.pad_sequences([np.array([0.5])], 2).dtype == np.float64


def test_padding_mask_marks_real_items():
    mask = S.padding_mask(np.array([3, 1, 6]), 4)
    np.testing.assert_array_equal(mask, [[1, 1, 1, 0], [1, 0, 0, 0], [1, 1, 1, 1]])


# --- the text, the vocabulary and the stream layout ----------------------------------------


def test_book_text_is_several_paragraphs_of_prose():
    paragraphs = [p for p in S.BOOK_TEXT.split("\n\n") if p.strip()]
    assert len(paragraphs) >= 5 and len(S.BOOK_TEXT) > 2000
    assert "the dog bites the man" in S.BOOK_TEXT.lower()
    assert S.BOOK_TEXT.isascii()


def test_vocab_round_trip_and_unknown_characters():
    text = S.BOOK_TEXT.lower()
    vocab = S.Vocab.from_text(text)
    assert vocab.chars == sorted(set(text)) and len(vocab) == len(set(text))
    ids = vocab.encode(text)
    assert ids.dtype == np.int64 and vocab.decode(ids) == text
    with pytest.raises(KeyError, match="not in the vocabulary"):
        vocab.encode("Q")


def test_char_batches_continue_each_stream_and_shift_targets():
    ids = np.arange(1000) % 97
    batches = S.char_batches(ids, batch_size=4, seq_len=10)
    per_row = (len(ids) - 1) // 4
    assert len(batches) == per_row // 10
    for k, (x, y) in enumerate(batches):
        assert x.shape == y.shape == (4, 10)
        for row in range(4):
            start = row * per_row + 10 * k
            np.testing.assert_array_equal(x[row], ids[start:start + 10])
            np.testing.assert_array_equal(y[row], ids[start + 1:start + 11])
    with pytest.raises(ValueError, match="too few"):
        S.char_batches(np.arange(10), 4, 10)


# --- the memory task ----------------------------------------------------------------------


def test_memory_task_layout():
    x, y = S.make_memory_task(500, 12, rng=np.random.default_rng(0))
    assert x.shape == (500, 12, 8) and y.shape == (500,) and y.dtype == np.int64
    np.testing.assert_array_equal(x[:, 0], S.one_hot(y, 8))          # step 0: the clean symbol
    assert set(np.unique(y)) == {0, 1, 2, 3}
    x0, y0 = S.make_memory_task(500, 12, rng=np.random.default_rng(0), noise=0.0)
    np.testing.assert_array_equal(y0, y)                                # same draws, no noise
    assert x0[:, 1:, :4].sum() == 0.0 and np.all(x0[:, 1:, 4:].sum(axis=-1) == 1.0)
    noise = x[:, 1:] - x0[:, 1:]
    assert abs(noise.std() - 0.5) < 0.01 and abs(noise.mean()) < 0.01


def test_memory_task_is_seeded():
    a = S.make_memory_task(3, 5, rng=np.random.default_rng(1))
    b = S.make_memory_task(3, 5, rng=np.random.default_rng(1))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_orthogonal_has_unit_singular_values():
    q = S.orthogonal(16, rng=np.random.default_rng(0))
    np.testing.assert_allclose(q.T @ q, np.eye(16), atol=1e-12)
    np.testing.assert_allclose(np.abs(np.linalg.eigvals(2.5 * q)), 2.5, rtol=1e-10)


def test_memory_init_sets_the_gate_biases_and_the_orthogonal_rnn():
    H = 5
    lstm = S.memory_init(cn.LSTM(3, H, rng=np.random.default_rng(0)), rng=np.random.default_rng(1))
    total = lstm.bias_ih.data + lstm.bias_hh.data
    np.testing.assert_array_equal(total[:H], S.MEMORY_INPUT_BIAS)
    np.testing.assert_array_equal(total[H:2 * H], S.MEMORY_FORGET_BIAS)
    gru = S.memory_init(cn.GRU(3, H, rng=np.random.default_rng(0)), rng=np.random.default_rng(1))
    np.testing.assert_array_equal((gru.bias_ih.data + gru.bias_hh.data)[H:2 * H], S.MEMORY_UPDATE_BIAS)
    rnn = S.memory_init(cn.RNN(3, H, rng=np.random.default_rng(0)), rng=np.random.default_rng(1))
    np.testing.assert_allclose(rnn.weight_hh.data.T @ rnn.weight_hh.data, np.eye(H), atol=1e-12)
    with pytest.raises(TypeError):
        S.memory_init(cn.Linear(2, 2), rng=np.random.default_rng(0))


@pytest.mark.parametrize("cell", ["RNN", "LSTM", "GRU"])
def test_sequence_classifier_gradients(cell):
    rng = np.random.default_rng(2)
    model = S.SequenceClassifier(cell, 3, 4, 2, rng=rng)
    x = rng.standard_normal((2, 5, 3))
    g = rng.standard_normal((2, 2))
    model.zero_grad()
    model(x)
    dx = model.backward(g)

    def loss(_):
        return np.sum(model(x) * g)

    assert rel_error(dx, numerical_gradient(loss, x)) < 1e-7
    for name, p in model.named_parameters():
        assert rel_error(p.grad, numerical_gradient(loss, p.data)) < 1e-7, name


def test_train_memory_task_is_deterministic_and_records_every_step():
    a = S.train_memory_task("GRU", 6, seed=3, steps=20, n_test=50)
    b = S.train_memory_task("GRU", 6, seed=3, steps=20, n_test=50)
    assert a.losses.shape == a.grad_norms.shape == (20,)
    np.testing.assert_array_equal(a.losses, b.losses)
    assert a.accuracy == b.accuracy and 0.0 <= a.accuracy <= 1.0
    assert a.cell == "GRU" and a.length == 6


# --- the character language model and sampling ----------------------------------------------


@pytest.mark.parametrize("cell", ["RNN", "LSTM", "GRU"])
def test_char_lm_loss_gradient_matches_numerical(cell):
    rng = np.random.default_rng(4)
    model = S.CharLM(6, 3, 4, cell, rng=rng)
    ids = rng.integers(0, 6, size=(2, 5))
    targets = rng.integers(0, 6, size=(2, 5))
    model.zero_grad()
    _, _, loss_fn = model.loss(ids, targets)
    model.backward_loss(loss_fn)
    for name, p in model.named_parameters():
        numeric = numerical_gradient(lambda _: model.loss(ids, targets)[0], p.data)
        assert rel_error(p.grad, numeric) < 1e-7, name


def test_char_lm_carried_state_equals_one_long_run():
    rng = np.random.default_rng(5)
    model = S.CharLM(7, 3, 5, "LSTM", rng=rng)
    ids = rng.integers(0, 7, size=(3, 12))
    full, _ = model(ids)
    first, state = model(ids[:, :5])
    second, _ = model(ids[:, 5:], S.detach_state(state))
    np.testing.assert_allclose(np.concatenate([first, second], axis=1), full, rtol=0, atol=1e-14)


def test_detach_state_copies_arrays_and_tuples():
    h, c = np.ones(3), np.zeros(3)
    hd, cd = S.detach_state((h, c))
    hd[0] = 5.0
    assert h[0] == 1.0 and cd is not c
    assert S.detach_state(None) is None


def _tiny_lm():
    text = "abcabcabd"
    vocab = S.Vocab.from_text(text)
    return S.CharLM(len(vocab), 3, 6, "GRU", rng=np.random.default_rng(6)), vocab


def test_sample_chars_is_seeded_and_starts_with_the_prompt():
    model, vocab = _tiny_lm()
    a = S.sample_chars(model, vocab, "ab", 30, rng=np.random.default_rng(1))
    b = S.sample_chars(model, vocab, "ab", 30, rng=np.random.default_rng(1))
    c = S.sample_chars(model, vocab, "ab", 30, rng=np.random.default_rng(2))
    assert a == b and a != c and a.startswith("ab") and len(a) == 32
    assert S.sample_chars(model, vocab, "ab", 0, rng=np.random.default_rng(1)) == "ab"


def test_sample_chars_greedy_follows_the_argmax():
    model, vocab = _tiny_lm()
    out = S.sample_chars(model, vocab, "a", 8, rng=np.random.default_rng(0), temperature=0.0)
    ids = vocab.encode(out)
    for t in range(1, len(ids)):
        logits, _ = model(ids[None, :t])
        assert ids[t] == np.argmax(logits[0, -1])


def test_sample_chars_draws_from_the_softmax_with_temperature():
    model, vocab = _tiny_lm()
    logits, _ = model(vocab.encode("ab")[None])
    for tau in (0.5, 2.0):
        p = cn.Softmax()(logits[0, -1][None] / tau)[0]
        rng = np.random.default_rng(7)
        draws = [vocab.index[S.sample_chars(model, vocab, "ab", 1, rng=rng, temperature=tau)[-1]]
                 for _ in range(3000)]
        freq = np.bincount(draws, minlength=len(vocab)) / 3000
        np.testing.assert_allclose(freq, p, atol=0.03)
