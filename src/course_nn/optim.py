"""Optimizers: turn the gradients in ``p.grad`` into parameter updates.

Every rule matches its PyTorch namesake step for step (same defaults, same order of
operations), so trajectories can be compared with ``torch.optim`` to 1e-10 in float64.
``weight_decay`` adds ``weight_decay * p`` to the gradient first (L2 regularization).
Usage: ``opt = Adam(model.parameters(), lr=1e-3)``; per step: ``opt.zero_grad()``, forward,
backward, ``opt.step()``.

``step()`` is all or nothing: it checks every gradient (shape, dtype, NaN/inf) and computes
every update and every new state before it changes anything, and it refuses (ValueError,
naming the parameter) an update that would make a parameter or a state NaN or inf, such as
a huge learning rate or a gradient whose square overflows (which would freeze AdaGrad,
RMSProp or Adam for good). After a failed step the parameters, the state and ``steps`` are
as they were.

A parameter whose gradient is unset (``p.grad`` never written since ``zero_grad``: it took no
part in the loss) is skipped, as in PyTorch: no momentum, weight decay or state change moves
it. Adam counts steps per parameter for its bias correction (``state[i]["step"]``).
"""

import math
import numbers

import numpy as np

from ._validate import check_number
from .module import parameter_list


def _finite(arr):
    """all_finite without its own errstate (step() holds one): one BLAS dot product, then the
    elementwise check only if the dot is not finite (a NaN/inf, or a sum of squares > max)."""
    flat = arr.reshape(-1)
    return math.isfinite(np.dot(flat, flat)) or bool(np.all(np.isfinite(arr)))


def _update_limit(dtype):
    """Bound on sum(update**2) below which ``p - update`` cannot overflow for finite p of dtype.

    Rounding to nearest overflows only beyond max + ulp(max)/2, i.e. for |update| of about
    2**(maxexp - nmant - 1); a quarter of that leaves room for the dot product's rounding and
    for float64 updates of float32 parameters (whose difference is rounded twice). For float64
    the bound exceeds the largest float, so any finite sum of squares passes.
    """
    info = np.finfo(dtype)
    exponent = 2 * (info.maxexp - info.nmant - 3)
    return float(2.0 ** exponent) if exponent < 1024 else np.inf


_FLOAT64 = np.dtype(np.float64)
_UPDATE_LIMITS = {np.dtype(np.float32): _update_limit(np.float32),
                  np.dtype(np.float64): _update_limit(np.float64)}


def _check_betas(owner, betas):
    if isinstance(betas, (str, bytes)) or not hasattr(betas, "__len__") or len(betas) != 2:
        raise TypeError(f"{owner} betas: expected a pair (beta1, beta2), got {betas!r}")
    return tuple(check_number(b, f"{owner} betas[{i}]", low=0, high=1, high_open=True)
                 for i, b in enumerate(betas))


class Optimizer:
    """Holds the parameters and their per-parameter state (``self.state[i]``).

    params: an iterable of Parameters (``model.parameters()``) or of (name, Parameter) pairs
    (``model.named_parameters()``, whose names then appear in error messages); each Parameter
    at most once. Hyperparameters are checked when set, also later (``opt.lr = 0.01``).
    Subclasses implement ``_update(grad, state, p)``: given the (decayed) gradient, write the
    new state into ``state`` (new arrays, never in place) and return the amount to subtract
    from ``p.data``; ``self.steps`` is already the number of this step.
    """

    # name -> check(owner, value) of the hyperparameters, applied on every assignment
    _hyperparameters = {
        "lr": lambda owner, v: check_number(v, f"{owner} lr", low=0, low_open=True),
        "weight_decay": lambda owner, v: check_number(v, f"{owner} weight_decay", low=0),
    }
    # the keys of state[i] (None: any; load_state_dict refuses others)
    _state_keys = None
    # state entries that the update check cannot see: a squared-gradient sum that overflows
    # to inf makes the update 0 (a frozen parameter) instead of inf
    _squared_state = ()

    def __init__(self, params, lr, weight_decay=0.0):
        name = type(self).__name__
        self.params, self.param_names = parameter_list(params, name)
        self.lr = lr
        self.weight_decay = weight_decay
        self.state = [{} for _ in self.params]
        self.steps = 0
        # the built-in rules turn a NaN/inf gradient into a NaN/inf update or squared state,
        # which step() checks anyway; a rule written elsewhere gets its gradients scanned first
        self._scan_gradients = type(self)._update not in _BUILTIN_UPDATES

    def __setattr__(self, name, value):
        check = self._hyperparameters.get(name)
        if check is not None:
            value = check(type(self).__name__, value)
        object.__setattr__(self, name, value)

    def zero_grad(self):
        for p in self.params:
            p.zero_grad()

    def state_dict(self):
        """A dict of copies: "type", "hyperparameters", "steps", "params" (name, shape, dtype
        of each parameter) and "state" (one dict per parameter, e.g. Adam's "m", "v" and
        "step"). See course_nn.serialization."""
        from .serialization import optimizer_state_dict
        return optimizer_state_dict(self)

    def load_state_dict(self, state):
        """Take over hyperparameters, steps and per-parameter state from ``state`` (as from
        ``state_dict()`` of the same optimizer type over parameters of the same shapes and
        dtypes), all or nothing; errors name the entry."""
        from .serialization import load_optimizer_state
        load_optimizer_state(self, state)

    def _label(self, i):
        name = self.param_names[i]
        named = f" '{name}'" if name else ""
        return f"parameter {i}{named} (shape {self.params[i].shape})"

    def step(self):
        """One update of every parameter from its ``.grad``, or none at all (see the module
        docstring): ValueError/TypeError naming the parameter when a gradient or an update is
        bad, RuntimeError when no parameter has a gradient."""
        steps = self.steps
        if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 0:
            raise ValueError(f"{type(self).__name__}.step: steps must be a non-negative integer, "
                             f"got {steps!r}")
        if all(p._grad is None for p in self.params):
            raise RuntimeError(f"{type(self).__name__}.step: no parameter has a gradient (every "
                               f".grad is unset since zero_grad): call backward before step")
        self.steps = steps + 1  # the number of this step, for rules written elsewhere
        try:
            with np.errstate(over="ignore", invalid="ignore"):  # overflow is checked, not warned
                plans = [self._plan(i, p, state)
                         for i, (p, state) in enumerate(zip(self.params, self.state))]
        except BaseException:
            self.steps = steps
            raise
        for p, state, plan in zip(self.params, self.state, plans):
            if plan is None:  # no gradient: skipped, as torch skips p.grad is None
                continue
            update, new_data, new_state = plan
            if new_data is None:
                p._data -= update
            else:
                p._data[...] = new_data
            state.update(new_state)

    def _plan(self, i, p, state):
        """Check parameter i's gradient and state; return (update, new data or None when
        ``p.data -= update`` is safe in place, new state) without changing anything; None for a
        parameter without a gradient (skipped)."""
        data, grad = p._data, p._grad
        if grad is None:
            return None
        if grad.shape != data.shape:
            raise ValueError(f"{type(self).__name__}.step: gradient of {self._label(i)}: expected "
                             f"shape {data.shape}, got {grad.shape}")
        elif grad.dtype != data.dtype:
            raise TypeError(f"{type(self).__name__}.step: gradient of {self._label(i)}: expected "
                            f"dtype {data.dtype} (the parameter's), got {grad.dtype}")
        for key, value in state.items():
            if key == "step":  # Adam's per-parameter step count
                if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
                    raise ValueError(f"{type(self).__name__}.step: state 'step' of "
                                     f"{self._label(i)}: expected a non-negative integer, got "
                                     f"{value!r}")
                continue
            if not isinstance(value, np.ndarray) or value.shape != data.shape:
                got = value.shape if isinstance(value, np.ndarray) else type(value).__name__
                raise ValueError(f"{type(self).__name__}.step: state {key!r} of {self._label(i)}: "
                                 f"expected an array of shape {data.shape}, got {got}")
        if self._scan_gradients and not _finite(grad):
            raise self._gradient_error(i, grad)
        decayed = grad + self.weight_decay * data if self.weight_decay else grad
        new_state = dict(state)  # _update replaces entries; the old arrays stay as they were
        update = self._update(decayed, new_state, p)
        if not isinstance(update, np.ndarray) or update.shape != data.shape:
            raise ValueError(f"{type(self).__name__}.step: update of {self._label(i)}: expected "
                             f"an array of shape {data.shape}, got {np.shape(update)}")
        new_data = None
        flat = update.reshape(-1)
        limit = _UPDATE_LIMITS.get(data.dtype)
        if (limit is None or not (update.dtype is data.dtype or update.dtype == _FLOAT64)
                or not float(np.dot(flat, flat)) < limit):
            # a huge or non-finite update, or an unusual dtype: compute p - update to check it
            new_data = (data - update).astype(data.dtype, copy=False)
            if not np.all(np.isfinite(new_data)):
                raise self._non_finite_error(i, grad, decayed, state, new_state)
        # a rule written elsewhere may keep state the update does not reveal: check all of it
        for key in new_state if self._scan_gradients else self._squared_state:
            if key in new_state and not _finite(np.asarray(new_state[key])):
                raise self._non_finite_error(i, grad, decayed, state, new_state)
        return update, new_data, new_state

    def _gradient_error(self, i, grad):
        bad = int(grad.size - np.count_nonzero(np.isfinite(grad)))
        return ValueError(f"{type(self).__name__}.step: gradient of {self._label(i)} contains NaN "
                          f"or inf ({bad} entries); nothing was changed")

    def _non_finite_error(self, i, grad, decayed, state, new_state):
        """The error for an update or state that is not finite: a bad gradient, a state set to
        NaN/inf by hand, an overflowing weight decay, an overflowing squared-gradient state or
        an overflowing update."""
        owner = f"{type(self).__name__}.step: {self._label(i)}"
        if not np.all(np.isfinite(grad)):
            return self._gradient_error(i, grad)
        for key, value in state.items():
            if not np.all(np.isfinite(value)):
                return ValueError(f"{owner}: its state {key!r} already holds NaN or inf (was it "
                                  f"set by hand?); nothing was changed")
        largest = f"{float(np.max(np.abs(grad))):.3g}"
        if not np.all(np.isfinite(decayed)):
            return ValueError(f"{owner}: weight_decay * p overflows (weight_decay="
                              f"{self.weight_decay:g}); nothing was changed")
        for key, value in new_state.items():
            if not np.all(np.isfinite(value)):
                return ValueError(
                    f"{owner}: the gradient is finite (largest |grad| {largest}) but the state "
                    f"{key!r} overflows to inf, which would freeze or break this parameter "
                    f"(AdaGrad, RMSProp and Adam divide by the root of a sum of squared "
                    f"gradients: every later update would be 0); nothing was changed. Scale the "
                    f"loss or the inputs down, or clip the gradients (clip_grad_norm)")
        return ValueError(
            f"{owner}: the update would make the parameter NaN or inf (lr={self.lr:g}, largest "
            f"|grad| {largest}); nothing was changed. Lower lr")

    def _update(self, grad, state, p):
        """Return the amount to subtract from p.data, given the (decayed) gradient."""
        raise NotImplementedError(f"{type(self).__name__} does not implement _update")


def _momentum(owner, v):
    return check_number(v, f"{owner} momentum", low=0, high=1, high_open=True)


def _eps(owner, v):
    return check_number(v, f"{owner} eps", low=0, low_open=True)


class SGD(Optimizer):
    """p -= lr * g, or with momentum: v = momentum * v + g (v = g at the first step); p -= lr * v."""

    _state_keys = ("velocity",)  # what state[i] may hold
    _hyperparameters = {**Optimizer._hyperparameters, "momentum": _momentum}

    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        super().__init__(params, lr, weight_decay)
        self.momentum = momentum

    def _update(self, grad, state, p):
        if self.momentum:
            if "velocity" not in state:
                velocity = grad.copy()
            else:  # momentum * v + g, in one new array
                velocity = np.multiply(state["velocity"], self.momentum)
                velocity += grad
            state["velocity"] = grad = velocity
        return self.lr * grad


class AdaGrad(Optimizer):
    """Per-parameter step sizes that shrink with the sum of squared gradients G:
    G += g^2;  p -= lr * g / (sqrt(G) + eps)."""

    _state_keys = ("sum_sq",)  # what state[i] may hold
    _hyperparameters = {**Optimizer._hyperparameters, "eps": _eps}
    _squared_state = ("sum_sq",)

    def __init__(self, params, lr=0.01, eps=1e-10, weight_decay=0.0):
        super().__init__(params, lr, weight_decay)
        self.eps = eps

    def _update(self, grad, state, p):
        sum_sq = grad * grad
        if "sum_sq" in state:
            sum_sq += state["sum_sq"]
        state["sum_sq"] = sum_sq
        denom = np.sqrt(sum_sq)
        denom += self.eps
        update = np.multiply(grad, self.lr)
        update /= denom  # lr * g / (sqrt(G) + eps), with two temporary arrays
        return update


class RMSProp(Optimizer):
    """AdaGrad with a leaky average instead of a sum, so step sizes do not vanish:
    s = alpha * s + (1 - alpha) g^2;  p -= lr * g / (sqrt(s) + eps).

    (1 - alpha) * g is formed before multiplying by g again, as torch's addcmul does, so a
    gradient up to sqrt(max / (1 - alpha)) does not overflow."""

    _state_keys = ("square_avg", "buffer")  # what state[i] may hold
    _hyperparameters = {
        **Optimizer._hyperparameters, "eps": _eps, "momentum": _momentum,
        "alpha": lambda owner, v: check_number(v, f"{owner} alpha", low=0, high=1, high_open=True),
    }
    _squared_state = ("square_avg",)

    def __init__(self, params, lr=0.01, alpha=0.99, eps=1e-8, momentum=0.0, weight_decay=0.0):
        super().__init__(params, lr, weight_decay)
        self.alpha = alpha
        self.eps = eps
        self.momentum = momentum

    def _update(self, grad, state, p):
        square = np.multiply(grad, 1 - self.alpha)
        square *= grad
        if "square_avg" in state:
            square_avg = np.multiply(state["square_avg"], self.alpha)
            square_avg += square
        else:
            square_avg = square
        state["square_avg"] = square_avg
        step = np.sqrt(square_avg, out=square if square is not square_avg else None)
        step += self.eps
        np.divide(grad, step, out=step)  # g / (sqrt(s) + eps)
        if self.momentum:
            if "buffer" in state:
                buffer = np.multiply(state["buffer"], self.momentum)
                buffer += step
            else:
                buffer = step
            state["buffer"] = step = buffer
        return self.lr * step


class Adam(Optimizer):
    """Momentum (first moment m) plus RMSProp (second moment v), both bias-corrected:
    m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
    p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)."""

    _state_keys = ("m", "v", "step")  # what state[i] may hold
    _hyperparameters = {**Optimizer._hyperparameters, "eps": _eps, "betas": _check_betas}
    _squared_state = ("v",)

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, lr, weight_decay)
        self.betas = betas
        self.eps = eps

    def _update(self, grad, state, p):
        b1, b2 = self.betas
        # m = b1 m + (1 - b1) g and v = b2 v + (1 - b2) g g, each in one new array
        scaled = np.multiply(grad, 1 - b1)
        if "m" in state:
            m = np.multiply(state["m"], b1)
            m += scaled
        else:
            m = scaled
        square = np.multiply(grad, 1 - b2, out=None if m is scaled else scaled)
        square *= grad
        if "v" in state:
            v = np.multiply(state["v"], b2)
            v += square
        else:
            v = square
        t = state.get("step", 0) + 1  # steps this parameter has taken, this one included
        state["m"], state["v"], state["step"] = m, v, t
        step_size = self.lr / (1 - b1**t)
        denom = np.sqrt(v)
        if denom.dtype != _FLOAT64:  # sqrt(v) / np.sqrt(1 - b2**t) is float64 for float32 v
            denom = denom.astype(_FLOAT64)
        denom /= math.sqrt(1 - b2**t)
        denom += self.eps
        update = np.multiply(m, step_size)
        return np.divide(update, denom, out=update if update.dtype == denom.dtype else None)


_BUILTIN_UPDATES = {SGD._update, AdaGrad._update, RMSProp._update, Adam._update}
