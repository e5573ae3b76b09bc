"""A ``fit`` loop: mini-batch training with validation curves, early stopping and a progress bar.

``fit`` checks everything it is given (model, loss, optimizer, both data sets, settings)
before the first step, so a NaN in row 40 or a label out of range fails at once, not after
an epoch of training.
"""

from dataclasses import dataclass, field

import numpy as np

from ._validate import all_finite, as_array, check_bool, check_generator, check_positive_int
from .batchnorm import BatchNorm1d
from .data import iterate_minibatches
from .losses import BCELoss, BCEWithLogitsLoss, Loss, _ClassificationLoss
from .module import Module, evaluation_mode, parameter_list
from .optim import Optimizer


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


def _check_model(model, owner):
    if not isinstance(model, Module):
        raise TypeError(f"{owner} model: expected a course_nn Module, got {type(model).__name__}")


def _numeric_array(x, name, kinds="iuf"):
    """``x`` as an ndarray of at least one dimension and one row, of a dtype kind in ``kinds``
    ('b' bool, 'i'/'u' integer, 'f' float), with no NaN or inf."""
    arr = as_array(x, name)
    if arr.dtype.kind not in kinds:
        raise TypeError(f"{name}: expected an array of numbers, got dtype {arr.dtype}")
    if arr.ndim == 0:
        raise ValueError(f"{name}: expected an array with one row per sample, got a scalar")
    if len(arr) == 0:
        raise ValueError(f"{name}: expected a non-empty array, got shape {arr.shape}")
    if arr.dtype.kind == "f" and not all_finite(arr):
        bad = int(arr.size - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(f"{name}: expected finite values, got {bad} NaN or inf entries")
    return arr


def predict(model, X, batch_size=1024):
    """Model outputs for X: (N, ...) -> (N, ...), in evaluation mode (dropout off, batch-norm
    running statistics), ``batch_size`` rows at a time. The model checks X's dtype and values."""
    _check_model(model, "predict")
    batch_size = check_positive_int(batch_size, "predict batch_size")
    X = as_array(X, "predict X")
    if X.ndim == 0 or len(X) == 0:
        raise ValueError(f"predict X: expected a non-empty array with one row per sample, got "
                         f"shape {X.shape}")
    outputs = []
    with evaluation_mode(model):
        for start in range(0, len(X), batch_size):
            rows = X[start:start + batch_size]
            out = model(rows)
            if not isinstance(out, np.ndarray) or out.ndim == 0 or len(out) != len(rows):
                got = f"shape {out.shape}" if isinstance(out, np.ndarray) else type(out).__name__
                raise ValueError(
                    f"predict: expected the model to return an array with one row per input row "
                    f"({len(rows)} rows), got {got}")
            if outputs and out.shape[1:] != outputs[0].shape[1:]:
                raise ValueError(f"predict: the model's output shape changed between batches, "
                                 f"{outputs[0].shape[1:]} then {out.shape[1:]}")
            outputs.append(out)
    return np.concatenate(outputs)


def accuracy(scores, y, loss_fn=None):
    """Fraction of correct predictions.

    scores (N, C) with integer labels y (N,) in [0, C): argmax; one score per sample, (N,) or
    (N, 1), with labels y in [0, 1] of the same length: score > 0 (a logit), or score > 0.5
    when ``loss_fn`` is a BCELoss (scores are probabilities); with a BCELoss or
    BCEWithLogitsLoss, (N, C) scores and (N, C) targets are compared elementwise.
    """
    scores = _numeric_array(scores, "accuracy scores")
    y = as_array(y, "accuracy y")
    if loss_fn is not None and not isinstance(loss_fn, (_ClassificationLoss, BCELoss,
                                                        BCEWithLogitsLoss)):
        raise TypeError(f"accuracy loss_fn: expected None or a classification loss "
                        f"(CrossEntropyLoss, MulticlassHingeLoss, BCELoss, BCEWithLogitsLoss), got "
                        f"{type(loss_fn).__name__}")
    if scores.ndim > 2:
        raise ValueError(f"accuracy scores: expected shape (N, C) or (N,), got {scores.shape}")
    n = len(scores)
    binary = isinstance(loss_fn, (BCELoss, BCEWithLogitsLoss)) or (
        not isinstance(loss_fn, _ClassificationLoss) and (scores.ndim == 1 or scores.shape[1] == 1))
    if binary:
        one_column = {scores.shape, y.shape} <= {(n,), (n, 1)}
        if y.shape != scores.shape and not one_column:
            raise ValueError(f"accuracy y: expected shape {scores.shape} to match the scores, got "
                             f"{y.shape}")
        y = _numeric_array(y, "accuracy y", kinds="biuf")
        if np.any((y < 0) | (y > 1)):
            raise ValueError(f"accuracy y: expected binary targets in [0, 1], got values in "
                             f"[{y.min():.4g}, {y.max():.4g}]")
        threshold = 0.5 if isinstance(loss_fn, BCELoss) else 0.0
        return float(np.mean((scores.reshape(y.shape) > threshold) == (y > 0.5)))
    if scores.ndim != 2:
        raise ValueError(f"accuracy scores: expected shape (N, C), got {scores.shape}")
    if y.dtype.kind not in "iu":
        raise TypeError(f"accuracy y: expected integer class labels, got dtype {y.dtype}")
    if y.shape != (n,):
        raise ValueError(f"accuracy y: expected shape ({n},) (one label per row of scores), got "
                         f"{y.shape}")
    if y.min() < 0 or y.max() >= scores.shape[1]:
        raise ValueError(f"accuracy y: expected labels in [0, {scores.shape[1] - 1}], got values "
                         f"in [{y.min()}, {y.max()}]")
    return float(np.mean(np.argmax(scores, axis=1) == y))


def _check_loss(loss_fn, owner):
    if not callable(loss_fn) or not callable(getattr(loss_fn, "backward", None)):
        raise TypeError(f"{owner} loss_fn: expected a loss object such as CrossEntropyLoss() "
                        f"(called as loss_fn(pred, target), with a backward()), got "
                        f"{type(loss_fn).__name__}")


def evaluate(model, loss_fn, X, y):
    """(loss, accuracy or None) of the model on a whole dataset, in evaluation mode."""
    _check_model(model, "evaluate")
    _check_loss(loss_fn, "evaluate")
    X, y = as_array(X, "evaluate X"), as_array(y, "evaluate y")
    if X.ndim == 0 or y.ndim == 0 or len(X) != len(y):
        raise ValueError(f"evaluate: expected X and y with one row per sample each, got shapes "
                         f"{X.shape} and {y.shape}")
    scores = predict(model, X)
    loss = loss_fn(scores, y)
    return loss, (accuracy(scores, y, loss_fn) if _is_classification(loss_fn) else None)


def _is_classification(loss_fn):
    return isinstance(loss_fn, (_ClassificationLoss, BCELoss, BCEWithLogitsLoss))


def _check_split(data, split, model, loss_fn):
    """(X, y) of one data set, checked against each other, the model and the loss."""
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise TypeError(f"fit {split}: expected a pair (X, y), got {type(data).__name__}"
                        + (f" of length {len(data)}" if isinstance(data, (tuple, list)) else ""))
    X = _numeric_array(data[0], f"fit {split} X")
    y = _numeric_array(data[1], f"fit {split} y", kinds="biuf")
    if len(X) != len(y):
        raise ValueError(f"fit {split}: X has {len(X)} samples but y has {len(y)}")
    try:  # the model checks X's features on one row; its output fixes y's shape
        out = predict(model, X[:1])
    except (TypeError, ValueError) as err:
        raise type(err)(f"fit {split} X: the model refuses its first row: {err}") from err
    if isinstance(loss_fn, _ClassificationLoss):
        if y.dtype.kind not in "iu":
            raise TypeError(f"fit {split} y: expected integer class labels for "
                            f"{type(loss_fn).__name__}, got dtype {y.dtype}")
        if y.ndim != 1 or out.ndim != 2:
            raise ValueError(f"fit {split} y: expected labels of shape (N,) and model scores of "
                             f"shape (N, C), got {y.shape} and {(len(X),) + out.shape[1:]}")
        if y.min() < 0 or y.max() >= out.shape[1]:
            raise ValueError(f"fit {split} y: expected labels in [0, {out.shape[1] - 1}] (the "
                             f"model has {out.shape[1]} outputs), got values in [{y.min()}, "
                             f"{y.max()}]")
    elif isinstance(loss_fn, Loss):  # regression and binary losses: target shaped like output
        if y.shape[1:] != out.shape[1:]:
            raise ValueError(f"fit {split} y: expected shape {(len(y),) + out.shape[1:]} to "
                             f"match the model's output, got {y.shape}")
        if isinstance(loss_fn, (BCELoss, BCEWithLogitsLoss)) and np.any((y < 0) | (y > 1)):
            raise ValueError(f"fit {split} y: expected targets in [0, 1] for "
                             f"{type(loss_fn).__name__}, got values in [{y.min():.4g}, "
                             f"{y.max():.4g}]")
    return X, y


def fit(model, loss_fn, optimizer, train, val=None, *, epochs, batch_size, rng,
        penalty=None, penalty_params=None, patience=None, progress=True):
    """Train ``model`` with mini-batches and return its History.

    train, val: (X, y) pairs, X (N, ...) and y (N, ...). Each epoch shuffles the training set
    with ``rng``, takes one optimizer step per mini-batch, then measures loss (and accuracy for
    classification) on the whole training and validation sets. ``penalty`` (e.g. L2Penalty)
    is added to the gradients of ``penalty_params`` (default: every parameter; unused without
    a penalty, so one call can serve runs with and without). With ``patience``, training
    stops after that many epochs without a lower validation loss, and the best parameters are
    restored.

    Everything is checked before the first step: both data sets (finite, non-empty, matching
    lengths, labels that fit the loss and the model's output), the settings, and the
    optimizer, which must hold only parameters of ``model`` and at least one of them (holding
    some of them trains those and leaves the others frozen, as in fine-tuning).
    """
    _check_model(model, "fit")
    _check_loss(loss_fn, "fit")
    if isinstance(loss_fn, Loss) and loss_fn.reduction == "none":
        raise ValueError("fit loss_fn: expected reduction 'mean' or 'sum', got 'none' (fit "
                         "records one number per epoch)")
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"fit optimizer: expected a course_nn optimizer such as "
                        f"optim.SGD(model.parameters(), lr=0.1), got {type(optimizer).__name__}")
    epochs = check_positive_int(epochs, "fit epochs")
    batch_size = check_positive_int(batch_size, "fit batch_size")
    rng = check_generator(rng, "fit rng")
    progress = check_bool(progress, "fit progress")
    if patience is not None:
        patience = check_positive_int(patience, "fit patience")
        if val is None:
            raise ValueError("fit: early stopping (patience) needs a validation set")
    params = model.parameters()
    if not params:
        raise ValueError(f"fit model: {type(model).__name__} has no parameters to train")
    in_model = {id(p) for p in params}
    for i, p in enumerate(optimizer.params):
        if id(p) not in in_model:
            raise ValueError(
                f"fit optimizer: its parameter {i} (shape {p.shape}) is not a parameter of the "
                f"model; fit computes gradients only for the model's parameters, so build the "
                f"optimizer from model.parameters()")
    if penalty is not None and not callable(getattr(penalty, "backward", None)):
        raise TypeError(f"fit penalty: expected a penalty such as L2Penalty(1e-4) (with a "
                        f"backward(params)), got {type(penalty).__name__}")
    if penalty is None or penalty_params is None:  # without a penalty, penalty_params is unused
        penalized = params
    else:
        penalized, _ = parameter_list(penalty_params, "fit penalty_params")
        for i, p in enumerate(penalized):
            if id(p) not in in_model:
                raise ValueError(f"fit penalty_params: parameter {i} (shape {p.shape}) is not a "
                                 f"parameter of the model")
    train = _check_split(train, "train", model, loss_fn)
    if val is not None:
        val = _check_split(val, "val", model, loss_fn)
    smallest = batch_size if len(train[0]) % batch_size == 0 else len(train[0]) % batch_size
    if smallest == 1 and any(isinstance(m, BatchNorm1d) for m in model.modules()):
        raise ValueError(
            f"fit batch_size: {len(train[0])} training samples in batches of {batch_size} leave a "
            f"batch of 1 sample, which BatchNorm1d cannot normalize in training; choose another "
            f"batch_size")

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
