"""A ``fit`` loop: mini-batch training with validation curves, early stopping and a progress bar."""

from dataclasses import dataclass, field

import numpy as np

from ._validate import check_generator, check_positive_int
from .data import iterate_minibatches
from .losses import BCEWithLogitsLoss, _ClassificationLoss
from .module import evaluation_mode


@dataclass
class History:
    """Per-epoch metrics recorded by ``fit`` (accuracy lists stay empty for regression)."""

    train_loss: list = field(default_factory=list)
    train_acc: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    val_acc: list = field(default_factory=list)
    best_epoch: int = None
    stopped_early: bool = False

    @property
    def epochs(self):
        return len(self.train_loss)


def predict(model, X, batch_size=1024):
    """Model outputs for X in evaluation mode (dropout off, batch-norm running statistics)."""
    with evaluation_mode(model):
        return np.concatenate([model(X[i:i + batch_size]) for i in range(0, len(X), batch_size)])


def accuracy(scores, y, loss_fn=None):
    """Fraction of correct predictions: argmax of (N, C) scores, or score > 0 for one logit."""
    if isinstance(loss_fn, BCEWithLogitsLoss) or scores.ndim == 1 or scores.shape[1] == 1:
        return float(np.mean((scores.reshape(y.shape) > 0) == (y > 0.5)))
    return float(np.mean(np.argmax(scores, axis=1) == y))


def evaluate(model, loss_fn, X, y):
    """(loss, accuracy or None) of the model on a whole dataset, in evaluation mode."""
    scores = predict(model, X)
    loss = loss_fn(scores, y)
    return loss, (accuracy(scores, y, loss_fn) if _is_classification(loss_fn) else None)


def _is_classification(loss_fn):
    return isinstance(loss_fn, (_ClassificationLoss, BCEWithLogitsLoss))


def fit(model, loss_fn, optimizer, train, val=None, *, epochs, batch_size, rng,
        penalty=None, penalty_params=None, patience=None, progress=True):
    """Train ``model`` with mini-batches and return its History.

    train, val: (X, y) pairs. Each epoch shuffles the training set with ``rng``, takes one
    optimizer step per mini-batch, then measures loss (and accuracy for classification) on
    the whole training and validation sets. ``penalty`` (e.g. L2Penalty) is added to the
    gradients of ``penalty_params`` (default: every parameter). With ``patience``, training
    stops after that many epochs without a lower validation loss, and the best parameters
    are restored.
    """
    epochs = check_positive_int(epochs, "epochs")
    rng = check_generator(rng)
    if patience is not None:
        patience = check_positive_int(patience, "patience")
        if val is None:
            raise ValueError("fit: early stopping (patience) needs a validation set")
    params = model.parameters()
    penalized = params if penalty_params is None else list(penalty_params)
    history = History()
    best_loss, best_state, waited = np.inf, None, 0

    from tqdm.auto import tqdm  # imported here: importing the package must stay fast

    bar = tqdm(range(epochs), desc="epochs", disable=not progress, leave=False)
    model.train()
    for epoch in bar:
        for xb, yb in iterate_minibatches(*train, batch_size, rng=rng):
            optimizer.zero_grad()
            loss_fn(model(xb), yb)
            model.backward_params(loss_fn.backward())  # the data itself needs no gradient
            if penalty is not None:
                penalty.backward(penalized)
            optimizer.step()
        _record(history, model, loss_fn, train, "train")
        if val is not None:
            _record(history, model, loss_fn, val, "val")
            if history.val_loss[-1] < best_loss:
                best_loss, waited = history.val_loss[-1], 0
                history.best_epoch = epoch
                best_state = [p.data.copy() for p in params]
            else:
                waited += 1
            if patience is not None and waited >= patience:
                history.stopped_early = True
                break
        bar.set_postfix(loss=f"{history.train_loss[-1]:.4f}", refresh=False)
    bar.close()
    if patience is not None and best_state is not None:
        for p, data in zip(params, best_state):
            p.data[...] = data
    return history


def _record(history, model, loss_fn, data, split):
    loss, acc = evaluate(model, loss_fn, *data)
    getattr(history, f"{split}_loss").append(loss)
    if acc is not None:
        getattr(history, f"{split}_acc").append(acc)
