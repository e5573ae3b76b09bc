"""Residual (skip) connection: y = x + block(x).

The identity path carries the upstream gradient to x unchanged, so
dL/dx = g + block.backward(g): however small the block's own gradient gets, the sum keeps g.
"""

import numpy as np

from ._validate import as_float_array, between_layers
from .module import Module


class Residual(Module):
    """y = x + block(x) for a block that keeps the shape of its input.

    x: any float array the block accepts, e.g. (N, D) for Linear(D, H) -> Tanh -> Linear(H, D)
    or (N, C, H, W) for a padded Conv2d(C, C, 3, padding=1); y: the same shape.
    backward(g): g of y's shape -> dL/dx = g + block.backward(g), the same shape; the block
    accumulates its parameters' gradients. The block is held as ``self.block``, so its
    parameters are named as in a PyTorch module with that attribute: "block.0.weight",
    "block.2.bias" for a Sequential block (also the state_dict keys). A block whose output
    shape differs from its input's raises ValueError naming both shapes.
    """

    def __init__(self, block):
        if not isinstance(block, Module):
            raise TypeError(f"Residual block: expected a Module (e.g. a Sequential of layers "
                            f"that keeps the shape), got {type(block).__name__}")
        self.block = block
        self._shape = None

    def forward(self, x):
        x = as_float_array(x, "Residual input")
        out = self.block(x)  # (as a caller: layers that keep x for backward copy it)
        if not isinstance(out, np.ndarray) or out.shape != x.shape:
            got = out.shape if isinstance(out, np.ndarray) else type(out).__name__
            raise ValueError(
                f"Residual block: expected an output of the input's shape {x.shape} (x + "
                f"block(x) needs both to have one shape), got {got} from "
                f"{type(self.block).__name__}; make the block keep the shape (e.g. Linear(D, H)"
                f" -> ... -> Linear(H, D), or padding=1 for a 3x3 Conv2d with as many output "
                f"as input channels)")
        self._shape = x.shape
        return x + out

    def backward(self, grad_out):
        """grad_out: y's shape -> dL/dx = grad_out + block.backward(grad_out)."""
        self._require_cache("_shape")
        grad_out = as_float_array(grad_out, "Residual grad_out", shape=self._shape)
        with between_layers():  # grad_out is checked: the block need not rescan it
            through_block = self.block.backward(grad_out)
        return grad_out + through_block

    def backward_params(self, grad_out):
        """Only the block's parameter gradients (the input gradient is not needed)."""
        self._require_cache("_shape")
        grad_out = as_float_array(grad_out, "Residual grad_out", shape=self._shape)
        with between_layers():
            self.block.backward_params(grad_out)
