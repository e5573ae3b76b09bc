"""Chapter 4 exercises: loss functions and their gradients.

losses.rmse_grad      derive: dL/dpred of the root mean squared error (the chapter derives the
                      MSE gradient, not this one): (pred - target) / (n RMSE), n every entry
losses.huber          the Huber loss value (mean), with a threshold delta
losses.cross_entropy  debug: the chapter's buggy cross-entropy takes the log of an unshifted
                      softmax and picks the true classes with probs[:, labels] (an N x N block);
                      the fixed one is the stable mean softmax cross-entropy of logits (N, C) and
                      labels (N,)
losses.hinge_loss     debug: the chapter's buggy hinge loss counts the j = y_i term and sums over
                      the samples; the fixed one is the mean multiclass hinge (SVM) loss of
                      scores (N, C) and labels (N,)
losses.softmax_jacobian  the Jacobian d softmax(z_n)_i / d z_nj of each row of logits (N, K):
                      (N, K, K), diag(y_hat) - y_hat y_hat^T (course_nn.activations.softmax_backward
                      applied to the unit vectors)
losses.softmax_cross_entropy_backward  debug: the chapter's buggy backward chains -y / y_hat
                      through the Jacobian of an unshifted softmax and forgets the 1/N; the fixed
                      dL/dz of the mean softmax cross-entropy of logits (N, K) and one-hot
                      targets (N, K) is (y_hat - y) / N (CrossEntropyLoss.backward)

References are course_nn's loss classes; fixed cases hold the traps (a residual exactly at
delta, logits of +-1000, a margin exactly met, a single sample). The two backward exercises
name the typical mistake when the answer matches it (only the diagonal of the Jacobian, the
wrong sign, the 1/N forgotten).
"""

import numpy as np

from ...activations import softmax, softmax_backward
from ...losses import CrossEntropyLoss, HuberLoss, MSELoss, MulticlassHingeLoss
from . import Exercise, _default_compare, _slip_hint, register


class _Gradient(np.ndarray):
    """The reference's gradient, carrying what each recognized slip would give."""

    slips = ()


def _rmse_grad(pred, target):
    """d RMSE / d pred for RMSE = sqrt(MSELoss()(pred, target)), by the chain rule on course_nn's
    MSELoss: dMSE/dpred / (2 RMSE). pred, target: (N, D) -> (N, D)."""
    loss = MSELoss()
    rmse = np.sqrt(loss(pred, target))
    grad = np.asarray(loss.backward() / (2.0 * rmse)).view(_Gradient)
    d = np.asarray(pred, dtype=float) - np.asarray(target, dtype=float)
    n = d.size
    grad.slips = (
        (2 * d / n, "that is the gradient of MSE; RMSE = sqrt(MSE), so the chain rule adds the "
                    "factor 1 / (2 sqrt(MSE))"),
        (d / (2 * n * rmse), "the 2 from differentiating the square is missing: "
                             "d(MSE)/d pred = 2 (pred - target) / n"),
        (d / rmse, "the 1 / n of the mean is missing"),
        (d / (d.shape[0] * rmse), "this divides by N; the mean runs over every entry, "
                                  "n = N * D"),
        (-d / (n * rmse), "the sign is flipped: the residual is pred - target"),
    )
    return grad


def _compare_with_slips(expected, got):
    want = np.asarray(expected).view(np.ndarray)
    return _slip_hint(_default_compare(want, got, 1e-6, 1e-9), got, want,
                      getattr(expected, "slips", ()))


def _huber(pred, target, delta):
    return HuberLoss(delta=delta)(pred, target)


def _cross_entropy(logits, labels):
    return CrossEntropyLoss()(logits, labels)


def _cross_entropy_reference(logits, labels):
    value = _Loss(_cross_entropy(logits, labels))
    logits, labels = np.asarray(logits, dtype=float), np.asarray(labels)
    log_probs = logits - logits.max(axis=1, keepdims=True)
    log_probs = log_probs - np.log(np.exp(log_probs).sum(axis=1, keepdims=True))
    value.slips = (
        (float(-log_probs[:, labels].mean()), "probs[:, labels] (or log_probs[:, labels]) picks "
                                              "every row's entries at all N labels, an N x N "
                                              "block; the true class of row i is "
                                              "[np.arange(N), labels]"),
        (float(-log_probs[np.arange(len(labels)), labels].sum()), "the samples are summed; the "
                                                                  "loss is their mean"),
    )
    return value


def _hinge_loss(scores, labels):
    return MulticlassHingeLoss()(scores, labels)


class _Loss(float):
    """The reference loss, carrying what each recognized slip would give."""

    slips = ()


def _hinge_reference(scores, labels):
    value = _Loss(_hinge_loss(scores, labels))
    n = len(labels)
    value.slips = (
        (float(value) + 1.0, "the j = y_i term is counted: s_y - s_y + 1 = 1 for every sample; "
                             "set it to 0 (or subtract 1 per sample)"),
        (float(value) * n, "the samples are summed; the loss is their mean"),
        ((float(value) + 1.0) * n, "the j = y_i term is counted (it adds max(0, 1) = 1 per "
                                   "sample), and the samples are summed, not averaged"),
    )
    return value


def _compare_hinge(expected, got):
    reason = _default_compare(float(expected), got, 1e-6, 1e-9)
    if reason is None:
        return None
    try:
        mine = float(got)
    except (TypeError, ValueError, OverflowError):
        return reason
    for wrong, why in expected.slips:
        if not np.isclose(wrong, float(expected)) and np.isclose(mine, wrong, rtol=1e-6, atol=1e-9):
            return f"{reason}\n  hint: {why}"
    return reason


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
    id="losses.rmse_grad",
    kind="derive",
    reference=_rmse_grad,
    fixed=[
        (np.array([[0.735]]), np.array([[1.0]])),                      # one entry: sign(d) / 1
        (np.array([[1.0], [2.0], [3.0]]), np.array([[1.5], [2.0], [2.0]])),
        (np.array([[1.0, -1.0], [0.5, 2.0]]), np.array([[0.0, 0.0], [0.5, -2.0]])),  # D = 2
        (np.array([[3.0, 0.0, 1.0]]), np.array([[0.0, 0.0, 0.0]])),    # one row, n = D = 3
    ],
    random=_random_regression,
    arg_names=("pred", "target"),
    compare=_compare_with_slips,
))

register(Exercise(
    id="losses.huber",
    kind="transcribe",
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

def _compare_cross_entropy(expected, got):
    reason = _compare_hinge(expected, got)
    if reason is None or "hint:" in reason:
        return reason
    try:
        mine = float(got)
    except (TypeError, ValueError, OverflowError):
        return reason
    if not np.isfinite(mine):
        return (f"{reason}\n  hint: an unshifted e^z overflows at logits of 1000, and the log of "
                f"a probability that underflowed to 0 is -inf: use the log-sum-exp form")
    return reason


register(Exercise(
    id="losses.cross_entropy",
    kind="debug",
    reference=_cross_entropy_reference,
    compare=_compare_cross_entropy,
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
    kind="debug",
    reference=_hinge_reference,
    compare=_compare_hinge,
    fixed=[
        (np.array([[3.0, 1.0, -2.0]]), np.array([0])),                    # all margins met: 0
        (np.array([[3.0, 2.0, -2.0]]), np.array([0])),                    # margin exactly met
        (np.array([[1.0, 2.0, 3.0], [0.5, 0.5, 0.5]]), np.array([0, 1])),
        (np.array([[2.0, 5.0], [-1.0, 4.0], [0.0, 0.0]]), np.array([1, 0, 0])),
    ],
    random=lambda rng: _random_classification(rng, 2.0),
    arg_names=("scores", "labels"),
))


# --- the softmax Jacobian and the softmax + cross-entropy backward -----------------------------

def _softmax_jacobian(z):
    # row i of J_n is the vector-Jacobian product of softmax with the unit vector e_i
    y_hat = softmax(z, axis=1)
    n, k = y_hat.shape
    rows = np.broadcast_to(y_hat[:, None, :], (n, k, k))
    units = np.broadcast_to(np.eye(k), (n, k, k))
    return softmax_backward(rows, units, axis=-1)


def _softmax_ce_backward(z, y):
    loss = CrossEntropyLoss()
    loss(z, np.argmax(y, axis=1))
    return loss.backward()


def _close(a, b):
    return a.shape == b.shape and np.allclose(a, b, rtol=1e-6, atol=1e-9)


def _with_diagnosis(diagnoses):
    """A comparison that, when the answer is wrong, names the mistake it matches.

    diagnoses: a list of (expected -> what that mistake would return, the hint)."""
    def compare(expected, got):
        reason = _default_compare(expected, got, 1e-6, 1e-9)
        if reason is None:
            return None
        try:
            got_arr = np.asarray(got, dtype=float)
        except (TypeError, ValueError, OverflowError):
            return reason
        for mistake, hint in diagnoses:
            with np.errstate(all="ignore"):
                if _close(got_arr, mistake(expected)):
                    return f"{reason}\n  hint: {hint}"
        return reason
    return compare


_JACOBIAN_DIAGNOSES = [
    (lambda jac: jac * np.eye(jac.shape[-1]),
     "only the diagonal y_hat_i (1 - y_hat_i) is filled in; softmax is not elementwise (every "
     "output depends on every logit), so the off-diagonal entries are -y_hat_i y_hat_j"),
    (lambda jac: -jac, "the sign is flipped: J = diag(y_hat) - y_hat y_hat^T"),
]

_BACKWARD_DIAGNOSES = [
    (lambda g: g * g.shape[0], "this is N times the answer: the loss is the mean over the N "
                               "samples, so divide by N"),
    (lambda g: -g, "the sign is flipped: dL/dz = (y_hat - y) / N"),
    (lambda g: -g * g.shape[0], "the sign is flipped and the 1/N is missing"),
    (lambda g: g / g.shape[1], "this is the answer divided by K too: the mean runs over the N "
                               "samples, not over the N * K entries"),
    (lambda g: np.minimum(g, 0.0), "only the true class gets a gradient: that is the chain "
                                   "through the diagonal y_hat_i (1 - y_hat_i) of the Jacobian "
                                   "alone; the off-diagonal -y_hat_i y_hat_j entries give every "
                                   "other class its y_hat_j / N"),
]


def _random_logits(rng):
    n, k = int(rng.integers(1, 6)), int(rng.integers(2, 6))
    return (3.0 * rng.standard_normal((n, k)),)


def _random_one_hot(rng):
    n, k = int(rng.integers(2, 7)), int(rng.integers(2, 6))
    return 3.0 * rng.standard_normal((n, k)), np.eye(k)[rng.integers(0, k, size=n)]


register(Exercise(
    id="losses.softmax_jacobian",
    kind="transcribe",
    reference=_softmax_jacobian,
    fixed=[
        (np.array([[2.0, 1.0, 0.1]]),),
        (np.array([[0.0, 0.0, 0.0, 0.0]]),),                     # uniform: 1/K - 1/K^2, -1/K^2
        (np.array([[1.0, -1.0], [0.5, 2.0], [3.0, 3.0]]),),
        (np.array([[710.0, 709.0, 707.0]]),),                    # e^710 overflows: shift first
    ],
    random=_random_logits,
    arg_names=("z",),
    compare=_with_diagnosis(_JACOBIAN_DIAGNOSES),
))

def _backward_compare(expected, got):
    reason = _with_diagnosis(_BACKWARD_DIAGNOSES)(expected, got)
    if reason is None or "hint:" in reason:
        return reason
    try:
        got_arr = np.asarray(got, dtype=float)
    except (TypeError, ValueError, OverflowError):
        return reason
    if got_arr.shape == np.shape(expected) and not np.all(np.isfinite(got_arr)):
        return (f"{reason}\n  hint: nan or inf where the answer is finite: at large logits an "
                f"unshifted e^z overflows, and -y / y_hat is 0/0 where y_hat underflows; "
                f"subtract each row's maximum, and use y_hat - y, which needs no 1 / y_hat")
    return reason


register(Exercise(
    id="losses.softmax_cross_entropy_backward",
    kind="debug",
    reference=_softmax_ce_backward,
    fixed=[
        (np.array([[2.0, 1.0, 0.1], [0.5, 0.5, 3.0]]), np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])),
        (np.array([[0.0, 0.0], [1.0, -1.0], [2.0, 0.0], [-3.0, 1.0]]),
         np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]])),
        (np.array([[1000.0, 0.0, -1000.0], [1000.0, 0.0, -1000.0]]),     # y_hat_2 underflows to 0:
         np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])),                  # -y / y_hat is -inf there
    ],
    random=_random_one_hot,
    arg_names=("z", "y"),
    compare=_backward_compare,
))
