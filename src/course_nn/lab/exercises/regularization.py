"""Chapter 12 exercises: generalization and regularization.

regularization.momentum_decay       predict, then run: the factor w_T / w_0 of a weight that gets
                                     no data gradient, after T steps of SGD with momentum and
                                     the L2 penalty lam * sum(w^2) (course_nn.optim.SGD and
                                     course_nn.L2Penalty; the chapter measures it on the digits
                                     network's blank-pixel weights)
regularization.dropout_moments       predict, then run: the mean and the variance of inverted
                                     dropout's training-mode output for an input x (the
                                     chapter's measurement on course_nn.Dropout answers it)
regularization.shift_image           debug: the chapter's buggy shift rolls (wraps around) and moves
                                     rows by dx; the fixed one shifts an (S, S) image by whole
                                     pixels with zero fill (course_nn.augment.shift_images)
regularization.early_stopping_epoch  debug: the chapter's buggy version counts a tie as an
                                     improvement and waits one epoch too many; the fixed one
                                     returns (best epoch, last epoch run) for a list of validation
                                     losses and a patience, as course_nn.train.fit decides
regularization.batchnorm_backward    (dx, dgamma, dbeta) of batch normalization in training
                                     mode (course_nn.BatchNorm1d.backward)
regularization.dropout_backward      debug: a dropout layer's (output, dx) for a seed, after the
                                     learner fixed its backward (course_nn.Dropout, same seed)

Fixed cases hold the traps: no momentum and a single step, p = 0 (no scaling), shifts by 0,
by more than the image and along one axis only, ties in the validation loss, a patience that
is never exhausted, a batch of two rows, a constant feature and a large eps for batch norm.
The two backward exercises add a hint to the message when the answer shows a typical mistake
(a dx whose columns do not sum to 0; a dropout gradient through other units than the forward
kept, or scaled by the wrong factor).
"""

import numpy as np

from ... import optim
from ...augment import shift_images
from ...batchnorm import BatchNorm1d
from ...dropout import Dropout
from ...linear import Linear
from ...module import Parameter
from ...regularization import L2Penalty
from ...train import fit
from . import Exercise, _default_compare, _slip_hint, register


class _Factor(float):
    """The reference's factor w_T / w_0, carrying what each recognized slip would give."""

    slips = ()


def _decay(eta, lam, momentum, steps, penalty_scale=2.0):
    """w_T / w_0 under w <- w - eta v, v = momentum v + penalty_scale lam w (v = g at first)."""
    w, v = 1.0, None
    for _ in range(steps):
        g = penalty_scale * lam * w
        v = g if v is None else momentum * v + g
        w = w - eta * v
    return w


def _momentum_decay(eta, lam, momentum, steps):
    """w_T / w_0 for a weight whose data gradient is 0, trained by course_nn's SGD (lr eta,
    momentum) with course_nn's L2Penalty(lam) for ``steps`` steps."""
    w = Parameter(np.ones(1))
    opt = optim.SGD([w], lr=eta, momentum=momentum)
    penalty = L2Penalty(lam)
    for _ in range(int(steps)):
        opt.zero_grad()
        penalty.backward([w])
        opt.step()
    out = _Factor(float(w.data[0]))
    steps = int(steps)
    out.slips = tuple((np.asarray(float(value)), why) for value, why in (
        ((1 - 2 * eta * lam) ** steps,
         "that is plain SGD's (1 - 2 eta lam)^T: with momentum the penalty's gradient goes into "
         "the velocity, which keeps adding past gradients"),
        ((1 - 2 * eta * lam / (1 - momentum)) ** steps,
         "that is the factor of a velocity that has already built up (an effective learning rate "
         "eta / (1 - momentum) from the first step); the velocity starts at the first gradient "
         "(v = g) and grows toward that over the first steps"),
        (_decay(eta, lam, momentum, steps, penalty_scale=1.0),
         "the gradient of lam * sum(w^2) is 2 lam w, not lam w (that is the lam / 2 convention)"),
        (_decay(eta, lam, momentum, steps + 1), "that is one step too many"),
        (_decay(eta, lam, momentum, steps - 1) if steps > 1 else np.nan,
         "that is one step too few"),
    ))
    return out


def _compare_decay(expected, got):
    want = np.asarray(float(expected))
    return _slip_hint(_default_compare(float(expected), got, 1e-9, 1e-12), got, want,
                      expected.slips, rtol=1e-9, atol=1e-12)


def _dropout_forward(x, p, mask):
    # what course_nn.Dropout computes in training mode, given the kept entries (mask True)
    return x * mask / (1.0 - p)


def _shift_image(img, dx, dy):
    return shift_images(img[None], dx, dy)[0]


class _Shifted(np.ndarray):
    """The reference's shifted image, carrying what each recognized bug would give."""

    slips = ()


def _shift_image_reference(img, dx, dy):
    out = np.asarray(_shift_image(img, dx, dy)).view(_Shifted)
    img = np.asarray(img)
    out.slips = (
        (np.roll(np.roll(img, dx, axis=0), dy, axis=1),
         "np.roll wraps around (what leaves one side re-enters on the other; it must be dropped "
         "and the uncovered pixels set to 0), and dx moves the rows: axis 0 is r, the vertical "
         "one; dx is horizontal, axis 1"),
        (np.roll(np.roll(img, dx, axis=1), dy, axis=0),
         "np.roll wraps around: what leaves one side re-enters on the other; it must be dropped "
         "and the uncovered pixels set to 0"),
        (_shift_image(img, dy, dx),
         "dx moves the rows: axis 0 is r, the vertical one; dx is horizontal, axis 1"),
    )
    return out


def _compare_shift(expected, got):
    want = np.asarray(expected).view(np.ndarray)
    return _slip_hint(_default_compare(want, got, 1e-6, 1e-9), got, want, expected.slips,
                      rtol=1e-5, atol=1e-8)


class _ScriptedLoss:
    """A loss whose value on the validation set is read from a script, one value per epoch.

    It lets the reference of ``early_stopping_epoch`` be ``course_nn.train.fit`` itself:
    the training set has one sample and the validation set two, which is how the two calls
    per epoch are told apart. The gradient is zero, so nothing else matters.
    """

    def __init__(self, val_losses):
        self.val_losses = [float(v) for v in val_losses]
        self.epoch = 0
        self._n = 1

    def __call__(self, pred, target):
        self._n = len(pred)
        if self._n == 2:                      # the validation pass of this epoch
            value = self.val_losses[self.epoch]
            self.epoch += 1
            return value
        return 0.0

    def backward(self):
        return np.zeros((self._n, 1))


def _early_stopping_epoch(val_losses, patience):
    """Replay ``val_losses`` through course_nn.train.fit(patience=...): (best_epoch, last_epoch)."""
    losses = list(val_losses)
    model = Linear(1, 1, rng=np.random.default_rng(0))
    history = fit(model, _ScriptedLoss(losses), optim.SGD(model.parameters(), lr=0.1),
                  (np.zeros((1, 1)), np.zeros((1, 1))), (np.zeros((2, 1)), np.zeros((2, 1))),
                  epochs=len(losses), batch_size=1, rng=np.random.default_rng(0),
                  patience=int(patience), progress=False)
    return int(history.best_epoch), history.epochs - 1


def _random_decay(rng):
    return (float(rng.choice([0.01, 0.05, 0.1, 0.5])), float(rng.choice([1e-4, 1e-3, 0.01, 0.1])),
            float(rng.choice([0.0, 0.5, 0.9, 0.99])), int(rng.integers(1, 200)))


def _random_shift(rng):
    side = int(rng.choice([3, 5, 8]))
    return rng.random((side, side)), int(rng.integers(-3, 4)), int(rng.integers(-3, 4))


def _random_losses(rng):
    n = int(rng.integers(3, 30))
    # a noisy U: falls, then rises, with repeats so that ties happen
    t = np.arange(n)
    curve = (t - rng.integers(0, n)) ** 2 / n + rng.integers(0, 3, size=n)
    return [float(v) for v in np.round(curve, 1)], int(rng.integers(1, 6))


_DIGIT = np.array([[0, 0, 5, 13, 9, 1, 0, 0],
                   [0, 0, 13, 15, 10, 15, 5, 0],
                   [0, 3, 15, 2, 0, 11, 8, 0],
                   [0, 4, 12, 0, 0, 8, 8, 0],
                   [0, 5, 8, 0, 0, 9, 8, 0],
                   [0, 4, 11, 0, 1, 12, 7, 0],
                   [0, 2, 14, 5, 10, 12, 0, 0],
                   [0, 0, 6, 13, 10, 0, 0, 0]], dtype=float) / 16.0   # the first digit, a 0


register(Exercise(
    id="regularization.momentum_decay",
    kind="predict",
    reference=_momentum_decay,
    fixed=[
        (0.05, 1e-3, 0.9, 70),     # the chapter: 10 epochs of 7 steps, the baseline's momentum
        (0.05, 1e-3, 0.0, 70),     # no momentum: (1 - 2 eta lam)^T
        (0.1, 0.01, 0.9, 1),       # one step: the velocity is the first gradient
        (0.1, 0.05, 0.5, 20),
        (0.5, 0.5, 0.9, 25),       # strong decay: the weight overshoots zero and oscillates
    ],
    random=_random_decay,
    arg_names=("eta", "lam", "momentum", "steps"),
    compare=_compare_decay,
))

class _Moments(tuple):
    """The reference's (mean, variance), carrying what each recognized slip would give."""

    slips = ()


def _dropout_moments(x, p):
    """(mean, variance) of the output o of inverted dropout for the input x, elementwise:
    o is course_nn's kept value x / (1 - p) with probability 1 - p, and 0 with probability p.
    x: any shape, p in [0, 1) -> two arrays of x's shape."""
    x = np.asarray(x, dtype=np.float64)
    kept = _dropout_forward(x, p, np.ones(x.shape, dtype=bool))
    mean = (1.0 - p) * kept
    second = (1.0 - p) * kept ** 2
    moments = _Moments((mean, second - mean ** 2))
    moments.slips = (
        (1, "that is the second moment E[o^2]; the variance subtracts the squared mean",
         second),
        (1, "that is the variance of x times a Bernoulli mask, without the 1 / (1 - p) "
            "scale of the kept entries", x ** 2 * p * (1.0 - p)),
        (1, "that is a standard deviation; the variance is its square",
         np.abs(x) * np.sqrt(p / (1.0 - p))),
        (0, "that is the mean without the scale: inverted dropout keeps the mean at x",
         (1.0 - p) * x),
    )
    return moments


def _compare_moments(expected, got):
    reason = _default_compare(tuple(expected), got, 1e-6, 1e-9)
    if reason is None:
        return None
    for index, why, wrong in expected.slips:
        try:
            mine = np.asarray(got[index], dtype=float)
        except (TypeError, ValueError, IndexError):
            continue
        if (mine.shape == wrong.shape and not np.allclose(wrong, expected[index])
                and np.allclose(mine, wrong, rtol=1e-6, atol=1e-9)):
            return reason + f"\n  {why}"
    return reason


def _random_moments(rng):
    shape = tuple(int(s) for s in rng.integers(1, 5, size=int(rng.integers(1, 3))))
    return 3 * rng.standard_normal(shape), float(rng.choice([0.1, 0.25, 0.5, 0.8, 0.95]))


register(Exercise(
    id="regularization.dropout_moments",
    kind="predict",
    reference=_dropout_moments,
    fixed=[
        (np.array([1.0, 2.0]), 0.5),                 # the chapter's p = 0.5
        (np.array([[1.0, -1.0], [0.0, 3.0]]), 0.2),  # a zero input has no noise
        (np.array([2.0]), 0.0),                      # p = 0: no dropout, no noise
        (np.array([-0.5, 1.5, 4.0]), 0.9),
    ],
    random=_random_moments,
    arg_names=("x", "p"),
    compare=_compare_moments,
))

register(Exercise(
    id="regularization.shift_image",
    kind="debug",
    reference=_shift_image_reference,
    compare=_compare_shift,
    fixed=[
        (_DIGIT, 1, 0),                       # one pixel to the right
        (_DIGIT, 0, -1),                      # one pixel up
        (_DIGIT, -2, 1),                      # two left, one down
        (_DIGIT, 0, 0),                       # no shift: the same image
        (np.arange(9.0).reshape(3, 3) + 1, 3, 0),     # shifted out entirely: all zeros
        (np.arange(9.0).reshape(3, 3) + 1, 1, 1),
    ],
    random=_random_shift,
    arg_names=("img", "dx", "dy"),
))

def _stopping_variant(val_losses, patience, ties_improve=False, extra=0):
    best_loss, best_epoch, waited = np.inf, 0, 0
    for epoch, loss in enumerate(val_losses):
        if loss < best_loss or (ties_improve and loss == best_loss):
            best_loss, best_epoch, waited = loss, epoch, 0
        else:
            waited += 1
            if waited >= patience + extra:
                return best_epoch, epoch
    return best_epoch, len(val_losses) - 1


class _Epochs(tuple):
    """The reference's (best_epoch, last_epoch), carrying what each recognized bug gives."""

    slips = ()


def _early_stopping_reference(val_losses, patience):
    out = _Epochs(_early_stopping_epoch(val_losses, patience))
    out.slips = (
        (_stopping_variant(val_losses, patience, extra=1),
         "it waits one epoch too many: it must stop at the epoch that completes `patience` "
         "epochs without improvement"),
        (_stopping_variant(val_losses, patience, ties_improve=True),
         "a tie counts as an improvement: an epoch improves only if its loss is strictly lower"),
        (_stopping_variant(val_losses, patience, ties_improve=True, extra=1),
         "a tie counts as an improvement (an epoch improves only if its loss is strictly "
         "lower), and it waits one epoch too many: it must stop at the epoch that completes "
         "`patience` epochs without improvement"),
    )
    return out


def _compare_stopping(expected, got):
    reason = _default_compare(tuple(expected), got, 1e-6, 1e-9)
    if reason is None:
        return None
    try:
        mine = tuple(int(v) for v in got)
    except (TypeError, ValueError):
        return reason
    for wrong, why in expected.slips:
        if wrong != tuple(expected) and mine == wrong:
            return f"{reason}\n  hint: {why}"
    return reason


register(Exercise(
    id="regularization.early_stopping_epoch",
    kind="debug",
    reference=_early_stopping_reference,
    compare=_compare_stopping,
    fixed=[
        ([1.0, 0.8, 0.7, 0.75, 0.9, 1.0, 1.2], 2),          # best 2, stops after 2 worse epochs
        ([1.0, 0.8, 0.7, 0.75, 0.9, 1.0, 1.2], 10),         # patience never exhausted
        ([0.5, 0.5, 0.5, 0.5], 3),                          # ties are not improvements
        ([0.9, 0.6, 0.6, 0.4, 0.6, 0.6, 0.6], 3),
        ([0.3, 0.4, 0.2, 0.5, 0.6], 1),                     # patience 1
        ([2.0, 1.0, 0.5, 0.25], 1),                         # always improving
    ],
    random=_random_losses,
    arg_names=("val_losses", "patience"),
))


# --- batch normalization, backward -----------------------------------------------------------

def _batchnorm_backward(x, gamma, grad_out, eps):
    bn = BatchNorm1d(x.shape[1], eps=eps)
    bn.weight.data[...] = gamma
    bn(x)                                     # training mode: the batch's mean and variance
    dx = bn.backward(grad_out)
    return dx, bn.weight.grad.copy(), bn.bias.grad.copy()


def _wrong_result(expected, got, index):
    """The reason a tuple answer is wrong (None if right) and, when the first wrong part is
    result ``index`` and has the right shape and finite values, that part as a float array
    (else None), for a checker to add a hint about the typical mistake."""
    got = tuple(got) if isinstance(got, list) else got
    reason = _default_compare(expected, got, 1e-6, 1e-9)
    if reason is None or not reason.startswith(f"result {index}"):
        return reason, None
    try:
        part = np.asarray(got[index], dtype=float)
    except (TypeError, ValueError, OverflowError):
        return reason, None
    if part.shape != expected[index].shape or not np.all(np.isfinite(part)):
        return reason, None
    return reason, part


def _compare_batchnorm(expected, got):
    reason, dx = _wrong_result(expected, got, 0)
    if dx is not None:
        column_sums = np.abs(dx.sum(axis=0))
        if np.any(column_sums > 1e-6 * np.abs(dx).sum(axis=0) + 1e-12):
            reason += ("\n  hint: each column of dx must sum to 0. Adding a constant to a whole "
                       "feature moves its mean by the same amount and leaves x_hat unchanged, so "
                       "the loss cannot change; treating the mean (and sigma) as constants "
                       "breaks this")
    return reason


def _batchnorm_case(rng, n=None, c=None):
    n = int(rng.integers(2, 9)) if n is None else n
    c = int(rng.integers(1, 5)) if c is None else c
    x = rng.normal(rng.uniform(-2, 2, size=c), rng.uniform(0.3, 3.0, size=c), size=(n, c))
    gamma = rng.uniform(-2.0, 2.0, size=c)
    eps = float(rng.choice([1e-5, 1e-3, 0.1]))
    return x, gamma, rng.standard_normal((n, c)), eps


_bn_rng = np.random.default_rng(12)
register(Exercise(
    id="regularization.batchnorm_backward",
    kind="transcribe",
    reference=_batchnorm_backward,
    fixed=[
        (np.array([[1.0, 2.0], [3.0, -1.0], [2.0, 0.5]]), np.array([1.0, 1.0]),
         np.array([[0.5, -1.0], [1.0, 0.2], [-0.3, 0.4]]), 1e-5),
        (np.array([[0.5], [-1.5]]), np.array([2.0]), np.array([[1.0], [0.25]]), 1e-5),  # m = 2
        (np.array([[1.0, 3.0], [2.0, 3.0], [4.0, 3.0], [0.0, 3.0]]),                    # a constant
         np.array([0.5, 1.5]), np.array([[1.0, 0.5], [-2.0, 1.0], [0.5, 0.0], [0.3, -1.0]]),
         1e-5),                                                                         # feature
        (np.array([[0.2, -0.1], [0.1, 0.3], [-0.4, 0.0]]), np.array([1.0, -1.0]),       # eps large
         np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), 0.5),                          # next to var
        _batchnorm_case(_bn_rng, 5, 3),
    ],
    random=_batchnorm_case,
    arg_names=("x", "gamma", "grad_out", "eps"),
    compare=_compare_batchnorm,
))


# --- dropout, backward: fix a layer ----------------------------------------------------------

def _dropout_forward_backward(x, grad_out, p, seed):
    layer = Dropout(p, rng=np.random.default_rng(seed))
    out = layer(x)
    return out, layer.backward(grad_out)


def _compare_dropout(expected, got):
    reason, dx = _wrong_result(expected, got, 1)
    if dx is None:
        return reason
    want = expected[1]
    if not np.array_equal(dx != 0, want != 0):
        return reason + ("\n  hint: the gradient flows through other units than the forward "
                         "pass kept; backward must reuse the forward's mask, not draw a new one")
    kept = want != 0
    ratio = dx[kept] / want[kept]
    if ratio.size and np.allclose(ratio, ratio[0]):
        return reason + (f"\n  hint: every kept unit's gradient is {ratio[0]:.4g} times the "
                         f"right one; the derivative of y = x / (1 - p) is 1 / (1 - p)")
    return reason


def _dropout_case(rng):
    shape = (int(rng.integers(1, 6)), int(rng.integers(2, 7)))
    p = float(rng.choice([0.1, 0.25, 0.5, 0.8]))
    return (rng.standard_normal(shape), rng.standard_normal(shape), p,
            int(rng.integers(0, 1000)))


register(Exercise(
    id="regularization.dropout_backward",
    kind="debug",
    reference=_dropout_forward_backward,
    fixed=[
        (np.arange(1.0, 9.0).reshape(2, 4), np.ones((2, 4)), 0.5, 1),
        (np.array([[1.0, -2.0, 3.0]]), np.array([[0.5, 0.5, -1.0]]), 0.0, 0),    # p = 0
        (np.ones((3, 5)), np.arange(15.0).reshape(3, 5) - 7.0, 0.25, 7),
        (np.array([[0.3, -0.6, 1.2, 2.0]]), np.array([[1.0, 2.0, 3.0, 4.0]]), 0.8, 3),
    ],
    random=_dropout_case,
    arg_names=("x", "grad_out", "p", "seed"),
    compare=_compare_dropout,
))
