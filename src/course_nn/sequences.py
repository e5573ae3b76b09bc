"""Sequence data and sequence tasks for chapters 15-17.

Helpers that turn sequences into arrays a network can read:

- ``one_hot(ids, vocab_size)``: integer ids of any shape S -> S + (vocab_size,) floats;
- ``make_windows(series, width)``: every run of ``width`` consecutive steps, (T - width + 1, width, ...);
- ``pad_sequences(seqs, length, value)``: sequences of different lengths -> one (N, length) array;
- ``Vocab`` and ``char_batches``: a character vocabulary and the stream layout used for
  truncated backpropagation through time.

Tasks and models:

- ``BOOK_TEXT``: a short English text about neural networks, written for this book, the
  corpus of the character-level language model of chapter 17;
- ``make_memory_task``: recall the first symbol of a sequence after ``length - 1`` noisy
  distractors, the long-range memory task of chapter 17;
- ``SequenceClassifier`` (a recurrent layer and a linear read-out of its last hidden state),
  ``memory_init`` and ``train_memory_task``;
- ``CharLM`` (Embedding -> RNN/LSTM/GRU -> Linear at every step) and ``sample_chars``.

Everything is vectorized over the batch and seeded with ``np.random.Generator`` objects.
Shapes are batch-first, as in ``course_nn.recurrent``: x (N, T, D).
"""

from dataclasses import dataclass, field

import numpy as np

from . import optim
from ._validate import as_float_array, check_generator, check_number, check_positive_int
from .activations import softmax
from .linear import Linear
from .losses import CrossEntropyLoss
from .module import Module
from .recurrent import GRU, LSTM, RNN, Embedding, clip_grad_norm
from .threads import one_blas_thread

CELLS = {"RNN": RNN, "LSTM": LSTM, "GRU": GRU}
"""Name -> recurrent layer class."""

BOOK_TEXT = """\
A neural network is a function with many knobs. Numbers go in at one end, pass through \
layers of simple units, and come out at the other end as a prediction. Each unit adds up \
its inputs, each multiplied by a weight, adds a bias, and bends the result with an \
activation function. On its own a unit can do very little. Stacked in layers, units can \
draw almost any curve we ask for.

Training is the search for good knobs. We show the network an example, compare its answer \
with the right one, and measure the gap with a loss. Backpropagation then walks backwards \
through the layers and tells every weight how the loss would change if it moved a little. \
The optimizer takes a small step downhill, and the whole loop starts again. After many such \
steps the loss is low, and if we were careful, the network also does well on examples it \
has never seen.

Some data has no natural order. A row of a table describes a house or a customer, and \
nothing changes if we swap two columns. Other data is a sequence: the words of a sentence, \
the notes of a song, the readings of a thermometer hour after hour. In a sequence the order \
carries the meaning. The dog bites the man is not the man bites the dog.

A recurrent network reads a sequence one step at a time. It keeps a hidden state, a short \
summary of everything it has read so far, and at each step it mixes the new input into that \
summary with the same weights as before. Because the weights are shared across time, the \
network can read sequences of any length without growing. To train it we unroll the loop \
into a deep network with one layer per time step and backpropagate through time.

Long sequences make this hard. The gradient that flows back from the last step is \
multiplied by the recurrent weights once per step, so it shrinks towards zero or grows \
without bound. Gated networks such as the LSTM and the GRU add a second path for memory, \
controlled by gates that decide what to keep, what to write and what to show. Along that \
path the gradient is multiplied by the forget gate instead of a weight matrix, and a network \
that learns to keep its gate open can remember a symbol for a long time.

This short text is itself a sequence of characters. A small network that reads it letter \
by letter and learns to predict the next letter will, after a little training, write words \
that look almost like English. It does not understand them. It has only learned which \
letters tend to follow which, and that is already a kind of memory.
"""


# --- turning sequences into arrays ------------------------------------------------------


def _int_ids(ids, name):
    ids = np.asarray(ids)
    if not np.issubdtype(ids.dtype, np.integer):
        raise TypeError(f"{name}: expected integer ids, got dtype {ids.dtype}")
    return ids


def one_hot(ids, vocab_size):
    """Integer ids of any shape S -> float64 array of shape S + (vocab_size,), one 1 per id."""
    vocab_size = check_positive_int(vocab_size, "vocab_size")
    ids = _int_ids(ids, "one_hot ids")
    if ids.size and (ids.min() < 0 or ids.max() >= vocab_size):
        raise ValueError(f"one_hot ids: expected values in [0, {vocab_size - 1}], "
                         f"got values in [{ids.min()}, {ids.max()}]")
    return np.eye(vocab_size)[ids]


def make_windows(series, width):
    """All runs of ``width`` consecutive steps of ``series`` (axis 0), as a new array.

    series: (T,) or (T, ...) -> (T - width + 1, width) or (T - width + 1, width, ...);
    window i is series[i : i + width]. Needs 1 <= width <= T.
    """
    series = np.asarray(series)
    width = check_positive_int(width, "width")
    if series.ndim == 0 or width > series.shape[0]:
        raise ValueError(f"make_windows: expected width <= len(series), got width {width} "
                         f"for a series of shape {series.shape}")
    windows = np.lib.stride_tricks.sliding_window_view(series, width, axis=0)
    return np.moveaxis(windows, -1, 1).copy()   # sliding_window_view puts the window axis last


def pad_sequences(seqs, length, value=0):
    """Sequences of different lengths -> one (N, length) array.

    Each sequence is copied to the start of its row; shorter ones are filled with ``value``
    at the end ("post" padding), longer ones are cut to their first ``length`` items. The
    dtype is the common dtype of the sequences and ``value``.
    """
    length = check_positive_int(length, "length")
    seqs = [np.asarray(s) for s in seqs]
    if not seqs or any(s.ndim != 1 for s in seqs):
        raise ValueError("pad_sequences: expected a non-empty list of 1-D sequences")
    dtype = np.result_type(*seqs, np.asarray(value))
    out = np.full((len(seqs), length), value, dtype=dtype)
    for row, s in zip(out, seqs):
        n = min(len(s), length)
        row[:n] = s[:n]
    return out


def padding_mask(lengths, length):
    """(N, length) boolean: True where a padded row holds a real item (not padding)."""
    lengths = np.minimum(_int_ids(lengths, "padding_mask lengths"), length)
    return np.arange(length)[None, :] < lengths[:, None]


@dataclass
class Vocab:
    """A character vocabulary: the sorted set of characters of a text.

    ``encode(text)`` -> int64 ids, ``decode(ids)`` -> str, ``len(vocab)`` its size.
    """

    chars: list
    index: dict = field(init=False, repr=False)

    def __post_init__(self):
        self.chars = list(self.chars)
        self.index = {ch: i for i, ch in enumerate(self.chars)}

    @classmethod
    def from_text(cls, text):
        return cls(sorted(set(text)))

    def encode(self, text):
        unknown = sorted(set(text) - set(self.index))
        if unknown:
            raise KeyError(f"Vocab.encode: characters not in the vocabulary: {unknown!r}")
        return np.array([self.index[ch] for ch in text], dtype=np.int64)

    def decode(self, ids):
        return "".join(self.chars[i] for i in np.asarray(ids).reshape(-1))

    def __len__(self):
        return len(self.chars)


def char_batches(ids, batch_size, seq_len):
    """Cut a stream of ids into windows for truncated BPTT.

    The stream (minus a tail) is split into ``batch_size`` equal, contiguous parts, one per
    row, so that window k + 1 of a row continues exactly where window k stopped: the hidden
    state at the end of one window is the right starting state for the next. Returns a list
    of ``(inputs, targets)`` pairs, each (batch_size, seq_len) int64, targets = the next ids.
    """
    ids = _int_ids(ids, "char_batches ids").reshape(-1)
    batch_size = check_positive_int(batch_size, "batch_size")
    seq_len = check_positive_int(seq_len, "seq_len")
    per_row = (len(ids) - 1) // batch_size
    n_windows = per_row // seq_len
    if n_windows == 0:
        raise ValueError(f"char_batches: {len(ids)} ids are too few for batch_size {batch_size} "
                         f"and seq_len {seq_len}")
    usable = n_windows * seq_len
    rows = np.arange(batch_size)[:, None] * per_row
    inputs = ids[rows + np.arange(usable)[None, :]]
    targets = ids[rows + np.arange(usable)[None, :] + 1]
    return [(inputs[:, k * seq_len:(k + 1) * seq_len], targets[:, k * seq_len:(k + 1) * seq_len])
            for k in range(n_windows)]


# --- the long-range memory task ---------------------------------------------------------


def make_memory_task(n, length, *, rng, n_symbols=4, n_distractors=4, noise=0.5):
    """Recall the first symbol of a sequence at its end.

    Step 0 shows one of ``n_symbols`` symbols (one-hot on the first ``n_symbols`` inputs);
    steps 1 .. length - 1 show random distractors (one-hot on the last ``n_distractors``
    inputs) plus Gaussian noise of standard deviation ``noise`` on every input. The label is
    the symbol of step 0, so chance accuracy is 1 / n_symbols.
    Returns x: (n, length, n_symbols + n_distractors) float64 and y: (n,) int64.
    """
    rng = check_generator(rng)
    n = check_positive_int(n, "n")
    length = check_positive_int(length, "length")
    n_symbols = check_positive_int(n_symbols, "n_symbols")
    n_distractors = check_positive_int(n_distractors, "n_distractors")
    noise = check_number(noise, "noise", low=0)
    symbols = rng.integers(0, n_symbols, size=n)
    distractors = rng.integers(n_symbols, n_symbols + n_distractors, size=(n, length - 1))
    ids = np.concatenate([symbols[:, None], distractors], axis=1)
    x = one_hot(ids, n_symbols + n_distractors)
    x[:, 1:] += noise * rng.standard_normal(x[:, 1:].shape)
    return x, symbols.astype(np.int64)


def orthogonal(n, *, rng):
    """A random (n, n) orthogonal matrix Q (Q^T Q = I): QR of a Gaussian matrix, signs fixed
    so that Q is uniformly distributed. Every singular value and |eigenvalue| of rho * Q is rho."""
    rng = check_generator(rng)
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.diag(r))


MEMORY_FORGET_BIAS = 4.0
"""Memory-friendly start of the LSTM forget gate: f = sigmoid(4) = 0.982."""
MEMORY_INPUT_BIAS = -2.0
"""...and of its input gate: i = sigmoid(-2) = 0.119."""
MEMORY_UPDATE_BIAS = 4.0
"""...and of the GRU update gate: z = sigmoid(4) = 0.982 (keep the old state)."""


def memory_init(layer, *, rng):
    """Give a recurrent layer the start that remembers longest; returns the layer.

    RNN: weight_hh = an orthogonal matrix (spectral radius 1: no direction shrinks or
    grows, the best a linear recurrence can do, chapter 16). LSTM: forget-gate bias +4 and
    input-gate bias -2, so the cell keeps its content (f = 0.982 per step) and writes
    little. GRU: update-gate bias +4 (z = 0.982: keep the old state). The biases are set in
    ``bias_ih`` (the gate block) with the matching ``bias_hh`` block zeroed, so the total
    bias of those gates is exactly the constant.
    """
    if not isinstance(layer, (RNN, LSTM, GRU)):
        raise TypeError(f"memory_init: expected an RNN, LSTM or GRU, got {type(layer).__name__}")
    H = layer.hidden_size
    if isinstance(layer, LSTM):
        for block, value in ((slice(0, H), MEMORY_INPUT_BIAS), (slice(H, 2 * H), MEMORY_FORGET_BIAS)):
            layer.bias_ih.data[block] = value
            layer.bias_hh.data[block] = 0.0
    elif isinstance(layer, GRU):
        layer.bias_ih.data[H:2 * H] = MEMORY_UPDATE_BIAS
        layer.bias_hh.data[H:2 * H] = 0.0
    else:
        layer.weight_hh.data[...] = orthogonal(H, rng=rng)
    return layer


class SequenceClassifier(Module):
    """A recurrent layer reads x: (N, T, D); a Linear layer maps its last hidden state to
    class scores (N, n_classes). ``cell`` is "RNN", "LSTM" or "GRU"."""

    def __init__(self, cell, input_size, hidden_size, n_classes, *, rng):
        if cell not in CELLS:
            raise KeyError(f"unknown cell {cell!r}; known: {', '.join(CELLS)}")
        self.cell = cell
        self.recurrent = CELLS[cell](input_size, hidden_size, rng=rng)
        self.head = Linear(hidden_size, n_classes, rng=rng)
        self._out_shape = None

    def forward(self, x):
        out, _ = self.recurrent(x)
        self._out_shape = out.shape
        return self.head(out[:, -1])

    def backward(self, grad_scores):
        """grad_scores: (N, n_classes) -> dL/dx (N, T, D); only the last step gets a gradient."""
        self._require_cache("_out_shape")
        grad_out = np.zeros(self._out_shape)
        grad_out[:, -1] = self.head.backward(grad_scores)
        dx, _ = self.recurrent.backward(grad_out)
        return dx


@dataclass
class MemoryResult:
    """One training run of ``train_memory_task``."""

    cell: str
    length: int
    accuracy: float            # on n_test fresh sequences
    losses: np.ndarray         # training loss at every step
    grad_norms: np.ndarray     # global gradient norm at every step, before clipping
    model: SequenceClassifier


def train_memory_task(cell, length, *, seed=0, hidden_size=16, steps=250, batch_size=64, lr=0.01,
                      clip=1.0, n_test=1000, use_memory_init=True, **task):
    """Train a SequenceClassifier on ``make_memory_task`` and measure its test accuracy.

    The model is built with ``np.random.default_rng(seed)`` (then ``memory_init`` unless
    ``use_memory_init=False``); each step draws a fresh batch from a generator seeded with
    ``seed + 1``, takes the cross-entropy of the last-step scores, backpropagates through
    time, clips the global gradient norm to ``clip`` and takes an Adam step. The test set
    comes from a generator seeded with ``seed + 2``. ``task`` is passed to make_memory_task.
    BLAS runs on one thread, so the numbers do not depend on the machine's core count.
    """
    n_symbols = task.get("n_symbols", 4)
    n_inputs = n_symbols + task.get("n_distractors", 4)
    model_rng = np.random.default_rng(seed)
    model = SequenceClassifier(cell, n_inputs, hidden_size, n_symbols, rng=model_rng)
    if use_memory_init:
        memory_init(model.recurrent, rng=model_rng)
    params = model.parameters()
    opt = optim.Adam(params, lr=lr)
    loss_fn = CrossEntropyLoss()
    data_rng = np.random.default_rng(seed + 1)
    losses, norms = np.empty(steps), np.empty(steps)
    with one_blas_thread():
        for step in range(steps):
            x, y = make_memory_task(batch_size, length, rng=data_rng, **task)
            opt.zero_grad()
            losses[step] = loss_fn(model(x), y)
            model.backward(loss_fn.backward())
            norms[step] = clip_grad_norm(params, clip)
            opt.step()
        x_test, y_test = make_memory_task(n_test, length, rng=np.random.default_rng(seed + 2), **task)
        accuracy = float(np.mean(model(x_test).argmax(axis=1) == y_test))
    return MemoryResult(cell, length, accuracy, losses, norms, model)


# --- a character-level language model ---------------------------------------------------


class CharLM(Module):
    """Embedding -> recurrent layer -> Linear, applied at every time step.

    ids: (N, T) int -> logits (N, T, vocab_size): the scores of the next character after
    each position. ``forward(ids, state=None)`` returns ``(logits, final_state)``;
    ``backward(grad_logits)`` accumulates every gradient (the input ids have none).
    """

    def __init__(self, vocab_size, embedding_dim, hidden_size, cell="LSTM", *, rng):
        if cell not in CELLS:
            raise KeyError(f"unknown cell {cell!r}; known: {', '.join(CELLS)}")
        self.vocab_size = check_positive_int(vocab_size, "vocab_size")
        self.cell = cell
        self.embed = Embedding(vocab_size, embedding_dim, rng=rng)
        self.recurrent = CELLS[cell](embedding_dim, hidden_size, rng=rng)
        self.head = Linear(hidden_size, vocab_size, rng=rng)
        self._shape = None

    def forward(self, ids, state=None):
        out, state = self.recurrent(self.embed(ids), state)
        n, t, h = out.shape
        self._shape = (n, t, h)
        logits = self.head(out.reshape(n * t, h))
        return logits.reshape(n, t, self.vocab_size), state

    def backward(self, grad_logits):
        self._require_cache("_shape")
        n, t, h = self._shape
        grad_logits = as_float_array(grad_logits, "CharLM grad_logits", shape=(n, t, self.vocab_size))
        grad_out = self.head.backward(grad_logits.reshape(n * t, self.vocab_size)).reshape(n, t, h)
        dx, _ = self.recurrent.backward(grad_out)
        self.embed.backward(dx)

    def loss(self, ids, targets, state=None, loss_fn=None):
        """Mean cross-entropy of the next-character scores over all N * T positions.

        Returns ``(loss, final_state, loss_fn)``; call ``backward_loss(loss_fn)`` next."""
        loss_fn = CrossEntropyLoss() if loss_fn is None else loss_fn
        logits, state = self(ids, state)
        value = loss_fn(logits.reshape(-1, self.vocab_size), np.asarray(targets).reshape(-1))
        return value, state, loss_fn

    def backward_loss(self, loss_fn):
        n, t, _ = self._shape
        self.backward(loss_fn.backward().reshape(n, t, self.vocab_size))


def detach_state(state):
    """A copy of a recurrent state (array or (h, c) tuple): the next window starts from these
    values but backpropagation stops here (truncated BPTT)."""
    if isinstance(state, tuple):
        return tuple(s.copy() for s in state)
    return None if state is None else state.copy()


def sample_chars(model, vocab, prompt, length, *, rng, temperature=1.0):
    """Generate ``length`` characters after ``prompt`` with a CharLM.

    The prompt is read in one pass; then each step turns the last logits into
    probabilities softmax(logits / temperature) and draws the next character with ``rng``
    (inverse CDF of one uniform number), which becomes the next input. ``temperature = 0``
    picks the most likely character every time (greedy). Returns prompt + the new text.
    """
    rng = check_generator(rng)
    temperature = check_number(temperature, "temperature", low=0)
    ids = vocab.encode(prompt)
    if ids.size == 0:
        raise ValueError("sample_chars: expected a non-empty prompt")
    out = list(ids)
    logits, state = model(ids[None, :])
    for _ in range(check_positive_int(length, "length") if length else 0):
        last = logits[0, -1]
        if temperature == 0:
            nxt = int(np.argmax(last))
        else:
            p = softmax(last / temperature)
            nxt = int(min(np.searchsorted(np.cumsum(p), rng.random() * p.sum(), side="right"),
                          len(p) - 1))
        out.append(nxt)
        logits, state = model(np.array([[nxt]]), state)
    return vocab.decode(out)
