"""Test functions for optimization, and a helper that drives ``course_nn.optim`` across them.

Each surface maps a point ``p`` of shape ``(..., d)`` to a value of shape ``(...)`` and has an
analytic gradient of shape ``(..., d)`` and a Hessian ``(d, d)``, so a whole grid of points
(for a contour plot) is evaluated in one call:

    Quadratic(H)   f(p) = 1/2 (p - c)^T H (p - c): the model of every smooth minimum; an
                   ill-conditioned H (eigenvalues far apart) makes a long, narrow valley
    Saddle()       f(x, y) = x^2 - y^2: a minimum along x, a maximum along y, gradient 0 at 0
    Rosenbrock()   f(x, y) = (a - x)^2 + b (y - x^2)^2: a curved, flat-bottomed valley with
                   its minimum at (a, a^2) = (1, 1)
    DoubleWell()   f(w) = (w^2 - 1)^2 + tilt * w: two minima of different depth (1-D)

``run_optimizer(opt_class, start, steps, surface=..., **kwargs)`` puts the point in a
``Parameter``, writes the surface's gradient into ``p.grad`` and calls ``opt.step()``: the
same code path that trains a network. It returns the trajectory, shape (steps + 1, d).

Points must be finite real numbers (int or float); NaN, inf, complex or string input raise.
"""

import math

import numpy as np

from .._validate import (
    as_array,
    as_real_array,
    check_allocation,
    check_int,
    check_number,
)
from ..module import Parameter


def _points(p, d, name):
    """p as float64 points of shape (..., d), finite (the fast path for float64 arrays)."""
    p = as_array(p, name)
    if p.dtype != np.float64:
        if p.dtype.kind not in "iuf":
            raise TypeError(f"{name}: expected real-valued points, got dtype {p.dtype}")
        p = p.astype(np.float64)
    if p.ndim == 0 or p.shape[-1] != d:
        raise ValueError(f"{name}: expected points of shape (..., {d}), got shape {p.shape}")
    if not _finite(p):
        raise ValueError(f"{name}: expected finite points, got NaN or inf")
    return p


def _finite(p):
    """True when p holds no NaN/inf; a plain loop for the one point of an optimizer step,
    several times faster than np.isfinite on two numbers."""
    if p.size <= 16:
        return all(map(math.isfinite, p.ravel().tolist()))
    return bool(np.isfinite(p).all())


def _point(p, d, name):
    """One point of shape (d,) (for a Hessian)."""
    p = _points(p, d, name)
    if p.shape != (d,):
        raise ValueError(f"{name}: expected one point of shape ({d},), got shape {p.shape}")
    return p


def _frozen(values):
    """A read-only float64 array, for class attributes that every instance shares."""
    arr = np.array(values, dtype=np.float64)
    arr.setflags(write=False)
    return arr


class Surface:
    """Base class: ``value(p)``, ``grad(p)``, ``hessian(p)`` and drawing hints.

    dim: number of coordinates; minimum: the global minimizer (None if unbounded below);
    start: a default starting point; xlim, ylim: a view for contour plots (2-D surfaces).
    """

    name = "surface"
    dim = 2
    minimum = None
    start = None
    xlim = (-2.0, 2.0)
    ylim = (-2.0, 2.0)
    log_levels = False   # contour levels spaced logarithmically (for valleys)

    def value(self, p):
        raise NotImplementedError

    def grad(self, p):
        raise NotImplementedError

    def hessian(self, p):
        raise NotImplementedError

    def __call__(self, p):
        return self.value(p)

    def grid(self, n=200):
        """X, Y, Z = value on an n x n grid over (xlim, ylim), for ``ax.contour``; n >= 2."""
        n = check_int(n, "n", low=2)
        check_allocation((4, n, n), np.float64, f"{type(self).__name__}.grid")
        xs = np.linspace(*self.xlim, n)
        ys = np.linspace(*self.ylim, n)
        X, Y = np.meshgrid(xs, ys)
        return X, Y, self.value(np.stack([X, Y], axis=-1))

    def __repr__(self):
        return f"{type(self).__name__}()"


class Quadratic(Surface):
    """f(p) = 1/2 (p - c)^T H (p - c), gradient H (p - c), Hessian H (symmetric, d x d).

    Gradient descent with learning rate lr multiplies the error p - c by (I - lr H) each
    step, so it converges exactly when every eigenvalue lam of H satisfies |1 - lr lam| < 1,
    that is (for positive definite H) when lr < 2 / lam_max: ``max_stable_lr``.
    """

    name = "quadratic"

    def __init__(self, H, center=None, start=None):
        H = as_real_array(H, "Quadratic H", ndim=2)
        if H.shape[0] != H.shape[1] or not np.allclose(H, H.T):
            raise ValueError(f"Quadratic H: expected a symmetric square matrix, got shape {H.shape}")
        self.H = H.copy()
        self.dim = H.shape[0]
        self.center = (np.zeros(self.dim) if center is None
                       else as_real_array(center, "Quadratic center", shape=(self.dim,)).copy())
        eig = self.eigenvalues()
        self.minimum = self.center.copy() if eig.min() > 0 else None
        default_start = self.center + np.r_[-1.5, 1.0, np.ones(max(self.dim - 2, 0))][:self.dim]
        self.start = (default_start if start is None
                      else as_real_array(start, "Quadratic start", shape=(self.dim,)).copy())
        self.xlim = (self.center[0] - 2.0, self.center[0] + 2.0)
        if self.dim > 1:
            self.ylim = (self.center[1] - 2.0, self.center[1] + 2.0)

    def value(self, p):
        e = _points(p, self.dim, "Quadratic.value") - self.center
        return 0.5 * np.einsum("...i,ij,...j->...", e, self.H, e)

    def grad(self, p):
        e = _points(p, self.dim, "Quadratic.grad") - self.center
        return e @ self.H   # H is symmetric: (H e)^T = e^T H

    def hessian(self, p=None):
        """H (d, d), the same at every point; p, if given, is checked as one point (d,)."""
        if p is not None:
            _point(p, self.dim, "Quadratic.hessian")
        return self.H.copy()

    def eigenvalues(self):
        """Eigenvalues of H, ascending."""
        return np.linalg.eigvalsh(self.H)

    def _positive_eigenvalues(self, what):
        lam = self.eigenvalues()
        if lam[0] <= 0:
            raise ValueError(f"Quadratic.{what}: expected a positive definite H (a minimum), got "
                             f"smallest eigenvalue {lam[0]:g}")
        return lam

    def condition_number(self):
        """lam_max / lam_min; H must be positive definite."""
        lam = self._positive_eigenvalues("condition_number")
        return float(lam[-1] / lam[0])

    def max_stable_lr(self):
        """2 / lam_max: gradient descent converges for lr below it and diverges above it.
        H must be positive definite."""
        return float(2.0 / self._positive_eigenvalues("max_stable_lr")[-1])

    def best_lr(self):
        """2 / (lam_min + lam_max): the constant learning rate with the fastest worst-case rate.
        H must be positive definite."""
        lam = self._positive_eigenvalues("best_lr")
        return float(2.0 / (lam[0] + lam[-1]))

    def __repr__(self):
        return f"Quadratic(H={np.array2string(self.H, separator=', ')})"


def ill_conditioned(lam_min=1.0, lam_max=20.0, angle=np.pi / 6):
    """A 2-D Quadratic with eigenvalues lam_min, lam_max, minimum at 0, its axes rotated by
    ``angle`` radians (30 degrees by default, so the valley runs along neither coordinate axis;
    angle=0 puts the steep direction along y). Needs 0 < lam_min <= lam_max."""
    lam_min = check_number(lam_min, "lam_min", low=0, low_open=True)
    lam_max = check_number(lam_max, "lam_max", low=lam_min)
    angle = check_number(angle, "angle")
    c, s = np.cos(angle), np.sin(angle)
    R = np.array([[c, -s], [s, c]])
    H = R @ np.diag([lam_min, lam_max]) @ R.T
    return Quadratic((H + H.T) / 2)


class Saddle(Surface):
    """f(x, y) = x^2 - y^2: gradient (2x, -2y) vanishes at the origin, which is no minimum.

    Plain gradient descent multiplies y by (1 + 2 lr) each step, so starting at y0 it needs
    about log(1 / |y0|) / log(1 + 2 lr) steps to leave the saddle: slow when y0 is tiny.
    """

    name = "saddle"
    minimum = None
    start = _frozen([1.5, 1e-3])
    xlim = (-2.0, 2.0)
    ylim = (-2.0, 2.0)

    def value(self, p):
        p = _points(p, 2, "Saddle.value")
        return p[..., 0] ** 2 - p[..., 1] ** 2

    def grad(self, p):
        p = _points(p, 2, "Saddle.grad")
        return np.stack([2.0 * p[..., 0], -2.0 * p[..., 1]], axis=-1)

    def hessian(self, p=None):
        """diag(2, -2), the same at every point; p, if given, is checked as one point (2,)."""
        if p is not None:
            _point(p, 2, "Saddle.hessian")
        return np.diag([2.0, -2.0])


class Rosenbrock(Surface):
    """f(x, y) = (a - x)^2 + b (y - x^2)^2, minimum 0 at (a, a^2); a = 1, b = 100 by default."""

    name = "rosenbrock"
    start = _frozen([-1.2, 1.0])
    xlim = (-2.0, 2.0)
    ylim = (-1.0, 3.0)
    log_levels = True

    def __init__(self, a=1.0, b=100.0):
        self.a = check_number(a, "a")
        self.b = check_number(b, "b", low=0, high=1e100, low_open=True)
        if abs(self.a) > 1e100:
            raise ValueError(f"a: expected |a| <= 1e100 (the minimum is at (a, a^2)), got {self.a:g}")
        self.minimum = np.array([self.a, self.a**2])

    def value(self, p):
        p = _points(p, 2, "Rosenbrock.value")
        x, y = p[..., 0], p[..., 1]
        return (self.a - x) ** 2 + self.b * (y - x**2) ** 2

    def grad(self, p):
        p = _points(p, 2, "Rosenbrock.grad")
        x, y = p[..., 0], p[..., 1]
        r = y - x**2
        return np.stack([-2.0 * (self.a - x) - 4.0 * self.b * x * r, 2.0 * self.b * r], axis=-1)

    def hessian(self, p):
        x, y = _point(p, 2, "Rosenbrock.hessian")
        return np.array([[2.0 - 4.0 * self.b * (y - x**2) + 8.0 * self.b * x**2, -4.0 * self.b * x],
                         [-4.0 * self.b * x, 2.0 * self.b]])

    def __repr__(self):
        return f"Rosenbrock(a={self.a}, b={self.b})"


class DoubleWell(Surface):
    """f(w) = (w^2 - 1)^2 + tilt * w, 1-D: two minima near -1 and +1; the tilt makes the one
    on the side opposite to its sign the deeper (global) one."""

    name = "double_well"
    dim = 1

    def __init__(self, tilt=0.3):
        self.tilt = check_number(tilt, "tilt", low=-1e100, high=1e100)
        roots = np.roots([4.0, 0.0, -4.0, self.tilt])           # f'(w) = 4w^3 - 4w + tilt
        real = np.sort(roots[np.abs(roots.imag) < 1e-12].real)
        minima = [r for r in real if 12.0 * r**2 - 4.0 > 0]
        self.minima = np.array(sorted(minima, key=lambda r: self.value(np.array([r]))))
        self.minimum = self.minima[:1].copy()
        self.start = np.array([-1.6])
        self.xlim = (-1.8, 1.8)

    def value(self, p):
        w = _points(p, 1, "DoubleWell.value")[..., 0]
        return (w**2 - 1.0) ** 2 + self.tilt * w

    def grad(self, p):
        w = _points(p, 1, "DoubleWell.grad")
        return 4.0 * w**3 - 4.0 * w + self.tilt

    def hessian(self, p):
        w = float(_point(p, 1, "DoubleWell.hessian")[0])
        return np.array([[12.0 * w**2 - 4.0]])

    def __repr__(self):
        return f"DoubleWell(tilt={self.tilt})"


SURFACES = {
    "quadratic": ill_conditioned,
    "saddle": Saddle,
    "rosenbrock": Rosenbrock,
}


def make_surface(name):
    """A fresh surface by name: "quadratic" (eigenvalues 1 and 20), "saddle" or "rosenbrock"."""
    if not isinstance(name, str) or name not in SURFACES:
        raise ValueError(f"surface: expected one of {sorted(SURFACES)}, got {name!r}")
    return SURFACES[name]()


MAX_STEPS = 10**7  # run_optimizer's Python loop: a few minutes at most


def run_optimizer(opt_class, start, steps, *, surface, blowup=1e6, stop=None, **kwargs):
    """Trajectory of ``opt_class`` (e.g. ``optim.Adam``) started at ``start`` on ``surface``.

    start:   the first point, shape (d,) (d = surface.dim for a Surface).
    steps:   an int, 0 <= steps <= MAX_STEPS (10**7).
    surface: a Surface, or any function ``p -> gradient`` returning a finite array of p's shape.
    kwargs:  passed to the optimizer (lr, momentum, betas, ...).
    stop:    None, or a function ``p -> bool`` checked after each step.
    Each step: ``opt.zero_grad()``, ``p.grad += gradient(p.data)``, ``opt.step()``, exactly as
    in a training loop. Returns an array of shape (k + 1, d): the start, then the point after
    each step. k = steps, unless the point left the ball of radius ``blowup`` (a diverging
    run): the trajectory then stops at the first point outside, before anything overflows.
    """
    steps = check_int(steps, "steps", low=0, high=MAX_STEPS)
    blowup = check_number(blowup, "blowup", low=0, low_open=True)
    if stop is not None and not callable(stop):
        raise TypeError(f"stop: expected None or a function p -> bool, got {type(stop).__name__}")
    if isinstance(surface, Surface):
        grad, checked = surface.grad, True
        start = as_real_array(start, "start", shape=(surface.dim,))
    elif callable(surface):
        grad, checked = surface, False
        start = as_real_array(start, "start", ndim=1)
    else:
        raise TypeError(f"surface: expected a Surface or a gradient function, got "
                        f"{type(surface).__name__}")
    check_allocation((steps + 1,) + start.shape, np.float64, "run_optimizer")
    p = Parameter(start)
    opt = opt_class([p], **kwargs)
    path = np.empty((steps + 1,) + start.shape)
    path[0] = p.data
    k = 0
    while k < steps:
        opt.zero_grad()
        g = grad(p.data)
        if not checked:
            g = _gradient(g, p.data.shape, k)
        p.grad += g
        opt.step()
        k += 1
        path[k] = p.data
        if not np.all(np.abs(p.data) <= blowup):
            break
        if stop is not None and stop(p.data):
            break
    return path if k == steps else path[:k + 1].copy()


def _gradient(g, shape, step):
    """A gradient function's result, checked: a finite real array of the point's shape."""
    if not isinstance(g, np.ndarray):
        g = as_array(g, "surface gradient")
    if g.shape != shape or g.dtype.kind not in "iuf":
        raise ValueError(f"surface: expected the gradient function to return real numbers of the "
                         f"point's shape {shape}, got shape {g.shape} and dtype {g.dtype}")
    if not _finite(g):
        raise ValueError(f"surface: the gradient function returned NaN or inf at step {step}")
    return g


def _series(values, name, ndim):
    """Real numbers without NaN; +-inf is allowed (e.g. "no change yet" before the first step,
    or a point that flew off), as the comparisons treat it correctly."""
    values = as_array(values, name)
    if values.dtype.kind not in "iuf":
        raise TypeError(f"{name}: expected real numbers, got dtype {values.dtype}")
    if values.ndim != ndim:
        raise ValueError(f"{name}: expected {ndim} dimensions, got shape {values.shape}")
    if values.dtype.kind == "f" and np.isnan(values).any():
        raise ValueError(f"{name}: expected numbers, got NaN")
    return values


def steps_to_reach(values, tol):
    """First index t with values[t] <= tol (e.g. f(p_t) - f* or a distance), or None.

    values: (T,) real numbers, NaN excluded (inf is fine); tol: a finite number.
    """
    values = _series(values, "steps_to_reach values", 1)
    tol = check_number(tol, "tol")
    hits = np.flatnonzero(values <= tol)
    return int(hits[0]) if hits.size else None


def escape_step(path, radius=1.0, coord=1):
    """First step at which |path[t, coord]| exceeds ``radius`` (leaving a saddle), or None.

    path: (T, d) points, NaN excluded; radius >= 0; coord: a column index 0..d-1.
    """
    path = _series(path, "escape_step path", 2)
    radius = check_number(radius, "radius", low=0)
    coord = check_int(coord, "coord", low=0, high=path.shape[1] - 1)
    hits = np.flatnonzero(np.abs(path[:, coord]) > radius)
    return int(hits[0]) if hits.size else None
