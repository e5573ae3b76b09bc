"""Activation functions: each as a plain function, its derivative, and a Module.

Functions take an array ``x`` of any shape and work elementwise (softmax along an axis).
``<name>_grad(x)`` is the derivative d<name>/dx evaluated at ``x``; a Module's backward
multiplies it into the incoming gradient (the chain rule, one factor per layer).
At a kink (ReLU at 0) the derivative follows PyTorch: the right-hand value for x > 0 only.
"""

import math

import numpy as np

from ._validate import as_float_array, check_number, check_positive_int
from .module import Module, Parameter

SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
GELU_TANH_COEF = 0.044715
_erf = np.frompyfunc(math.erf, 1, 1)


def _as_float(x):
    """x as an ndarray, keeping float32/float64 and turning ints and lists into float64."""
    x = np.asarray(x)
    return x if np.issubdtype(x.dtype, np.floating) else x.astype(np.float64)


def identity(x):
    return _as_float(x).copy()


def identity_grad(x):
    return np.ones_like(_as_float(x))


def sigmoid(x):
    """1 / (1 + e^-x), computed without overflow: only e^-|x| is ever evaluated, and for
    x < 0 the equal form e^x / (1 + e^x) keeps full relative accuracy far into the tail."""
    x = _as_float(x)
    e = np.exp(-np.abs(x))
    r = 1.0 / (1.0 + e)
    return np.where(x >= 0, r, e * r)


def sigmoid_grad(x):
    s = sigmoid(x)
    return s * (1.0 - s)


def tanh(x):
    return np.tanh(_as_float(x))


def tanh_grad(x):
    return 1.0 - np.tanh(_as_float(x)) ** 2


def relu(x):
    x = _as_float(x)
    return np.maximum(x, x.dtype.type(0))


def relu_grad(x):
    x = _as_float(x)
    return (x > 0).astype(x.dtype)


def leaky_relu(x, negative_slope=0.01):
    x = _as_float(x)
    return np.where(x > 0, x, x.dtype.type(negative_slope) * x)


def leaky_relu_grad(x, negative_slope=0.01):
    x = _as_float(x)
    return np.where(x > 0, 1.0, negative_slope).astype(x.dtype)


def elu(x, alpha=1.0):
    """x for x > 0, alpha * (e^x - 1) otherwise (expm1 keeps small x accurate)."""
    x = _as_float(x)
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0)))


def elu_grad(x, alpha=1.0):
    x = _as_float(x)
    return np.where(x > 0, 1.0, alpha * np.exp(np.minimum(x, 0.0))).astype(x.dtype)


def swish(x, beta=1.0):
    """x * sigmoid(beta * x); beta = 1 is SiLU."""
    x = _as_float(x)
    return x * sigmoid(beta * x)


def swish_grad(x, beta=1.0):
    x = _as_float(x)
    s = sigmoid(beta * x)
    return s + beta * x * s * (1.0 - s)


def normal_cdf(x):
    """Phi(x), the standard normal CDF, via math.erf (exact to double precision)."""
    x = _as_float(x)
    # np.asarray: on a 0-d input the frompyfunc ufunc returns a bare Python float, not an array.
    erf = np.asarray(_erf(x / math.sqrt(2.0)), dtype=np.float64)
    return (0.5 * (1.0 + erf)).astype(x.dtype)


def normal_pdf(x):
    return np.exp(-0.5 * np.square(_as_float(x))) / math.sqrt(2.0 * math.pi)


def gelu(x, approximate="none"):
    """x * Phi(x); ``approximate='tanh'`` gives 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    x = _as_float(x)
    if _check_approximate(approximate) == "tanh":
        return 0.5 * x * (1.0 + np.tanh(SQRT_2_OVER_PI * (x + GELU_TANH_COEF * x**3)))
    return x * normal_cdf(x)


def gelu_grad(x, approximate="none"):
    x = _as_float(x)
    if _check_approximate(approximate) == "tanh":
        t = np.tanh(SQRT_2_OVER_PI * (x + GELU_TANH_COEF * x**3))
        du = SQRT_2_OVER_PI * (1.0 + 3.0 * GELU_TANH_COEF * x**2)
        return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t**2) * du
    return normal_cdf(x) + x * normal_pdf(x)


def _check_approximate(approximate):
    if approximate not in ("none", "tanh"):
        raise ValueError(f"approximate: expected 'none' or 'tanh', got {approximate!r}")
    return approximate


def softmax(x, axis=-1):
    """e^x_i / sum_j e^x_j along ``axis``; subtracting the max first keeps e^x from overflowing."""
    x = _as_float(x)
    shifted = x - x.max(axis=axis, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(x, axis=-1):
    """log softmax(x) = x - logsumexp(x), stable for logits of any size."""
    x = _as_float(x)
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def softmax_backward(y, grad_out, axis=-1):
    """Vector-Jacobian product of softmax: given y = softmax(x) and dL/dy, return dL/dx.

    The Jacobian is diag(y) - y y^T, so dL/dx = y * (dL/dy - sum(dL/dy * y)).
    """
    return y * (grad_out - np.sum(grad_out * y, axis=axis, keepdims=True))


class _Elementwise(Module):
    """An activation applied elementwise: backward multiplies by the derivative at x."""

    def __init__(self):
        self._x = None

    def _f(self, x):
        raise NotImplementedError

    def _df(self, x):
        raise NotImplementedError

    def forward(self, x):
        x = as_float_array(x, f"{type(self).__name__} input")
        self._x = x
        return self._f(x)

    def backward(self, grad_out):
        self._require_cache("_x")
        grad_out = as_float_array(grad_out, f"{type(self).__name__} grad_out", shape=self._x.shape)
        return grad_out * self._df(self._x)


class Identity(_Elementwise):
    def _f(self, x):
        return identity(x)

    def _df(self, x):
        return identity_grad(x)


class Sigmoid(_Elementwise):
    def _f(self, x):
        return sigmoid(x)

    def _df(self, x):
        return sigmoid_grad(x)


class Tanh(_Elementwise):
    def _f(self, x):
        return tanh(x)

    def _df(self, x):
        return tanh_grad(x)


class ReLU(_Elementwise):
    def _f(self, x):
        return relu(x)

    def _df(self, x):
        return relu_grad(x)


class LeakyReLU(_Elementwise):
    def __init__(self, negative_slope=0.01):
        super().__init__()
        self.negative_slope = check_number(negative_slope, "negative_slope", low=0)

    def _f(self, x):
        return leaky_relu(x, self.negative_slope)

    def _df(self, x):
        return leaky_relu_grad(x, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class ELU(_Elementwise):
    def __init__(self, alpha=1.0):
        super().__init__()
        self.alpha = check_number(alpha, "alpha", low=0, low_open=True)

    def _f(self, x):
        return elu(x, self.alpha)

    def _df(self, x):
        return elu_grad(x, self.alpha)

    def extra_repr(self):
        return f"alpha={self.alpha}"


class Swish(_Elementwise):
    """x * sigmoid(beta * x). ``Swish(1.0)`` is SiLU."""

    def __init__(self, beta=1.0):
        super().__init__()
        self.beta = check_number(beta, "beta", low=0)

    def _f(self, x):
        return swish(x, self.beta)

    def _df(self, x):
        return swish_grad(x, self.beta)

    def extra_repr(self):
        return f"beta={self.beta}"


class SiLU(Swish):
    def __init__(self):
        super().__init__(1.0)

    def extra_repr(self):
        return ""


class GELU(_Elementwise):
    def __init__(self, approximate="none"):
        super().__init__()
        self.approximate = _check_approximate(approximate)

    def _f(self, x):
        return gelu(x, self.approximate)

    def _df(self, x):
        return gelu_grad(x, self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class PReLU(Module):
    """Leaky ReLU whose negative slope is learned: f(x) = max(0, x) + a * min(0, x).

    num_parameters = 1 shares one slope; otherwise one slope per channel (axis 1), as PyTorch.
    weight: (num_parameters,), initialised to ``init`` (0.25 as in PyTorch).
    """

    def __init__(self, num_parameters=1, init=0.25):
        num_parameters = check_positive_int(num_parameters, "num_parameters")
        self.weight = Parameter(np.full(num_parameters, check_number(init, "init")))
        self._x = None

    def _slope(self, x):
        n = self.weight.data.size
        if n == 1:
            return self.weight.data[0]
        if x.ndim < 2 or x.shape[1] != n:
            raise ValueError(f"PReLU input: expected {n} channels on axis 1, got shape {x.shape}")
        return self.weight.data.reshape((1, n) + (1,) * (x.ndim - 2))

    def forward(self, x):
        x = as_float_array(x, "PReLU input")
        self._x = x
        return np.where(x > 0, x, self._slope(x) * x)

    def backward(self, grad_out):
        self._require_cache("_x")
        x = self._x
        grad_out = as_float_array(grad_out, "PReLU grad_out", shape=x.shape)
        neg = np.minimum(x, 0.0) * grad_out
        if self.weight.data.size == 1:
            self.weight.grad += neg.sum()
        else:
            self.weight.grad += neg.sum(axis=tuple(i for i in range(x.ndim) if i != 1))
        return np.where(x > 0, grad_out, self._slope(x) * grad_out)

    def extra_repr(self):
        return f"num_parameters={self.weight.data.size}"


class Softmax(Module):
    """softmax along ``dim`` (default: the last axis, the classes of an (N, C) batch)."""

    def __init__(self, dim=-1):
        self.dim = dim
        self._y = None

    def forward(self, x):
        x = as_float_array(x, "Softmax input")
        self._y = softmax(x, axis=self.dim)
        return self._y

    def backward(self, grad_out):
        self._require_cache("_y")
        grad_out = as_float_array(grad_out, "Softmax grad_out", shape=self._y.shape)
        return softmax_backward(self._y, grad_out, axis=self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


ACTIVATIONS = {
    "identity": (identity, identity_grad),
    "sigmoid": (sigmoid, sigmoid_grad),
    "tanh": (tanh, tanh_grad),
    "relu": (relu, relu_grad),
    "leaky_relu": (leaky_relu, leaky_relu_grad),
    "elu": (elu, elu_grad),
    "swish": (swish, swish_grad),
    "gelu": (gelu, gelu_grad),
    "gelu_tanh": (lambda x: gelu(x, "tanh"), lambda x: gelu_grad(x, "tanh")),
}
"""Name -> (function, derivative) for the elementwise activations, for plots and tables."""
