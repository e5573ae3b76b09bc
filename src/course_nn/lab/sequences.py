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

from .. import optim
from .._validate import (
    as_array,
    as_float_array,
    check_allocation,
    check_bool,
    check_generator,
    check_int,
    check_number,
    check_positive_int,
)
from ..activations import softmax
from ..linear import Linear
from ..losses import CrossEntropyLoss
from ..metrics import scatter_ones
from ..module import Module
from ..recurrent import GRU, LSTM, RNN, Embedding, clip_grad_norm
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
    """ids as an integer ndarray (bool, float, object and ragged input raise)."""
    ids = as_array(ids, name)
    if ids.dtype.kind not in "iu":
        raise TypeError(f"{name}: expected integer ids, got dtype {ids.dtype}")
    return ids


def _check_id_range(ids, name, size):
    """Raise unless every id lies in [0, size - 1]."""
    if ids.size and (ids.min() < 0 or ids.max() >= size):
        raise ValueError(f"{name}: expected values in [0, {size - 1}], "
                         f"got values in [{ids.min()}, {ids.max()}]")


def one_hot(ids, vocab_size):
    """Integer ids of any shape S -> float64 array of shape S + (vocab_size,), one 1 per id.

    Only the result is allocated (a result above 2 GiB is refused: ``check_allocation``).
    """
    vocab_size = check_positive_int(vocab_size, "vocab_size")
    ids = _int_ids(ids, "one_hot ids")
    _check_id_range(ids, "one_hot ids", vocab_size)
    return scatter_ones(ids, vocab_size, "one_hot")


def make_windows(series, width):
    """All runs of ``width`` consecutive steps of ``series`` (axis 0), as a new array.

    series: (T,) or (T, ...) -> (T - width + 1, width) or (T - width + 1, width, ...);
    window i is series[i : i + width]. Needs 1 <= width <= T.
    """
    series = as_array(series, "make_windows series")
    if series.dtype.kind not in "iufb":
        raise TypeError(f"make_windows series: expected numbers, got dtype {series.dtype}")
    width = check_positive_int(width, "width")
    if series.ndim == 0 or width > series.shape[0]:
        raise ValueError(f"make_windows: expected width <= len(series), got width {width} "
                         f"for a series of shape {series.shape}")
    check_allocation((series.shape[0] - width + 1, width) + series.shape[1:], series.dtype,
                     "make_windows")
    windows = np.lib.stride_tricks.sliding_window_view(series, width, axis=0)
    return np.moveaxis(windows, -1, 1).copy()   # sliding_window_view puts the window axis last


def pad_sequences(seqs, length, value=0):
    """Sequences of different lengths -> one (N, length) array.

    Each sequence is copied to the start of its row; shorter ones are filled with ``value``
    at the end ("post" padding), longer ones are cut to their first ``length`` items. The
    dtype is the common dtype of the sequences and ``value``.
    """
    length = check_positive_int(length, "length")
    if isinstance(seqs, (str, bytes)) or not hasattr(seqs, "__len__") or len(seqs) == 0:
        raise ValueError(f"pad_sequences seqs: expected a non-empty list of 1-D sequences, "
                         f"got {type(seqs).__name__}")
    seqs = [as_array(s, f"pad_sequences seqs[{i}]") for i, s in enumerate(seqs)]
    for i, s in enumerate(seqs):
        if s.ndim != 1:
            raise ValueError(f"pad_sequences seqs[{i}]: expected a 1-D sequence, got shape {s.shape}")
        if s.dtype.kind not in "iufb":
            raise TypeError(f"pad_sequences seqs[{i}]: expected numbers, got dtype {s.dtype}")
    check_number(value, "pad_sequences value")
    dtype = np.result_type(*seqs, np.asarray(value))
    check_allocation((len(seqs), length), dtype, "pad_sequences")
    out = np.full((len(seqs), length), value, dtype=dtype)
    for row, s in zip(out, seqs):
        n = min(len(s), length)
        row[:n] = s[:n]
    return out


def padding_mask(lengths, length):
    """(N, length) boolean: True where a padded row holds a real item (not padding).

    lengths: (N,) non-negative integers (a length above ``length`` counts as ``length``).
    """
    length = check_positive_int(length, "length")
    lengths = _int_ids(lengths, "padding_mask lengths")
    if lengths.ndim != 1:
        raise ValueError(f"padding_mask lengths: expected shape (N,), got {lengths.shape}")
    if lengths.size and lengths.min() < 0:
        raise ValueError(f"padding_mask lengths: expected values >= 0, got {lengths.min()}")
    check_allocation((len(lengths), length), np.bool_, "padding_mask")
    lengths = np.minimum(lengths, length)
    return np.arange(length)[None, :] < lengths[:, None]


@dataclass
class Vocab:
    """A character vocabulary: the sorted set of characters of a text.

    ``encode(text)`` -> int64 ids, ``decode(ids)`` -> str, ``len(vocab)`` its size.
    """

    chars: list
    index: dict = field(init=False, repr=False)

    def __post_init__(self):
        if isinstance(self.chars, str) or not hasattr(self.chars, "__iter__"):
            raise TypeError(f"Vocab chars: expected a list of characters, got {self.chars!r}")
        self.chars = list(self.chars)
        bad = [ch for ch in self.chars if not (isinstance(ch, str) and len(ch) == 1)]
        if bad:
            raise TypeError(f"Vocab chars: expected single characters (str of length 1), "
                            f"got {bad[0]!r}")
        if not self.chars:
            raise ValueError("Vocab chars: expected at least one character, got none")
        if len(set(self.chars)) != len(self.chars):
            repeated = sorted({ch for ch in self.chars if self.chars.count(ch) > 1})
            raise ValueError(f"Vocab chars: expected each character once, got {repeated!r} twice")
        self.index = {ch: i for i, ch in enumerate(self.chars)}

    @classmethod
    def from_text(cls, text):
        if not isinstance(text, str):
            raise TypeError(f"Vocab.from_text text: expected a str, got {type(text).__name__}")
        return cls(sorted(set(text)))

    def encode(self, text):
        """text (str of length T) -> (T,) int64 ids."""
        if not isinstance(text, str):
            raise TypeError(f"Vocab.encode text: expected a str, got {type(text).__name__}")
        unknown = sorted(set(text) - set(self.index))
        if unknown:
            raise KeyError(f"Vocab.encode: characters not in the vocabulary: {unknown!r}")
        return np.array([self.index[ch] for ch in text], dtype=np.int64)

    def decode(self, ids):
        """Integer ids (any shape, read in order) -> str."""
        ids = _int_ids(ids, "Vocab.decode ids")
        _check_id_range(ids, "Vocab.decode ids", len(self.chars))
        return "".join(self.chars[i] for i in ids.reshape(-1))

    def __len__(self):
        return len(self.chars)


def char_batches(ids, batch_size, seq_len):
    """Cut a stream of ids into windows for truncated BPTT.

    The stream (minus a tail) is split into ``batch_size`` equal, contiguous parts, one per
    row, so that window k + 1 of a row continues exactly where window k stopped: the hidden
    state at the end of one window is the right starting state for the next. Returns a list
    of ``(inputs, targets)`` pairs, each (batch_size, seq_len) int64, targets = the next ids.
    """
    ids = _int_ids(ids, "char_batches ids")
    if ids.ndim != 1:
        raise ValueError(f"char_batches ids: expected a 1-D stream of ids, got shape {ids.shape}")
    if ids.size and ids.min() < 0:
        raise ValueError(f"char_batches ids: expected ids >= 0, got {ids.min()}")
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
    noise = check_number(noise, "noise", low=0, high=1e300)  # larger: overflow to inf
    check_allocation((n, length, n_symbols + n_distractors), np.float64, "make_memory_task")
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
    n = check_positive_int(n, "n")
    check_allocation((3, n, n), np.float64, "orthogonal")  # the Gaussian matrix, Q and R
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.diag(r))


MAX_STEPS = 10**6
"""Most training steps (train_memory_task) or sampled characters (sample_chars) per call:
each is a forward pass, so a million is minutes of work; a typo such as 10**9 fails at once."""

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
    check_generator(rng)
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
        if not isinstance(cell, str) or cell not in CELLS:
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
    steps <= MAX_STEPS.
    BLAS runs on one thread, so the numbers do not depend on the machine's core count.
    """
    if not isinstance(cell, str) or cell not in CELLS:
        raise ValueError(f"cell: expected one of {', '.join(CELLS)}, got {cell!r}")
    unknown = sorted(set(task) - {"n_symbols", "n_distractors", "noise"})
    if unknown:
        raise TypeError(f"train_memory_task: unknown task settings {unknown}; expected "
                        f"n_symbols, n_distractors or noise")
    length = check_positive_int(length, "length")
    seed = check_int(seed, "seed", low=0)
    hidden_size = check_positive_int(hidden_size, "hidden_size")
    steps = check_int(steps, "steps", low=1, high=MAX_STEPS)
    batch_size = check_positive_int(batch_size, "batch_size")
    n_test = check_positive_int(n_test, "n_test")
    clip = check_number(clip, "clip", low=0, low_open=True)
    use_memory_init = check_bool(use_memory_init, "use_memory_init")
    n_symbols = check_positive_int(task.get("n_symbols", 4), "n_symbols")
    n_inputs = n_symbols + check_positive_int(task.get("n_distractors", 4), "n_distractors")
    check_number(task.get("noise", 0.5), "noise", low=0, high=1e300)
    for size in (batch_size, n_test):
        check_allocation((size, length, n_inputs), np.float64, "train_memory_task")
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
        if not isinstance(cell, str) or cell not in CELLS:
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

        ids, targets: (N, T) ints of the same shape (targets[n, t] follows ids[n, t]).
        Returns ``(loss, final_state, loss_fn)``; call ``backward_loss(loss_fn)`` next."""
        loss_fn = CrossEntropyLoss() if loss_fn is None else loss_fn
        if not isinstance(loss_fn, CrossEntropyLoss):
            raise TypeError(f"CharLM.loss loss_fn: expected a CrossEntropyLoss, got "
                            f"{type(loss_fn).__name__}")
        targets = _int_ids(targets, "CharLM.loss targets")
        if targets.shape != np.shape(ids):
            raise ValueError(f"CharLM.loss targets: expected the shape of ids {np.shape(ids)}, "
                             f"got {targets.shape}")
        logits, state = self(ids, state)
        value = loss_fn(logits.reshape(-1, self.vocab_size), targets.reshape(-1))
        return value, state, loss_fn

    def backward_loss(self, loss_fn):
        n, t, _ = self._shape
        self.backward(loss_fn.backward().reshape(n, t, self.vocab_size))


def detach_state(state):
    """A copy of a recurrent state (array or (h, c) tuple): the next window starts from these
    values but backpropagation stops here (truncated BPTT)."""
    if state is None:
        return None
    parts = state if isinstance(state, tuple) else (state,)
    for part in parts:
        if not isinstance(part, np.ndarray) or part.dtype.kind != "f":
            got = f"dtype {part.dtype}" if isinstance(part, np.ndarray) else type(part).__name__
            raise TypeError(f"detach_state: expected None, a float array or a tuple of them (the "
                            f"state a recurrent layer returns), got {got}")
    copies = tuple(part.copy() for part in parts)
    return copies if isinstance(state, tuple) else copies[0]


def sample_chars(model, vocab, prompt, length, *, rng, temperature=1.0):
    """Generate ``length`` characters after ``prompt`` with a CharLM.

    The prompt is read in one pass; then each step turns the last logits into
    probabilities softmax(logits / temperature) and draws the next character with ``rng``
    (inverse CDF of one uniform number), which becomes the next input. ``temperature = 0``
    picks the most likely character every time (greedy), as does a temperature so small that
    logits / temperature overflows. 0 <= ``length`` <= MAX_STEPS. Returns prompt + the new
    text.
    """
    rng = check_generator(rng)
    temperature = check_number(temperature, "temperature", low=0)
    length = check_int(length, "length", low=0, high=MAX_STEPS)
    if not isinstance(vocab, Vocab):
        raise TypeError(f"sample_chars vocab: expected a Vocab, got {type(vocab).__name__}")
    size = getattr(model, "vocab_size", None)
    if size is not None and size != len(vocab):
        raise ValueError(f"sample_chars: the model scores {size} characters but the vocab has "
                         f"{len(vocab)}")
    ids = vocab.encode(prompt)
    if ids.size == 0:
        raise ValueError("sample_chars: expected a non-empty prompt")
    out = list(ids)
    logits, state = model(ids[None, :])
    for _ in range(length):
        last = logits[0, -1]
        with np.errstate(over="ignore"):
            scaled = last / temperature if temperature else None
        if scaled is None or not np.all(np.isfinite(scaled)):
            nxt = int(np.argmax(last))   # temperature 0, or so small that it is the same
        else:
            p = softmax(scaled)
            nxt = int(min(np.searchsorted(np.cumsum(p), rng.random() * p.sum(), side="right"),
                          len(p) - 1))
        out.append(nxt)
        logits, state = model(np.array([[nxt]]), state)
    return vocab.decode(out)
