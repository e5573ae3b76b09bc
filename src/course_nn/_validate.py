"""Input checks shared by every layer, loss and optimizer.

Each check raises an error that names what was expected and what arrived, so a learner who
passes a (3,) vector where a (N, 3) batch belongs reads the fix in the message.
"""

import contextlib
import numbers

import numpy as np

_between_layers = False  # True while Sequential passes course_nn's own arrays along


def as_float_array(x, name="input", ndim=None, shape=None, allow_empty=False):
    """Return ``x`` as a floating-point ndarray after checking it.

    ndim:  required number of dimensions, or a tuple of allowed numbers.
    shape: required shape; ``None`` or a name matches any size: ``(None, 3)`` reads (N, 3),
           ``("N", "T", 4)`` reads (N, T, 4).
    Raises TypeError for non-numeric or integer/bool dtypes and ValueError
    for ragged nested lists, wrong ndim, wrong shape, an empty batch, or NaN/inf values.
    """
    try:  # as_array(x, name), inlined: this runs at every layer input
        arr = np.asarray(x)
    except ValueError as err:
        raise _ragged_error(name, err) from None
    kind = arr.dtype.kind  # 'f' float, 'i'/'u' integer, 'b' bool, 'c' complex, 'O' object, ...
    if kind in "iub":
        raise TypeError(
            f"{name}: expected a float array (float32 or float64), got dtype {arr.dtype}; "
            f"convert it with .astype(float)"
        )
    if kind != "f":
        raise TypeError(f"{name}: expected a float array, got dtype {arr.dtype}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            want = " or ".join(str(a) for a in allowed)
            raise ValueError(f"{name}: expected {want} dimensions, got shape {arr.shape}")
    if shape is not None:
        ok = arr.ndim == len(shape) and all(s is None or isinstance(s, str) or s == a
                                            for s, a in zip(shape, arr.shape))
        if not ok:
            want = "(" + ", ".join("N" if s is None else str(s) for s in shape) + ")"
            raise ValueError(f"{name}: expected shape {want}, got {arr.shape}")
    if arr.size == 0 and not allow_empty:
        raise ValueError(f"{name}: expected a non-empty array, got shape {arr.shape}")
    if not _between_layers and not all_finite(arr):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(f"{name}: expected finite values, got {bad} NaN or inf entries")
    return arr


@contextlib.contextmanager
def between_layers():
    """Skip the NaN/inf scan (shapes and dtypes are still checked) for arrays that one layer
    of a Sequential hands to the next: course_nn computed them from checked inputs, and the
    loss (forward) and the optimizer (gradients) still scan what comes out at the end."""
    global _between_layers
    outer, _between_layers = _between_layers, True
    try:
        yield
    finally:
        _between_layers = outer


def all_finite(arr):
    """True when the float array ``arr`` holds no NaN or inf.

    One fast pass first: the dot product of the values with themselves is finite unless a value
    is NaN or inf (or it overflows); only then is the full elementwise check needed.
    """
    flat = arr.reshape(-1) if arr.flags.c_contiguous else arr.ravel()
    with np.errstate(over="ignore", invalid="ignore"):
        quick = np.dot(flat, flat)
    return bool(np.isfinite(quick)) or bool(np.all(np.isfinite(arr)))


def check_same_shape(a, b, name_a, name_b):
    """Raise ValueError unless arrays ``a`` and ``b`` have the same shape."""
    if a.shape != b.shape:
        raise ValueError(f"{name_b}: expected shape {a.shape} to match {name_a}, got {b.shape}")


def check_number(value, name, low=None, high=None, low_open=False, high_open=False):
    """Return ``value`` as float after checking it is a finite number within the bounds.

    ``low_open=True`` excludes ``low`` itself (e.g. a learning rate must be > 0).
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a real number, got {value!r}")
    try:
        v = float(value)
    except OverflowError:  # an int such as 10**400 has no float
        raise ValueError(f"{name}: expected a finite number, got an integer of "
                         f"{len(str(abs(value)))} digits, beyond the largest float") from None
    if not np.isfinite(v):
        raise ValueError(f"{name}: expected a finite number, got {v}")
    if low is not None and (v < low or (low_open and v == low)):
        op = ">" if low_open else ">="
        raise ValueError(f"{name}: expected a value {op} {low}, got {v}")
    if high is not None and (v > high or (high_open and v == high)):
        op = "<" if high_open else "<="
        raise ValueError(f"{name}: expected a value {op} {high}, got {v}")
    return v


def check_positive_int(value, name):
    """Return ``value`` after checking it is an int >= 1."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name}: expected a positive integer, got {value!r}")
    return int(value)


def check_generator(rng, name="rng"):
    """Require a seeded ``np.random.Generator`` so every random draw is reproducible."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"{name}: expected a numpy Generator such as np.random.default_rng(0), "
            f"got {type(rng).__name__}"
        )
    return rng


ALLOCATION_LIMIT_BYTES = 2 * 1024 ** 3  # 2 GiB: far above any course workload, far below RAM


def check_allocation(shape, dtype, name, limit_bytes=ALLOCATION_LIMIT_BYTES):
    """Raise ValueError before a helper allocates an array of ``shape`` and ``dtype`` larger
    than ``limit_bytes`` (default 2 GiB), so a typo such as ``one_hot(y, 60000)`` on the
    wrong axis fails at once instead of exhausting memory. Returns the size in bytes.

    ``shape`` is a tuple of non-negative ints; the product is computed in Python ints, so it
    cannot overflow.
    """
    n_bytes = int(np.dtype(dtype).itemsize)
    for s in shape:
        n_bytes *= int(s)
    if n_bytes > limit_bytes:
        raise ValueError(
            f"{name}: this would allocate {n_bytes / 1024 ** 3:.3g} GiB for shape "
            f"{tuple(int(s) for s in shape)} of {np.dtype(dtype)}; expected at most "
            f"{limit_bytes / 1024 ** 3:.3g} GiB (check the sizes passed in)"
        )
    return n_bytes


def as_array(x, name):
    """Return ``np.asarray(x)``, turning numpy's raw error for ragged nested lists
    ("inhomogeneous shape") into a ValueError that names the argument.

    Dtype and value checks are left to the caller (e.g. ``as_float_array`` on the result).
    """
    try:
        return np.asarray(x)
    except ValueError as err:
        raise _ragged_error(name, err) from None


def _ragged_error(name, err):
    return ValueError(f"{name}: expected a rectangular array (all rows the same length), got a "
                      f"ragged nested sequence ({err})")


def as_real_array(x, name, ndim=None, shape=None, allow_empty=False):
    """Return ``x`` as a float64 ndarray, accepting integer as well as float input.

    For helpers (plots, surfaces, explorers) where ``[1, 2]`` is as good as ``[1.0, 2.0]``.
    bool, complex, object and string input raise TypeError, ragged nested lists ValueError;
    ``ndim``, ``shape``, ``allow_empty`` and the NaN/inf check are those of ``as_float_array``.
    Copies only when the dtype is not float64 already.
    """
    arr = as_array(x, name)
    if arr.dtype.kind in "iu":
        arr = arr.astype(np.float64)
    elif arr.dtype.kind == "b":
        raise TypeError(f"{name}: expected real numbers, got dtype bool")
    arr = as_float_array(arr, name, ndim=ndim, shape=shape, allow_empty=allow_empty)
    return arr.astype(np.float64, copy=False)


def check_int(value, name, low=None, high=None):
    """Return ``value`` as int after checking it is an integer (not a bool) within the bounds.

    Raises TypeError for a non-integer (2.0, "2", True) and ValueError outside [low, high].
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected an integer, got {value!r}")
    v = int(value)
    if low is not None and v < low:
        raise ValueError(f"{name}: expected an integer >= {low}, got {v}")
    if high is not None and v > high:
        raise ValueError(f"{name}: expected an integer <= {high}, got {v}")
    return v


def check_bool(value, name):
    """Return ``value`` as bool after checking it is True or False (a string such as "no"
    would otherwise count as True)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}: expected True or False, got {value!r}")
    return bool(value)


def check_float_dtype(dtype, name):
    """Return ``np.dtype(dtype)`` after checking it is float32 or float64, the dtypes a layer's
    parameters may have (``dtype=int`` would otherwise truncate the initial weights to zeros).
    TypeError for anything else, including strings numpy does not understand."""
    try:
        dt = np.dtype(dtype)
    except (TypeError, ValueError):
        dt = None
    if dt not in (np.float32, np.float64):
        shown = dtype.__name__ if isinstance(dtype, type) else repr(dtype)
        raise TypeError(f"{name}: expected np.float32 or np.float64, got {shown}")
    return dt


def private_copy(arr):
    """``arr`` as a layer may cache it for backward: a copy when it came from the caller, who
    could still write into it before backward, and ``arr`` itself between the layers of a
    Sequential, where it is course_nn's own array that no caller holds (see ``between_layers``).
    The copy keeps arr's memory layout (order "K"), so BLAS sees the same strides."""
    return arr if _between_layers else arr.copy(order="K")
