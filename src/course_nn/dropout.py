"""Dropout: randomly silence units during training so no unit can rely on another.

Caching rule: backward needs only the mask, which Dropout draws itself (no caller holds it);
the output is always a fresh array, so writing into it cannot change the gradient.
"""

import numpy as np

from . import init as initializers
from ._validate import as_float_array, check_generator, check_number
from .module import Module


class Dropout(Module):
    """Inverted dropout: in training each entry is zeroed with probability ``p`` and the
    survivors are scaled by 1 / (1 - p), so the expected output equals the input and
    evaluation mode is the identity (as torch.nn.Dropout). x: any shape -> same shape.

    p in [0, 1]. ``p = 1`` is allowed, as in PyTorch: in training the output and the gradient
    are all zeros. ``rng``: a ``np.random.Generator``, or None for the package generator.
    """

    def __init__(self, p=0.5, *, rng=None):
        self.p = check_number(p, "Dropout p", low=0, high=1)
        self.rng = None if rng is None else check_generator(rng, "Dropout rng")
        self._mask = None

    def forward(self, x):
        x = as_float_array(x, "Dropout input")
        if not self.training or self.p == 0:
            self._mask = np.ones_like(x)
            return x.copy()
        if self.p == 1:
            mask = np.zeros_like(x)
        else:
            keep = initializers._rng(self.rng).random(x.shape) >= self.p
            mask = keep.astype(x.dtype) / (1.0 - self.p)
        self._mask = mask
        return x * mask

    def backward(self, grad_out):
        """grad_out: the output's shape -> dL/dx, the same shape."""
        self._require_cache("_mask")
        grad_out = as_float_array(grad_out, "Dropout grad_out", shape=self._mask.shape)
        return grad_out * self._mask

    def extra_repr(self):
        return f"p={self.p}"
