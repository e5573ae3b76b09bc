"""What the "train" exercises share: the learner's function gets training data and returns a
trained model, which is judged on data it never saw.

The checker makes a case (training data for the learner, held-out data kept under a
fingerprint of the training data), the reference answers with a ``HeldOut`` (the held-out data,
the target, and how to train the reference model: only when the reference itself is judged, so
a learner's check never waits for it), and ``score_classifier`` does the checks every returned
classifier gets before its accuracy is compared with the target.
"""

import hashlib

import numpy as np

from ...data import iterate_minibatches
from ...module import Module
from ...train import predict
from . import _describe


def fingerprint(X, y):
    """A key for a training set: the SHA-256 of its arrays' bytes."""
    return hashlib.sha256(np.ascontiguousarray(X).tobytes()
                          + np.ascontiguousarray(y).tobytes()).hexdigest()


class HeldOut:
    """The reference's answer: judge on (X, y) against ``target``; ``train()`` trains the
    reference model."""

    def __init__(self, X, y, target, train):
        self.X, self.y, self.target, self.train = X, y, target, train


def train_plain(model, loss_fn, opt, X, y, *, epochs, batch_size, rng):
    """The learner's loop, as the chapters write it: every epoch a new shuffle from ``rng``,
    then zero_grad, forward, loss, backward and step per mini-batch. Returns ``model``."""
    for _ in range(epochs):
        for xb, yb in iterate_minibatches(X, y, batch_size, rng=rng):
            opt.zero_grad()
            loss_fn(model(xb), yb)
            model.backward(loss_fn.backward())
            opt.step()
    return model


def score_classifier(expected, got, *, n_classes, item, example):
    """(accuracy of ``got`` on expected.X, None), or (None, why it cannot be scored).

    ``got`` is the learner's answer (the reference's HeldOut is trained first); ``item`` names
    one input ("image", "point") and ``example`` a model the message suggests."""
    if isinstance(got, HeldOut):  # the reference, judged by its own checker
        got = got.train()
    if not isinstance(got, Module):
        what = f"text, {_describe(got)}" if isinstance(got, str) else _describe(got)
        return None, (f"expected your function to return the trained course_nn model (a Module "
                      f"such as {example}), got {what}")
    try:
        scores = predict(got, expected.X)
    except Exception as err:  # a model that cannot take the inputs' shape
        return None, (f"your model could not score {item}s of shape (N, {expected.X.shape[1]}): "
                      f"{type(err).__name__}: {err}")
    if not isinstance(scores, np.ndarray) or scores.shape != (len(expected.X), n_classes):
        return None, (f"expected {n_classes} scores per {item}, (N, {n_classes}), got shape "
                      f"{np.shape(scores)}")
    return float(np.mean(np.argmax(scores, axis=1) == expected.y)), None
