"""Chapter 4 exercises: loss functions and their gradients.

losses.mse_grad       dL/dpred of the mean squared error (mean over every element)
losses.huber          the Huber loss value (mean), with a threshold delta
losses.cross_entropy  the mean softmax cross-entropy of logits (N, C) and labels (N,), stable
losses.hinge_loss     the mean multiclass hinge (SVM) loss of scores (N, C) and labels (N,)

References are course_nn's loss classes; fixed cases hold the traps (a residual exactly at
delta, logits of +-1000, a margin exactly met, a single sample).
"""

import numpy as np

from ..losses import CrossEntropyLoss, HuberLoss, MSELoss, MulticlassHingeLoss
from . import Exercise, register


def _mse_grad(pred, target):
    loss = MSELoss()
    loss(pred, target)
    return loss.backward()


def _huber(pred, target, delta):
    return HuberLoss(delta=delta)(pred, target)


def _cross_entropy(logits, labels):
    return CrossEntropyLoss()(logits, labels)


def _hinge_loss(scores, labels):
    return MulticlassHingeLoss()(scores, labels)


def _random_regression(rng):
    shape = (int(rng.integers(1, 8)), int(rng.integers(1, 4)))
    return rng.standard_normal(shape), rng.standard_normal(shape)


def _random_huber(rng):
    pred, target = _random_regression(rng)
    return 3.0 * pred, target, float(rng.choice([0.5, 1.0, 2.0]))


def _random_classification(rng, scale):
    n, c = int(rng.integers(1, 8)), int(rng.integers(2, 6))
    return scale * rng.standard_normal((n, c)), rng.integers(0, c, size=n)


register(Exercise(
    id="losses.mse_grad",
    reference=_mse_grad,
    fixed=[
        (np.array([[0.735]]), np.array([[1.0]])),
        (np.array([[1.0], [2.0], [3.0]]), np.array([[1.5], [2.0], [2.0]])),
        (np.array([[1.0, -1.0], [0.5, 2.0]]), np.array([[0.0, 0.0], [0.5, -2.0]])),
    ],
    random=_random_regression,
    arg_names=("pred", "target"),
))

register(Exercise(
    id="losses.huber",
    reference=_huber,
    fixed=[
        (np.array([[0.5]]), np.array([[0.0]]), 1.0),
        (np.array([[1.0], [-1.0]]), np.array([[0.0], [0.0]]), 1.0),       # residual exactly at delta
        (np.array([[5.0], [-3.0], [0.2]]), np.array([[0.0], [0.0], [0.0]]), 1.0),
        (np.array([[4.0], [0.1]]), np.array([[1.0], [0.0]]), 2.0),        # delta != 1
        (np.array([[0.3], [2.0]]), np.array([[0.0], [0.0]]), 0.25),       # delta < 1
    ],
    random=_random_huber,
    arg_names=("pred", "target", "delta"),
))

register(Exercise(
    id="losses.cross_entropy",
    reference=_cross_entropy,
    fixed=[
        (np.array([[2.0, 1.0, 0.1]]), np.array([0])),
        (np.array([[0.0, 0.0, 0.0], [1.0, 2.0, 3.0]]), np.array([1, 0])),
        (np.array([[1000.0, 0.0, -1000.0], [1000.0, 0.0, -1000.0]]), np.array([0, 2])),
        (np.array([[-1000.0, -1000.0], [800.0, 801.0]]), np.array([1, 0])),
    ],
    random=lambda rng: _random_classification(rng, 5.0),
    arg_names=("logits", "labels"),
))

register(Exercise(
    id="losses.hinge_loss",
    reference=_hinge_loss,
    fixed=[
        (np.array([[3.0, 1.0, -2.0]]), np.array([0])),                    # all margins met: 0
        (np.array([[3.0, 2.0, -2.0]]), np.array([0])),                    # margin exactly met
        (np.array([[1.0, 2.0, 3.0], [0.5, 0.5, 0.5]]), np.array([0, 1])),
        (np.array([[2.0, 5.0], [-1.0, 4.0], [0.0, 0.0]]), np.array([1, 0, 0])),
    ],
    random=lambda rng: _random_classification(rng, 2.0),
    arg_names=("scores", "labels"),
))
