"""Chapter 7 (optimizers): every exercise checker accepts a plain-numpy solution and rejects
the typical wrong answers (momentum with the wrong sign; a stable-learning-rate factor guessed
as 1 / (1 - beta) or given as a learning rate; RMSProp's start-up bias forgotten in a
prediction; the chapter's broken Adam step fixed only halfway, ...), naming the slip.

IDS, SOLUTIONS and WRONG feed the checks every exercise gets, in tests/test_exercises.py
(registered, reference and solutions pass, each wrong answer rejected).
"""

import math

import numpy as np
import pytest

from course_nn import optim
from course_nn.lab import surfaces
from course_nn.lab.exercises import evaluate

IDS = ("optimizers.momentum_step", "optimizers.stable_lr_factor", "optimizers.step_lengths",
       "optimizers.adam_step")


# --- plain-numpy solutions, as a learner would write them ---------------------------------

def momentum_step(w, v, grad, lr, beta):
    v = beta * v + grad
    return w - lr * v, v


def _bisect_stable_factor(surface, beta, diverges):
    """Largest stable rate with momentum beta over that of plain GD, each bisected between
    1 / lam_max and 4 / lam_max with the rule ``diverges(lr, b)``."""
    lam_max = np.linalg.eigvalsh(surface.H)[-1]

    def largest_stable_lr(b):
        lo, hi = 1 / lam_max, 4 / lam_max
        while hi - lo > 1e-3 * lo:
            mid = (lo + hi) / 2
            lo, hi = (lo, mid) if diverges(mid, b) else (mid, hi)
        return (lo + hi) / 2

    return largest_stable_lr(beta) / largest_stable_lr(0.0)


def stable_lr_factor(surface, beta):
    """The notebook's solution: bisect the rule (value after 200 steps above the start, or
    outside the ball of radius 1e6) between 1 / lam_max and 4 / lam_max, for beta and for plain
    GD, with the update rule written out in numpy (a run of course_nn.optim costs more)."""
    f0 = surface.value(surface.start)

    def diverges(lr, b):
        w, v = surface.start.copy(), np.zeros_like(surface.start)
        for _ in range(200):
            v = b * v + surface.grad(w)
            w = w - lr * v
            if np.abs(w).max() > 1e6:
                return True
        return surface.value(w) > f0

    return _bisect_stable_factor(surface, beta, diverges)


def stable_lr_factor_with_course_nn(surface, beta):
    """The same measurement with surfaces.run_optimizer and optim.SGD, as the chapter runs it."""
    def diverges(lr, b):
        path = surfaces.run_optimizer(optim.SGD, surface.start, 200, surface=surface, lr=lr, momentum=b)
        return len(path) < 201 or surface.value(path[-1]) > surface.value(surface.start)

    return _bisect_stable_factor(surface, beta, diverges)


def step_lengths(alpha, ts):
    t = np.asarray(ts, dtype=float)
    return np.array([1 / np.sqrt(t), 1 / np.sqrt(1 - alpha**t)])


def adam_step(w, m, v, grad, t, lr, b1, b2, eps):
    m = b1 * m + (1 - b1) * grad
    v = b2 * v + (1 - b2) * grad**2
    m_hat = m / (1 - b1**t)
    v_hat = v / (1 - b2**t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


def chapter_broken_adam_step(w, m, v, grad, t, lr, beta1, beta2, eps):
    """The broken step the chapter hands over (its learner cell, verbatim)."""
    m_new = beta1 * m + (1 - beta1) * grad
    v_new = beta1 * v + (1 - beta1) * grad**2
    return w - lr * m_new / (np.sqrt(v_new) + eps), m_new, v_new


SOLUTIONS = {
    "optimizers.momentum_step": momentum_step,
    "optimizers.stable_lr_factor": (stable_lr_factor, stable_lr_factor_with_course_nn),
    "optimizers.step_lengths": step_lengths,
    "optimizers.adam_step": adam_step,
}


def test_list_results_and_in_place_updates_are_accepted():
    assert evaluate("optimizers.momentum_step",
                    lambda w, v, g, lr, b: list(momentum_step(w, v, g, lr, b))).passed

    def in_place(w, m, v, grad, t, lr, b1, b2, eps):
        m *= b1
        m += (1 - b1) * grad
        v *= b2
        v += (1 - b2) * grad * grad
        w -= lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
        return w, m, v

    assert evaluate("optimizers.adam_step", in_place).passed


def test_pytorch_form_of_the_adam_denominator_is_accepted():
    """torch divides sqrt(v) by sqrt(1 - b2^t) before adding eps: the same formula."""
    def torch_form(w, m, v, grad, t, lr, b1, b2, eps):
        m = b1 * m + (1 - b1) * grad
        v = b2 * v + (1 - b2) * grad**2
        step = lr / (1 - b1**t)
        return w - step * m / (np.sqrt(v) / np.sqrt(1 - b2**t) + eps), m, v

    assert evaluate("optimizers.adam_step", torch_form).passed


def test_the_theory_of_the_stable_learning_rate_is_accepted():
    """A learner who knows 2 (1 + beta) / lam_max may return 1 + beta: the measurement agrees."""
    assert evaluate("optimizers.stable_lr_factor", lambda surface, beta: 1 + beta).passed


# --- wrong answers ----------------------------------------------------------------------

def _adam(w, m, v, grad, t, lr, b1, b2, eps, *, correct=True, square=True, t_shift=0,
          eps_inside=False, return_hats=False, v_first=False, v_beta=None):
    bv = b2 if v_beta is None else b1
    m = b1 * m + (1 - b1) * grad
    v = bv * v + (1 - bv) * (grad**2 if square else grad)
    tt = t + t_shift
    m_hat = m / (1 - b1**tt) if correct else m
    v_hat = v / (1 - b2**tt) if correct else v
    denom = np.sqrt(v_hat + eps) if eps_inside else np.sqrt(v_hat) + eps
    w = w - lr * m_hat / denom
    if return_hats:
        return w, m_hat, v_hat
    if v_first:
        return w, v, m
    return w, m, v


def _lengths(adagrad, rmsprop):
    def predict(alpha, ts):
        t = np.asarray(ts, dtype=float)
        return np.array([adagrad(t, alpha), rmsprop(t, alpha)])
    return predict


def _right_adagrad(t, a):
    return 1 / np.sqrt(t)


def _right_rmsprop(t, a):
    return 1 / np.sqrt(1 - a**t)


WRONG = {
    "optimizers.momentum_step": {
        "momentum sign wrong (w + lr v)":
            lambda w, v, g, lr, b: (w + lr * (b * v + g), b * v + g),
        "v = beta v - g":
            lambda w, v, g, lr, b: (w + lr * (b * v - g), b * v - g),
        "dampened: v = beta v + (1 - beta) g":
            lambda w, v, g, lr, b: (w - lr * (b * v + (1 - b) * g), b * v + (1 - b) * g),
        "updates w with the old v":
            lambda w, v, g, lr, b: (w - lr * v, b * v + g),
        "heavy-ball form v = beta v - lr g (returns a different v)":
            lambda w, v, g, lr, b: (w + (b * v - lr * g), b * v - lr * g),
        "no momentum at all": lambda w, v, g, lr, b: (w - lr * g, g),
    },
    "optimizers.stable_lr_factor": {
        "guessed 1 / (1 - beta), the top-speed factor": lambda surface, beta: 1 / (1 - beta),
        "guessed that momentum changes nothing": lambda surface, beta: 1.0,
        "returns momentum's learning rate, not the ratio":
            lambda surface, beta: 2 * (1 + beta) / np.linalg.eigvalsh(surface.H)[-1],
        "the ratio upside down": lambda surface, beta: 1 / (1 + beta),
        "2 (1 + beta), the threshold of lr * lam_max": lambda surface, beta: 2 * (1 + beta),
    },
    "optimizers.step_lengths": {
        "RMSProp predicted at one lr from the start":
            _lengths(_right_adagrad, lambda t, a: np.ones_like(t)),
        "RMSProp without the square root": _lengths(_right_adagrad, lambda t, a: 1 / (1 - a**t)),
        "RMSProp's first step for every step":
            _lengths(_right_adagrad, lambda t, a: np.full_like(t, 1 / np.sqrt(1 - a))),
        "RMSProp predicted like AdaGrad": _lengths(_right_adagrad, lambda t, a: 1 / np.sqrt(t)),
        "AdaGrad predicted at one lr": _lengths(lambda t, a: np.ones_like(t), _right_rmsprop),
        "AdaGrad without the square root": _lengths(lambda t, a: 1 / t, _right_rmsprop),
        "rows swapped": _lengths(_right_rmsprop, _right_adagrad),
        "a list of two rows of the wrong length": lambda alpha, ts: [[1.0], [10.0]],
    },
    "optimizers.adam_step": {
        "the chapter's broken step, unchanged": chapter_broken_adam_step,
        "only the bias correction fixed (v still decays with beta1)":
            lambda *a: _adam(*a, v_beta="b1"),
        "only beta2 fixed (no bias correction)": lambda *a: _adam(*a, correct=False),
        "v updated with g, not g^2": lambda *a: _adam(*a, square=False),
        "bias correction with t - 1": lambda *a: _adam(*a, t_shift=-1),
        "bias correction with t + 1": lambda *a: _adam(*a, t_shift=1),
        "eps inside the square root": lambda *a: _adam(*a, eps_inside=True),
        "returns the corrected m_hat, v_hat as state": lambda *a: _adam(*a, return_hats=True),
        "returns (w, v, m)": lambda *a: _adam(*a, v_first=True),
    },
}

ADAM_WRONG = WRONG["optimizers.adam_step"]


def test_missing_bias_correction_fails_on_the_first_step():
    msg = evaluate("optimizers.adam_step", ADAM_WRONG["only beta2 fixed (no bias correction)"]).message
    assert "t = 1" in msg
    assert "hint: the bias correction is missing" in msg


def test_each_planted_adam_bug_is_named():
    msg = evaluate("optimizers.adam_step", chapter_broken_adam_step).message
    assert "hint: nothing is fixed yet" in msg
    msg = evaluate("optimizers.adam_step",
                   ADAM_WRONG["only the bias correction fixed (v still decays with beta1)"]).message
    assert "hint: the second moment v decays with beta1" in msg

    def corrected_with_beta1_for_v(w, m, v, grad, t, lr, b1, b2, eps):
        m_new = b1 * m + (1 - b1) * grad
        v_new = b1 * v + (1 - b1) * grad**2
        return w - lr * (m_new / (1 - b1**t)) / (np.sqrt(v_new / (1 - b1**t)) + eps), m_new, v_new

    msg = evaluate("optimizers.adam_step", corrected_with_beta1_for_v).message
    assert "hint: the second moment v decays with beta1" in msg
    for slip, words in (("eps inside the square root", "eps belongs outside"),
                        ("bias correction with t + 1", "the bias correction uses t + 1")):
        assert f"hint: {words}" in evaluate("optimizers.adam_step", ADAM_WRONG[slip]).message


def test_eps_placement_fails_on_tiny_gradients():
    msg = evaluate("optimizers.adam_step", ADAM_WRONG["eps inside the square root"]).message
    assert "grad = [ 1.e-09, -1.e-09]" in msg


def test_stable_lr_factor_slips_are_named():
    table = WRONG["optimizers.stable_lr_factor"]
    for slip, words in (("guessed 1 / (1 - beta), the top-speed factor", "speeds up a steady slope"),
                        ("guessed that momentum changes nothing", "momentum does move the limit"),
                        ("returns momentum's learning rate, not the ratio", "divide it by")):
        msg = evaluate("optimizers.stable_lr_factor", table[slip]).message
        assert words in msg, (slip, msg)
        assert "the chapter's valley (Hessian eigenvalues [ 1., 20.])" in msg


def test_stable_lr_factor_measures_one_plus_beta():
    """The finding the chapter states after the solution: 1 + beta to well within the tolerance,
    on every fixed case (the rule's 200 steps shift the threshold by about 1e-3 of it)."""
    from course_nn.lab.exercises import exercises

    ex = exercises()["optimizers.stable_lr_factor"]
    for surface, beta in ex.fixed:
        found = ex.reference(surface, beta)
        assert abs(found - (1 + beta)) < 3e-3 * (1 + beta)
        assert abs(found.lr_gd * surface.eigenvalues()[-1] / 2 - 1) < 1e-3


def test_step_length_slips_are_named():
    table = WRONG["optimizers.step_lengths"]
    for slip, words in (("RMSProp predicted at one lr from the start", "the average s starts at 0"),
                        ("RMSProp without the square root", "square ROOT of the average"),
                        ("RMSProp's first step for every step", "only the first step"),
                        ("RMSProp predicted like AdaGrad", "leaky average forgets"),
                        ("AdaGrad predicted at one lr", "G only grows"),
                        ("AdaGrad without the square root", "square ROOT of the sum")):
        msg = evaluate("optimizers.step_lengths", table[slip]).message
        assert f"hint: {words}" in msg or words in msg, (slip, msg)


def test_first_steps_by_hand():
    """The exercise's fixed first cases, by hand: the numbers the chapter quotes."""
    w, v = momentum_step(np.array([1.0]), np.array([2.0]), np.array([2.0]), 0.1, 0.9)
    np.testing.assert_allclose(v, [3.8])
    np.testing.assert_allclose(w, [1.0 - 0.38])
    # Adam's first step from zero state moves by lr * g / (|g| + eps / ...) ~ lr
    w, m, v = adam_step(np.array([1.0]), np.zeros(1), np.zeros(1), np.array([2.0]), 1, 0.1, 0.9, 0.999, 1e-8)
    np.testing.assert_allclose(w, [0.9], atol=1e-8)
    np.testing.assert_allclose(m, [0.2])
    np.testing.assert_allclose(v, [0.004])
    # RMSProp's first step from zero state: lr / sqrt(1 - alpha) = 10 lr for alpha = 0.99
    np.testing.assert_allclose(step_lengths(0.99, (1,))[1], [10.0])


# --- the numbers book/07_optimizers.ipynb prints, pinned independently ---------------------

def test_momentum_step_lengths_under_a_constant_gradient():
    from course_nn.lab import surfaces
    from course_nn.optim import SGD

    for beta in (0.5, 0.9, 0.99):
        path = surfaces.run_optimizer(SGD, [0.0], 400, surface=lambda w: np.ones(1), lr=1.0, momentum=beta)
        v, expected = 0.0, []
        for _ in range(400):
            v = beta * v + 1.0
            expected.append(v)
        np.testing.assert_allclose(-np.diff(path[:, 0]), expected, rtol=1e-12)


def test_heavy_ball_equals_pytorch_momentum():
    from course_nn.lab import surfaces
    from course_nn.optim import SGD

    rb = surfaces.Rosenbrock()
    path = surfaces.run_optimizer(SGD, rb.start, 50, surface=rb, lr=1e-3, momentum=0.9)
    w_prev = w = rb.start.copy()
    for t in range(50):
        w, w_prev = w - 1e-3 * rb.grad(w) + 0.9 * (w - w_prev), w
        np.testing.assert_allclose(path[t + 1], w, rtol=1e-12, atol=1e-12)


def test_tuned_heavy_ball_scales_with_root_kappa():
    """Steps to shrink the error 1e6-fold: GD ~ kappa, tuned heavy ball ~ sqrt(kappa)."""
    from course_nn.lab import surfaces
    from course_nn.optim import SGD

    def count(kappa, **kw):
        q = surfaces.ill_conditioned(1.0, kappa)
        d0 = np.linalg.norm(q.start)
        path = surfaces.run_optimizer(SGD, q.start, 20000, surface=q,
                                      stop=lambda w: np.linalg.norm(w) < 1e-6 * d0, **kw)
        return surfaces.steps_to_reach(np.linalg.norm(path, axis=1), 1e-6 * d0)

    for kappa in (10, 1000):
        q = surfaces.ill_conditioned(1.0, kappa)
        gd = count(kappa, lr=q.best_lr())
        rate = (kappa - 1) / (kappa + 1)
        assert abs(gd - math.log(1e-6) / math.log(rate)) < 0.05 * gd + 3
        hb = count(kappa, lr=4 / (np.sqrt(kappa) + 1) ** 2,
                   momentum=((np.sqrt(kappa) - 1) / (np.sqrt(kappa) + 1)) ** 2)
        assert hb < gd
    assert count(1000, lr=surfaces.ill_conditioned(1.0, 1000).best_lr()) == 6908


def test_adagrad_and_rmsprop_constant_gradient_steps():
    from course_nn.lab import surfaces
    from course_nn.optim import AdaGrad, RMSProp

    t = np.arange(1, 201)
    for cls, expected in ((AdaGrad, 1 / np.sqrt(t)), (RMSProp, 1 / np.sqrt(1 - 0.99**t))):
        path = surfaces.run_optimizer(cls, [0.0], 200, surface=lambda w: np.ones(1), lr=1e-3)
        np.testing.assert_allclose(-np.diff(path[:, 0]) / 1e-3, expected, rtol=1e-6)
    assert 1 / math.sqrt(1 - 0.99) == pytest.approx(10.0)      # RMSProp's first step: 10 lr


def test_adam_bias_correction_numbers():
    t = np.arange(1, 3001)
    uncorrected = (1 - 0.9**t) / np.sqrt(1 - 0.999**t)
    assert uncorrected[0] == pytest.approx(0.1 / math.sqrt(0.001))      # 3.1623
    assert int(np.argmax(uncorrected)) + 1 == 12
    assert uncorrected.max() == pytest.approx(6.5685, abs=1e-4)
    assert uncorrected[999] == pytest.approx(1.2576, abs=1e-4)
    from course_nn.lab import surfaces
    from course_nn.optim import Adam

    path = surfaces.run_optimizer(Adam, [0.0], 100, surface=lambda w: np.ones(1), lr=1e-3)
    np.testing.assert_allclose(-np.diff(path[:, 0]), 1e-3, rtol=1e-5)


def test_adam_is_scale_invariant_and_gd_is_not():
    from course_nn.lab import surfaces
    from course_nn.optim import SGD, Adam

    rb = surfaces.Rosenbrock()
    a = surfaces.run_optimizer(Adam, rb.start, 500, surface=rb, lr=0.05)
    b = surfaces.run_optimizer(Adam, rb.start, 500, surface=lambda w: 1000 * rb.grad(w), lr=0.05)
    assert np.abs(a - b).max() < 1e-6
    assert len(surfaces.run_optimizer(SGD, rb.start, 500, surface=lambda w: 1000 * rb.grad(w), lr=1e-3)) < 501


def test_saddle_escape_steps():
    """GD multiplies y by 1.1 per step at lr 0.05: escape after ceil(ln(1/y0) / ln 1.1) steps."""
    from course_nn.lab import surfaces
    from course_nn.optim import SGD, Adam

    sd = surfaces.Saddle()
    for y0, expected in ((1e-2, 49), (1e-4, 97), (1e-6, 145), (1e-8, 194)):
        assert math.ceil(math.log(1 / y0) / math.log(1.1)) == expected
        path = surfaces.run_optimizer(SGD, [1.5, y0], 300, surface=sd, lr=0.05)
        assert surfaces.escape_step(path) == expected
        adam = surfaces.run_optimizer(Adam, [1.5, y0], 300, surface=sd, lr=0.05)
        assert surfaces.escape_step(adam) in (20, 21)


def test_adagrad_first_step_is_lr_per_coordinate():
    from course_nn.lab import surfaces
    from course_nn.optim import AdaGrad

    aligned = surfaces.ill_conditioned(1.0, 20.0, angle=0.0)
    np.testing.assert_allclose(aligned.grad(aligned.start), [-1.5, 20.0], atol=1e-12)
    path = surfaces.run_optimizer(AdaGrad, aligned.start, 1, surface=aligned, lr=0.05)
    np.testing.assert_allclose(path[1] - path[0], [0.05, -0.05], rtol=1e-9)
