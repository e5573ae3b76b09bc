"""The fully connected (dense) layer: every input connects to every output."""

import numpy as np

from . import init as initializers
from ._validate import as_float_array, check_positive_int
from .module import Module, Parameter


class Linear(Module):
    """y = x @ W.T + b.

    weight: (out_features, in_features), one row per output neuron, as in PyTorch and the notes;
    bias: (out_features,).  x: (N, in_features) -> y: (N, out_features).
    ``init`` is a function ``(shape, rng) -> array`` from ``course_nn.init`` (PyTorch's default
    uniform if omitted); biases start at the same default or at zero with ``init``.
    """

    def __init__(self, in_features, out_features, bias=True, *, rng=None, init=None,
                 dtype=np.float64):
        self.in_features = check_positive_int(in_features, "in_features")
        self.out_features = check_positive_int(out_features, "out_features")
        shape = (self.out_features, self.in_features)
        if init is None:
            w = initializers.default_uniform(shape, rng)
            b = initializers.default_uniform((self.out_features,), rng, fan_in=self.in_features)
        else:
            w = init(shape, rng)
            b = np.zeros(self.out_features)
        self.weight = Parameter(np.asarray(w, dtype=dtype))
        self.bias = Parameter(np.asarray(b, dtype=dtype)) if bias else None
        self._x = None

    @classmethod
    def from_weights(cls, weight, bias=None):
        """A Linear layer holding the given arrays: weight (out, in), bias (out,) or None."""
        weight = as_float_array(weight, "weight", ndim=2)
        layer = cls(weight.shape[1], weight.shape[0], bias=bias is not None,
                    init=lambda shape, rng: weight, dtype=weight.dtype)
        if bias is not None:
            layer.bias.data[...] = as_float_array(bias, "bias", shape=(weight.shape[0],))
        return layer

    def forward(self, x):
        x = as_float_array(x, "Linear input", shape=(None, self.in_features))
        self._x = x
        out = x @ self.weight.data.T
        if self.bias is not None:
            out += self.bias.data
        return out

    def backward(self, grad_out):
        """grad_out: (N, out_features) -> returns dL/dx: (N, in_features)."""
        grad_out = self._accumulate_grads(grad_out)
        return grad_out @ self.weight.data

    def backward_params(self, grad_out):
        """Only dL/dW and dL/db, for a first layer whose input is data."""
        self._accumulate_grads(grad_out)

    def _accumulate_grads(self, grad_out):
        """weight.grad += grad_out.T @ x (out, in); bias.grad += grad_out summed over the batch."""
        self._require_cache("_x")
        grad_out = as_float_array(grad_out, "Linear grad_out",
                                  shape=(self._x.shape[0], self.out_features))
        self.weight.add_grad(grad_out.T @ self._x)
        if self.bias is not None:
            self.bias.add_grad(grad_out.sum(axis=0))
        return grad_out

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")
