"""Batch normalization over the batch axis of (N, C) activations."""

import numpy as np

from ._validate import as_float_array, check_number, check_positive_int
from .module import Module, Parameter


class BatchNorm1d(Module):
    """y = gamma * (x - mean) / sqrt(var + eps) + beta, per feature.

    Training: mean and (biased) variance of the current batch; the running statistics move
    toward them, running = (1 - momentum) * running + momentum * batch, with the unbiased
    variance, as PyTorch. Evaluation: the running statistics, so one sample's output does not
    depend on the rest of its batch. x: (N, C) -> (N, C); weight (gamma), bias (beta): (C,).
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.1, dtype=np.float64):
        self.num_features = check_positive_int(num_features, "num_features")
        self.eps = check_number(eps, "eps", low=0, low_open=True)
        self.momentum = check_number(momentum, "momentum", low=0, high=1)
        self.weight = Parameter(np.ones(num_features, dtype=dtype))
        self.bias = Parameter(np.zeros(num_features, dtype=dtype))
        self.running_mean = np.zeros(num_features, dtype=dtype)
        self.running_var = np.ones(num_features, dtype=dtype)
        self._cache = None

    def forward(self, x):
        x = as_float_array(x, "BatchNorm1d input", shape=(None, self.num_features))
        if self.training:
            n = x.shape[0]
            if n < 2:
                raise ValueError(
                    f"BatchNorm1d input: expected more than 1 sample per batch in training, "
                    f"got shape {x.shape}"
                )
            mean = x.mean(axis=0)
            var = x.var(axis=0)
            m = self.momentum
            self.running_mean = (1 - m) * self.running_mean + m * mean
            self.running_var = (1 - m) * self.running_var + m * var * n / (n - 1)
        else:
            mean, var = self.running_mean, self.running_var
        inv_std = 1.0 / np.sqrt(var + self.eps)
        x_hat = (x - mean) * inv_std
        self._cache = (x_hat, inv_std, self.training)
        return self.weight.data * x_hat + self.bias.data

    def backward(self, grad_out):
        """grad_out: (N, C) -> dL/dx: (N, C); accumulates dL/dgamma and dL/dbeta."""
        self._require_cache("_cache")
        x_hat, inv_std, training = self._cache
        grad_out = as_float_array(grad_out, "BatchNorm1d grad_out", shape=x_hat.shape)
        self.weight.add_grad(np.sum(grad_out * x_hat, axis=0))
        self.bias.add_grad(grad_out.sum(axis=0))
        d_xhat = grad_out * self.weight.data
        if not training:
            return d_xhat * inv_std
        # mean and variance depend on every sample, which adds the two centring terms
        return inv_std * (d_xhat - d_xhat.mean(axis=0) - x_hat * np.mean(d_xhat * x_hat, axis=0))

    def extra_repr(self):
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"
