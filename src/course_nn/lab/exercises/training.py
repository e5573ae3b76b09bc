"""Chapter 11 exercises: the pieces of an end-to-end classifier.

training.one_hot               (N,) labels -> (N, C) one-hot rows
training.accuracy              the fraction of rows of scores (N, C) whose argmax is the label
training.confusion_matrix      (C, C) counts, rows = true class, columns = predicted class
training.count_parameters      weights + biases of an MLP with the given layer sizes
training.iterations_per_epoch  how many mini-batches (optimizer steps) one epoch takes

digits_mlp(hidden, seed) builds the chapter's recipe network (chapters 11 and 14 and the tests
use this one definition).

References are course_nn's own: metrics.one_hot, train.accuracy, metrics.confusion_matrix,
Module.num_parameters of a Sequential of Linear layers, and counting the batches that
data.iterate_minibatches yields. Fixed cases hold the traps: a class absent from the data,
an asymmetric confusion, ties in the scores, a batch size that does not divide N.
"""

import numpy as np

from ...activations import ReLU
from ...data import iterate_minibatches
from ...init import he_normal
from ...linear import Linear
from ...metrics import confusion_matrix, one_hot
from ...module import Sequential
from ...train import accuracy
from . import Exercise, register


def digits_mlp(hidden=128, seed=1):
    """Chapter 11's recipe network for the 8x8 digits: 64 -> hidden (ReLU, He init) -> 10
    (PyTorch's default init), every weight drawn from ``np.random.default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    return Sequential(Linear(64, hidden, rng=rng, init=he_normal), ReLU(),
                      Linear(hidden, 10, rng=rng))


def _one_hot(labels, n_classes):
    return one_hot(labels, n_classes)


def _accuracy(scores, labels):
    return accuracy(scores, labels)


def _confusion_matrix(y_true, y_pred, n_classes):
    return confusion_matrix(y_true, y_pred, n_classes)


def _count_parameters(layer_sizes):
    sizes = list(layer_sizes)
    rng = np.random.default_rng(0)
    model = Sequential(*[Linear(a, b, rng=rng) for a, b in zip(sizes[:-1], sizes[1:])])
    return int(model.num_parameters())


def _iterations_per_epoch(n_samples, batch_size):
    X, y = np.zeros((n_samples, 1)), np.zeros(n_samples)
    return sum(1 for _ in iterate_minibatches(X, y, batch_size, shuffle=False))


def _random_labels(rng):
    c = int(rng.integers(2, 11))
    n = int(rng.integers(1, 40))
    return rng.integers(0, c, size=n), c


def _random_scores(rng):
    c = int(rng.integers(2, 11))
    n = int(rng.integers(1, 40))
    return rng.standard_normal((n, c)), rng.integers(0, c, size=n)


def _random_confusion(rng):
    c = int(rng.integers(2, 11))
    n = int(rng.integers(1, 60))
    y_true = rng.integers(0, c, size=n)
    y_pred = np.where(rng.random(n) < 0.7, y_true, rng.integers(0, c, size=n))
    return y_true, y_pred, c


def _random_sizes(rng):
    depth = int(rng.integers(2, 6))
    return tuple(int(v) for v in rng.integers(1, 200, size=depth))


register(Exercise(
    id="training.one_hot",
    kind="transcribe",
    reference=_one_hot,
    fixed=[
        (np.array([0, 2, 1]), 3),
        (np.array([3]), 10),                        # one sample, most columns empty
        (np.array([1, 1, 1, 1]), 4),                # classes 0, 2, 3 never appear
        (np.array([9, 0, 5, 5]), 10),
    ],
    random=_random_labels,
    arg_names=("labels", "n_classes"),
))

register(Exercise(
    id="training.accuracy",
    kind="transcribe",
    reference=_accuracy,
    fixed=[
        (np.array([[2.0, 1.0, 0.1], [0.5, 2.5, 0.2]]), np.array([0, 2])),
        (np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]]), np.array([1, 0, 0, 0])),
        (np.array([[-3.0, -1.0, -2.0]]), np.array([1])),          # negative scores
        (np.array([[1.0, 1.0, 0.0], [0.0, 2.0, 2.0]]), np.array([0, 1])),  # ties: first max
    ],
    random=_random_scores,
    arg_names=("scores", "labels"),
))

register(Exercise(
    id="training.confusion_matrix",
    kind="transcribe",
    reference=_confusion_matrix,
    fixed=[
        (np.array([0, 1, 2, 2]), np.array([0, 2, 2, 1]), 3),
        (np.array([0, 0, 0, 1]), np.array([1, 1, 0, 1]), 2),       # asymmetric: rows != columns
        (np.array([1, 1]), np.array([1, 1]), 4),                    # classes 0, 2, 3 unseen
        (np.array([3, 7, 7, 9]), np.array([8, 7, 1, 9]), 10),
    ],
    random=_random_confusion,
    arg_names=("y_true", "y_pred", "n_classes"),
))

register(Exercise(
    id="training.count_parameters",
    kind="transcribe",
    reference=_count_parameters,
    fixed=[((3, 4),), ((64, 128, 10),), ((784, 128, 10),), ((2, 2, 1),), ((1, 1),)],
    random=lambda rng: (_random_sizes(rng),),
    arg_names=("layer_sizes",),
))

register(Exercise(
    id="training.iterations_per_epoch",
    kind="transcribe",
    reference=_iterations_per_epoch,
    fixed=[(1257, 32), (1000, 10), (5, 8), (1, 1), (1257, 1257), (33, 32)],
    random=lambda rng: (int(rng.integers(1, 3000)), int(rng.integers(1, 300))),
    arg_names=("n_samples", "batch_size"),
))
