"""Numerical gradient checking: the test every hand-written backward must pass.

The two-point central difference (f(x + h) - f(x - h)) / 2h has truncation error O(h^2) and
rounding error of about eps * |f| / h; its best accuracy, near h = 1e-6 in float64, is only
about 1e-10 * |f|, too coarse for gradient entries that are small next to f. So
``numerical_gradient`` uses the four-point central difference

    (f(x - 2h) - 8 f(x - h) + 8 f(x + h) - f(x + 2h)) / 12h,

whose truncation error is O(h^4): with h = 1e-4 both errors are around 1e-12 * |f|. A
correct analytic gradient then agrees to about 1e-9 relative error or better, while a wrong
formula is off by order 1. Inputs must stay 2h away from kinks such as ReLU's at 0.
``rel_error`` is the CS231n measure max |a - b| / max(|a| + |b|, tiny), elementwise.

Every function checks what it is given: ``f`` must return a finite real scalar (an array,
a complex number or NaN raise, naming the entry being perturbed), ``h`` must be a finite
number > 0, and an array compared by ``rel_error`` must hold finite real numbers. ``x`` is
restored entry by entry even when ``f`` raises, and views (``W.T``, slices) are perturbed in
place, so ``f`` may close over the array that ``x`` views.
"""

import math
import numbers

import numpy as np

from ._validate import as_array, as_float_array, as_real_array, check_generator, check_number
from .module import Module


def rel_error(a, b):
    """Largest elementwise relative error between two arrays of the same shape (any shape,
    0-d included; 0.0 for empty arrays). Both must hold finite real numbers."""
    a = as_real_array(a, "rel_error a", allow_empty=True)
    b = as_real_array(b, "rel_error b", allow_empty=True)
    if a.shape != b.shape:
        raise ValueError(f"rel_error: shapes differ, {a.shape} vs {b.shape}")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), 1e-12)))


def _float64(x, name):
    """A float64 copy of the float array x (ragged lists, ints, NaN/inf raise)."""
    return as_float_array(as_array(x, name), name).astype(np.float64)


def _check_h(h):
    return check_number(h, "h", low=0, low_open=True)


def _check_callable(f, name):
    if not callable(f):
        raise TypeError(f"{name}: expected a function, got {type(f).__name__}")


def _scalar(value, idx, step):
    """float(value) for a finite real scalar returned by f at x[idx] + step * h; a clear error
    for anything else."""
    if isinstance(value, float) and math.isfinite(value):   # the common case, fast
        return float(value)
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        if isinstance(value, np.ndarray):
            raise ValueError(f"numerical_gradient f: expected f(x) to return a scalar, got an "
                             f"array of shape {value.shape}; for an array-valued f use "
                             f"numerical_vjp")
        raise TypeError(f"numerical_gradient f: expected f(x) to return a real number, got "
                        f"{type(value).__name__} {value!r}")
    v = float(value)
    if not math.isfinite(v):
        where = list(idx) if isinstance(idx, tuple) else [idx]
        raise ValueError(f"numerical_gradient f: expected a finite value, got {v} at x{where} "
                         f"{step:+d}h")
    return v


def numerical_gradient(f, x, h=1e-4):
    """Central-difference gradient (four-point stencil) of a scalar function ``f`` at ``x``.

    x: a float64 array of any shape (finite values, writable); a view such as ``W.T`` is
    perturbed in place through the view. ``f`` is called with ``x`` perturbed in place one
    entry at a time, so it may close over ``x`` (or the array it views), and must return a
    finite real scalar. Every entry is restored, also when ``f`` raises. Returns a float64
    array of x's shape with d f / d x[i].
    """
    _check_callable(f, "numerical_gradient f")
    h = _check_h(h)
    x = as_array(x, "numerical_gradient x")
    if x.dtype != np.float64:
        raise TypeError(f"numerical_gradient: expected a float64 array, got {x.dtype}")
    as_float_array(x, "numerical_gradient x", allow_empty=True)  # NaN/inf
    if not x.flags.writeable:
        raise ValueError("numerical_gradient x: expected a writable array (it is perturbed in "
                         "place), got a read-only one; pass x.copy()")
    grad = np.zeros(x.shape)
    if x.flags.c_contiguous:   # a flat view writes through to x: plain int indices, faster
        entries, flat_x, flat_g = range(x.size), x.reshape(-1), grad.reshape(-1)
    else:                      # a view such as W.T: perturb it entry by entry in place
        entries, flat_x, flat_g = np.ndindex(x.shape), x, grad
    for idx in entries:
        old = flat_x[idx]
        values = []
        try:
            for step in (-2, -1, 1, 2):
                flat_x[idx] = old + step * h
                values.append(_scalar(f(x), idx, step))
        finally:
            flat_x[idx] = old
        f_m2, f_m1, f_p1, f_p2 = values
        # Subtract the symmetric pairs first: where f does not depend on x[i] (a dead ReLU,
        # an inactive hinge margin) both differences are exactly 0, so the estimate is exactly
        # 0 like the analytic gradient; summing left to right leaves ~eps*|f|/h of rounding
        # noise there, which rel_error turns into a relative error of 1.
        flat_g[idx] = (8 * (f_p1 - f_m1) - (f_p2 - f_m2)) / (12 * h)
    return grad


def numerical_vjp(f, x, grad_out, h=1e-4):
    """Numerical vector-Jacobian product: d sum(f(x) * grad_out) / dx, for array-valued f.

    f(x) must have exactly grad_out's shape (no broadcasting). Returns an array of x's shape.
    """
    _check_callable(f, "numerical_vjp f")
    grad_out = as_real_array(grad_out, "numerical_vjp grad_out", allow_empty=True)

    def weighted(z):
        out = np.asarray(f(z))
        if out.shape != grad_out.shape:
            raise ValueError(f"numerical_vjp: f(x) has shape {out.shape} but grad_out has "
                             f"shape {grad_out.shape}")
        return np.sum(out * grad_out)

    return numerical_gradient(weighted, x, h)


def _elementwise_output(values, name, shape):
    """An elementwise function's output, checked to be a finite real array of x's shape."""
    out = as_real_array(values, name, allow_empty=True)
    if out.shape != shape:
        raise ValueError(f"{name}: expected an array of x's shape {shape} (the function acts "
                         f"elementwise), got shape {out.shape}")
    return out


def check_function_gradient(f, df, x, h=1e-4):
    """rel_error between an elementwise derivative ``df(x)`` and the numerical one.

    ``f`` acts elementwise, so every entry can be perturbed at once: the four-point stencil
    applied to f itself (not to a sum over entries) gives each f'(x_i) with rounding error
    relative to |f(x_i)| alone, accurate even where a derivative is tiny. x: float array of
    any shape; f(x) and df(x) must have x's shape.
    """
    _check_callable(f, "check_function_gradient f")
    _check_callable(df, "check_function_gradient df")
    h = _check_h(h)
    x = _float64(x, "x")
    values = [_elementwise_output(f(x + k * h), "check_function_gradient f(x)", x.shape)
              for k in (1, -1, 2, -2)]
    numeric = (8 * (values[0] - values[1]) - (values[2] - values[3])) / (12 * h)
    return rel_error(_elementwise_output(df(x), "check_function_gradient df(x)", x.shape), numeric)


def check_module_gradients(module, x, rng=None, grad_out=None, h=1e-4):
    """Compare a module's backward with central differences, for its input and every parameter.

    The module is treated as the function L = sum(module(x) * grad_out) with a fixed random
    ``grad_out`` (drawn from ``rng``, a np.random.Generator; default seed 0) of the output's
    shape, so every output entry matters. Returns a dict ``{"input": err, "<param name>": err,
    ...}`` of worst relative errors. The module must be deterministic (dropout in eval mode:
    two forward passes on the same x that differ raise ValueError) and its parameters
    float64. One forward precedes the single backward, as in training. For a recurrent layer,
    whose forward returns ``(output, final_state)`` and backward ``(dx, dstate0)``, the output
    sequence is checked (the final state's gradient is covered through it).
    """
    if not isinstance(module, Module):
        raise TypeError(f"check_module_gradients module: expected a course_nn Module, got "
                        f"{type(module).__name__}")
    h = _check_h(h)
    x = _float64(x, "x")
    rng = np.random.default_rng(0) if rng is None else check_generator(rng)
    for name, p in module.named_parameters():
        if p.data.dtype != np.float64:
            raise TypeError(f"check_module_gradients: parameter {name} is {p.data.dtype}; "
                            f"gradient checks need float64 parameters")
    out = _output(module(x))
    if grad_out is None:
        grad_out = rng.standard_normal(np.shape(out))
    else:
        grad_out = _float64(grad_out, "grad_out")
        if grad_out.shape != np.shape(out):
            raise ValueError(f"grad_out: expected the module output's shape {np.shape(out)}, "
                             f"got {grad_out.shape}")
    again = _output(module(x))
    if not np.allclose(again, out, rtol=1e-10, atol=1e-12):
        raise ValueError(f"check_module_gradients: {type(module).__name__} gave different "
                         f"outputs for the same input; call module.eval() (dropout) so the "
                         f"module is a fixed function")
    module.zero_grad()
    analytic_input = _output(module.backward(grad_out))  # backward of the forward just above
    analytic_params = {name: p.grad.copy() for name, p in module.named_parameters()}

    def loss_of_input(z):
        return np.sum(_output(module(z)) * grad_out)

    errors = {"input": rel_error(analytic_input, numerical_gradient(loss_of_input, x.copy(), h))}
    for name, p in module.named_parameters():
        numeric = numerical_gradient(lambda _: np.sum(_output(module(x)) * grad_out), p.data, h)
        errors[name] = rel_error(analytic_params[name], numeric)
    return errors


def _output(result):
    """The array of a forward (or backward) that returns (array, state), as recurrent layers do."""
    return result[0] if isinstance(result, tuple) else result


def check_loss_gradient(loss, pred, target, h=1e-4):
    """rel_error between ``loss.backward()`` and the numerical gradient of the loss w.r.t. pred.

    loss: a course_nn loss (called as loss(pred, target), then loss.backward() once);
    pred: float array; the gradient must have pred's shape.
    """
    _check_callable(loss, "check_loss_gradient loss")
    if not callable(getattr(loss, "backward", None)):
        raise TypeError(f"check_loss_gradient loss: expected a loss with a backward method, got "
                        f"{type(loss).__name__}")
    h = _check_h(h)
    pred = _float64(pred, "pred")
    loss(pred, target)
    analytic = np.array(loss.backward(), copy=True)
    if analytic.shape != pred.shape:
        raise ValueError(f"check_loss_gradient: loss.backward() returned shape {analytic.shape}, "
                         f"expected pred's shape {pred.shape}")
    numeric = numerical_gradient(lambda p: loss(p, target), pred.copy(), h)
    return rel_error(analytic, numeric)


def gradient_report(errors, threshold=1e-7):
    """Format a ``{name: rel_error}`` dict as one line per tensor: below the threshold or not.

    errors: a non-empty dict of str -> relative error (a finite number >= 0); threshold > 0.
    Only the verdict is printed, not the error itself: its last digits depend on the BLAS
    build, and a notebook's output must be the same on every machine.
    """
    threshold = check_number(threshold, "threshold", low=0, low_open=True)
    if not isinstance(errors, dict) or not errors:
        raise ValueError(f"gradient_report errors: expected a non-empty dict of name -> relative "
                         f"error, got {errors!r}")
    for name, err in errors.items():
        if not isinstance(name, str):
            raise TypeError(f"gradient_report errors: expected str names, got {name!r}")
        check_number(err, f"gradient_report errors[{name!r}]", low=0)
    width = max(len(name) for name in errors)
    lines = []
    for name, err in errors.items():
        verdict = f"< {threshold:.0e}  ok" if err < threshold else f"= {err:.1e}  FAIL"
        lines.append(f"{name:<{width}}  worst relative error {verdict}")
    return "\n".join(lines)


def verdict(diff, tol=1e-12, fmt=".2e"):
    """A maximum difference (or relative error) between two computations of the same thing,
    printed as a verdict that is the same on every machine: ``"< 1e-12  (equal)"`` below
    ``tol``, else ``"= <diff>  (differs)"`` with ``diff`` formatted by ``fmt``.

    diff: a finite number >= 0 (e.g. ``np.max(np.abs(a - b))``); tol > 0. A round-off residue's
    digits depend on the BLAS build and the CPU kernel, so a notebook prints only whether it is
    below ``tol``; a real disagreement is printed with its size.
    """
    diff = check_number(diff, "verdict diff", low=0)
    tol = check_number(tol, "verdict tol", low=0, low_open=True)
    if not isinstance(fmt, str):
        raise TypeError(f"verdict fmt: expected a format spec such as '.2e', got {fmt!r}")
    return f"< {tol:.0e}  (equal)" if diff < tol else f"= {format(diff, fmt)}  (differs)"

