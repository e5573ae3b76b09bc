"""Chapter 6 (gradient descent): every exercise checker accepts a plain-numpy solution and
rejects the wrong answers a learner is likely to write (a loop that climbs or keeps the first
gradient, n // batch_size for every case, batches without shuffling, a threshold search that
never moves or takes a nan for convergence, ...).

IDS, SOLUTIONS and WRONG feed the checks every exercise gets, in tests/test_exercises.py
(registered, reference and solutions pass, each wrong answer rejected).
"""

import math

import numpy as np
import pytest

from course_nn.lab.exercises import evaluate

IDS = ("gradient_descent.descend", "gradient_descent.train_regression",
       "gradient_descent.minibatch_indices", "gradient_descent.divergence_threshold")


# --- plain-numpy solutions, as a learner would write them ---------------------------------

def buggy_descend(w, grad_fn, lr, steps):
    """The chapter's broken loop: two bugs."""
    g = grad_fn(w)
    for _ in range(steps):
        w = w + lr * g
    return w


def descend(w, grad_fn, lr, steps):
    for _ in range(steps):
        w = w - lr * grad_fn(w)
    return w


def train_regression(X, y, seed, lr=0.05, epochs=20, batch_size=32, zero_grad=True, bias=True,
                     final_lr=0.005, final_epochs=10):
    """The learner's own loop: shuffled mini-batches, zero_grad, forward, loss, backward, step."""
    import course_nn as cn

    rng = np.random.default_rng(seed)
    model = cn.Linear(X.shape[1], 1, rng=rng, bias=bias)
    opt, mse = cn.optim.SGD(model.parameters(), lr=lr), cn.MSELoss()
    for epoch in range(epochs + final_epochs):
        if epoch == epochs:
            opt.lr = final_lr
        order = rng.permutation(len(X))
        for start in range(0, len(X), batch_size):
            idx = order[start:start + batch_size]
            if zero_grad:
                opt.zero_grad()
            mse(model(X[idx]), y[idx])
            model.backward(mse.backward())
            opt.step()
    return model


def steps_per_epoch(n, batch_size, drop_last):
    return n // batch_size if drop_last else math.ceil(n / batch_size)


def minibatch_indices(n, batch_size, rng):
    order = rng.permutation(n)
    return [order[i:i + batch_size] for i in range(0, n, batch_size)]


def divergence_threshold(run, lo, hi, tol):
    while hi - lo > tol:
        mid = (lo + hi) / 2
        losses = run(mid)
        if not np.isfinite(losses[-1]) or losses[-1] > losses[0]:
            hi = mid
        else:
            lo = mid
    return (lo + hi) / 2


def _threshold_by_grid(run, lo, hi, tol):
    """A slower experiment: scan a grid of spacing tol from lo, stop at the first divergence."""
    lr = lo
    while lr < hi:
        losses = run(lr + tol)
        if not np.isfinite(losses[-1]) or losses[-1] > losses[0]:
            return lr + tol / 2
        lr += tol
    return hi


SOLUTIONS = {
    "gradient_descent.descend": descend,
    "gradient_descent.train_regression": [
        train_regression,
        lambda X, y, seed: train_regression(X, y, seed, final_epochs=0),    # no decay: also enough
    ],
    "gradient_descent.minibatch_indices": minibatch_indices,
    "gradient_descent.divergence_threshold": divergence_threshold,
}


def test_alternative_correct_answers_pass():
    # a tuple of batches, or np.array_split at multiples of batch_size
    assert evaluate("gradient_descent.minibatch_indices",
                    lambda n, b, rng: tuple(minibatch_indices(n, b, rng))).passed
    assert evaluate("gradient_descent.minibatch_indices",
                    lambda n, b, rng: np.split(rng.permutation(n), range(b, n, b))).passed
    # the in-place update, with course_nn's optimizer
    def with_sgd(w, grad_fn, lr, steps):
        import course_nn as cn
        p = cn.Parameter(np.array(w, dtype=float))
        opt = cn.optim.SGD([p], lr=lr)
        for _ in range(steps):
            opt.zero_grad()
            p.grad[...] = grad_fn(p.data)
            opt.step()
        return p.data
    assert evaluate("gradient_descent.descend", with_sgd).passed
    # bisection that stops on a fixed number of halvings, and returns the diverging end
    def halvings(run, lo, hi, tol):
        for _ in range(int(np.ceil(np.log2((hi - lo) / tol)))):
            mid = (lo + hi) / 2
            losses = run(mid)
            lo, hi = (lo, mid) if not losses[-1] <= losses[0] else (mid, hi)
        return hi
    assert evaluate("gradient_descent.divergence_threshold", halvings).passed


def test_an_experiment_on_a_grid_passes_within_the_time_limit():
    # the long fixed runs make a fine grid slow; a coarser-than-tol grid is rejected
    result = evaluate("gradient_descent.divergence_threshold",
                      lambda run, lo, hi, tol: _threshold_by_grid(run, lo, min(hi, 3 * lo + 1), 10 * tol))
    assert not result.passed and "within tol" in result.message


# --- wrong answers ----------------------------------------------------------------------

def _no_shuffle(n, b, rng):
    order = np.arange(n)
    return [order[i:i + b] for i in range(0, n, b)]


def buggy_minibatch_indices(n, b, rng):   # the chapter's debug exercise: both bugs
    return [rng.choice(n, size=b) for _ in range(n // b)]


def _drops_last(n, b, rng):
    order = rng.permutation(n)
    return [order[i:i + b] for i in range(0, n - n % b, b)]


def _with_replacement(n, b, rng):
    order = rng.integers(0, n, size=n)
    return [order[i:i + b] for i in range(0, n, b)]


def _array_split_even(n, b, rng):
    return np.array_split(rng.permutation(n), math.ceil(n / b))


def _float_indices(n, b, rng):
    return [x.astype(float) for x in minibatch_indices(n, b, rng)]


def _in_place_no_return(w, grad_fn, lr, steps):
    for _ in range(steps):
        w -= lr * grad_fn(w)


def _ascent(w, grad_fn, lr, steps):
    for _ in range(steps):
        w = w + lr * grad_fn(w)
    return w


def _stale_gradient(w, grad_fn, lr, steps):
    g = grad_fn(w)
    for _ in range(steps):
        w = w - lr * g
    return w


def _one_step_short(w, grad_fn, lr, steps):
    for _ in range(steps - 1):
        w = w - lr * grad_fn(w)
    return w


def _nan_is_convergence(run, lo, hi, tol):
    while hi - lo > tol:
        mid = (lo + hi) / 2
        losses = run(mid)
        if losses[-1] > losses[0]:          # False for nan: a blown-up run "converges"
            hi = mid
        else:
            lo = mid
    return (lo + hi) / 2


def _judged_by_the_first_step(run, lo, hi, tol):
    while hi - lo > tol:
        mid = (lo + hi) / 2
        losses = run(mid)
        if not np.isfinite(losses[1]) or losses[1] > losses[0]:
            hi = mid
        else:
            lo = mid
    return (lo + hi) / 2


def _bounds_swapped(run, lo, hi, tol):
    while hi - lo > tol:
        mid = (lo + hi) / 2
        losses = run(mid)
        if not np.isfinite(losses[-1]) or losses[-1] > losses[0]:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def _one_coarse_grid(run, lo, hi, tol):
    grid = np.linspace(lo, hi, 20)
    ok = [lr for lr in grid if np.isfinite(run(lr)[-1]) and run(lr)[-1] <= run(lr)[0]]
    return max(ok)


WRONG = {
    "gradient_descent.descend": {
        "the chapter's buggy loop": buggy_descend,
        "plus sign only (ascent)": _ascent,
        "gradient of the start at every step": _stale_gradient,
        "one step short": _one_step_short,
        "forgets the learning rate": lambda w, f, lr, k: descend(w, f, 1.0, k),
        "in place, returns None": _in_place_no_return,
    },
    "gradient_descent.train_regression": {
        "a learning rate above the threshold": lambda X, y, seed: train_regression(X, y, seed, lr=0.5),
        "no zero_grad (gradients pile up)":
            lambda X, y, seed: train_regression(X, y, seed, zero_grad=False),
        "no bias": lambda X, y, seed: train_regression(X, y, seed, bias=False),
        "too few steps": lambda X, y, seed: train_regression(X, y, seed, lr=0.001, epochs=2,
                                                             final_epochs=0),
        "untrained model": lambda X, y, seed: train_regression(X, y, seed, epochs=0, final_epochs=0),
        "returns the loss, not the model":
            lambda X, y, seed: float(np.mean((train_regression(X, y, seed)(X) - y) ** 2)),
    },
    "gradient_descent.minibatch_indices": {
        "the chapter's buggy epoch": buggy_minibatch_indices,
        "batches drawn with replacement, last kept":
            lambda n, b, rng: [rng.choice(n, size=len(x)) for x in minibatch_indices(n, b, rng)],
        "no shuffling": _no_shuffle,
        "drops the last partial batch": _drops_last,
        "sampling with replacement": _with_replacement,
        "array_split into equal-ish parts": _array_split_even,
        "float indices": _float_indices,
        "one flat array, not batches": lambda n, b, rng: rng.permutation(n),
    },
    "gradient_descent.divergence_threshold": {
        "a nan counted as convergence": _nan_is_convergence,
        "judged by the first step": _judged_by_the_first_step,
        "bounds swapped": _bounds_swapped,
        "the best point of a 20-point grid": _one_coarse_grid,
        "returns lo": lambda run, lo, hi, tol: lo,
        "returns the middle": lambda run, lo, hi, tol: (lo + hi) / 2,
    },
}


def test_failure_messages_are_readable():
    msg = evaluate("gradient_descent.minibatch_indices", _no_shuffle).message
    assert "shuffle" in msg and "np.random.default_rng(" in msg and " at 0x" not in msg
    msg = evaluate("gradient_descent.train_regression",
                   lambda X, y, seed: train_regression(X, y, seed, zero_grad=False)).message
    assert "held-out" in msg and "diverged" in msg and "zero_grad" in msg
    msg = evaluate("gradient_descent.train_regression",
                   lambda X, y, seed: train_regression(X, y, seed, lr=0.001, epochs=2,
                                                       final_epochs=0)).message
    assert "learned, but not enough" in msg
    msg = evaluate("gradient_descent.descend", buggy_descend).message
    assert "steps uphill" in msg and "gradient of the starting point" in msg and " at 0x" not in msg
    assert "grad_fn = the gradient of 1/2 (w - c)^T H (w - c) with H = [[2.]]" in msg
    assert "uses the gradient of the starting point" in evaluate(
        "gradient_descent.descend", _stale_gradient).message
    assert "that is 9 steps, not 10" in evaluate("gradient_descent.descend", _one_step_short).message
    msg = evaluate("gradient_descent.divergence_threshold", _nan_is_convergence).message
    assert "TrainingRun(the valley, long, 300 steps)" in msg and "did your search move" in msg
    msg = evaluate("gradient_descent.divergence_threshold", _judged_by_the_first_step).message
    assert "runs a little below your answer already diverge" in msg


def test_threshold_is_unique_and_measured_not_the_formula():
    """The third fixed run starts almost on the flat axis: its threshold lies well above
    2 / lam_max = 0.1, so only a measurement finds it; and the runs agree with the rule on
    both sides of every fixed case's threshold."""
    from course_nn.lab.exercises import exercises

    ex = exercises()["gradient_descent.divergence_threshold"]
    for run, lo, hi, tol in ex.fixed:
        t = float(ex.reference(run, lo, hi, tol))
        for lr in np.linspace(lo, t - tol, 7):
            assert run(lr)[-1] <= run(lr)[0]
        for lr in np.linspace(t + tol, hi, 7):
            losses = run(lr)
            assert not np.isfinite(losses[-1]) or losses[-1] > losses[0]
    flat = ex.fixed[2]
    assert float(ex.reference(*flat)) > 0.105
    assert not evaluate("gradient_descent.divergence_threshold",
                        lambda run, lo, hi, tol: 0.1 if run.steps == 30 else
                        divergence_threshold(run, lo, hi, tol)).passed


# --- the numbers book/06_gradient_descent.ipynb prints, pinned independently ---------------

def test_parabola_step_counts():
    """w <- (1 - lr * lam) w on f = 2 w^2: steps to |w| < 1e-6, by plain iteration."""
    from course_nn.lab import surfaces
    from course_nn.optim import SGD

    lam = 4.0
    counts = {}
    for lr in (0.005, 0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.45, 0.49):
        w, k = 1.0, 0
        while abs(w) >= 1e-6:
            w, k = (1 - lr * lam) * w, k + 1
        assert k == math.ceil(math.log(1e-6) / math.log(abs(1 - lr * lam)))
        path = surfaces.run_optimizer(SGD, [1.0], k, surface=surfaces.Quadratic([[lam]]), lr=lr)
        assert abs(path[-1, 0]) < 1e-6 <= abs(path[-2, 0])
        counts[lr] = k
    assert (counts[0.005], counts[0.01], counts[0.2], counts[0.3]) == (684, 339, 9, 9)


def test_valley_threshold_and_rates():
    from course_nn.lab import surfaces
    from course_nn.optim import SGD

    valley = surfaces.ill_conditioned(1.0, 20.0)
    off = -19 * math.sqrt(3) / 4          # (1 - 20) cos 30 sin 30
    np.testing.assert_allclose(valley.H, [[5.75, off], [off, 15.25]], rtol=1e-12)
    assert valley.max_stable_lr() == pytest.approx(0.1)
    for lr, expected in ((0.0995, 0.99), (0.1005, 1.01), (0.05, 0.95), (0.0952380952, 19 / 21)):
        path = surfaces.run_optimizer(SGD, valley.start, 300, surface=valley, lr=lr)
        dist = np.linalg.norm(path, axis=1)
        assert (dist[-1] / dist[-21]) ** (1 / 20) == pytest.approx(expected, abs=1e-3)


def _regression_data():
    data_rng = np.random.default_rng(0)
    n, d = 1000, 5
    X = data_rng.standard_normal((n, d)) * np.array([1.0, 1.0, 0.5, 2.0, 0.3]) + 0.5
    w, b = data_rng.standard_normal(d), 0.7
    y = (X @ w + b + 0.5 * data_rng.standard_normal(n))[:, None]
    return np.c_[X, np.ones(n)], y


def test_regression_threshold_in_plain_numpy():
    Xa, y = _regression_data()
    H = 2 * Xa.T @ Xa / len(Xa)
    thr = 2 / np.linalg.eigvalsh(H).max()
    assert thr == pytest.approx(0.2263, abs=1e-4)
    theta_star = np.linalg.lstsq(Xa, y, rcond=None)[0]
    loss_star = np.mean((Xa @ theta_star - y) ** 2)
    for factor, converges in ((0.95, True), (1.05, False)):
        theta = np.zeros((6, 1))
        for _ in range(200):
            theta -= factor * thr * 2 * Xa.T @ (Xa @ theta - y) / len(Xa)
        loss = np.mean((Xa @ theta - y) ** 2)
        assert (loss < loss_star * 1.001) == converges


def test_double_well_minima_and_jump():
    from course_nn.lab import surfaces
    from course_nn.optim import SGD

    well = surfaces.DoubleWell(0.3)
    np.testing.assert_allclose(well.minima, [-1.0356, 0.9601], atol=1e-4)
    np.testing.assert_allclose(well.value(well.minima[:, None]), [-0.3054, 0.2941], atol=1e-4)
    # the first step with lr 0.2 from -1.6 crosses the barrier near w = 0.08
    assert -1.6 - 0.2 * (4 * (-1.6) ** 3 - 4 * (-1.6) + 0.3) == pytest.approx(0.3368)
    for lr, end in ((0.02, well.minima[0]), (0.05, well.minima[0]), (0.2, well.minima[1])):
        assert surfaces.run_optimizer(SGD, [-1.6], 300, surface=well, lr=lr)[-1, 0] == pytest.approx(end)


def test_iterations_per_epoch_of_the_chapter():
    assert steps_per_epoch(1000, 32, False) == 32 and steps_per_epoch(1000, 32, True) == 31
    assert 3 * steps_per_epoch(1000, 32, False) == 96


def test_minibatch_noise_formula_by_enumeration():
    """E|g_B - g|^2 over all batches of size B drawn without replacement = s2/B (N-B)/(N-1)."""
    from itertools import combinations

    rng = np.random.default_rng(0)
    g_each = rng.standard_normal((7, 3))
    g = g_each.mean(axis=0)
    s2 = np.mean(np.sum((g_each - g) ** 2, axis=1))
    for B in range(1, 8):
        devs = [np.sum((g_each[list(c)].mean(axis=0) - g) ** 2) for c in combinations(range(7), B)]
        assert np.mean(devs) == pytest.approx(s2 / B * (7 - B) / 6, abs=1e-12)
