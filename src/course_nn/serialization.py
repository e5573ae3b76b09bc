"""Save and load: a model's parameters and buffers, an optimizer's state, and one .npz file
that holds both.

A module's state (``model.state_dict()``) is an ordered dict key -> numpy array, each a copy
(writing into it does not change the model): every parameter under its ``named_parameters()``
name ("0.weight": (out, in), "0.bias": (out,)) and every buffer, an array that is part of the
model without being trained (BatchNorm1d's running_mean and running_var: (C,)), in PyTorch's
order: a module's parameters, then its buffers, then the modules inside it. Keys and shapes
are torch.nn's for the same architecture; recurrent layers (RNN, LSTM, GRU) store weight_ih,
weight_hh, bias_ih and bias_hh as PyTorch's layer 0: "weight_ih_l0", "weight_hh_l0",
"bias_ih_l0", "bias_hh_l0". (course_nn's BatchNorm1d has no num_batches_tracked: it always
uses its fixed momentum.)

``model.load_state_dict(state, strict=True)`` checks everything before it changes anything:
every key of the model present and no other (strict), each value a numpy array of the
parameter's (or buffer's) shape and dtype, with finite values. An error names the key, what
was expected and what came; after an error the model is as it was. It returns
``(missing_keys, unexpected_keys)``, both empty when strict. A successful load disarms every
module (a backward needs a new forward: the cached forward used the old weights).

An optimizer's state (``opt.state_dict()``) is a dict: "type" (the class name), "hyperparameters"
({"lr": ..., ...} as floats, Adam's betas a pair), "steps" (int), "params" (one
{"name", "shape", "dtype"} per parameter, the name None when the optimizer was given
``model.parameters()``), "state" (one dict per parameter: SGD's "velocity", AdaGrad's
"sum_sq", RMSProp's "square_avg" and "buffer", Adam's "m" and "v", arrays of the parameter's
shape and dtype, and Adam's "step", the number of steps this parameter has taken).
``opt.load_state_dict(state)`` checks it against the optimizer's parameters, all or nothing.

``save(path, model, optimizer=None)`` writes one .npz file (numpy arrays only, read with
``allow_pickle=False``): the model's state under its keys, the optimizer's under
"optimizer/..." (its per-parameter state under the model's key of that parameter:
"optimizer/state/0.weight/m") and the format version under "course_nn/format_version".
``load(path, model, optimizer=None)`` reads it into a model (and optimizer) built the same way,
with the same checks, all or nothing for both.
"""

import collections
import numbers
import os
from collections.abc import Mapping

import numpy as np

from .module import Module
from .optim import Optimizer

FORMAT_KEY = "course_nn/format_version"
FORMAT_VERSION = 1
OPTIMIZER_PREFIX = "optimizer/"
_RESERVED = ("course_nn/", OPTIMIZER_PREFIX)

IncompatibleKeys = collections.namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])
IncompatibleKeys.__doc__ = ("What ``load_state_dict(state, strict=False)`` skipped: the model's "
                            "keys absent from the state, and the state's keys the model lacks.")


# ------------------------------------------------------------------------------- modules

def _entries(module):
    """(key, Parameter, None) and (key, owner module, attribute name) of the buffers, in
    PyTorch's order. Parameters are named as ``named_parameters()`` names them, with the last
    part renamed by the owner's ``_state_dict_names`` (recurrent layers' "_l0")."""
    modules = list(module._named_modules("", set()))
    by_prefix = {prefix: m for prefix, m in modules}
    owned = collections.defaultdict(list)
    for name, p in module.named_parameters():
        prefix, i = "", name.rfind(".")
        while i >= 0:  # the deepest module whose path starts the name owns the parameter
            if name[:i + 1] in by_prefix:
                prefix = name[:i + 1]
                break
            i = name.rfind(".", 0, i)
        owned[prefix].append((name[len(prefix):], p))
    entries, seen = [], {}
    for prefix, m in modules:
        names = getattr(type(m), "_state_dict_names", {})
        items = [(prefix + names.get(rest, rest), p, None) for rest, p in owned[prefix]]
        items += [(prefix + attr, m, attr) for attr in getattr(type(m), "_buffer_names", ())]
        for key, obj, attr in items:
            if key in seen:
                raise RuntimeError(f"{type(module).__name__}.state_dict: two entries are named "
                                   f"{key!r}; rename one of the attributes")
            seen[key] = True
            entries.append((key, obj, attr))
    return entries


def _value(obj, attr):
    return obj.data if attr is None else getattr(obj, attr)


def module_state_dict(module):
    """``module.state_dict()``: an OrderedDict key -> a copy of the array (see the module
    docstring for the keys and their order)."""
    if not isinstance(module, Module):
        raise TypeError(f"state_dict: expected a Module, got {type(module).__name__}")
    return collections.OrderedDict((key, np.array(_value(obj, attr), copy=True))
                                   for key, obj, attr in _entries(module))


def _listed(keys, limit=8):
    shown = ", ".join(repr(k) for k in keys[:limit])
    return "[" + shown + (f", ... ({len(keys) - limit} more)" if len(keys) > limit else "") + "]"


def _check_array(owner, what, value, shape, dtype):
    """A copy of ``value`` after checking it is a finite array of ``shape`` and ``dtype``."""
    if not isinstance(value, np.ndarray):
        got = (f"a numpy scalar ({value.dtype})" if isinstance(value, np.generic)
               else type(value).__name__)
        raise TypeError(f"{owner}: {what}: expected a numpy array of shape {shape} and dtype "
                        f"{dtype}, got {got}")
    if value.shape != tuple(shape):
        raise ValueError(f"{owner}: {what}: expected shape {tuple(shape)}, got {value.shape}")
    if value.dtype != dtype:
        raise TypeError(f"{owner}: {what}: expected dtype {dtype}, got {value.dtype} (build the "
                        f"model with the state's dtype, or convert the state's arrays)")
    if value.dtype.kind in "fc" and not np.all(np.isfinite(value)):
        bad = value.size - int(np.count_nonzero(np.isfinite(value)))
        raise ValueError(f"{owner}: {what}: expected finite values, got {bad} NaN or inf entries")
    return np.array(value, copy=True)


def _plan_module_load(module, state, strict, owner, source="the state"):
    """Check ``state`` against ``module``; return (plan, missing keys, unexpected keys), the
    plan a list of (Parameter or owner module, attribute or None, new array). ``source``
    names where ``state`` came from in the messages."""
    if not isinstance(module, Module):
        raise TypeError(f"{owner}: expected a Module, got {type(module).__name__}")
    if not isinstance(strict, (bool, np.bool_)):
        raise TypeError(f"{owner}: strict: expected True or False, got {strict!r}")
    if not isinstance(state, Mapping):
        raise TypeError(f"{owner}: expected a mapping key -> array such as model.state_dict(), "
                        f"got {type(state).__name__}")
    for key in state:
        if not isinstance(key, str):
            raise TypeError(f"{owner}: expected str keys such as '0.weight', got the key {key!r}")
    entries = _entries(module)
    expected = {key for key, _, _ in entries}
    missing = [key for key, _, _ in entries if key not in state]
    unexpected = [key for key in state if key not in expected]
    if strict and (missing or unexpected):
        parts = []
        if missing:
            parts.append(f"missing keys {_listed(missing)} (the model has them, {source} not)")
        if unexpected:
            parts.append(f"unexpected keys {_listed(unexpected)} (in {source}, not in the "
                         f"model)")
        raise ValueError(f"{owner}: {source} does not fit this {type(module).__name__}: "
                         + "; ".join(parts) + "; nothing was loaded")
    plan = []
    for key, obj, attr in entries:
        if key in state:
            current = np.asarray(_value(obj, attr))
            new = _check_array(owner, f"key {key!r}", state[key], current.shape, current.dtype)
            plan.append((obj, attr, new))
    return plan, missing, unexpected


def _apply_module_load(module, plan):
    for obj, attr, new in plan:
        if attr is None:
            obj._data = new
        else:
            setattr(obj, attr, new)
    for m in module.modules():  # the cached forward saw the old weights: a new forward first
        if m._backward_ready is not None:
            m._backward_ready = None


def load_module_state(module, state, strict=True):
    """``module.load_state_dict(state, strict)``: all or nothing; returns IncompatibleKeys."""
    owner = f"{type(module).__name__}.load_state_dict"
    plan, missing, unexpected = _plan_module_load(module, state, strict, owner)
    _apply_module_load(module, plan)
    return IncompatibleKeys(missing, unexpected)


# ---------------------------------------------------------------------------- optimizers

_OPTIMIZER_FIELDS = ("type", "hyperparameters", "steps", "params", "state")


def optimizer_state_dict(optimizer):
    """``optimizer.state_dict()``: a dict of copies (see the module docstring)."""
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"state_dict: expected an Optimizer, got {type(optimizer).__name__}")
    hyper = {}
    for name in type(optimizer)._hyperparameters:
        value = getattr(optimizer, name)
        hyper[name] = tuple(value) if isinstance(value, tuple) else value
    return {
        "type": type(optimizer).__name__,
        "hyperparameters": hyper,
        "steps": int(optimizer.steps),
        "params": [{"name": name, "shape": p.shape, "dtype": str(p.data.dtype)}
                   for name, p in zip(optimizer.param_names, optimizer.params)],
        "state": [{key: value.copy() if isinstance(value, np.ndarray) else value
                   for key, value in state.items()} for state in optimizer.state],
    }


def _check_count(owner, what, value):
    if (isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral)
            or value < 0):
        raise ValueError(f"{owner}: {what}: expected a non-negative integer, got {value!r}")
    return int(value)


def _keys_fit(owner, what, mapping, expected):
    if not isinstance(mapping, Mapping):
        raise TypeError(f"{owner}: {what}: expected a dict, got {type(mapping).__name__}")
    missing = [k for k in expected if k not in mapping]
    unexpected = [k for k in mapping if k not in expected]
    if missing or unexpected:
        raise ValueError(f"{owner}: {what}: expected the keys {list(expected)}, got "
                         f"{list(mapping)} (missing {missing}, unexpected {unexpected})")


def _plan_optimizer_load(optimizer, state, owner):
    """Check ``state`` against ``optimizer``; return (hyperparameters, steps, new state list)."""
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{owner}: expected an Optimizer, got {type(optimizer).__name__}")
    cls = type(optimizer)
    _keys_fit(owner, "the state", state, _OPTIMIZER_FIELDS)
    if state["type"] != cls.__name__:
        raise ValueError(f"{owner}: the state is of the optimizer type {state['type']!r}, "
                         f"this optimizer is {cls.__name__}")
    _keys_fit(owner, "hyperparameters", state["hyperparameters"], tuple(cls._hyperparameters))
    hyper = {name: check(f"{owner}: hyperparameter", state["hyperparameters"][name])
             for name, check in cls._hyperparameters.items()}
    steps = _check_count(owner, "steps", state["steps"])
    n = len(optimizer.params)
    for field in ("params", "state"):
        value = state[field]
        if isinstance(value, (str, bytes, Mapping)) or not hasattr(value, "__len__"):
            raise TypeError(f"{owner}: {field}: expected a list with one entry per parameter, "
                            f"got {type(value).__name__}")
        if len(value) != n:
            raise ValueError(f"{owner}: {field}: expected {n} entries (one per parameter of "
                             f"this optimizer), got {len(value)}")
    allowed = getattr(cls, "_state_keys", None)
    new_states = []
    for i, (p, described, per_param) in enumerate(zip(optimizer.params, state["params"],
                                                      state["state"])):
        label = optimizer._label(i)
        _keys_fit(owner, f"params[{i}]", described, ("name", "shape", "dtype"))
        name, mine = described["name"], optimizer.param_names[i]
        if name is not None and mine is not None and name != mine:
            raise ValueError(f"{owner}: params[{i}]: expected the parameter {mine!r}, got "
                             f"{name!r}")
        if tuple(described["shape"]) != p.shape or described["dtype"] != str(p.data.dtype):
            raise ValueError(f"{owner}: params[{i}]: expected {label} of dtype {p.data.dtype}, "
                             f"got shape {tuple(described['shape'])} and dtype "
                             f"{described['dtype']}")
        if not isinstance(per_param, Mapping):
            raise TypeError(f"{owner}: state[{i}] ({label}): expected a dict, got "
                            f"{type(per_param).__name__}")
        new = {}
        for key, value in per_param.items():
            what = f"state[{i}][{key!r}] ({label})"
            if allowed is not None and key not in allowed:
                raise ValueError(f"{owner}: {what}: unexpected key; {cls.__name__} keeps only "
                                 f"{list(allowed)}")
            if key == "step":
                new[key] = _check_count(owner, what, value)
                if new[key] > steps:
                    raise ValueError(f"{owner}: {what}: expected at most steps = {steps}, got "
                                     f"{new[key]}")
            else:
                new[key] = _check_array(owner, what, value, p.shape, p.data.dtype)
        new_states.append(new)
    return hyper, steps, new_states


def _apply_optimizer_load(optimizer, plan):
    hyper, steps, new_states = plan
    for name, value in hyper.items():
        setattr(optimizer, name, value)
    optimizer.steps = steps
    optimizer.state = new_states


def load_optimizer_state(optimizer, state):
    """``optimizer.load_state_dict(state)``: all or nothing."""
    owner = f"{type(optimizer).__name__}.load_state_dict"
    _apply_optimizer_load(optimizer, _plan_optimizer_load(optimizer, state, owner))


# --------------------------------------------------------------------------------- files

def _check_path(path, owner):
    if isinstance(path, bytes) or not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{owner}: path: expected a str or os.PathLike, got {type(path).__name__}")
    return os.fspath(path)


def _optimizer_keys(model, optimizer, owner):
    """The model's key of each of the optimizer's parameters, in the optimizer's order."""
    keys = {id(obj): key for key, obj, attr in _entries(model) if attr is None}
    names = []
    for i, p in enumerate(optimizer.params):
        if id(p) not in keys:
            raise ValueError(f"{owner}: the optimizer's {optimizer._label(i)} is not a parameter "
                             f"of the model; pass the model whose parameters it updates")
        names.append(keys[id(p)])
    return names



def _check_arguments(path, model, optimizer, owner):
    """The checked path of ``save``/``load``, after checking the model and the optimizer."""
    path = _check_path(path, owner)
    if not isinstance(model, Module):
        raise TypeError(f"{owner}: model: expected a Module, got {type(model).__name__}")
    if optimizer is not None and not isinstance(optimizer, Optimizer):
        raise TypeError(f"{owner}: optimizer: expected an Optimizer or None, got "
                        f"{type(optimizer).__name__}")
    return path

def save(path, model, optimizer=None):
    """Write ``model``'s state (and ``optimizer``'s, which must update parameters of ``model``)
    to one .npz file at ``path`` (the name is used as given; ".npz" is the convention).

    The file holds numpy arrays only: the model's arrays under their state_dict keys, the
    optimizer's type, hyperparameters, steps, parameter keys and per-parameter state under
    "optimizer/...", and "course_nn/format_version". It is written to a temporary file first,
    so an existing file at ``path`` is replaced only by a complete one.
    """
    import tempfile

    owner = "save"
    path = _check_arguments(path, model, optimizer, owner)
    arrays = {FORMAT_KEY: np.array(FORMAT_VERSION, dtype=np.int64)}
    for key, value in module_state_dict(model).items():
        if key.startswith(_RESERVED):
            raise ValueError(f"{owner}: the model's key {key!r} starts with a prefix the file "
                             f"format reserves ({', '.join(_RESERVED)})")
        arrays[key] = value
    if optimizer is not None:
        names = _optimizer_keys(model, optimizer, owner)
        state = optimizer_state_dict(optimizer)
        arrays[OPTIMIZER_PREFIX + "type"] = np.array(state["type"])
        arrays[OPTIMIZER_PREFIX + "steps"] = np.array(state["steps"], dtype=np.int64)
        arrays[OPTIMIZER_PREFIX + "params"] = np.array(names, dtype=str)
        for name, value in state["hyperparameters"].items():
            arrays[f"{OPTIMIZER_PREFIX}hyperparameters/{name}"] = np.array(value, dtype=np.float64)
        for name, per_param in zip(names, state["state"]):
            for key, value in per_param.items():
                arrays[f"{OPTIMIZER_PREFIX}state/{name}/{key}"] = (
                    np.array(value, dtype=np.int64) if key == "step" else value)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"{owner}: no directory {directory!r} to write {path!r} into")
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".course_nn-save-", suffix=".npz")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _read_npz(path, owner):
    """Every array of the .npz at ``path``, read with allow_pickle=False."""
    import zipfile

    if not os.path.exists(path):
        raise FileNotFoundError(f"{owner}: no file {path!r}")
    if os.path.isdir(path):
        raise IsADirectoryError(f"{owner}: {path!r} is a directory, expected a file written by "
                                f"course_nn.save")
    unreadable = (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError)
    try:
        f = np.load(path, allow_pickle=False)
    except unreadable as e:
        raise ValueError(f"{owner}: {path!r} is not a readable .npz file (corrupted, or not "
                         f"written by course_nn.save): {e}") from e
    if not isinstance(f, np.lib.npyio.NpzFile):
        raise ValueError(f"{owner}: {path!r} holds a single .npy array, not the .npz archive "
                         f"that course_nn.save writes")
    arrays = {}
    with f:
        for key in f.files:
            try:
                arrays[key] = f[key]
            except ValueError as e:
                if "allow_pickle" in str(e):
                    raise ValueError(f"{owner}: {path!r}: key {key!r} holds pickled Python "
                                     f"objects, which are refused (allow_pickle=False): a file "
                                     f"of course_nn.save holds numeric and text arrays only"
                                     ) from e
                raise ValueError(f"{owner}: {path!r}: key {key!r} is corrupted: {e}") from e
            except (zipfile.BadZipFile, OSError, EOFError, KeyError) as e:
                raise ValueError(f"{owner}: {path!r}: key {key!r} is corrupted: {e}") from e
    if FORMAT_KEY not in arrays:
        raise ValueError(f"{owner}: {path!r} has no {FORMAT_KEY!r} key: it was not written by "
                         f"course_nn.save")
    version = arrays[FORMAT_KEY]
    if version.shape != () or version.dtype.kind not in "iu" or int(version) != FORMAT_VERSION:
        raise ValueError(f"{owner}: {path!r}: {FORMAT_KEY!r}: expected {FORMAT_VERSION}, got "
                         f"{version!r} (a newer course_nn wrote it, or it is corrupted)")
    return arrays


def _text(arrays, key, owner, ndim):
    value = arrays.get(key)
    if value is None:
        raise ValueError(f"{owner}: the file has optimizer state but no {key!r} key")
    if value.dtype.kind != "U" or value.ndim != ndim:
        raise ValueError(f"{owner}: {key!r}: expected text of {ndim} dimensions, got dtype "
                         f"{value.dtype} and shape {value.shape}")
    return value.tolist()


def _optimizer_state_from_file(arrays, model, optimizer, model_state, owner):
    """The optimizer state dict stored in ``arrays`` (see save), with its parameters checked
    against ``optimizer``'s keys in ``model``."""
    if not any(key.startswith(OPTIMIZER_PREFIX) for key in arrays):
        raise ValueError(f"{owner}: the file holds no optimizer state (it was saved without "
                         f"optimizer=); load the model alone, or save the optimizer with it")
    p = OPTIMIZER_PREFIX
    kind = _text(arrays, p + "type", owner, 0)
    names = _text(arrays, p + "params", owner, 1)
    mine = _optimizer_keys(model, optimizer, owner)
    if names != mine:
        raise ValueError(f"{owner}: the file's optimizer updates the parameters {_listed(names)}, "
                         f"this optimizer {_listed(mine)}")
    if kind != type(optimizer).__name__:
        raise ValueError(f"{owner}: the file holds the state of the optimizer type {kind!r}, "
                         f"this optimizer is {type(optimizer).__name__}")
    known = {p + "type", p + "params", p + "steps"}
    hyper = {}
    for name in type(optimizer)._hyperparameters:
        key = f"{p}hyperparameters/{name}"
        known.add(key)
        if key not in arrays:
            raise ValueError(f"{owner}: the file's optimizer state has no {key!r} key")
        value = arrays[key]
        if value.dtype != np.float64:
            raise TypeError(f"{owner}: {key!r}: expected dtype float64, got {value.dtype}")
        hyper[name] = tuple(value.tolist()) if value.ndim else float(value)
    if p + "steps" not in arrays:
        raise ValueError(f"{owner}: the file's optimizer state has no {p + 'steps'!r} key")
    steps = arrays[p + "steps"]
    states = [{} for _ in names]
    index = {name: i for i, name in enumerate(names)}
    for key, value in arrays.items():
        if not key.startswith(p) or key in known:
            continue
        name, _, field = key[len(p + "state/"):].rpartition("/")
        if not key.startswith(p + "state/") or name not in index:
            raise ValueError(f"{owner}: unexpected key {key!r} in the file's optimizer state")
        if field == "step":
            if value.shape != () or value.dtype.kind not in "iu":
                raise ValueError(f"{owner}: {key!r}: expected an integer, got dtype "
                                 f"{value.dtype} and shape {value.shape}")
            value = int(value)
        states[index[name]][field] = value
    return {
        "type": kind,
        "hyperparameters": hyper,
        "steps": int(steps) if steps.shape == () and steps.dtype.kind in "iu" else steps,
        "params": [{"name": None, "shape": model_state[name].shape,
                    "dtype": str(model_state[name].dtype)} for name in names],
        "state": states,
    }


def load(path, model, optimizer=None):
    """Read a file written by ``save`` into ``model`` (and ``optimizer``), both built as when
    saving; returns ``model``.

    Strict: the file must hold exactly the model's keys (its optimizer entries aside), each an
    array of the model's shape and dtype with finite values, and, when ``optimizer`` is given,
    that optimizer's type and state for the same parameters. Nothing changes unless everything
    fits. Errors: FileNotFoundError for a missing file; ValueError for a corrupted file, a file
    not written by ``save``, pickled objects, or the state of another model or optimizer (the
    message names the key); TypeError for a wrong dtype.
    """
    owner = "load"
    path = _check_arguments(path, model, optimizer, owner)
    arrays = _read_npz(path, owner)
    owner = f"load({path!r})"
    model_state = {key: value for key, value in arrays.items() if not key.startswith(_RESERVED)}
    plan, _, _ = _plan_module_load(model, model_state, True, owner, source="the file")
    optimizer_plan = None
    if optimizer is not None:
        state = _optimizer_state_from_file(arrays, model, optimizer, model_state, owner)
        optimizer_plan = _plan_optimizer_load(optimizer, state, owner)
    _apply_module_load(model, plan)
    if optimizer_plan is not None:
        _apply_optimizer_load(optimizer, optimizer_plan)
    return model


__all__ = ["IncompatibleKeys", "load", "save"]
