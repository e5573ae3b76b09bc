"""Chapter 11 exercises: the pieces of an end-to-end classifier.

training.one_hot               transcribe: (N,) labels -> (N, C) one-hot rows
training.train_digits          train: the learner's own loop trains a digits classifier, which
                               must reach ``TARGET`` accuracy on digits it never sees (the
                               checker keeps them)
training.choose_learning_rate  experiment: run a training at each candidate learning rate and
                               return the smallest whose final validation accuracy is within
                               ``tol`` of the best (the run is a black box: it must be run)
training.confusion_matrix      debug: the chapter's broken confusion matrix swaps rows and
                               columns and counts a repeated (true, predicted) pair once; the
                               checker names the bug it recognizes

digits_mlp(hidden, seed) builds the chapter's recipe network (chapters 11 and 14 and the tests
use this one definition).

References are course_nn's own: metrics.one_hot, metrics.confusion_matrix, train.fit and
train.predict. Fixed cases hold the traps: a class absent from the data, an asymmetric
confusion, a repeated pair, learning rates given out of order, a tie at the top.
"""

import numpy as np

from ...activations import ReLU
from ...data import load_digits, train_val_test_split
from ...init import he_normal
from ...linear import Linear
from ...losses import CrossEntropyLoss
from ...metrics import confusion_matrix, one_hot
from ...module import Sequential
from ...optim import Adam
from ...train import fit
from . import Exercise, _one_number, _show, _slip_hint, register
from ._trained import HeldOut, fingerprint, score_classifier, train_plain

TARGET = 0.94
"""Accuracy that train_digits' model must reach on the 540 digits the checker keeps (the
reference, the chapter's recipe for 20 epochs, reaches 0.946 to 0.98 on ten splits)."""


def digits_mlp(hidden=128, seed=1):
    """Chapter 11's recipe network for the 8x8 digits: 64 -> hidden (ReLU, He init) -> 10
    (PyTorch's default init), every weight drawn from ``np.random.default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    return Sequential(Linear(64, hidden, rng=rng, init=he_normal), ReLU(),
                      Linear(hidden, 10, rng=rng))


# --- one_hot (transcribe) ---------------------------------------------------------------------

def _one_hot(labels, n_classes):
    return one_hot(labels, n_classes)


def _random_labels(rng):
    c = int(rng.integers(2, 11))
    n = int(rng.integers(1, 40))
    return rng.integers(0, c, size=n), c


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


# --- train_digits (train) ---------------------------------------------------------------------

_HELD_OUT = {}


def _digits_case(rng):
    """The 1797 digits split by train_val_test_split with a seed drawn from ``rng``: the learner's
    function gets the 70 % training part, (X_train (1257, 64), y_train, a seed); the other 540
    images (validation and test parts) are kept for judging."""
    X, y = load_digits()
    split_seed = int(rng.integers(1000))
    train, val, test = train_val_test_split(X, y, rng=np.random.default_rng(split_seed))
    _HELD_OUT[fingerprint(*train)] = (np.concatenate([val[0], test[0]]),
                                       np.concatenate([val[1], test[1]]))
    return train[0], train[1], int(rng.integers(2 ** 31))


def _train_digits_loop(X, y, seed):
    """The reference: the chapter's recipe (64-128-10, Adam 1e-3, batches of 32) for 20 epochs."""
    model = digits_mlp(128, seed=seed)
    return train_plain(model, CrossEntropyLoss(), Adam(model.parameters(), lr=1e-3), X, y,
                       epochs=20, batch_size=32, rng=np.random.default_rng(seed))


def _digits_reference(X, y, seed):
    """The 540 digits kept back for this training part, and the reference's own training run."""
    return HeldOut(*_HELD_OUT[fingerprint(X, y)], TARGET, lambda: _train_digits_loop(X, y, seed))


def _judge_digits(expected, got):
    acc, reason = score_classifier(expected, got, n_classes=10, item="digit",
                                   example="a cn.Sequential")
    if reason is not None or acc >= TARGET:
        return reason
    if acc < 0.2:
        hint = ("that is chance level (0.10): does your loop call optimizer.step() after "
                "backward, and zero_grad() before it? Do X and y stay paired when you shuffle?")
    else:
        hint = ("it learned, but not enough: more epochs (the recipe's 30 are plenty; 20 do), "
                "or check the learning rate (Adam's 1e-3 works)")
    return (f"your model's accuracy on the {len(expected.X)} digits kept back is {acc:.4f}, below "
            f"the target {TARGET}: {hint}")


register(Exercise(
    id="training.train_digits",
    kind="train",
    reference=_digits_reference,
    random=_digits_case,
    n_random=1,
    arg_names=("X_train", "y_train", "seed"),
    compare=_judge_digits,
    time_limit=30.0,
))


# --- choose_learning_rate (experiment) ----------------------------------------------------------

_RUNS = {}   # (split seed, lr) -> History: shared by the deep copies the checker makes


class LearningRateRun:
    """One training whose only knob is the learning rate: ``run(lr)`` trains digits_mlp(32) with
    Adam at ``lr`` for ``epochs`` epochs (batches of 32) on ``n_train`` training digits of the
    split drawn from ``seed`` and returns fit's History (train_loss, train_acc, val_loss,
    val_acc, one entry per epoch), measured on those and on ``n_val`` validation digits.
    Same lr, same run: the weights and the batch order come from ``seed`` too."""

    def __init__(self, seed, n_train=400, n_val=200, epochs=4):
        self.seed, self.n_train, self.n_val, self.epochs = seed, n_train, n_val, epochs

    def _data(self):
        X, y = load_digits()
        train, val, _ = train_val_test_split(X, y, rng=np.random.default_rng(self.seed))
        return ((train[0][:self.n_train], train[1][:self.n_train]),
                (val[0][:self.n_val], val[1][:self.n_val]))

    def __call__(self, lr):
        key = (self.seed, self.n_train, self.n_val, self.epochs, float(lr))
        if key not in _RUNS:
            train, val = self._data()
            model = digits_mlp(32, seed=self.seed)
            _RUNS[key] = fit(model, CrossEntropyLoss(), Adam(model.parameters(), lr=float(lr)),
                             train, val, epochs=self.epochs, batch_size=32,
                             rng=np.random.default_rng(self.seed), progress=False)
        h = _RUNS[key]
        return type(h)(list(h.train_loss), list(h.train_acc), list(h.val_loss), list(h.val_acc),
                       h.best_epoch, h.stopped_early)

    def __deepcopy__(self, memo):
        return self     # a run holds no state the learner could change

    def __repr__(self):
        return (f"LearningRateRun(split {self.seed}: {self.n_train} training and {self.n_val} "
                f"validation digits, 64-32-10, Adam, {self.epochs} epochs)")


class _Choice(float):
    """The chosen learning rate; ``accept`` holds every answer the rule allows (a validation
    accuracy exactly at best - tol may fall on either side in floating point), ``slips`` the
    choices of typical wrong rules."""

    accept = ()
    slips = ()


def _smallest_within(final, tol):
    best = max(final.values())
    return min(lr for lr, acc in final.items() if acc >= best - tol)


def _choose_reference(run, learning_rates, tol):
    hs = {float(lr): run(lr) for lr in learning_rates}
    final = {lr: h.val_acc[-1] for lr, h in hs.items()}
    best = max(final.values())
    choice = _Choice(_smallest_within(final, tol))
    choice.accept = {choice, _smallest_within(final, max(tol - 1e-9, 0.0)),
                     _smallest_within(final, tol + 1e-9)}
    within = [lr for lr, acc in final.items() if acc >= best - tol]
    choice.slips = [
        (min(lr for lr, acc in final.items() if acc == best),
         f"that rate has the best validation accuracy ({best:.4f}), but a smaller one is within "
         f"tol = {tol} of it: the task asks for the smallest rate within tol of the best"),
        (max(within),
         "that is the largest rate within tol of the best; the task asks for the smallest"),
        (_smallest_within({lr: max(h.val_acc) for lr, h in hs.items()}, tol),
         "that follows each run's best epoch; the task compares the accuracies after the last epoch"),
        (min(hs, key=lambda lr: hs[lr].train_loss[-1]),
         "that is the rate with the lowest training loss: choose on the validation set, the "
         "training loss rewards fitting the training images ever more closely"),
        (max(hs, key=lambda lr: (hs[lr].train_acc[-1], -lr)),
         "that is the rate with the highest training accuracy: the choice is made on validation data"),
        (min(hs, key=lambda lr: hs[lr].val_loss[-1]),
         "that is the rate with the lowest validation loss; the task compares validation accuracies"),
    ]
    return choice


def _compare_choice(expected, got):
    value = _one_number(got)
    if value is None:
        return f"expected one learning rate (a number), got {_show(got)}"
    if any(np.isclose(value, a, rtol=1e-9, atol=0) for a in expected.accept):
        return None
    reason = f"expected the learning rate {float(expected):g}, got {value:g}"
    for wrong, why in expected.slips:
        if not any(np.isclose(wrong, a, rtol=1e-9, atol=0) for a in expected.accept) \
                and np.isclose(value, wrong, rtol=1e-9, atol=0):
            return f"{reason}: {why}"
    return reason


_LRS = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1]


def _random_lr_case(rng):
    lrs = list(rng.choice(_LRS, size=int(rng.integers(4, 8)), replace=False))
    return (LearningRateRun(int(rng.integers(1000))), [float(v) for v in lrs],
            float(rng.choice([0.0, 0.01, 0.02, 0.05])))


register(Exercise(
    id="training.choose_learning_rate",
    kind="experiment",
    reference=_choose_reference,
    fixed=[
        # split 2: the smallest good rate (1e-2), the best (3e-2) and the rate with the lowest
        # training loss (1e-1) are three different rates
        (LearningRateRun(2), list(_LRS), 0.02),
        (LearningRateRun(1), [1e-1, 1e-3, 3e-2, 1e-2], 0.0),     # out of order; tol 0: the best
        (LearningRateRun(7), list(_LRS), 0.05),
    ],
    random=_random_lr_case,
    n_random=3,
    arg_names=("run", "learning_rates", "tol"),
    compare=_compare_choice,
))


# --- confusion_matrix (debug) -------------------------------------------------------------------

def _confusion_reference(y_true, y_pred, n_classes):
    return confusion_matrix(y_true, y_pred, n_classes)


def _fancy_assign(rows, cols, n):
    cm = np.zeros((n, n), dtype=int)
    cm[rows, cols] += 1          # a repeated (row, col) pair is written once
    return cm


def _compare_confusion(expected, got, y_true=None, y_pred=None):
    from . import _default_compare

    reason = _default_compare(expected, got, 0, 0)
    if reason is None or y_true is None:
        return reason
    n = expected.shape[0]
    slips = [
        (_fancy_assign(y_pred, y_true, n),
         "rows and columns are swapped, and a repeated (true, predicted) pair is counted once"),
        (expected.T, "rows and columns are swapped: row i must hold the samples whose TRUE class "
                     "is i, column j those PREDICTED as j"),
        (_fancy_assign(y_true, y_pred, n),
         "a repeated (true, predicted) pair is counted once: cm[rows, cols] += 1 writes each "
         "position once, however often it appears; np.add.at (or np.bincount) adds every one"),
    ]
    return _slip_hint(reason, got, expected, slips, rtol=0, atol=0)


class _Confusion(np.ndarray):
    """The reference matrix, carrying the labels it was built from (to name the slips)."""

    y_true = y_pred = None


def _confusion_with_labels(y_true, y_pred, n_classes):
    out = np.asarray(confusion_matrix(y_true, y_pred, n_classes)).view(_Confusion)
    out.y_true, out.y_pred = np.asarray(y_true), np.asarray(y_pred)
    return out


def _judge_confusion(expected, got):
    return _compare_confusion(np.asarray(expected).view(np.ndarray), got,
                              expected.y_true, expected.y_pred)


def _random_confusion(rng):
    c = int(rng.integers(2, 11))
    n = int(rng.integers(1, 60))
    y_true = rng.integers(0, c, size=n)
    y_pred = np.where(rng.random(n) < 0.7, y_true, rng.integers(0, c, size=n))
    return y_true, y_pred, c


register(Exercise(
    id="training.confusion_matrix",
    kind="debug",
    reference=_confusion_with_labels,
    fixed=[
        (np.array([0, 1, 2, 2]), np.array([0, 2, 2, 1]), 3),
        (np.array([0, 0, 0, 1]), np.array([1, 1, 0, 1]), 2),       # asymmetric and repeated
        (np.array([1, 1]), np.array([1, 1]), 4),                    # classes 0, 2, 3 unseen
        (np.array([3, 7, 7, 9]), np.array([8, 7, 1, 9]), 10),
    ],
    random=_random_confusion,
    arg_names=("y_true", "y_pred", "n_classes"),
    compare=_judge_confusion,
))
