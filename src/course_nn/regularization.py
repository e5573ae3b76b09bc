"""Weight penalties: L1, L2 and elastic net, added to the loss and to the gradients.

    data_loss = loss_fn(model(x), y)
    total = data_loss + penalty(weights)        # the number being minimized
    model.backward(loss_fn.backward())
    penalty.backward(weights)                   # adds d penalty / d w to every w.grad

``weights`` is a list of Parameters; ``weights_only(model)`` picks the weight matrices and
leaves biases unpenalized, the usual choice.
"""

import numpy as np

from ._validate import check_number


def weights_only(model):
    """The parameters with at least two dimensions (weight matrices and kernels, not biases)."""
    return [p for p in model.parameters() if p.data.ndim >= 2]


class ElasticNet:
    """l1 * sum |w| + l2 * sum w^2; gradient l1 * sign(w) + 2 * l2 * w (sign(0) = 0)."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = check_number(l1, "l1", low=0)
        self.l2 = check_number(l2, "l2", low=0)

    def __call__(self, params):
        return float(sum(self.l1 * np.abs(p.data).sum() + self.l2 * np.square(p.data).sum()
                         for p in params))

    def gradient(self, w):
        return self.l1 * np.sign(w) + 2.0 * self.l2 * w

    def backward(self, params):
        for p in params:
            p.grad += self.gradient(p.data)

    def __repr__(self):
        return f"{type(self).__name__}(l1={self.l1}, l2={self.l2})"


class L1Penalty(ElasticNet):
    """lam * sum |w|: pushes small weights to exactly zero (sparsity, feature selection)."""

    def __init__(self, lam):
        super().__init__(l1=check_number(lam, "lam", low=0))

    def __repr__(self):
        return f"L1Penalty(lam={self.l1})"


class L2Penalty(ElasticNet):
    """lam * sum w^2: in gradient descent every step multiplies w by (1 - 2 * lr * lam)."""

    def __init__(self, lam):
        super().__init__(l2=check_number(lam, "lam", low=0))

    def __repr__(self):
        return f"L2Penalty(lam={self.l2})"
