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
"""

import numpy as np

from ._validate import as_float_array


def rel_error(a, b):
    """Largest elementwise relative error between two arrays of the same shape."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"rel_error: shapes differ, {a.shape} vs {b.shape}")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), 1e-12)))


def numerical_gradient(f, x, h=1e-4):
    """Central-difference gradient (four-point stencil) of a scalar function ``f`` at ``x``.

    ``f`` is called with ``x`` perturbed in place one entry at a time (and restored), so it
    may close over ``x``: returns an array of x's shape with d f / d x[i].
    """
    x = np.asarray(x)
    if x.dtype != np.float64:
        raise TypeError(f"numerical_gradient: expected a float64 array, got {x.dtype}")
    grad = np.zeros_like(x)
    flat_x, flat_g = x.reshape(-1), grad.reshape(-1)
    for i in range(flat_x.size):
        old = flat_x[i]
        values = []
        for step in (-2, -1, 1, 2):
            flat_x[i] = old + step * h
            values.append(float(f(x)))
        flat_x[i] = old
        f_m2, f_m1, f_p1, f_p2 = values
        # Subtract the symmetric pairs first: where f does not depend on x[i] (a dead ReLU,
        # an inactive hinge margin) both differences are exactly 0, so the estimate is exactly
        # 0 like the analytic gradient; summing left to right leaves ~eps*|f|/h of rounding
        # noise there, which rel_error turns into a relative error of 1.
        flat_g[i] = (8 * (f_p1 - f_m1) - (f_p2 - f_m2)) / (12 * h)
    return grad


def numerical_vjp(f, x, grad_out, h=1e-4):
    """Numerical vector-Jacobian product: d sum(f(x) * grad_out) / dx, for array-valued f."""
    return numerical_gradient(lambda z: np.sum(f(z) * grad_out), x, h)


def check_function_gradient(f, df, x, h=1e-4):
    """rel_error between an elementwise derivative ``df(x)`` and the numerical one.

    ``f`` acts elementwise, so every entry can be perturbed at once: the four-point stencil
    applied to f itself (not to a sum over entries) gives each f'(x_i) with rounding error
    relative to |f(x_i)| alone, accurate even where a derivative is tiny.
    """
    x = as_float_array(x, "x").astype(np.float64)
    numeric = (8 * (f(x + h) - f(x - h)) - (f(x + 2 * h) - f(x - 2 * h))) / (12 * h)
    return rel_error(df(x), numeric)


def check_module_gradients(module, x, rng=None, grad_out=None, h=1e-4):
    """Compare a module's backward with central differences, for its input and every parameter.

    The module is treated as the function L = sum(module(x) * grad_out) with a fixed random
    ``grad_out`` (drawn from ``rng``), so every output entry matters. Returns a dict
    ``{"input": err, "<param name>": err, ...}`` of worst relative errors. The module should
    be deterministic (dropout in eval mode) and float64. For a recurrent layer, whose forward
    returns ``(output, final_state)`` and backward ``(dx, dstate0)``, the output sequence is
    checked (the final state's gradient is covered through it).
    """
    x = as_float_array(x, "x").astype(np.float64)
    rng = np.random.default_rng(0) if rng is None else rng
    out = _output(module(x))
    if grad_out is None:
        grad_out = rng.standard_normal(np.shape(out))
    module.zero_grad()
    module(x)
    analytic_input = _output(module.backward(grad_out))
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
    """rel_error between ``loss.backward()`` and the numerical gradient of the loss w.r.t. pred."""
    pred = as_float_array(pred, "pred").astype(np.float64)
    loss(pred, target)
    analytic = loss.backward().copy()
    numeric = numerical_gradient(lambda p: loss(p, target), pred.copy(), h)
    return rel_error(analytic, numeric)


def gradient_report(errors, threshold=1e-7):
    """Format a ``{name: rel_error}`` dict as one line per tensor: below the threshold or not.

    Only the verdict is printed, not the error itself: its last digits depend on the BLAS
    build, and a notebook's output must be the same on every machine.
    """
    width = max(len(name) for name in errors)
    lines = []
    for name, err in errors.items():
        verdict = f"< {threshold:.0e}  ok" if err < threshold else f"= {err:.1e}  FAIL"
        lines.append(f"{name:<{width}}  worst relative error {verdict}")
    return "\n".join(lines)
