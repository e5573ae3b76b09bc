"""Chapter 12 (generalization and regularization): every exercise checker accepts a
plain-numpy solution and rejects the typical wrong answers (lam * w instead of 2 lam w, no
1 / (1 - p) rescaling, the wrong shift direction, np.roll's wrap-around, an off-by-one
patience, ties counted as improvements, peeking at future epochs).

IDS, SOLUTIONS and WRONG feed the checks every exercise gets, in tests/test_exercises.py
(registered, reference and solutions pass, each wrong answer rejected).
"""

import numpy as np

import course_nn as nn
from course_nn.exercises import exercises
from course_nn.generalization import BASELINE, digits_task, train_setup

IDS = ("regularization.l2_penalty_grad", "regularization.dropout_forward",
       "regularization.shift_image", "regularization.early_stopping_epoch")


# --- plain-numpy solutions, as a learner would write them ---------------------------------

def l2_penalty_grad(w, lam):
    return 2.0 * lam * w


def dropout_forward(x, p, mask):
    return np.where(mask, x / (1.0 - p), 0.0)


def shift_image(img, dx, dy):
    side = img.shape[0]
    out = np.zeros_like(img)
    r_dst = slice(max(dy, 0), min(side, side + dy))
    r_src = slice(max(-dy, 0), min(side, side - dy))
    c_dst = slice(max(dx, 0), min(side, side + dx))
    c_src = slice(max(-dx, 0), min(side, side - dx))
    out[r_dst, c_dst] = img[r_src, c_src]
    return out


def early_stopping_epoch(val_losses, patience, *, ties_improve=False):
    best, best_epoch, waited = np.inf, 0, 0
    for epoch, loss in enumerate(val_losses):
        if loss < best or (ties_improve and loss == best):   # ties_improve: a wrong answer below
            best, best_epoch, waited = loss, epoch, 0
        else:
            waited += 1
            if waited >= patience:
                return best_epoch, epoch
    return best_epoch, len(val_losses) - 1


SOLUTIONS = dict(zip(IDS, (l2_penalty_grad, dropout_forward, shift_image, early_stopping_epoch)))


# --- wrong answers ----------------------------------------------------------------------

def _roll(img, dx, dy):
    return np.roll(np.roll(img, dy, axis=0), dx, axis=1)


def _peeks_ahead(val_losses, patience):
    _, last = early_stopping_epoch(val_losses, patience)
    return int(np.argmin(val_losses)), last


def _stops_at_best(val_losses, patience):
    best, _ = early_stopping_epoch(val_losses, patience)
    return best, best


def _one_based(val_losses, patience):
    best, last = early_stopping_epoch(val_losses, patience)
    return best + 1, last + 1


WRONG = {
    "regularization.l2_penalty_grad": {
        "lam * w (the lam/2 convention)": lambda w, lam: lam * w,
        "lam * sign(w) (that is L1)": lambda w, lam: lam * np.sign(w),
        "returns the penalty value": lambda w, lam: lam * float(np.sum(w**2)),
        "wrong sign": lambda w, lam: -2.0 * lam * w,
        "w * (1 - 2 lam): the decayed weight, not the gradient": lambda w, lam: w * (1 - 2 * lam),
    },
    "regularization.dropout_forward": {
        "no rescaling": lambda x, p, m: x * m,
        "scaled by (1 - p) instead of 1 / (1 - p)": lambda x, p, m: x * m * (1 - p),
        "scaled by 1 / p": lambda x, p, m: x * m / p if p > 0 else x * m,
        "mask inverted (drops the kept entries)": lambda x, p, m: x * ~m / (1 - p),
        "rescales every entry, drops none": lambda x, p, m: x / (1 - p),
    },
    "regularization.shift_image": {
        "wrong direction": lambda img, dx, dy: shift_image(img, -dx, -dy),
        "dx and dy swapped": lambda img, dx, dy: shift_image(img, dy, dx),
        "np.roll wraps around": _roll,
        "only dx applied": lambda img, dx, dy: shift_image(img, dx, 0),
        "returns the input": lambda img, dx, dy: img.copy(),
    },
    "regularization.early_stopping_epoch": {
        "stops one epoch early (patience - 1)": lambda v, p: early_stopping_epoch(v, p - 1),
        "stops one epoch late (patience + 1)": lambda v, p: early_stopping_epoch(v, p + 1),
        "ties count as improvements": lambda v, p: early_stopping_epoch(v, p, ties_improve=True),
        "best epoch = argmin over all epochs (peeks ahead)": _peeks_ahead,
        "reports the best epoch as the last one run": _stops_at_best,
        "1-based epochs": _one_based,
    },
}


def test_the_fixed_shift_cases_alone_catch_the_direction():
    ex = exercises()["regularization.shift_image"]
    wrong = WRONG["regularization.shift_image"]["wrong direction"]
    assert any(not np.array_equal(wrong(*args), ex.reference(*args)) for args in ex.fixed[:3])


# --- the references agree with course_nn's layers and training loop -------------------------

def test_l2_reference_is_the_penalty_gradient():
    w = np.random.default_rng(0).standard_normal((3, 4))
    assert np.array_equal(exercises()["regularization.l2_penalty_grad"].reference(w, 0.3), 0.6 * w)


def test_dropout_reference_equals_course_nn_dropout():
    x = np.random.default_rng(1).standard_normal((6, 7))
    for p in (0.2, 0.5, 0.9):
        layer = nn.Dropout(p, rng=np.random.default_rng(42))
        out = layer(x)
        mask = np.random.default_rng(42).random(x.shape) >= p   # the same draw Dropout made
        ref = exercises()["regularization.dropout_forward"].reference(x, p, mask)
        np.testing.assert_allclose(out, ref, rtol=1e-15)


def test_early_stopping_reference_agrees_with_a_real_fit():
    """On an actual early-stopped run the reference replays History exactly."""
    run = train_setup(BASELINE.but(patience=5, epochs=40), digits_task(100, 0.2), seed=0)
    best, last = exercises()["regularization.early_stopping_epoch"].reference(run.history.val_loss, 5)
    assert run.history.stopped_early
    assert (best, last) == (run.history.best_epoch, run.history.epochs - 1)
