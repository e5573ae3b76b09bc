"""Dropout: randomly silence units during training so no unit can rely on another."""

import numpy as np

from . import init as initializers
from ._validate import as_float_array, check_number
from .module import Module


class Dropout(Module):
    """Inverted dropout: in training each entry is zeroed with probability ``p`` and the
    survivors are scaled by 1 / (1 - p), so the expected output equals the input and
    evaluation mode is the identity (as torch.nn.Dropout). x: any shape -> same shape.
    """

    def __init__(self, p=0.5, *, rng=None):
        self.p = check_number(p, "p", low=0, high=1)
        self.rng = rng
        self._mask = None

    def forward(self, x):
        x = as_float_array(x, "Dropout input")
        if not self.training or self.p == 0:
            self._mask = np.ones_like(x)
            return x.copy()
        if self.p == 1:
            self._mask = np.zeros_like(x)
        else:
            keep = initializers._rng(self.rng).random(x.shape) >= self.p
            self._mask = keep.astype(x.dtype) / (1.0 - self.p)
        return x * self._mask

    def backward(self, grad_out):
        self._require_cache("_mask")
        grad_out = as_float_array(grad_out, "Dropout grad_out", shape=self._mask.shape)
        return grad_out * self._mask

    def extra_repr(self):
        return f"p={self.p}"
