"""Chapter 12 (generalization and regularization): every exercise checker accepts a
plain-numpy solution and rejects the typical wrong answers (weight decay under momentum
predicted as plain SGD's factor or with lam w instead of 2 lam w, no
1 / (1 - p) rescaling, the wrong shift direction, np.roll's wrap-around, an off-by-one
patience, ties counted as improvements, peeking at future epochs, batch norm's mean and
variance held constant or the unbiased variance, a dropout backward that re-draws its mask or
forgets the 1 / (1 - p)); both backward answers are also checked by central differences.

IDS, SOLUTIONS and WRONG feed the checks every exercise gets, in tests/test_exercises.py
(registered, reference and solutions pass, each wrong answer rejected).
"""

import numpy as np
from exercise_helpers import rejected

import course_nn as nn
from course_nn.lab.exercises import exercises
from course_nn.lab.generalization import BASELINE, digits_task, train_setup
from course_nn.train import fit

IDS = ("regularization.momentum_decay", "regularization.dropout_moments",
       "regularization.shift_image", "regularization.early_stopping_epoch",
       "regularization.batchnorm_backward", "regularization.dropout_backward")


# --- plain-numpy solutions, as a learner would write them ---------------------------------

def momentum_decay(eta, lam, momentum, steps):
    w, v = 1.0, None
    for _ in range(steps):
        g = 2 * lam * w                       # the data gradient is 0: only the penalty's
        v = g if v is None else momentum * v + g
        w = w - eta * v
    return w


def dropout_moments(x, p):
    # o = x / (1 - p) with probability 1 - p, else 0
    mean = x
    variance = (1 - p) * (x / (1 - p)) ** 2 - x ** 2      # E[o^2] - E[o]^2 = x^2 p / (1 - p)
    return mean, variance


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


def batchnorm_backward(x, gamma, grad_out, eps):
    m = x.shape[0]
    sigma = np.sqrt(x.var(axis=0) + eps)
    x_hat = (x - x.mean(axis=0)) / sigma
    dgamma = np.sum(grad_out * x_hat, axis=0)
    dbeta = np.sum(grad_out, axis=0)
    dx = gamma / (m * sigma) * (m * grad_out - dbeta - x_hat * dgamma)
    return dx, dgamma, dbeta


def batchnorm_backward_staged(x, gamma, grad_out, eps):
    """Node by node through the graph x -> mu, var -> x_hat -> gamma x_hat + beta."""
    m = x.shape[0]
    mu = x.mean(axis=0)
    xc = x - mu
    var = np.mean(xc**2, axis=0)
    inv_sigma = 1.0 / np.sqrt(var + eps)
    x_hat = xc * inv_sigma
    dx_hat = grad_out * gamma
    dvar = np.sum(dx_hat * xc, axis=0) * -0.5 * inv_sigma**3
    dmu = -np.sum(dx_hat * inv_sigma, axis=0) + dvar * np.mean(-2.0 * xc, axis=0)
    dx = dx_hat * inv_sigma + dvar * 2.0 * xc / m + dmu / m
    return [dx, np.sum(grad_out * x_hat, axis=0), grad_out.sum(axis=0)]   # a list is fine too


class BuggyDropout:
    """The chapter's layer: forward right, backward with two bugs."""

    def __init__(self, p, rng):
        self.p, self.rng = p, rng

    def forward(self, x):
        self.keep = self.rng.random(x.shape) >= self.p
        return x * self.keep / (1.0 - self.p)

    def backward(self, grad_out):
        keep = self.rng.random(grad_out.shape) >= self.p     # bug: a new mask
        return grad_out * keep                               # bug: no 1 / (1 - p)


class FixedDropout(BuggyDropout):
    def backward(self, grad_out):
        return grad_out * self.keep / (1.0 - self.p)


def _run(layer_class):
    def dropout_forward_backward(x, grad_out, p, seed):
        layer = layer_class(p, np.random.default_rng(seed))
        return layer.forward(x), layer.backward(grad_out)
    return dropout_forward_backward


class _FixedMaskOnly(BuggyDropout):
    def backward(self, grad_out):
        return grad_out * self.keep


class _FixedScaleOnly(BuggyDropout):
    def backward(self, grad_out):
        keep = self.rng.random(grad_out.shape) >= self.p
        return grad_out * keep / (1.0 - self.p)


class _TimesOneMinusP(BuggyDropout):
    def backward(self, grad_out):
        return grad_out * self.keep * (1.0 - self.p)


class _Identity(BuggyDropout):
    def backward(self, grad_out):
        return grad_out


class _ByTheOutput(BuggyDropout):
    def forward(self, x):
        self.out = super().forward(x)
        return self.out

    def backward(self, grad_out):
        return grad_out * self.out          # d(x m / (1 - p))/dx is not the output


SOLUTIONS = dict(zip(IDS, (momentum_decay, dropout_moments, shift_image, early_stopping_epoch,
                           [batchnorm_backward, batchnorm_backward_staged],
                           _run(FixedDropout))))


# --- wrong answers ----------------------------------------------------------------------

def _roll(img, dx, dy):
    return np.roll(np.roll(img, dy, axis=0), dx, axis=1)


def _peeks_ahead(val_losses, patience):
    _, last = early_stopping_epoch(val_losses, patience)
    return int(np.argmin(val_losses)), last


def _stops_at_best(val_losses, patience):
    best, _ = early_stopping_epoch(val_losses, patience)
    return best, best


def _lagging(eta, lam, momentum, steps):
    w, v = 1.0, 0.0
    for _ in range(steps):
        w, v = w - eta * v, momentum * v + 2 * lam * w
    return w


def _velocity(eta, lam, momentum, steps):
    w, v = 1.0, None
    for _ in range(steps):
        g = 2 * lam * w
        v = g if v is None else momentum * v + g
        w = w - eta * v
    return v


def _one_based(val_losses, patience):
    best, last = early_stopping_epoch(val_losses, patience)
    return best + 1, last + 1


WRONG = {
    "regularization.momentum_decay": {
        "plain SGD's (1 - 2 eta lam)^T": lambda e, lam, m, t: (1 - 2 * e * lam) ** t,
        "effective rate eta / (1 - momentum) from the first step":
            lambda e, lam, m, t: (1 - 2 * e * lam / (1 - m)) ** t,
        "lam w (the lam/2 convention)": lambda e, lam, m, t: momentum_decay(e, lam / 2, m, t),
        "one step too many": lambda e, lam, m, t: momentum_decay(e, lam, m, t + 1),
        "one step too few": lambda e, lam, m, t: momentum_decay(e, lam, m, t - 1),
        "the velocity starts at 0 and the update uses the old one":
            lambda e, lam, m, t: _lagging(e, lam, m, t),
        "the factor of the velocity, not of the weight": lambda e, lam, m, t: _velocity(e, lam, m, t),
    },
    "regularization.dropout_moments": {
        "second moment, not the variance": lambda x, p: (x, x ** 2 / (1 - p)),
        "Bernoulli variance without the scale": lambda x, p: (x, x ** 2 * p * (1 - p)),
        "the standard deviation": lambda x, p: (x, np.abs(x) * np.sqrt(p / (1 - p))),
        "mean without the scale": lambda x, p: ((1 - p) * x, x ** 2 * p / (1 - p)),
        "variance x^2 p": lambda x, p: (x, x ** 2 * p),
        "no noise at all": lambda x, p: (x, np.zeros_like(x)),
        "(variance, mean) swapped": lambda x, p: (x ** 2 * p / (1 - p), x),
    },
    "regularization.shift_image": {
        "the chapter's buggy shift": lambda img, dx, dy: np.roll(np.roll(img, dx, axis=0), dy, axis=1),
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


def _bn_constants(x, gamma, g, eps):
    """mu and sigma treated as constants: dx = gamma g / sigma."""
    _, dgamma, dbeta = batchnorm_backward(x, gamma, g, eps)
    return gamma * g / np.sqrt(x.var(axis=0) + eps), dgamma, dbeta


def _bn_no_variance_path(x, gamma, g, eps):
    _, dgamma, dbeta = batchnorm_backward(x, gamma, g, eps)
    return gamma / np.sqrt(x.var(axis=0) + eps) * (g - g.mean(axis=0)), dgamma, dbeta


def _bn_unbiased(x, gamma, g, eps):
    m = x.shape[0]
    sigma = np.sqrt(x.var(axis=0, ddof=1) + eps)
    x_hat = (x - x.mean(axis=0)) / sigma
    dgamma, dbeta = np.sum(g * x_hat, axis=0), g.sum(axis=0)
    return gamma / (m * sigma) * (m * g - dbeta - x_hat * dgamma), dgamma, dbeta


def _bn_no_eps(x, gamma, g, eps):
    return batchnorm_backward(x, gamma, g, 0.0) if np.all(x.var(axis=0) > 0) else \
        batchnorm_backward(x, gamma, g, 1e-300)


def _bn_forgot_gamma(x, gamma, g, eps):
    dx, dgamma, dbeta = batchnorm_backward(x, gamma, g, eps)
    return dx / gamma, dgamma, dbeta


def _bn_swapped(x, gamma, g, eps):
    dx, dgamma, dbeta = batchnorm_backward(x, gamma, g, eps)
    return dx, dbeta, dgamma


WRONG["regularization.batchnorm_backward"] = {
    "mu and sigma as constants (dx = gamma g / sigma)": _bn_constants,
    "no variance path": _bn_no_variance_path,
    "unbiased variance (ddof=1)": _bn_unbiased,
    "eps left out": _bn_no_eps,
    "gamma left out of dx": _bn_forgot_gamma,
    "dgamma and dbeta swapped": _bn_swapped,
}
WRONG["regularization.dropout_backward"] = {
    "the buggy layer as given": _run(BuggyDropout),
    "mask fixed, rescale still missing": _run(_FixedMaskOnly),
    "rescale fixed, mask still re-drawn": _run(_FixedScaleOnly),
    "times (1 - p) instead of divided": _run(_TimesOneMinusP),
    "gradient passed through unchanged": _run(_Identity),
    "multiplied by the output": _run(_ByTheOutput),
}


def test_batchnorm_constants_mistake_gets_the_column_sum_hint():
    rejected("regularization.batchnorm_backward", _bn_constants, "result 0",
             "each column of dx must sum to 0")
    result = rejected("regularization.batchnorm_backward", _bn_swapped, "result 1")
    assert "hint" not in result.message


def test_dropout_backward_hints_name_the_bug():
    rejected("regularization.dropout_backward", _run(_FixedScaleOnly), "result 1",
             "reuse the forward's mask")
    rejected("regularization.dropout_backward", _run(_FixedMaskOnly), "result 1",
             "0.5 times the right one")
    rejected("regularization.dropout_backward", _run(_TimesOneMinusP), "0.25 times the right one")


def test_backward_solutions_agree_with_numerical_gradients():
    """Both exercises' answers are gradients: check them by central differences too."""
    rng = np.random.default_rng(5)
    x, gamma, g, eps = rng.normal(1.0, 2.0, (5, 3)), rng.uniform(-2, 2, 3), \
        rng.standard_normal((5, 3)), 1e-3
    dx, dgamma, dbeta = batchnorm_backward(x, gamma, g, eps)

    def bn_loss(v, gam=gamma, beta=0.0):
        x_hat = (v - v.mean(axis=0)) / np.sqrt(v.var(axis=0) + eps)
        return float(np.sum((gam * x_hat + beta) * g))

    assert nn.rel_error(dx, nn.numerical_gradient(bn_loss, x.copy())) < 1e-7
    assert nn.rel_error(dgamma, nn.numerical_gradient(lambda gm: bn_loss(x, gam=gm),
                                                      gamma.copy())) < 1e-7
    assert nn.rel_error(dbeta, nn.numerical_gradient(lambda b: bn_loss(x, beta=b),
                                                     np.zeros(3))) < 1e-7
    # dropout with the mask of seed 3 held fixed is linear: its gradient is mask / (1 - p)
    x, grad_out, p = rng.standard_normal((4, 6)), rng.standard_normal((4, 6)), 0.25
    _, dx = SOLUTIONS["regularization.dropout_backward"](x, grad_out, p, 3)
    keep = np.random.default_rng(3).random(x.shape) >= p
    numeric = nn.numerical_gradient(lambda v: float(np.sum(v * keep / (1 - p) * grad_out)),
                                    x.copy())
    assert nn.rel_error(dx, numeric) < 1e-7


def test_batchnorm_reference_is_course_nn_in_training_mode():
    x, gamma, g, eps = exercises()["regularization.batchnorm_backward"].fixed[0]
    bn = nn.BatchNorm1d(2, eps=eps)
    bn.weight.data[...] = gamma
    out = bn(x)
    np.testing.assert_allclose(out.mean(axis=0), 0.0, atol=1e-12)   # batch statistics used
    dx, dgamma, dbeta = exercises()["regularization.batchnorm_backward"].reference(x, gamma, g, eps)
    np.testing.assert_allclose(dx, bn.backward(g), rtol=1e-12)


def test_the_fixed_shift_cases_alone_catch_the_direction():
    ex = exercises()["regularization.shift_image"]
    wrong = WRONG["regularization.shift_image"]["wrong direction"]
    assert any(not np.array_equal(wrong(*args), ex.reference(*args)) for args in ex.fixed[:3])


# --- the references agree with course_nn's layers and training loop -------------------------

def test_momentum_decay_reference_is_what_training_does_to_a_weight_without_data_gradient():
    """The reference against course_nn's fit: the first-layer weights of the pixels that are 0
    in every training image shrink by exactly the reference's factor under SGD with momentum."""
    task = digits_task(200, seed=0)
    dead = np.flatnonzero(np.all(task.train[0] == 0, axis=0))
    assert dead.size > 0
    net = nn.Sequential(nn.Linear(64, 16, rng=np.random.default_rng(0)), nn.ReLU(),
                        nn.Linear(16, 10, rng=np.random.default_rng(1)))
    w0 = net[0].weight.data[:, dead].copy()
    fit(net, nn.CrossEntropyLoss(), nn.optim.SGD(net.parameters(), lr=0.05, momentum=0.9),
        task.train, epochs=3, batch_size=32, rng=np.random.default_rng(1),
        penalty=nn.L2Penalty(1e-2), penalty_params=nn.weights_only(net), progress=False)
    factor = exercises()["regularization.momentum_decay"].reference(0.05, 1e-2, 0.9, 3 * 7)
    np.testing.assert_allclose(net[0].weight.data[:, dead] / w0, factor, rtol=1e-12)
    assert factor < (1 - 2 * 0.05 * 1e-2) ** 21            # momentum decays faster


def test_momentum_decay_names_the_slips():
    wrong = WRONG["regularization.momentum_decay"]
    rejected("regularization.momentum_decay", wrong["plain SGD's (1 - 2 eta lam)^T"], "plain SGD's")
    rejected("regularization.momentum_decay",
             wrong["effective rate eta / (1 - momentum) from the first step"], "already built up")
    rejected("regularization.momentum_decay", wrong["lam w (the lam/2 convention)"], "not lam w")
    rejected("regularization.momentum_decay", wrong["one step too many"], "one step too many")
    rejected("regularization.momentum_decay", wrong["one step too few"], "one step too few")


def test_dropout_moments_reference_equals_course_nn_dropout():
    """The exact moments against 400,000 draws of course_nn.Dropout in training mode, within
    five standard errors; and the slips the checker names."""
    from course_nn.lab.exercises import evaluate

    ref = exercises()["regularization.dropout_moments"].reference
    for x_val, p in ((1.0, 0.5), (-2.0, 0.2), (0.7, 0.9)):
        out = nn.Dropout(p, rng=np.random.default_rng(7))(np.full((400_000, 1), x_val))
        mean, var = (float(v[0]) for v in ref(np.array([x_val]), p))
        assert abs(out.mean() - mean) < 5 * np.sqrt(var / out.size)
        fourth = (1 - p) * (x_val / (1 - p)) ** 4
        assert abs(out.var() - var) < 5 * np.sqrt((fourth - (var + mean ** 2) ** 2) / out.size)
    wrong = WRONG["regularization.dropout_moments"]
    assert "second moment" in evaluate("regularization.dropout_moments",
                                       wrong["second moment, not the variance"]).message
    assert "standard deviation" in evaluate("regularization.dropout_moments",
                                            wrong["the standard deviation"]).message
    assert "without the 1 / (1 - p)" in evaluate(
        "regularization.dropout_moments", wrong["Bernoulli variance without the scale"]).message


def test_early_stopping_reference_agrees_with_a_real_fit():
    """On an actual early-stopped run the reference replays History exactly."""
    run = train_setup(BASELINE.but(patience=5, epochs=40), digits_task(100, 0.2), seed=0)
    best, last = exercises()["regularization.early_stopping_epoch"].reference(run.history.val_loss, 5)
    assert run.history.stopped_early
    assert (best, last) == (run.history.best_epoch, run.history.epochs - 1)


def test_shift_debug_names_the_bugs():
    from course_nn.lab.exercises import evaluate

    wrong = WRONG["regularization.shift_image"]
    msg = evaluate("regularization.shift_image", wrong["the chapter's buggy shift"]).message
    assert "wraps around" in msg and "dx moves the rows" in msg
    msg = evaluate("regularization.shift_image", wrong["dx and dy swapped"]).message
    assert "dx moves the rows" in msg and "wraps" not in msg
    msg = evaluate("regularization.shift_image", wrong["np.roll wraps around"]).message
    assert "wraps around" in msg and "dx moves the rows" not in msg


def buggy_early_stopping_epoch(val_losses, patience):   # the chapter's debug exercise
    best_loss, best_epoch, waited = np.inf, 0, 0
    for epoch, loss in enumerate(val_losses):
        if loss <= best_loss:
            best_loss, best_epoch, waited = loss, epoch, 0
        else:
            waited += 1
            if waited > patience:
                return best_epoch, epoch
    return best_epoch, len(val_losses) - 1


WRONG["regularization.early_stopping_epoch"]["the chapter's buggy version"] = buggy_early_stopping_epoch


def test_early_stopping_debug_names_the_bugs():
    from course_nn.lab.exercises import evaluate

    msg = evaluate("regularization.early_stopping_epoch", buggy_early_stopping_epoch).message
    assert "one epoch too many" in msg

    def patience_fixed(val_losses, patience):     # still counts ties as improvements
        best_loss, best_epoch, waited = np.inf, 0, 0
        for epoch, loss in enumerate(val_losses):
            if loss <= best_loss:
                best_loss, best_epoch, waited = loss, epoch, 0
            else:
                waited += 1
                if waited >= patience:
                    return best_epoch, epoch
        return best_epoch, len(val_losses) - 1

    msg = evaluate("regularization.early_stopping_epoch", patience_fixed).message
    assert "a tie counts as an improvement" in msg and "one epoch too many" not in msg
