"""course_nn.lab.surfaces: analytic gradients and Hessians against central differences, the known
minima, and run_optimizer against hand-written update rules."""

import numpy as np
import pytest

from course_nn import numerical_gradient, rel_error
from course_nn.lab import surfaces as S
from course_nn.optim import SGD, Adam

SURFACE_CASES = {
    "quadratic": S.ill_conditioned(1.0, 20.0, np.pi / 6),
    "quadratic_3d": S.Quadratic(np.array([[3.0, 1.0, 0.0], [1.0, 2.0, 0.5], [0.0, 0.5, 1.0]]),
                                center=[0.5, -1.0, 2.0]),
    "saddle": S.Saddle(),
    "rosenbrock": S.Rosenbrock(),
    "rosenbrock_a2": S.Rosenbrock(a=2.0, b=10.0),
    "double_well": S.DoubleWell(0.3),
}


@pytest.mark.parametrize("name", sorted(SURFACE_CASES))
def test_gradient_matches_central_differences(name):
    surface = SURFACE_CASES[name]
    rng = np.random.default_rng(0)
    for _ in range(5):
        p = rng.uniform(-1.5, 1.5, surface.dim)
        numeric = numerical_gradient(lambda z: surface.value(z), p.copy())
        assert rel_error(surface.grad(p), numeric) < 1e-8


@pytest.mark.parametrize("name", sorted(SURFACE_CASES))
def test_hessian_matches_differences_of_the_gradient(name):
    surface = SURFACE_CASES[name]
    rng = np.random.default_rng(1)
    p = rng.uniform(-1.5, 1.5, surface.dim)
    numeric = np.stack([numerical_gradient(lambda z, i=i: surface.grad(z)[i], p.copy())
                        for i in range(surface.dim)])
    assert rel_error(surface.hessian(p), numeric) < 1e-8


@pytest.mark.parametrize("name", sorted(SURFACE_CASES))
def test_value_and_grad_broadcast_over_a_grid(name):
    surface = SURFACE_CASES[name]
    pts = np.random.default_rng(2).standard_normal((4, 3, surface.dim))
    values, grads = surface.value(pts), surface.grad(pts)
    assert values.shape == (4, 3) and grads.shape == (4, 3, surface.dim)
    for i in range(4):
        for j in range(3):
            assert values[i, j] == pytest.approx(surface.value(pts[i, j]))
            np.testing.assert_allclose(grads[i, j], surface.grad(pts[i, j]))


def test_rosenbrock_minimum_is_at_one_one():
    rb = S.Rosenbrock()
    np.testing.assert_array_equal(rb.minimum, [1.0, 1.0])
    assert rb.value(np.array([1.0, 1.0])) == 0.0
    np.testing.assert_array_equal(rb.grad(np.array([1.0, 1.0])), [0.0, 0.0])
    assert np.all(np.linalg.eigvalsh(rb.hessian(np.array([1.0, 1.0]))) > 0)
    X, Y, Z = rb.grid(101)
    assert Z.min() >= 0.0
    # every grid point is worse than the minimum, except the minimum itself
    assert np.all(Z[(X != 1.0) | (Y != 1.0)] > 0.0)


def test_rosenbrock_generalized_minimum():
    rb = S.Rosenbrock(a=2.0, b=10.0)
    np.testing.assert_array_equal(rb.minimum, [2.0, 4.0])
    np.testing.assert_allclose(rb.grad(rb.minimum), [0.0, 0.0])


def test_saddle_is_not_a_minimum():
    sd = S.Saddle()
    np.testing.assert_array_equal(sd.grad(np.zeros(2)), [0.0, 0.0])
    lam = np.linalg.eigvalsh(sd.hessian())
    assert lam[0] < 0 < lam[1]
    assert sd.minimum is None


def test_quadratic_eigenvalues_and_learning_rates():
    q = S.ill_conditioned(1.0, 20.0, np.pi / 6)
    np.testing.assert_allclose(q.eigenvalues(), [1.0, 20.0])
    assert q.condition_number() == pytest.approx(20.0)
    assert q.max_stable_lr() == pytest.approx(0.1)
    assert q.best_lr() == pytest.approx(2 / 21)
    np.testing.assert_allclose(np.diag(q.H), [5.75, 15.25])   # the diagonal is not the spectrum
    with pytest.raises(ValueError, match="symmetric"):
        S.Quadratic(np.array([[1.0, 2.0], [0.0, 1.0]]))


def test_double_well_minima():
    dw = S.DoubleWell(0.3)
    assert len(dw.minima) == 2
    np.testing.assert_allclose(dw.grad(dw.minima[:, None]), 0.0, atol=1e-12)
    assert dw.minima[0] < 0 < dw.minima[1]               # the tilt makes the left well deeper
    assert dw.value(dw.minima[:1]) < dw.value(dw.minima[1:])


def test_run_optimizer_is_gradient_descent_by_hand():
    q = S.ill_conditioned(1.0, 20.0, np.pi / 6)
    path = S.run_optimizer(SGD, [-1.5, 1.0], 25, surface=q, lr=0.05)
    assert path.shape == (26, 2)
    w = np.array([-1.5, 1.0])
    for t in range(25):
        w = w - 0.05 * q.H @ w
        np.testing.assert_allclose(path[t + 1], w, rtol=1e-12, atol=1e-15)


def test_run_optimizer_accepts_a_gradient_function_and_optimizer_options():
    q = S.Quadratic(np.diag([2.0, 4.0]))
    a = S.run_optimizer(Adam, [1.0, 1.0], 10, surface=q, lr=0.1, betas=(0.8, 0.99))
    b = S.run_optimizer(Adam, [1.0, 1.0], 10, surface=q.grad, lr=0.1, betas=(0.8, 0.99))
    np.testing.assert_array_equal(a, b)
    # Adam's first step moves every coordinate by lr (bias-corrected m / sqrt(v) = sign(g))
    np.testing.assert_allclose(a[1], [0.9, 0.9], atol=1e-7)


def test_divergence_is_stopped_before_overflow():
    q = S.ill_conditioned(1.0, 20.0, 0.0)
    with np.errstate(all="raise"):
        path = S.run_optimizer(SGD, [1.0, 1.0], 10_000, surface=q, lr=0.11)
    assert len(path) < 10_001
    assert np.abs(path[-1]).max() > 1e6 and np.all(np.abs(path[:-1]) <= 1e6)
    # the factor per step along the steep axis is |1 - lr * lam_max| = 1.2
    np.testing.assert_allclose(path[1:6, 1] / path[:5, 1], -1.2)


def test_gd_threshold_two_over_lambda_max():
    q = S.ill_conditioned(1.0, 20.0, np.pi / 6)
    thr = q.max_stable_lr()
    below = S.run_optimizer(SGD, q.start, 2000, surface=q, lr=0.99 * thr)
    above = S.run_optimizer(SGD, q.start, 2000, surface=q, lr=1.01 * thr)
    assert np.linalg.norm(below[-1]) < 1e-6
    assert np.linalg.norm(above[-1]) > 1e6


def test_helpers():
    assert S.steps_to_reach([5.0, 1.0, 0.1, 0.01], 0.1) == 2
    assert S.steps_to_reach([5.0, 1.0], 0.1) is None
    path = np.array([[0.0, 0.001], [0.0, 0.5], [0.0, -1.5]])
    assert S.escape_step(path) == 2
    assert S.escape_step(path[:2]) is None
    assert isinstance(S.make_surface("saddle"), S.Saddle)
    with pytest.raises(ValueError, match="surface"):
        S.make_surface("bowl")
    with pytest.raises(ValueError, match="points of shape"):
        S.Rosenbrock().value(np.zeros(3))


def test_run_optimizer_stops_when_asked():
    q = S.ill_conditioned(1.0, 20.0)
    full = S.run_optimizer(SGD, q.start, 400, surface=q, lr=0.09)
    stopped = S.run_optimizer(SGD, q.start, 400, surface=q, lr=0.09, stop=lambda w: q.value(w) < 1e-6)
    k = S.steps_to_reach(q.value(full), 1e-6)
    assert len(stopped) == k + 1
    np.testing.assert_array_equal(stopped, full[:k + 1])
    assert len(S.run_optimizer(SGD, q.start, 0, surface=q, lr=0.09)) == 1
    with pytest.raises(ValueError, match="steps"):
        S.run_optimizer(SGD, q.start, -1, surface=q, lr=0.09)
