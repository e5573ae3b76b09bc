"""Weight initializers.

Every random initializer takes a ``np.random.Generator``; when ``rng`` is None it draws from
the package generator, which ``course_nn.manual_seed(seed)`` resets (as ``torch.manual_seed``).
Shapes follow PyTorch: a dense weight is (out, in), a convolution weight (out, in, kh, kw);
every size must be a positive integer. ``check_init_result`` checks what a user-supplied
``init(shape, rng)`` returned, for layers that accept one.
"""

import math
import numbers

import numpy as np

from ._validate import as_array, check_generator, check_number

_package_rng = None  # np.random.default_rng(0), made on first use: numpy.random's import
                    # (about 10 ms) is then not part of ``import course_nn``


def manual_seed(seed):
    """Reset the package generator used when a layer is built without an explicit ``rng``.

    seed: a non-negative integer (as ``torch.manual_seed``)."""
    global _package_rng
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise TypeError(f"manual_seed seed: expected a non-negative integer, got {seed!r}")
    _package_rng = np.random.default_rng(int(seed))


def _rng(rng, name=None):
    """``rng``, or the package generator when it is None (``name`` prefixes the error)."""
    global _package_rng
    if rng is None:
        if _package_rng is None:
            _package_rng = np.random.default_rng(0)
        return _package_rng
    return check_generator(rng, f"{name} rng" if name else "rng")


def _shape(shape, name, min_ndim=0):
    """``shape`` as a tuple of positive ints (an int n means (n,)), with at least ``min_ndim``
    dimensions; TypeError for a non-integer size, ValueError for a size < 1."""
    if isinstance(shape, numbers.Integral) and not isinstance(shape, (bool, np.bool_)):
        shape = (shape,)
    if isinstance(shape, (str, bytes)) or not hasattr(shape, "__iter__"):
        raise TypeError(f"{name} shape: expected a tuple of positive integers such as (out, in), "
                        f"got {shape!r}")
    dims = tuple(shape)
    for d in dims:
        if isinstance(d, (bool, np.bool_)) or not isinstance(d, numbers.Integral):
            raise TypeError(f"{name} shape: expected a tuple of positive integers, got {shape!r}")
        if d < 1:
            raise ValueError(f"{name} shape: expected sizes >= 1, got {dims}")
    if len(dims) < min_ndim:
        raise ValueError(f"{name}: expected a weight with >= {min_ndim} dimensions, got {dims}")
    return tuple(int(d) for d in dims)


def fan_in_and_fan_out(shape, name="fan_in_and_fan_out"):
    """fan_in, fan_out of a weight of shape (out, in) or (out, in, *kernel)."""
    shape = _shape(shape, name, min_ndim=2)
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def check_init_result(result, shape, name="init", dtype=None):
    """Return what an initializer produced for a weight of ``shape``, checked.

    For layers that accept a user-supplied ``init(shape, rng)``: ``result`` must be an array of
    real numbers of exactly ``shape`` (a scalar or a broadcastable shape is refused) with no
    NaN or inf. Integer arrays come back as float64, float arrays as they are (no copy); with
    ``dtype`` (float32 or float64) the result is cast to it and must still be finite (1e39 is
    finite in float64, inf in float32). ``name`` starts the messages, e.g. "Linear init".
    TypeError for None, bool, complex, object or string results; ValueError for a wrong shape
    or NaN/inf values.
    """
    shape = _shape(shape, f"{name} shape")
    arr = as_array(result, name)
    if arr.dtype.kind in "iu":
        arr = arr.astype(np.float64)
    elif arr.dtype.kind != "f":
        got = "None" if result is None else f"dtype {arr.dtype}"
        raise TypeError(f"{name}: expected init(shape, rng) to return an array of real numbers, "
                        f"got {got}")
    if arr.shape != shape:
        raise ValueError(f"{name}: expected init(shape, rng) to return an array of shape {shape}, "
                         f"got shape {arr.shape}")
    where = ""
    if dtype is not None and arr.dtype != np.dtype(dtype):
        with np.errstate(over="ignore"):
            arr = arr.astype(dtype)
        where = f" in {np.dtype(dtype)}"
    if not np.all(np.isfinite(arr)):
        bad = int(arr.size - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(f"{name}: expected finite values{where} from init, got {bad} NaN or inf "
                         f"entries")
    return arr


def initial_values(init, shape, rng, dtype, name):
    """``init(shape, rng)`` called and checked (``check_init_result``), cast to ``dtype``: the
    weights of a layer built with ``init=``. ``name`` is the layer's, e.g. "Linear"; messages
    start with "Linear init (he_normal)". TypeError when ``init`` is not callable."""
    if not callable(init):
        raise TypeError(f"{name} init: expected a function (shape, rng) -> array such as "
                        f"course_nn.init.he_normal, got {init!r}")
    label = f"{name} init ({getattr(init, '__name__', type(init).__name__)})"
    return check_init_result(init(shape, rng), shape, label, dtype)


def _scaled(scale, draws, name):
    """scale * draws, refusing a scale so large that values overflow to inf."""
    with np.errstate(over="ignore", invalid="ignore"):
        out = scale * draws
    if not np.all(np.isfinite(out)):
        raise ValueError(f"{name}: the scale {scale:g} is so large that weights overflow to inf")
    return out


def _uniform(rng, bound, shape, name):
    """U(-bound, bound) of ``shape``, refusing a bound whose range 2 * bound overflows."""
    if not np.isfinite(2.0 * bound):
        raise ValueError(f"{name}: the bound {bound:g} is so large that the range overflows")
    return rng.uniform(-bound, bound, size=shape)


def zeros(shape, rng=None):
    """All zeros: every neuron in a layer computes the same thing (the symmetry trap).

    ``rng`` is accepted (None or a Generator) and not used, so that
    ``Linear(..., init=init.zeros)`` works like the random initializers, which are called as
    ``init(shape, rng)``.
    """
    shape = _shape(shape, "zeros")
    _rng(rng, "zeros")
    return np.zeros(shape)


def constant(shape, value):
    return np.full(_shape(shape, "constant"), check_number(value, "constant value"))


def small_random(shape, rng=None, scale=0.01):
    """``scale * randn``: note 001's ``W = 0.01 * np.random.randn(D, H)``; std = scale."""
    shape = _shape(shape, "small_random")
    scale = check_number(scale, "small_random scale", low=0, low_open=True)
    return _scaled(scale, _rng(rng, "small_random").standard_normal(shape), "small_random")


def default_uniform(shape, rng=None, fan_in=None):
    """PyTorch's default for Linear and Conv2d weights and biases: U(-1/sqrt(fan_in), +1/sqrt(fan_in)).

    fan_in is read from a weight shape; pass it explicitly for a bias of shape (out,).
    """
    if fan_in is None:
        if len(_shape(shape, "default_uniform")) < 2:
            raise ValueError(f"default_uniform: a shape with fewer than 2 dimensions, {shape!r}, "
                             f"has no fan_in; pass fan_in= (the layer's in_features) for a bias")
        fan_in = fan_in_and_fan_out(shape, "default_uniform")[0]
    else:
        shape = _shape(shape, "default_uniform")
        if isinstance(fan_in, (bool, np.bool_)) or not isinstance(fan_in, numbers.Integral):
            raise TypeError(f"default_uniform fan_in: expected a positive integer, got {fan_in!r}")
        if fan_in < 1:
            raise ValueError(f"default_uniform fan_in: expected a positive integer, got {fan_in!r}")
    bound = 1.0 / math.sqrt(fan_in)
    return _rng(rng, "default_uniform").uniform(-bound, bound, size=shape)


def xavier_uniform(shape, rng=None, gain=1.0):
    """Glorot: U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)); variance 2/(fan_in+fan_out)."""
    fan_in, fan_out = fan_in_and_fan_out(shape, "xavier_uniform")
    bound = check_number(gain, "xavier_uniform gain", low=0) * math.sqrt(6.0 / (fan_in + fan_out))
    return _uniform(_rng(rng, "xavier_uniform"), bound, shape, "xavier_uniform")


def xavier_normal(shape, rng=None, gain=1.0):
    """Glorot: N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = fan_in_and_fan_out(shape, "xavier_normal")
    std = check_number(gain, "xavier_normal gain", low=0) * math.sqrt(2.0 / (fan_in + fan_out))
    return _scaled(std, _rng(rng, "xavier_normal").standard_normal(shape), "xavier_normal")


def he_normal(shape, rng=None):
    """He/Kaiming for ReLU: N(0, std^2) with std = sqrt(2 / fan_in), i.e. variance 2/fan_in."""
    fan_in, _ = fan_in_and_fan_out(shape, "he_normal")
    return math.sqrt(2.0 / fan_in) * _rng(rng, "he_normal").standard_normal(shape)


def he_uniform(shape, rng=None):
    """He/Kaiming for ReLU: U(-a, a) with a = sqrt(6 / fan_in), so variance 2/fan_in."""
    fan_in, _ = fan_in_and_fan_out(shape, "he_uniform")
    bound = math.sqrt(6.0 / fan_in)
    return _rng(rng, "he_uniform").uniform(-bound, bound, size=shape)


kaiming_normal = he_normal
kaiming_uniform = he_uniform
