"""Weight initializers.

Every random initializer takes a ``np.random.Generator``; when ``rng`` is None it draws from
the package generator, which ``course_nn.manual_seed(seed)`` resets (as ``torch.manual_seed``).
Shapes follow PyTorch: a dense weight is (out, in), a convolution weight (out, in, kh, kw).
"""

import math

import numpy as np

from ._validate import check_generator, check_number

_package_rng = np.random.default_rng(0)


def manual_seed(seed):
    """Reset the package generator used when a layer is built without an explicit ``rng``."""
    global _package_rng
    _package_rng = np.random.default_rng(seed)


def _rng(rng):
    return _package_rng if rng is None else check_generator(rng)


def fan_in_and_fan_out(shape):
    """fan_in, fan_out of a weight of shape (out, in) or (out, in, *kernel)."""
    shape = tuple(shape)
    if len(shape) < 2:
        raise ValueError(f"fan_in_and_fan_out: expected a weight with >= 2 dimensions, got {shape}")
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def zeros(shape, rng=None):
    """All zeros: every neuron in a layer computes the same thing (the symmetry trap).

    ``rng`` is accepted and ignored so that ``Linear(..., init=init.zeros)`` works like the
    random initializers, which are called as ``init(shape, rng)``.
    """
    return np.zeros(shape)


def constant(shape, value):
    return np.full(shape, check_number(value, "value"))


def small_random(shape, rng=None, scale=0.01):
    """``scale * randn``: note 001's ``W = 0.01 * np.random.randn(D, H)``; std = scale."""
    scale = check_number(scale, "scale", low=0, low_open=True)
    return scale * _rng(rng).standard_normal(shape)


def default_uniform(shape, rng=None, fan_in=None):
    """PyTorch's default for Linear and Conv2d weights and biases: U(-1/sqrt(fan_in), +1/sqrt(fan_in)).

    fan_in is read from a weight shape; pass it explicitly for a bias of shape (out,).
    """
    if fan_in is None:
        fan_in = fan_in_and_fan_out(shape)[0]
    bound = 1.0 / math.sqrt(fan_in)
    return _rng(rng).uniform(-bound, bound, size=shape)


def xavier_uniform(shape, rng=None, gain=1.0):
    """Glorot: U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)); variance 2/(fan_in+fan_out)."""
    fan_in, fan_out = fan_in_and_fan_out(shape)
    bound = check_number(gain, "gain", low=0) * math.sqrt(6.0 / (fan_in + fan_out))
    return _rng(rng).uniform(-bound, bound, size=shape)


def xavier_normal(shape, rng=None, gain=1.0):
    """Glorot: N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = fan_in_and_fan_out(shape)
    std = check_number(gain, "gain", low=0) * math.sqrt(2.0 / (fan_in + fan_out))
    return std * _rng(rng).standard_normal(shape)


def he_normal(shape, rng=None):
    """He/Kaiming for ReLU: N(0, std^2) with std = sqrt(2 / fan_in), i.e. variance 2/fan_in."""
    fan_in, _ = fan_in_and_fan_out(shape)
    return math.sqrt(2.0 / fan_in) * _rng(rng).standard_normal(shape)


def he_uniform(shape, rng=None):
    """He/Kaiming for ReLU: U(-a, a) with a = sqrt(6 / fan_in), so variance 2/fan_in."""
    fan_in, _ = fan_in_and_fan_out(shape)
    bound = math.sqrt(6.0 / fan_in)
    return _rng(rng).uniform(-bound, bound, size=shape)


kaiming_normal = he_normal
kaiming_uniform = he_uniform
