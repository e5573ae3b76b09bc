"""Activation functions: each as a plain function, its derivative, and a Module.

Functions take an array ``x`` of any shape and work elementwise (softmax along an axis).
``<name>_grad(x)`` is the derivative d<name>/dx evaluated at ``x``; a Module's backward
multiplies it into the incoming gradient (the chain rule, one factor per layer).
At a kink (ReLU at 0) the derivative follows PyTorch: the right-hand value for x > 0 only.

The plain functions accept int, bool and float arrays (ints become float64) and, like numpy's
own ufuncs and torch's functions, let NaN and inf through; complex, string and object input
raise TypeError. Extreme finite inputs (+-1e308) give the finite limits, without overflow
warnings, wherever the true value is finite.

Caching rule of the Modules: ``forward`` caches the input (or, for Softmax, the output) for
``backward`` in an array no caller can write to: the caller's x is copied, while between the
layers of a ``Sequential`` the input is course_nn's own array and is kept as it is. The
returned output is always a fresh array, never the cache itself, so writing into it (``out
+= 1``, also after the last layer of a Sequential) cannot change a later gradient.
"""

import math

import numpy as np

from ._validate import (
    all_finite,
    as_array,
    as_float_array,
    check_allocation,
    check_int,
    check_number,
    check_positive_int,
    private_copy,
)
from .module import Module, Parameter

SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
GELU_TANH_COEF = 0.044715
# Beyond |x| = 100 the tanh in tanh-GELU is exactly +-1 in float32 and float64 alike, so the
# cubic is evaluated on x clipped there: the same values, and x**3 never overflows.
_GELU_TANH_CLIP = 100.0
_erf = np.frompyfunc(math.erf, 1, 1)


def _as_float(x, name):
    """x as an ndarray, keeping float32/float64 and turning ints, bools and lists into float64.

    ``name`` (e.g. "sigmoid x") is used in the errors: TypeError for complex, string or
    object input (numpy would drop an imaginary part silently), ValueError for ragged lists.
    """
    x = as_array(x, name)
    kind = x.dtype.kind
    if kind == "f":
        return x
    if kind in "iub":
        return x.astype(np.float64)
    raise TypeError(f"{name}: expected real numbers (a float, int or bool array), got dtype "
                    f"{x.dtype}")


def identity(x):
    return _as_float(x, "identity x").copy()


def identity_grad(x):
    return np.ones_like(_as_float(x, "identity_grad x"))


def sigmoid(x):
    """1 / (1 + e^-x), computed without overflow: only e^-|x| is ever evaluated, and for
    x < 0 the equal form e^x / (1 + e^x) keeps full relative accuracy far into the tail."""
    x = _as_float(x, "sigmoid x")
    e = np.exp(-np.abs(x))
    r = 1.0 / (1.0 + e)
    return np.where(x >= 0, r, e * r)


def sigmoid_grad(x):
    s = sigmoid(_as_float(x, "sigmoid_grad x"))
    return s * (1.0 - s)


def tanh(x):
    return np.tanh(_as_float(x, "tanh x"))


def tanh_grad(x):
    return 1.0 - np.tanh(_as_float(x, "tanh_grad x")) ** 2


def relu(x):
    x = _as_float(x, "relu x")
    return np.maximum(x, x.dtype.type(0))


def relu_grad(x):
    x = _as_float(x, "relu_grad x")
    return (x > 0).astype(x.dtype)


def leaky_relu(x, negative_slope=0.01):
    """x for x > 0, negative_slope * x otherwise (negative_slope >= 0)."""
    x = _as_float(x, "leaky_relu x")
    negative_slope = check_number(negative_slope, "leaky_relu negative_slope", low=0)
    with np.errstate(over="ignore"):  # a slope > 1 times -1e308 is -inf: the true value
        return np.where(x > 0, x, x.dtype.type(negative_slope) * x)


def leaky_relu_grad(x, negative_slope=0.01):
    x = _as_float(x, "leaky_relu_grad x")
    negative_slope = check_number(negative_slope, "leaky_relu_grad negative_slope", low=0)
    return np.where(x > 0, 1.0, negative_slope).astype(x.dtype)


def elu(x, alpha=1.0):
    """x for x > 0, alpha * (e^x - 1) otherwise (expm1 keeps small x accurate); alpha > 0."""
    x = _as_float(x, "elu x")
    alpha = check_number(alpha, "elu alpha", low=0, low_open=True)
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0)))


def elu_grad(x, alpha=1.0):
    x = _as_float(x, "elu_grad x")
    alpha = check_number(alpha, "elu_grad alpha", low=0, low_open=True)
    return np.where(x > 0, 1.0, alpha * np.exp(np.minimum(x, 0.0))).astype(x.dtype)


def swish(x, beta=1.0):
    """x * sigmoid(beta * x); beta = 1 is SiLU (beta >= 0)."""
    x = _as_float(x, "swish x")
    beta = check_number(beta, "swish beta", low=0)
    with np.errstate(over="ignore"):  # beta * x = +-inf: sigmoid gives exactly 1 or 0
        return x * sigmoid(beta * x)


def swish_grad(x, beta=1.0):
    x = _as_float(x, "swish_grad x")
    beta = check_number(beta, "swish_grad beta", low=0)
    with np.errstate(over="ignore", invalid="ignore"):
        bx = beta * x
        s = sigmoid(bx)
        term = bx * s * (1.0 - s)
        if beta > 1 and not np.all(np.isfinite(bx)):  # beta x s (1 - s) -> 0 as |beta x| -> inf
            term = np.where(np.isfinite(bx), term, 0.0)
    return s + term


def normal_cdf(x):
    """Phi(x), the standard normal CDF, via math.erf (exact to double precision)."""
    x = _as_float(x, "normal_cdf x")
    # np.asarray: on a 0-d input the frompyfunc ufunc returns a bare Python float, not an array.
    erf = np.asarray(_erf(x / math.sqrt(2.0)), dtype=np.float64)
    return (0.5 * (1.0 + erf)).astype(x.dtype)


def normal_pdf(x):
    x = _as_float(x, "normal_pdf x")
    with np.errstate(over="ignore"):  # x^2 = inf beyond 1e154: e^-inf = 0 is the true limit
        return np.exp(-0.5 * np.square(x)) / math.sqrt(2.0 * math.pi)


def _gelu_tanh_t(x):
    """tanh(sqrt(2/pi) (x + 0.044715 x^3)) and the clipped x it was computed from."""
    xc = np.clip(x, -_GELU_TANH_CLIP, _GELU_TANH_CLIP)
    return np.tanh(SQRT_2_OVER_PI * (xc + GELU_TANH_COEF * xc**3)), xc


def gelu(x, approximate="none"):
    """x * Phi(x); ``approximate='tanh'`` gives 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    x = _as_float(x, "gelu x")
    if _check_approximate(approximate, "gelu approximate") == "tanh":
        return 0.5 * x * (1.0 + _gelu_tanh_t(x)[0])
    return x * normal_cdf(x)


def gelu_grad(x, approximate="none"):
    x = _as_float(x, "gelu_grad x")
    if _check_approximate(approximate, "gelu_grad approximate") == "tanh":
        t, xc = _gelu_tanh_t(x)
        du = SQRT_2_OVER_PI * (1.0 + 3.0 * GELU_TANH_COEF * xc**2)
        return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t**2) * du
    return normal_cdf(x) + x * normal_pdf(x)


def _check_approximate(approximate, name="approximate"):
    if not isinstance(approximate, str):
        raise TypeError(f"{name}: expected 'none' or 'tanh', got {approximate!r}")
    if approximate not in ("none", "tanh"):
        raise ValueError(f"{name}: expected 'none' or 'tanh', got {approximate!r}")
    return approximate


def _check_axis(axis, x, name):
    """``axis`` as an int after checking it names an axis of ``x`` (negative counts from the end)."""
    axis = check_int(axis, f"{name} axis")
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"{name} x: expected at least {axis + 1 if axis >= 0 else -axis} "
                         f"dimensions for axis={axis}, got shape {x.shape}")
    if x.shape[axis] == 0:
        raise ValueError(f"{name} x: expected at least one entry along axis {axis}, got shape "
                         f"{x.shape}")
    return axis


def softmax(x, axis=-1):
    """e^x_i / sum_j e^x_j along ``axis``; subtracting the max first keeps e^x from overflowing."""
    x = _as_float(x, "softmax x")
    axis = _check_axis(axis, x, "softmax")
    with np.errstate(over="ignore"):  # x - max = -inf (1e308 - -1e308): e^-inf = 0, the limit
        shifted = x - x.max(axis=axis, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(x, axis=-1):
    """log softmax(x) = x - logsumexp(x), stable for logits of any size."""
    x = _as_float(x, "log_softmax x")
    axis = _check_axis(axis, x, "log_softmax")
    with np.errstate(over="ignore"):  # a log-probability below -1.8e308 is -inf
        shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def softmax_backward(y, grad_out, axis=-1):
    """Vector-Jacobian product of softmax: given y = softmax(x) and dL/dy, return dL/dx.

    The Jacobian is diag(y) - y y^T, so dL/dx = y * (dL/dy - sum(dL/dy * y)). y and grad_out
    have the same shape. When grad_out holds huge finite values (dL/dy - sum overflowing,
    e.g. 1e308 - -1e308) it is recomputed on grad_out scaled by a power of two, which is
    exact, so a finite true result comes out finite.
    """
    y = _as_float(y, "softmax_backward y")
    grad_out = _as_float(grad_out, "softmax_backward grad_out")
    if y.shape != grad_out.shape:
        raise ValueError(f"softmax_backward grad_out: expected shape {y.shape} to match y, got "
                         f"{grad_out.shape}")
    axis = _check_axis(axis, y, "softmax_backward")
    with np.errstate(over="ignore", invalid="ignore"):
        dx = y * (grad_out - np.sum(grad_out * y, axis=axis, keepdims=True))
        if not all_finite(dx) and all_finite(grad_out) and all_finite(y):
            scale = _power_of_two_near(np.max(np.abs(grad_out)))
            g = grad_out / scale
            dx = (y * (g - np.sum(g * y, axis=axis, keepdims=True))) * scale
    return dx


def _power_of_two_near(value):
    """A power of two in (value / 2, value] for a finite ``value`` > 0, as a float: dividing by
    it is exact, and it cannot overflow (the power just above 1.8e308 would)."""
    return math.ldexp(1.0, math.frexp(float(value))[1] - 1)


class _Elementwise(Module):
    """An activation applied elementwise: backward multiplies by the derivative at x."""

    def __init__(self):
        self._x = None

    def _f(self, x):
        raise NotImplementedError

    def _df(self, x):
        raise NotImplementedError

    def forward(self, x):
        """x: any shape -> the same shape, a fresh array."""
        x = as_float_array(x, f"{type(self).__name__} input")
        out = self._f(x)
        self._x = private_copy(x)
        return out

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
        self.negative_slope = check_number(negative_slope, "LeakyReLU negative_slope", low=0)

    def _f(self, x):
        return leaky_relu(x, self.negative_slope)

    def _df(self, x):
        return leaky_relu_grad(x, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class ELU(_Elementwise):
    def __init__(self, alpha=1.0):
        super().__init__()
        self.alpha = check_number(alpha, "ELU alpha", low=0, low_open=True)

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
        self.beta = check_number(beta, f"{type(self).__name__} beta", low=0)

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
        self.approximate = _check_approximate(approximate, "GELU approximate")

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
        num_parameters = check_positive_int(num_parameters, "PReLU num_parameters")
        check_allocation((num_parameters,), np.float64, "PReLU weight")
        self.weight = Parameter(np.full(num_parameters, check_number(init, "PReLU init")))
        self._x = None

    def _slope(self, x):
        """The slopes shaped to broadcast against x. One slope is an array of x.ndim ones, not
        a scalar: numpy 1.x keeps a float32 x float32 when multiplied by a float64 scalar,
        numpy 2 promotes it, and the output's dtype must not depend on the numpy version."""
        n = self.weight.data.size
        if n == 1:
            return self.weight.data.reshape((1,) * x.ndim)
        if x.ndim < 2 or x.shape[1] != n:
            raise ValueError(f"PReLU input: expected {n} channels on axis 1, got shape {x.shape}")
        return self.weight.data.reshape((1, n) + (1,) * (x.ndim - 2))

    def forward(self, x):
        """x: any shape (channels on axis 1 when num_parameters > 1) -> the same shape."""
        x = as_float_array(x, "PReLU input")
        out = np.where(x > 0, x, self._slope(x) * x)
        self._x = private_copy(x)
        return out

    def backward(self, grad_out):
        """grad_out: x's shape -> dL/dx, the same shape; accumulates dL/dweight.

        dL/dweight sums x * grad_out over the batch: when that overflows for finite values
        it is recomputed on grad_out scaled by a power of two, and raises ValueError if its
        true value is not representable (weight.grad is then unchanged).
        """
        self._require_cache("_x")
        x = self._x
        grad_out = as_float_array(grad_out, "PReLU grad_out", shape=x.shape)
        with np.errstate(over="ignore", invalid="ignore"):
            d_weight = self._weight_grad(x, grad_out)
            if not all_finite(d_weight) and all_finite(grad_out) and all_finite(x):
                scale = _power_of_two_near(np.max(np.abs(grad_out)))
                d_weight = self._weight_grad(x, grad_out / scale) * scale
                if not all_finite(d_weight):
                    raise ValueError(
                        f"PReLU grad_out: expected values whose weight gradient is "
                        f"representable in {d_weight.dtype}, got a sum over the batch that "
                        f"overflows (largest |grad_out| = {np.max(np.abs(grad_out)):.3g}, "
                        f"largest |x| = {np.max(np.abs(x)):.3g})"
                    )
        self.weight.add_grad(np.reshape(d_weight, self.weight.shape))
        return np.where(x > 0, grad_out, self._slope(x) * grad_out)

    def _weight_grad(self, x, grad_out):
        """sum of min(x, 0) * grad_out over every axis but the channels (all if one slope)."""
        neg = np.minimum(x, 0.0) * grad_out
        if self.weight.data.size == 1:
            return np.asarray(neg.sum())
        return neg.sum(axis=tuple(i for i in range(x.ndim) if i != 1))

    def extra_repr(self):
        return f"num_parameters={self.weight.data.size}"


class Softmax(Module):
    """softmax along ``dim`` (default: the last axis, the classes of an (N, C) batch).

    x: any shape with axis ``dim`` -> the same shape. The output is cached for backward and a
    copy of it is returned, so the caller may write into what it gets.
    """

    def __init__(self, dim=-1):
        self.dim = check_int(dim, "Softmax dim")
        self._y = None

    def forward(self, x):
        x = as_float_array(x, "Softmax input")
        if not -x.ndim <= self.dim < x.ndim:
            need = self.dim + 1 if self.dim >= 0 else -self.dim
            raise ValueError(f"Softmax input: expected at least {need} dimensions for "
                             f"dim={self.dim}, got shape {x.shape}")
        y = softmax(x, axis=self.dim)
        self._y = y
        return y.copy()

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
