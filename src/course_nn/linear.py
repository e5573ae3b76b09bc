"""The fully connected (dense) layer: every input connects to every output.

Caching rule (as in every layer of the package): ``forward`` keeps what ``backward`` needs in
an array that nobody else can write to. The caller's x is copied (about 1-2 % of a training
step of a 784-128-10 MLP); between the layers of a ``Sequential`` the input is course_nn's own
array, held by no caller, and is kept without a copy. The returned output is always a fresh
array, never a view of the cache, so ``out += 1`` cannot change a later gradient.
"""

import numpy as np

from . import init as initializers
from ._validate import (
    ALLOCATION_LIMIT_BYTES,
    as_float_array,
    check_allocation,
    check_bool,
    check_float_dtype,
    check_generator,
    check_positive_int,
    private_copy,
)
from .module import Module, Parameter


class Linear(Module):
    """y = x @ W.T + b.

    weight: (out_features, in_features), one row per output neuron, as in PyTorch and the notes;
    bias: (out_features,).  x: (N, in_features) -> y: (N, out_features).
    ``init`` is a function ``(shape, rng) -> array`` from ``course_nn.init`` (PyTorch's default
    uniform if omitted); biases start at the same default or at zero with ``init``. ``dtype``
    is float32 or float64; ``rng`` a ``np.random.Generator`` or None (the package generator).
    """

    def __init__(self, in_features, out_features, bias=True, *, rng=None, init=None,
                 dtype=np.float64):
        self.in_features = check_positive_int(in_features, "Linear in_features")
        self.out_features = check_positive_int(out_features, "Linear out_features")
        bias = check_bool(bias, "Linear bias")
        dtype = check_float_dtype(dtype, "Linear dtype")
        if rng is not None:
            check_generator(rng, "Linear rng")
        shape = (self.out_features, self.in_features)
        check_allocation(shape, dtype, "Linear weight")
        if init is None:
            w = initializers.default_uniform(shape, rng)
            b = initializers.default_uniform((self.out_features,), rng, fan_in=self.in_features)
        else:
            w = initializers.initial_values(init, shape, rng, dtype, "Linear")
            b = np.zeros(self.out_features)
        self.weight = Parameter(np.asarray(w, dtype=dtype))
        self.bias = Parameter(np.asarray(b, dtype=dtype)) if bias else None
        self._x = None

    @classmethod
    def from_weights(cls, weight, bias=None):
        """A Linear layer holding copies of the given arrays: weight (out, in), bias (out,) or
        None; the layer's dtype is the weight's (float32 or float64)."""
        weight = as_float_array(weight, "Linear.from_weights weight", ndim=2)
        check_float_dtype(weight.dtype, "Linear.from_weights weight dtype")
        if bias is not None:
            bias = as_float_array(bias, "Linear.from_weights bias", shape=(weight.shape[0],))
        layer = cls(weight.shape[1], weight.shape[0], bias=bias is not None,
                    init=lambda shape, rng: weight, dtype=weight.dtype)
        if bias is not None:
            layer.bias.data[...] = bias
        return layer

    def forward(self, x):
        """x: (N, in_features) -> (N, out_features), a fresh array."""
        x = as_float_array(x, "Linear input", shape=(None, self.in_features))
        weight = self.weight.data
        if weight.shape != (self.out_features, self.in_features):
            raise ValueError(f"Linear weight: expected shape ({self.out_features}, "
                             f"{self.in_features}), got {weight.shape}")
        if self.bias is not None and self.bias.data.shape != (self.out_features,):
            raise ValueError(f"Linear bias: expected shape ({self.out_features},), "
                             f"got {self.bias.data.shape}")
        if x.shape[0] * self.out_features * max(x.itemsize, weight.itemsize) > ALLOCATION_LIMIT_BYTES:
            check_allocation((x.shape[0], self.out_features), np.result_type(x, weight), "Linear output")
        x = private_copy(x)  # copied before the product, which then reads it from cache
        out = x @ weight.T
        if self.bias is not None:
            out += self.bias.data
        self._x = x
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

