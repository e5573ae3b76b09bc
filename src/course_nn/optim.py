"""Optimizers: turn the gradients in ``p.grad`` into parameter updates.

Every rule matches its PyTorch namesake step for step (same defaults, same order of
operations), so trajectories can be compared with ``torch.optim`` to 1e-10 in float64.
``weight_decay`` adds ``weight_decay * p`` to the gradient first (L2 regularization).
Usage: ``opt = Adam(model.parameters(), lr=1e-3)``; per step: ``opt.zero_grad()``, forward,
backward, ``opt.step()``.
"""

import numpy as np

from ._validate import all_finite, check_number
from .module import Parameter


class Optimizer:
    """Holds the parameters and their per-parameter state (``self.state[i]``)."""

    def __init__(self, params, lr, weight_decay=0.0):
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__}: expected a non-empty list of parameters")
        for i, p in enumerate(self.params):
            if not isinstance(p, Parameter):
                raise TypeError(
                    f"{type(self).__name__}: parameter {i} must be a Parameter, got {type(p).__name__}"
                )
        self.lr = check_number(lr, "lr", low=0, low_open=True)
        self.weight_decay = check_number(weight_decay, "weight_decay", low=0)
        self.state = [{} for _ in self.params]
        self.steps = 0

    def zero_grad(self):
        for p in self.params:
            p.zero_grad()

    def step(self):
        self.steps += 1
        for p, state in zip(self.params, self.state):
            grad = p.grad
            if not all_finite(grad):
                raise ValueError(f"{type(self).__name__}.step: gradient of {p} contains NaN or inf")
            if self.weight_decay:
                grad = grad + self.weight_decay * p.data
            p.data -= self._update(grad, state, p)

    def _update(self, grad, state, p):
        """Return the amount to subtract from p.data, given the (decayed) gradient."""
        raise NotImplementedError


class SGD(Optimizer):
    """p -= lr * g, or with momentum: v = momentum * v + g (v = g at the first step); p -= lr * v."""

    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        super().__init__(params, lr, weight_decay)
        self.momentum = check_number(momentum, "momentum", low=0, high=1, high_open=True)

    def _update(self, grad, state, p):
        if self.momentum:
            if "velocity" not in state:
                state["velocity"] = grad.copy()
            else:
                state["velocity"] = self.momentum * state["velocity"] + grad
            grad = state["velocity"]
        return self.lr * grad


class AdaGrad(Optimizer):
    """Per-parameter step sizes that shrink with the sum of squared gradients G:
    G += g^2;  p -= lr * g / (sqrt(G) + eps)."""

    def __init__(self, params, lr=0.01, eps=1e-10, weight_decay=0.0):
        super().__init__(params, lr, weight_decay)
        self.eps = check_number(eps, "eps", low=0, low_open=True)

    def _update(self, grad, state, p):
        state["sum_sq"] = state.get("sum_sq", 0.0) + grad * grad
        return self.lr * grad / (np.sqrt(state["sum_sq"]) + self.eps)


class RMSProp(Optimizer):
    """AdaGrad with a leaky average instead of a sum, so step sizes do not vanish:
    s = alpha * s + (1 - alpha) g^2;  p -= lr * g / (sqrt(s) + eps)."""

    def __init__(self, params, lr=0.01, alpha=0.99, eps=1e-8, momentum=0.0, weight_decay=0.0):
        super().__init__(params, lr, weight_decay)
        self.alpha = check_number(alpha, "alpha", low=0, high=1, high_open=True)
        self.eps = check_number(eps, "eps", low=0, low_open=True)
        self.momentum = check_number(momentum, "momentum", low=0, high=1, high_open=True)

    def _update(self, grad, state, p):
        state["square_avg"] = self.alpha * state.get("square_avg", 0.0) + (1 - self.alpha) * grad**2
        step = grad / (np.sqrt(state["square_avg"]) + self.eps)
        if self.momentum:
            state["buffer"] = self.momentum * state.get("buffer", 0.0) + step
            step = state["buffer"]
        return self.lr * step


class Adam(Optimizer):
    """Momentum (first moment m) plus RMSProp (second moment v), both bias-corrected:
    m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
    p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, lr, weight_decay)
        if len(betas) != 2:
            raise ValueError(f"betas: expected a pair (beta1, beta2), got {betas!r}")
        self.betas = tuple(check_number(b, f"betas[{i}]", low=0, high=1, high_open=True)
                           for i, b in enumerate(betas))
        self.eps = check_number(eps, "eps", low=0, low_open=True)

    def _update(self, grad, state, p):
        b1, b2 = self.betas
        state["m"] = b1 * state.get("m", 0.0) + (1 - b1) * grad
        state["v"] = b2 * state.get("v", 0.0) + (1 - b2) * grad * grad
        t = self.steps
        step_size = self.lr / (1 - b1**t)
        denom = np.sqrt(state["v"]) / np.sqrt(1 - b2**t) + self.eps
        return step_size * state["m"] / denom
