"""Chapter 7 exercises: optimizers.

optimizers.momentum_step       transcribe: (w, v, grad, lr, beta) -> (w, v), v = beta v + g;
                               w -= lr v
optimizers.stable_lr_factor    experiment: measure, by running SGD with momentum beta on a
                               quadratic, how far its largest stable learning rate lies above
                               plain gradient descent's (the finding: 1 + beta, not 1 / (1 - beta))
optimizers.step_lengths        predict: the step length / lr of AdaGrad and RMSProp under a
                               constant gradient at given steps t, before the chapter runs them
                               (AdaGrad's shrinks like 1/sqrt(t), RMSProp's starts 1/sqrt(1 - alpha)
                               times too long)
optimizers.adam_step           debug: the chapter hands over an Adam step whose second moment
                               decays with beta1 and which skips the bias correction; the fixed
                               step (w, m, v, grad, t, lr, b1, b2, eps) -> (w, m, v); the checker
                               names each planted bug that is still there

Every reference is a course_nn.optim optimizer driving a Parameter whose state (velocity,
averages, step count) is set to the inputs, so the checkers agree with the classes the
chapter trains with (and those agree with torch.optim, tests/test_optim.py). Fixed cases hold
the traps: a first step from zero state (bias correction matters most), tiny gradients (where
eps inside or outside the square root differs), negative gradients, beta = 0.
"""

import numpy as np

from ...module import Parameter
from ...optim import SGD, AdaGrad, Adam, RMSProp
from ..surfaces import Quadratic, ill_conditioned
from . import Exercise, _default_compare, _one_number, _show, register


def _compare_tuple(expected, got, rtol=1e-6, atol=1e-12):
    """The default comparison, accepting a list of results as well as a tuple."""
    if isinstance(got, list):
        got = tuple(got)
    return _default_compare(expected, got, rtol, atol)


def _param(w, grad):
    p = Parameter(np.array(w, dtype=np.float64))
    p.grad[...] = grad
    return p


def _shape(rng):
    return tuple(int(s) for s in rng.integers(1, 5, size=int(rng.integers(1, 3))))


# --- momentum -------------------------------------------------------------------------------

def _momentum_step(w, v, grad, lr, beta):
    p = _param(w, grad)
    if beta == 0:                       # plain SGD keeps no velocity: v_new = g
        SGD([p], lr=lr).step()
        return p.data, np.array(grad, dtype=np.float64)
    opt = SGD([p], lr=lr, momentum=beta)
    opt.state[0]["velocity"] = np.array(v, dtype=np.float64)
    opt.step()
    return p.data, opt.state[0]["velocity"]


def _random_momentum(rng):
    s = _shape(rng)
    return (rng.standard_normal(s), rng.standard_normal(s), rng.standard_normal(s),
            float(rng.choice([0.01, 0.1, 0.5])), float(rng.choice([0.5, 0.9, 0.99])))


register(Exercise(
    id="optimizers.momentum_step",
    kind="transcribe",
    reference=_momentum_step,
    fixed=[
        (np.array([1.0]), np.array([0.0]), np.array([2.0]), 0.1, 0.9),      # first step: v = g
        (np.array([1.0]), np.array([2.0]), np.array([2.0]), 0.1, 0.9),      # v = 0.9*2 + 2 = 3.8
        (np.array([0.5, -0.5]), np.array([1.0, -1.0]), np.array([0.0, 0.0]), 0.5, 0.9),  # coasting
        (np.array([0.5, -0.5]), np.array([1.0, -1.0]), np.array([0.3, 0.1]), 0.2, 0.0),  # beta = 0
        (np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[0.1, -0.2], [0.3, 0.0]]),
         np.array([[1.0, -1.0], [0.5, 2.0]]), 0.05, 0.5),
    ],
    random=_random_momentum,
    arg_names=("w", "v", "grad", "lr", "beta"),
    updates_in_place=("w", "v"),      # the parameter and the state, as torch.optim does
    compare=_compare_tuple,
))


# --- stable_lr_factor (experiment) ----------------------------------------------------------

STABLE_STEPS = 200
"""The exercise's rule: a run diverges if, after this many steps from surface.start, its value
is larger than at the start (or it left the ball of radius 1e6: run_optimizer stopped early)."""


def _diverged_many(surface, lrs, beta, steps=STABLE_STEPS):
    """The rule for many learning rates at once: one optim.SGD(lr=1, momentum=beta) drives a
    Parameter holding one copy of the start per learning rate, fed lr * gradient (with lr = 1
    the velocity is then lr times the velocity of the run at that lr, and so is every step)."""
    lrs = np.asarray(lrs, dtype=np.float64)
    p = Parameter(np.tile(surface.start, (len(lrs), 1)))
    opt = SGD([p], lr=1.0, momentum=beta) if beta > 0 else SGD([p], lr=1.0)
    out = np.zeros(len(lrs), dtype=bool)
    with np.errstate(all="ignore"):
        for _ in range(steps):
            opt.zero_grad()
            p.grad += lrs[:, None] * surface.grad(p.data)
            opt.step()
            left = ~np.all(np.abs(p.data) <= 1e6, axis=1)
            out |= left
            p.data[left] = surface.start          # parked: already counted as diverged
    return out | (surface.value(p.data) > surface.value(surface.start))


def _largest_stable_lr(surface, beta):
    """The first learning rate that diverges by the rule, on a grid over 0.5 / lam_max ..
    5 / lam_max, then on a grid between its neighbours: to about 1e-3 of 2 / lam_max."""
    lam = float(surface.eigenvalues()[-1])
    lo, hi = 0.5 / lam, 5.0 / lam
    for _ in range(2):
        lrs = np.linspace(lo, hi, 61)
        first = int(np.argmax(_diverged_many(surface, lrs, beta)))
        lo, hi = lrs[max(first - 1, 0)], lrs[first]
    return (lo + hi) / 2


class _Factor(float):
    """The measured factor, carrying the case's numbers for the checker's messages."""

    lr_gd = lr_beta = beta = None


def _stable_lr_factor(surface, beta):
    lr_gd, lr_beta = _largest_stable_lr(surface, 0.0), _largest_stable_lr(surface, beta)
    found = _Factor(lr_beta / lr_gd)
    found.lr_gd, found.lr_beta, found.beta = lr_gd, lr_beta, beta
    return found


STABLE_RTOL = 0.01
"""Relative tolerance on the factor: the rule's finite run moves the threshold by far less."""


def _compare_factor(expected, got):
    value = _one_number(got)
    if value is None:
        return f"expected one number (the ratio of two learning rates), got {_show(got)}"
    want = float(expected)
    if np.isfinite(value) and abs(value - want) <= STABLE_RTOL * want:
        return None
    beta = expected.beta
    reason = f"expected a factor of about {want:.4f} (within {STABLE_RTOL:.0%}), got {value:.6g}"
    if np.isclose(value, expected.lr_beta, rtol=STABLE_RTOL):
        return reason + (f": that is momentum's largest stable learning rate itself; divide it by "
                         f"gradient descent's ({expected.lr_gd:.4g}) on the same surface")
    if np.isclose(value, expected.lr_gd, rtol=STABLE_RTOL):
        return reason + ": that is gradient descent's largest stable learning rate, not a ratio"
    if np.isclose(value, 1.0, rtol=STABLE_RTOL):
        return reason + (": momentum does move the limit; did your runs pass momentum=beta to "
                         "optim.SGD?")
    if beta < 1 and np.isclose(value, 1 / (1 - beta), rtol=STABLE_RTOL):
        return reason + (": 1 / (1 - beta) is how much momentum speeds up a steady slope, not "
                         "where it becomes unstable; measure it")
    if value < want:
        return reason + (": runs a little above your momentum limit still converge by the rule "
                         f"(value after {STABLE_STEPS} steps not above the start)")
    return reason + (": runs a little below your momentum limit already diverge by the rule "
                     f"(value after {STABLE_STEPS} steps above the start)")


class _Valley(Quadratic):
    """A quadratic that prints as its name and eigenvalues (a failing input stays readable)."""

    def __init__(self, H, label):
        super().__init__(H)
        self._label = label

    def __repr__(self):
        return f"{self._label} (Hessian eigenvalues {_show(np.round(self.eigenvalues(), 6))})"


def _random_valley(rng):
    d = int(rng.integers(1, 4))
    Q = np.linalg.qr(rng.standard_normal((d, d)))[0]
    lam = np.sort(rng.uniform(0.5, 50.0, d))
    H = Q @ np.diag(lam) @ Q.T
    return (_Valley((H + H.T) / 2, f"a random quadratic in {d} weight{'s' if d > 1 else ''}"),
            float(rng.choice([0.1, 0.2, 0.5, 0.6, 0.8, 0.9])))


register(Exercise(
    id="optimizers.stable_lr_factor",
    kind="experiment",
    reference=_stable_lr_factor,
    fixed=[
        (_Valley(ill_conditioned(1.0, 20.0).H, "the chapter's valley"), 0.5),
        (_Valley(ill_conditioned(1.0, 20.0).H, "the chapter's valley"), 0.9),
        (_Valley(ill_conditioned(1.0, 100.0).H, "a valley with kappa = 100"), 0.3),
        (_Valley(np.diag([2.0, 5.0, 40.0]), "a bowl in three weights"), 0.7),
    ],
    random=_random_valley,
    n_random=16,
    arg_names=("surface", "beta"),
    compare=_compare_factor,
))


# --- step_lengths (predict) -------------------------------------------------------------------

def _step_lengths(alpha, ts):
    """|step t| / lr of AdaGrad (row 0) and RMSProp with this alpha (row 1) under the constant
    gradient 1, from zero state, at the steps t in ts (1-based): measured with course_nn.optim."""
    ts = np.asarray(ts, dtype=int)
    rows = []
    for cls, kwargs in ((AdaGrad, {}), (RMSProp, dict(alpha=alpha))):
        p = Parameter(np.zeros(1))
        opt = cls([p], lr=1e-3, **kwargs)
        steps = np.empty(int(ts.max()))
        for k in range(len(steps)):
            before = p.data[0]
            opt.zero_grad()
            p.grad += 1.0
            opt.step()
            steps[k] = (before - p.data[0]) / 1e-3
        rows.append(steps[ts - 1])
    return np.array(rows)


_ROWS = "row 0 AdaGrad, row 1 RMSProp"


def _compare_step_lengths(expected, got, alpha, ts):
    want = np.asarray(expected)
    try:
        mine = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return f"expected an array of shape {want.shape} ({_ROWS}), got {_show(got)}"
    if mine.shape != want.shape:
        return f"expected an array of shape {want.shape} ({_ROWS}), got shape {mine.shape}"
    t = np.asarray(ts, dtype=np.float64)
    slips = (
        (0, np.ones_like(t), "AdaGrad's sum G only grows: under a constant gradient G_t = t g^2"),
        (0, 1 / t, "the denominator is the square ROOT of the sum of squared gradients"),
        (1, np.ones_like(t), "the average s starts at 0, so after one step s = (1 - alpha) g^2, "
                             "much smaller than g^2: the first steps are too long"),
        (1, 1 / (1 - alpha**t), "the denominator is the square ROOT of the average s_t = (1 - alpha^t) g^2"),
        (1, np.full_like(t, 1 / np.sqrt(1 - alpha)), "only the first step is 1/sqrt(1 - alpha) long: s keeps "
                                                     "growing towards g^2"),
        (1, 1 / np.sqrt(t), "that is AdaGrad's sum; RMSProp's leaky average forgets, so its steps "
                            "do not shrink like 1/sqrt(t)"),
    )
    for row, name in ((0, "AdaGrad"), (1, f"RMSProp (alpha = {alpha:g})")):
        with np.errstate(all="ignore"):
            if np.allclose(mine[row], want[row], rtol=1e-3, atol=0):
                continue
        reason = (f"{name}, steps t = {_show(np.asarray(ts))}: course_nn measures "
                  f"{_show(np.round(want[row], 4))}, you predicted {_show(mine[row])}")
        for slip_row, wrong, why in slips:
            if slip_row == row and np.allclose(mine[row], wrong, rtol=1e-3):
                return f"{reason}\n  hint: {why}"
        return reason
    return None


class _Lengths(np.ndarray):
    alpha = ts = None


def _step_lengths_reference(alpha, ts):
    found = _step_lengths(alpha, ts).view(_Lengths)
    found.alpha, found.ts = alpha, ts
    return found


register(Exercise(
    id="optimizers.step_lengths",
    kind="predict",
    reference=_step_lengths_reference,
    fixed=[
        (0.99, (1, 10, 100, 1000)),           # the chapter's alpha
        (0.9, (1, 2, 5, 50)),
        (0.5, (1, 3, 4, 20)),
        (0.999, (1, 30, 300)),
    ],
    random=lambda rng: (float(rng.choice([0.8, 0.9, 0.95, 0.99])),
                        tuple(int(t) for t in np.sort(rng.choice(np.arange(1, 200), 3, replace=False)))),
    n_random=16,
    arg_names=("alpha", "ts"),
    compare=lambda expected, got: _compare_step_lengths(expected, got, expected.alpha, expected.ts),
))


# --- adam_step (debug) ------------------------------------------------------------------------

def _random_adam(rng):
    s = _shape(rng)
    t = int(rng.choice([1, 2, 3, 5, 10, 50, 1000]))
    return (rng.standard_normal(s), 0.3 * rng.standard_normal(s), rng.uniform(0.0, 0.5, s),
            rng.standard_normal(s), t, float(rng.choice([0.001, 0.01, 0.1])),
            float(rng.choice([0.9, 0.8])), float(rng.choice([0.999, 0.99])), 1e-8)



def _adam_step(w, m, v, grad, t, lr, b1, b2, eps):
    p = _param(w, grad)
    opt = Adam([p], lr=lr, betas=(b1, b2), eps=eps)
    opt.state[0]["m"] = np.array(m, dtype=np.float64)
    opt.state[0]["v"] = np.array(v, dtype=np.float64)
    opt.state[0]["step"] = int(t) - 1   # step() counts this step as number t
    opt.step()
    return p.data, opt.state[0]["m"], opt.state[0]["v"]


def _adam_variant(w, m, v, grad, t, lr, b1, b2, eps, *, v_beta=None, correct=True, t_shift=0,
                  eps_inside=False):
    """Adam written out, with the chapter's planted bugs (and two more slips) as switches."""
    b_v = b2 if v_beta is None else v_beta
    m = b1 * m + (1 - b1) * grad
    v = b_v * v + (1 - b_v) * grad**2
    tt = t + t_shift
    m_hat = m / (1 - b1**tt) if correct else m
    v_hat = v / (1 - (b_v if correct == "own beta" else b2)**tt) if correct else v
    with np.errstate(all="ignore"):
        denom = np.sqrt(v_hat + eps) if eps_inside else np.sqrt(v_hat) + eps
        return w - lr * m_hat / denom, m, v


class _Step(tuple):
    """The reference's (w, m, v), carrying what each recognized bug would have returned."""

    variants = ()


_ADAM_BUGS = (
    ("nothing is fixed yet: the second moment v still decays with beta1 (it must use beta2), "
     "and there is no bias correction", dict(v_beta="b1", correct=False)),
    ("the second moment v decays with beta1; its average uses beta2: v = beta2 v + (1 - beta2) g^2",
     dict(v_beta="b1")),
    ("the second moment v decays with beta1; its average uses beta2: v = beta2 v + (1 - beta2) g^2",
     dict(v_beta="b1", correct="own beta")),
    ("the bias correction is missing: the step uses m / (1 - beta1^t) and v / (1 - beta2^t)",
     dict(correct=False)),
    ("the bias correction uses t - 1; the first step is t = 1", dict(t_shift=-1)),
    ("the bias correction uses t + 1; this is step number t", dict(t_shift=1)),
    ("eps belongs outside the square root: sqrt(v_hat) + eps", dict(eps_inside=True)),
)


def _adam_reference(w, m, v, grad, t, lr, b1, b2, eps):
    found = _Step(_adam_step(w, m, v, grad, t, lr, b1, b2, eps))
    variants = []
    for why, switches in _ADAM_BUGS:
        if switches.get("t_shift") == -1 and t == 1:
            continue                                   # 1 - beta^0 = 0: no number to compare
        switches = dict(switches)
        if switches.get("v_beta") == "b1":
            switches["v_beta"] = b1
        variants.append((why, _adam_variant(w, m, v, grad, t, lr, b1, b2, eps, **switches)))
    found.variants = tuple(variants)
    return found


def _compare_adam(expected, got):
    reason = _compare_tuple(tuple(expected), got)
    if reason is None:
        return None
    if isinstance(got, list):
        got = tuple(got)
    for why, wrong in getattr(expected, "variants", ()):
        if (_compare_tuple(wrong, tuple(expected)) is not None
                and _compare_tuple(wrong, got) is None):
            return f"{reason}\n  hint: {why}"
    return reason


register(Exercise(
    id="optimizers.adam_step",
    kind="debug",
    reference=_adam_reference,
    fixed=[
        (np.array([1.0]), np.array([0.0]), np.array([0.0]), np.array([2.0]), 1,
         0.1, 0.9, 0.999, 1e-8),                                   # first step moves by ~lr
        (np.array([1.0, -1.0]), np.array([0.0, 0.0]), np.array([0.0, 0.0]),
         np.array([-0.5, 3.0]), 1, 0.01, 0.9, 0.999, 1e-8),        # negative g, zero state
        (np.array([1.0]), np.array([0.19]), np.array([0.0039]), np.array([2.0]), 2,
         0.1, 0.9, 0.999, 1e-8),
        (np.array([1.0, 1.0]), np.array([0.0, 0.0]), np.array([0.0, 0.0]),
         np.array([1e-9, -1e-9]), 1, 0.1, 0.9, 0.999, 1e-8),      # tiny g: eps dominates
        (np.array([[0.5, -0.5], [2.0, 0.0]]), np.array([[0.1, -0.2], [0.0, 0.3]]),
         np.array([[0.01, 0.04], [0.0, 0.09]]), np.array([[1.0, -2.0], [0.5, -0.1]]), 10,
         0.001, 0.9, 0.999, 1e-8),
    ],
    random=_random_adam,
    arg_names=("w", "m", "v", "grad", "t", "lr", "beta1", "beta2", "eps"),
    updates_in_place=("w", "m", "v"),      # the parameter and the state, as torch.optim does
    compare=_compare_adam,
))
