"""Weight penalties: L1, L2 and elastic net, added to the loss and to the gradients.

    data_loss = loss_fn(model(x), y)
    total = data_loss + penalty(weights)        # the number being minimized
    model.backward(loss_fn.backward())
    penalty.backward(weights)                   # adds d penalty / d w to every w.grad

``weights`` is a non-empty list of Parameters, each at most once (as for an optimizer);
``weights_only(model)`` picks the weight matrices and leaves biases unpenalized, the usual
choice. A penalty or gradient that overflows raises ValueError, and ``backward`` changes no
gradient unless every one of them is finite.
"""

import numpy as np

from ._validate import all_finite, as_array, as_float_array, check_number
from .module import Module, parameter_list


def weights_only(model):
    """The parameters with at least two dimensions (weight matrices and kernels, not biases)."""
    if not isinstance(model, Module):
        raise TypeError(f"weights_only: expected a Module, got {type(model).__name__}")
    return [p for p in model.parameters() if p.data.ndim >= 2]


class ElasticNet:
    """l1 * sum |w| + l2 * sum w^2; gradient l1 * sign(w) + 2 * l2 * w (sign(0) = 0)."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = l1
        self.l2 = l2

    def __setattr__(self, name, value):
        if name in ("l1", "l2"):  # checked whenever set, also later (penalty.l2 = 1e-3)
            value = check_number(value, f"{type(self).__name__} {name}", low=0)
        object.__setattr__(self, name, value)

    def __call__(self, params):
        """The penalty (a float) of a list of Parameters."""
        params, _ = parameter_list(params, type(self).__name__)
        with np.errstate(over="ignore", invalid="ignore"):
            value = float(sum(self.l1 * np.abs(p.data).sum() + self.l2 * np.square(p.data).sum()
                              for p in params))
        if not np.isfinite(value):
            raise ValueError(f"{type(self).__name__}: the penalty overflows to {value} (weights "
                             f"up to {max(float(np.max(np.abs(p.data))) for p in params):.3g})")
        return value

    def gradient(self, w):
        """d penalty / d w for an array ``w`` of any shape (same shape out)."""
        w = as_float_array(as_array(w, f"{type(self).__name__} w"), f"{type(self).__name__} w")
        return self._checked_gradient(w)

    def _checked_gradient(self, w):
        with np.errstate(over="ignore", invalid="ignore"):
            g = self.l1 * np.sign(w) + 2.0 * self.l2 * w
        if not all_finite(g):
            raise ValueError(f"{type(self).__name__}: the gradient overflows or is NaN (weights up "
                             f"to {float(np.max(np.abs(w))):.3g}, l2={self.l2:g})")
        return g

    def backward(self, params):
        """Add d penalty / d w to the ``.grad`` of every Parameter in ``params``: all or none."""
        params, _ = parameter_list(params, f"{type(self).__name__}.backward")
        grads = [self._checked_gradient(p.data) for p in params]
        for p, g in zip(params, grads):
            p.grad += g

    def __repr__(self):
        return f"{type(self).__name__}(l1={self.l1}, l2={self.l2})"


class L1Penalty(ElasticNet):
    """lam * sum |w|: pushes small weights to exactly zero (sparsity, feature selection)."""

    def __init__(self, lam):
        super().__init__(l1=check_number(lam, "L1Penalty lam", low=0))

    def proximal_step(self, params, step):
        """Soft thresholding, the proximal step of L1: after an optimizer step with learning
        rate ``step`` on the data loss alone, w <- sign(w) * max(|w| - step * lam, 0) for every
        Parameter in ``params``. Unlike adding ``lam * sign(w)`` to the gradient, which makes a
        small weight jump back and forth across zero, this sets it to exactly zero (the rule
        TensorFlow Playground applies: a weight that would cross zero stops at zero). Changes
        every Parameter or, on a bad argument, none."""
        params, _ = parameter_list(params, "L1Penalty.proximal_step")
        step = check_number(step, "L1Penalty.proximal_step step", low=0)
        threshold = step * self.l1
        if not np.isfinite(threshold):
            raise ValueError(f"L1Penalty.proximal_step: step * lam overflows ({step:g} * {self.l1:g})")
        for p in params:
            # + 0.0 turns the -0.0 of a negative weight set to zero into 0.0
            np.copyto(p.data, np.sign(p.data) * np.maximum(np.abs(p.data) - threshold, 0.0) + 0.0)

    def __repr__(self):
        return f"L1Penalty(lam={self.l1})"


class L2Penalty(ElasticNet):
    """lam * sum w^2: in gradient descent every step multiplies w by (1 - 2 * lr * lam)."""

    def __init__(self, lam):
        super().__init__(l2=check_number(lam, "L2Penalty lam", low=0))

    def __repr__(self):
        return f"L2Penalty(lam={self.l2})"
