"""Chapter 19 exercises (Fashion-MNIST) and the chapter's recipes.

fashion.train_to_target  train to a target with your own loop: fn(X_train, y_train, seed) returns
                         a course_nn model whose accuracy on held-out training images (which the
                         learner never sees) must reach ``TARGET``
fashion.conv_macs        predict, then run: multiply-adds of one image through Conv2d(c_in, c_out,
                         k, stride, padding) on an h x w input; typical slips are named
fashion.accuracy_in_batches  debug: a batched accuracy that ran BatchNorm in training mode and
                         dropped the last, partial batch; judged against train.predict

Recipes: ``fashion_split`` (the chapter's 50,000 / 10,000 training / validation split),
``fashion_mlp`` (note 002's 784-128-10) and ``fashion_lenet`` (LeNet-style CNN with BatchNorm2d);
the chapter checks that it builds the same networks, and tests/test_fashion_chapter.py trains
them independently of the notebook.

The data of ``train_to_target`` (the first 6,000 training images) are read from Fashion-MNIST
only when that exercise is checked (never when this module is imported), so the other chapters'
checks never need the files.
"""

import numpy as np

from ...activations import ReLU
from ...batchnorm import BatchNorm2d
from ...conv import Conv2d, Flatten, MaxPool2d
from ...init import he_normal
from ...linear import Linear
from ...module import Sequential
from ...train import predict
from . import Exercise, _default_compare, register
from ._trained import HeldOut, fingerprint, score_classifier, train_plain

TARGET = 0.8            # held-out accuracy that train_to_target must reach
N_TRAIN, N_HELD_OUT = 4000, 2000


# ---------------------------------------------------------------------------------------------
# The chapter's recipes
# ---------------------------------------------------------------------------------------------

def fashion_split(seed=0, n_val=10000, as_images=False, dtype=np.float32):
    """The 60,000 training images cut once into (X_train, y_train), (X_val, y_val): a permutation
    from ``np.random.default_rng(seed)``, the last ``n_val`` for validation. X: (N, 784) in
    ``dtype`` (float32 as ``load_fashion_mnist``, or float64), or (N, 1, 28, 28) with as_images.
    The test set is not touched."""
    from ...data import load_fashion_mnist

    X, y = load_fashion_mnist("train", as_images=as_images, dtype=dtype)
    order = np.random.default_rng(seed).permutation(len(X))
    train, val = order[:len(X) - n_val], order[len(X) - n_val:]
    return (X[train], y[train]), (X[val], y[val])


def fashion_mlp(seed=0, hidden=128, dtype=np.float64):
    """Note 002's network: 784 -> hidden (ReLU, He init) -> 10 (PyTorch's default init), every
    weight drawn from ``np.random.default_rng(seed)``, in ``dtype`` (float64, the chapter's
    choice, or float32, as bench/run.py times it). Input (N, 784), output (N, 10)."""
    rng = np.random.default_rng(seed)
    return Sequential(Linear(784, hidden, rng=rng, init=he_normal, dtype=dtype), ReLU(),
                      Linear(hidden, 10, rng=rng, dtype=dtype))


def fashion_lenet(seed=0, dtype=np.float64):
    """LeNet-style CNN with batch normalization in ``dtype`` (float64, the chapter's choice, or
    float32, as bench/run.py times it), input (N, 1, 28, 28), output (N, 10):
    Conv(1->6, 5, pad 2) -> MaxPool 2 -> BatchNorm2d(6) -> ReLU -> Conv(6->16, 5) -> MaxPool 2
    -> BatchNorm2d(16) -> ReLU -> Flatten (400) -> Linear 120 -> ReLU -> Linear 84 -> ReLU
    -> Linear 10. He initialization before each ReLU, PyTorch's default for the output layer;
    batch norm after pooling, where it normalizes 4x fewer values than after the convolution.
    The convolutions have no bias: the batch norm after them subtracts each channel's mean, so a
    bias there would change nothing but the rounding (its gradient is round-off noise, which
    Adam would turn into full-size steps)."""
    rng = np.random.default_rng(seed)
    return Sequential(
        Conv2d(1, 6, 5, padding=2, bias=False, rng=rng, init=he_normal, dtype=dtype), MaxPool2d(2),
        BatchNorm2d(6, dtype=dtype), ReLU(),
        Conv2d(6, 16, 5, bias=False, rng=rng, init=he_normal, dtype=dtype), MaxPool2d(2),
        BatchNorm2d(16, dtype=dtype), ReLU(),
        Flatten(),
        Linear(400, 120, rng=rng, init=he_normal, dtype=dtype), ReLU(),
        Linear(120, 84, rng=rng, init=he_normal, dtype=dtype), ReLU(),
        Linear(84, 10, rng=rng, dtype=dtype),
    )


# ---------------------------------------------------------------------------------------------
# Train to a target with your own loop
# ---------------------------------------------------------------------------------------------

_HELD_OUT = {}  # the held-out part of each case, by a fingerprint of its training part


def _target_case(rng):
    """The first 6,000 images of Fashion-MNIST's training set (only that much of the files is
    read: quick; the test set stays untouched), cut at random with ``rng`` into 4,000 for the
    learner's function, (X_train (4000, 784), y_train, a seed), and 2,000 held out for judging."""
    from ...data import load_fashion_mnist

    X, y = load_fashion_mnist("train", limit=N_TRAIN + N_HELD_OUT, verify=False)
    order = rng.permutation(len(X))
    train, held = order[:N_TRAIN], order[N_TRAIN:]
    X_train, y_train = X[train], y[train]
    _HELD_OUT[fingerprint(X_train, y_train)] = (X[held], y[held])
    return X_train, y_train, int(rng.integers(2 ** 31))


def _train_reference(X_train, y_train, seed):
    """A 784-64-10 MLP trained by the plain loop (Adam 1e-3, batches of 64, five epochs)."""
    from ...losses import CrossEntropyLoss
    from ...optim import Adam

    rng = np.random.default_rng(seed)
    model = Sequential(Linear(784, 64, rng=rng, init=he_normal, dtype=np.float32), ReLU(),
                       Linear(64, 10, rng=rng, dtype=np.float32))
    return train_plain(model, CrossEntropyLoss(), Adam(model.parameters(), lr=1e-3), X_train,
                       y_train, epochs=5, batch_size=64, rng=rng)


def _train_to_target_reference(X_train, y_train, seed):
    return HeldOut(*_HELD_OUT[fingerprint(X_train, y_train)], TARGET,
                   lambda: _train_reference(X_train, y_train, seed))


def _judge_target(expected, got):
    acc, reason = score_classifier(expected, got, n_classes=10, item="image", example="a Sequential")
    if reason is not None or acc >= expected.target:
        return reason
    hint = ""
    if acc < 0.2:
        hint = ("; that is chance level (0.10): does your loop call optimizer.step() after "
                "backward, and shuffle X and y with the same permutation?")
    elif acc < 0.7:
        hint = ("; it learned something, but too little: does each epoch go through all the "
                "batches, and do you train for several epochs?")
    return (f"your model's accuracy on {len(expected.X)} held-out images is {acc:.4f}, below the "
            f"target {expected.target}{hint}")


register(Exercise(
    id="fashion.train_to_target",
    kind="train",
    reference=_train_to_target_reference,
    random=_target_case,
    n_random=1,
    arg_names=("X_train", "y_train", "seed"),
    compare=_judge_target,
    time_limit=60.0,
))


# ---------------------------------------------------------------------------------------------
# Predict, then run: the multiply-adds of a convolution
# ---------------------------------------------------------------------------------------------

class _Count(int):
    """The reference count, with the counts of typical slips and what each one missed."""

    def __new__(cls, value, slips):
        out = super().__new__(cls, value)
        out.slips = slips
        return out


def _conv_macs_reference(c_in, c_out, k, h, w, stride, padding):
    """Multiply-adds of one image through Conv2d(c_in, c_out, k, stride, padding) on (c_in, h, w):
    each of the c_out * h_out * w_out outputs is a dot product of c_in * k * k weights with a
    patch. h_out, w_out are read off course_nn's Conv2d, run on one zero image."""
    conv = Conv2d(c_in, c_out, k, stride=stride, padding=padding, rng=np.random.default_rng(0))
    _, _, h_out, w_out = conv(np.zeros((1, c_in, h, w))).shape
    per_output = c_in * k * k
    slips = [
        (c_out * h_out * w_out * k * k,
         "each output sums over all c_in input channels: c_in * k * k products, not k * k"),
        (c_out * h * w * per_output,
         "count the outputs, h_out * w_out, not the input's h * w: (h + 2 padding - k) // stride + 1"),
        (c_out * h_out * w_out * c_in * k,
         "the kernel has k * k weights per input channel, not k"),
        (h_out * w_out * per_output,
         "every one of the c_out filters produces its own map: multiply by c_out"),
    ]
    return _Count(c_out * h_out * w_out * per_output, slips)


def _compare_macs(expected, got):
    reason = _default_compare(int(expected), got, 0, 0)
    if reason is None:
        return None
    for value, slip in expected.slips:
        if value != int(expected) and _default_compare(value, got, 0, 0) is None:
            return f"{reason}\n  {slip}"
    return reason


def _random_conv(rng):
    k = int(rng.choice([1, 3, 5]))
    stride = int(rng.integers(1, 3))
    padding = int(rng.integers(0, k // 2 + 1))
    h, w = (int(v) for v in rng.integers(k + 1, 30, size=2))
    return int(rng.integers(1, 17)), int(rng.integers(1, 33)), k, h, w, stride, padding


register(Exercise(
    id="fashion.conv_macs",
    kind="predict",
    reference=_conv_macs_reference,
    fixed=[
        (1, 6, 5, 28, 28, 1, 2),      # the LeNet's first convolution: 28 x 28 stays 28 x 28
        (6, 16, 5, 14, 14, 1, 0),     # its second: 14 x 14 -> 10 x 10, six input channels
        (3, 8, 3, 9, 7, 2, 1),        # stride 2 on a rectangle: 5 x 4 outputs
        (4, 2, 1, 5, 5, 1, 0),        # a 1 x 1 convolution
    ],
    random=_random_conv,
    arg_names=("c_in", "c_out", "k", "h", "w", "stride", "padding"),
    compare=_compare_macs,
))


# ---------------------------------------------------------------------------------------------
# Debug: accuracy in batches
# ---------------------------------------------------------------------------------------------

def _accuracy_reference(model, X, y, batch_size):
    """Fraction of X: (N, ...) whose highest score is the label y: (N,), scored in evaluation mode
    (BatchNorm's running statistics) ``batch_size`` images at a time, every image counted."""
    scores = predict(model, X, batch_size=batch_size)
    acc = float(np.mean(np.argmax(scores, axis=1) == y))
    import copy

    def in_mode(training, buggy_range):
        """(correct / N, correct / images scored) in that mode, over every batch or over the
        batches of the buggy range(0, N - batch_size, batch_size)."""
        net = copy.deepcopy(model)
        net.train(training)
        starts = range(0, len(X) - batch_size, batch_size) if buggy_range else range(0, len(X), batch_size)
        correct = scored = 0
        for s in starts:
            correct += int(np.sum(np.argmax(net(X[s:s + batch_size]), axis=1) == y[s:s + batch_size]))
            scored += len(X[s:s + batch_size])
        return correct / len(X), (correct / scored if scored else 0.0)

    both, _ = in_mode(True, True)
    train_all, _ = in_mode(True, False)
    range_n, range_scored = in_mode(False, True)
    last = ("range(0, len(X) - batch_size, batch_size) stops one batch early and never scores the "
            "last images; range(0, len(X), batch_size) covers every image")
    slips = [
        (both, "two bugs: the model scored in training mode, and " + last),
        (train_all, "the model scored in training mode: BatchNorm used each batch's own statistics "
                    "(and moved its running statistics); switch to evaluation mode, and back"),
        (range_n, last),
        (range_scored, last + " (and divide by len(X))"),
    ]
    return _Accuracy(acc, slips)


class _Accuracy(float):
    def __new__(cls, value, slips):
        out = super().__new__(cls, value)
        out.slips = slips
        return out


def _compare_accuracy(expected, got):
    reason = _default_compare(float(expected), got, 1e-9, 1e-12)
    if reason is None:
        return None
    for value, slip in expected.slips:
        if abs(value - float(expected)) > 1e-9 and _default_compare(value, got, 1e-9, 1e-12) is None:
            return f"{reason}\n  {slip}"
    return reason


def _bn_model(rng, training=True):
    """Conv(1->3, 3) -> BatchNorm2d(3) -> ReLU -> Flatten -> Linear(3*4*4, 4) on (N, 1, 6, 6), with
    running statistics far from any batch's, so that evaluation and training modes disagree."""
    net = Sequential(Conv2d(1, 3, 3, rng=rng), BatchNorm2d(3), ReLU(), Flatten(),
                     Linear(3 * 4 * 4, 4, rng=rng))
    net[1].running_mean = rng.normal(0.0, 1.0, 3)
    net[1].running_var = rng.uniform(0.05, 0.3, 3)
    net[1].weight.data[...] = rng.uniform(0.5, 2.0, 3)
    net[1].bias.data[...] = rng.normal(0.0, 0.5, 3)
    net.train(training)
    return net


def _accuracy_case(rng, n, batch_size, training=True):
    net = _bn_model(rng, training)
    X = rng.standard_normal((n, 1, 6, 6))
    y = rng.integers(0, 4, size=n)
    # labels that agree with evaluation mode on most images, including the last batch's
    right = np.argmax(predict(net, X), axis=1)
    keep = rng.random(n) < 0.7
    y = np.where(keep, right, y)
    return net, X, y.astype(np.int64), batch_size


def _accuracy_fixed():
    rng = np.random.default_rng(7)
    return [_accuracy_case(rng, 50, 16), _accuracy_case(rng, 37, 10), _accuracy_case(rng, 20, 20),
            _accuracy_case(rng, 9, 4, training=False)]


register(Exercise(
    id="fashion.accuracy_in_batches",
    kind="debug",
    reference=_accuracy_reference,
    fixed=_accuracy_fixed(),
    random=lambda rng: _accuracy_case(rng, int(rng.integers(5, 60)), int(rng.integers(2, 17))),
    n_random=16,
    arg_names=("model", "X", "y", "batch_size"),
    compare=_compare_accuracy,
    updates_in_place=("model",),  # every forward replaces the layers' caches
))
