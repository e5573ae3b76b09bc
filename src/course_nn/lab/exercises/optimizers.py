"""Chapter 7 exercises: one step of each optimizer, state in and state out.

optimizers.momentum_step  (w, v, grad, lr, beta)          -> (w, v)     v = beta v + g; w -= lr v
optimizers.adagrad_step   (w, G, grad, lr, eps)           -> (w, G)     G += g^2; w -= lr g / (sqrt(G) + eps)
optimizers.rmsprop_step   (w, s, grad, lr, alpha, eps)    -> (w, s)     s = alpha s + (1 - alpha) g^2
optimizers.adam_step      (w, m, v, grad, t, lr, b1, b2, eps) -> (w, m, v), bias-corrected at step t

Every reference is a course_nn.optim optimizer driving a Parameter whose state (velocity, sum
of squares, averages, step count) is set to the inputs, so the checkers agree with the
classes the chapter trains with (and those agree with torch.optim, tests/test_optim.py).
Fixed cases hold the traps: a first step from zero state (bias correction matters most),
tiny gradients (where eps inside or outside the square root differs), negative gradients
(where g instead of g^2 breaks the square root), beta = 0.
"""

import numpy as np

from ...module import Parameter
from ...optim import SGD, AdaGrad, Adam, RMSProp
from . import Exercise, _default_compare, register


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


# --- AdaGrad --------------------------------------------------------------------------------

def _adagrad_step(w, G, grad, lr, eps):
    p = _param(w, grad)
    opt = AdaGrad([p], lr=lr, eps=eps)
    opt.state[0]["sum_sq"] = np.array(G, dtype=np.float64)
    opt.step()
    return p.data, opt.state[0]["sum_sq"]


def _random_adagrad(rng):
    s = _shape(rng)
    return (rng.standard_normal(s), rng.uniform(0.0, 3.0, s), rng.standard_normal(s),
            float(rng.choice([0.01, 0.1, 1.0])), float(rng.choice([1e-10, 1e-8])))


register(Exercise(
    id="optimizers.adagrad_step",
    kind="transcribe",
    reference=_adagrad_step,
    fixed=[
        (np.array([1.0]), np.array([0.0]), np.array([2.0]), 0.1, 1e-10),    # first step: lr * sign(g)
        (np.array([1.0]), np.array([4.0]), np.array([3.0]), 0.1, 1e-10),    # G = 4 + 9 = 13
        (np.array([1.0, 1.0]), np.array([0.0, 0.0]), np.array([1e-9, -1e-9]), 0.1, 1e-8),  # tiny g
        (np.array([0.0, 0.0]), np.array([1.0, 100.0]), np.array([-1.0, -1.0]), 1.0, 1e-10),
    ],
    random=_random_adagrad,
    arg_names=("w", "G", "grad", "lr", "eps"),
    updates_in_place=("w", "G"),      # the parameter and the state, as torch.optim does
    compare=_compare_tuple,
))


# --- RMSProp --------------------------------------------------------------------------------

def _rmsprop_step(w, s, grad, lr, alpha, eps):
    p = _param(w, grad)
    opt = RMSProp([p], lr=lr, alpha=alpha, eps=eps)
    opt.state[0]["square_avg"] = np.array(s, dtype=np.float64)
    opt.step()
    return p.data, opt.state[0]["square_avg"]


def _random_rmsprop(rng):
    sh = _shape(rng)
    return (rng.standard_normal(sh), rng.uniform(0.0, 2.0, sh), rng.standard_normal(sh),
            float(rng.choice([0.001, 0.01, 0.1])), float(rng.choice([0.9, 0.99])),
            float(rng.choice([1e-8, 1e-6])))


register(Exercise(
    id="optimizers.rmsprop_step",
    kind="transcribe",
    reference=_rmsprop_step,
    fixed=[
        (np.array([1.0]), np.array([0.0]), np.array([2.0]), 0.01, 0.99, 1e-8),   # first step: 10 * lr
        (np.array([1.0]), np.array([1.0]), np.array([-3.0]), 0.01, 0.9, 1e-8),   # negative g
        (np.array([1.0, 1.0]), np.array([0.0, 0.0]), np.array([1e-9, -1e-9]), 0.01, 0.99, 1e-8),
        (np.array([[0.5, -0.5], [2.0, 0.0]]), np.array([[0.1, 0.2], [0.3, 0.4]]),
         np.array([[1.0, -2.0], [0.5, 0.0]]), 0.1, 0.5, 1e-6),
    ],
    random=_random_rmsprop,
    arg_names=("w", "s", "grad", "lr", "alpha", "eps"),
    updates_in_place=("w", "s"),      # the parameter and the state, as torch.optim does
    compare=_compare_tuple,
))


# --- Adam -----------------------------------------------------------------------------------

def _adam_step(w, m, v, grad, t, lr, b1, b2, eps):
    p = _param(w, grad)
    opt = Adam([p], lr=lr, betas=(b1, b2), eps=eps)
    opt.state[0]["m"] = np.array(m, dtype=np.float64)
    opt.state[0]["v"] = np.array(v, dtype=np.float64)
    opt.state[0]["step"] = int(t) - 1   # step() counts this step as number t
    opt.step()
    return p.data, opt.state[0]["m"], opt.state[0]["v"]


def _random_adam(rng):
    s = _shape(rng)
    t = int(rng.choice([1, 2, 3, 5, 10, 50, 1000]))
    return (rng.standard_normal(s), 0.3 * rng.standard_normal(s), rng.uniform(0.0, 0.5, s),
            rng.standard_normal(s), t, float(rng.choice([0.001, 0.01, 0.1])),
            float(rng.choice([0.9, 0.8])), float(rng.choice([0.999, 0.99])), 1e-8)


register(Exercise(
    id="optimizers.adam_step",
    kind="transcribe",
    reference=_adam_step,
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
    compare=_compare_tuple,
))
