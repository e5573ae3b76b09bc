"""Shared definition of the optimizer comparison: the problem, the settings, the trajectory.

Used by tests/test_optim.py (against torch and the committed reference) and by
tests/make_optim_reference.py (which writes tests/reference/optim_trajectories.npz).
The gradient is that of f(p) = sum over rows r of 0.5 r A r^T + sum(cos(p)); it changes
every step, so the optimizers' state matters.
"""

import numpy as np

STEPS = 5
CASES = {
    "sgd": ("SGD", dict(lr=0.1)),
    "sgd_momentum_wd": ("SGD", dict(lr=0.1, momentum=0.9, weight_decay=0.01)),
    "adagrad": ("AdaGrad", dict(lr=0.1)),
    "rmsprop": ("RMSProp", dict(lr=0.01, alpha=0.9)),
    "rmsprop_momentum": ("RMSProp", dict(lr=0.01, alpha=0.99, momentum=0.5, weight_decay=0.1)),
    "adam": ("Adam", dict(lr=0.05)),
    "adam_wd": ("Adam", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.05)),
}
TORCH_NAMES = {"SGD": "SGD", "AdaGrad": "Adagrad", "RMSProp": "RMSprop", "Adam": "Adam"}


def problem():
    """Initial parameters (a (3, 4) matrix and a (4,) vector) and the matrix A."""
    rng = np.random.default_rng(2024)
    p0 = [rng.standard_normal((3, 4)), rng.standard_normal(4)]
    m = rng.standard_normal((4, 4))
    return p0, m @ m.T / 4 + np.eye(4)


def gradient(p, a):
    """Gradient of f, p @ A - sin(p) (A is symmetric), for numpy arrays and torch tensors."""
    return p @ a - np.sin(p) if isinstance(p, np.ndarray) else p @ a - p.sin()


def run_course_nn(name, kwargs):
    import course_nn.optim as optim
    from course_nn import Parameter

    p0, a = problem()
    params = [Parameter(x.copy()) for x in p0]
    opt = getattr(optim, name)(params, **kwargs)
    path = []
    for _ in range(STEPS):
        opt.zero_grad()
        for p in params:
            p.grad += gradient(p.data, a)
        opt.step()
        path.append([p.data.copy() for p in params])
    return path
