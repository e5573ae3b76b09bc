"""Parameter, Module and Sequential: the skeleton every layer hangs on.

A Module does two things: ``forward(x)`` computes its output and remembers what it needs,
and ``backward(grad_out)`` receives dLoss/dOutput, adds dLoss/dParameter into each
parameter's ``.grad`` and returns dLoss/dInput for the module before it.

A module holds the cache of ONE forward, so each forward allows one backward: a second
backward would add the same gradients into ``.grad`` again. Every subclass's ``forward``,
``backward`` and ``backward_params`` are wrapped (``Module.__init_subclass__``) so that a
forward arms the module and a successful backward disarms it; a backward that is not armed
raises RuntimeError instead of silently doubling the gradients.

A call that fails changes nothing: when the outermost forward or backward (a network's, with
its layers called inside it) raises, every module it called gets back the attributes it had
before the call (caches, batch-norm running statistics, armed state) and every parameter its
gradient. Without this a network whose third layer rejects a batch would leave its first two
layers holding that batch while the network stays armed for the previous one, and a backward
failing half-way would leave the later layers' gradients added.
"""

import contextlib
import functools
import inspect
import numbers

import numpy as np

from ._validate import all_finite, as_array, as_float_array, between_layers


def _parameter_array(value, name):
    """``value`` as a fresh, finite, real floating-point array (integers become float: int8,
    int16 and uint8 float32, wider integers float64; float16 becomes float32)."""
    arr = as_array(value, name)
    kind = arr.dtype.kind
    if kind not in "iuf":
        got = "None" if value is None else f"dtype {arr.dtype}"
        raise TypeError(f"{name}: expected real numbers (a float or integer array), got {got}")
    if arr.size == 0:
        raise ValueError(f"{name}: expected a non-empty array, got shape {arr.shape}")
    arr = np.array(arr, dtype=np.result_type(arr.dtype, np.float32))  # always a copy
    if not all_finite(arr):
        bad = int(arr.size - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(f"{name}: expected finite values, got {bad} NaN or inf entries")
    return arr


class Parameter:
    """A trainable array together with the gradient of the loss with respect to it.

    data: the values (any shape, float32 or float64, finite; the Parameter keeps its own
    copy); grad: same shape and dtype, accumulated by ``backward`` (zeros until then:
    ``zero_grad`` drops the old gradient and a new zero array appears when first read).
    Assigning ``p.data = values`` checks the values the same way and keeps p's shape and dtype.
    """

    def __init__(self, data):
        self._data = _parameter_array(data, "Parameter data")
        self._grad = None

    @property
    def data(self):
        return self._data

    @data.setter
    def data(self, value):
        arr = _parameter_array(value, "Parameter data")
        if arr.shape != self._data.shape:
            raise ValueError(f"Parameter data: expected shape {self._data.shape} (the parameter's "
                             f"shape), got {arr.shape}; build a new Parameter to change the shape")
        if arr.dtype != self._data.dtype:
            with np.errstate(over="ignore"):
                arr = arr.astype(self._data.dtype)
            if not all_finite(arr):  # e.g. 1e300 does not fit into float32
                raise ValueError(f"Parameter data: values overflow the parameter's dtype "
                                 f"{self._data.dtype}")
        self._data = arr

    @property
    def grad(self):
        if self._grad is None:
            _record_grad(self)
            self._grad = np.zeros_like(self._data)
        return self._grad

    @grad.setter
    def grad(self, value):
        """``p.grad = g`` (an array of p's shape, cast to p's dtype) or ``None`` (= zero_grad)."""
        if value is None:
            _record_grad(self)
            self._grad = None
            return
        arr = as_array(value, "Parameter grad")
        if arr.dtype.kind not in "iuf":
            raise TypeError(f"Parameter grad: expected real numbers, got dtype {arr.dtype}")
        if arr.shape != self._data.shape:
            raise ValueError(f"Parameter grad: expected shape {self._data.shape} (the parameter's "
                             f"shape), got {arr.shape}")
        _record_grad(self)
        self._grad = arr if arr.dtype == self._data.dtype else arr.astype(self._data.dtype)

    def add_grad(self, g):
        """grad = grad + g, for ``g`` of the parameter's shape. The first gradient after
        ``zero_grad`` is kept as it is rather than added to zeros, so ``g`` must be a fresh array
        that the caller does not use again. The sum is a new array (the old one is left as it
        was), so a failed backward can put the previous gradient back."""
        if g.shape != self._data.shape:  # a layer bug must not broadcast into the gradient
            raise ValueError(f"Parameter.add_grad: expected a gradient of shape {self._data.shape},"
                             f" got {g.shape}")
        journal = _running[0]  # _record_grad(self), inlined: add_grad runs for every parameter
        if journal is not None and id(self) not in journal.grads:
            journal.grads[id(self)] = (self, self._grad)
        if self._grad is None and g.dtype == self._data.dtype:
            self._grad = g
        elif g.dtype.kind not in "iuf":
            raise TypeError(f"Parameter.add_grad: expected a real-valued gradient, got dtype {g.dtype}")
        elif self._grad is None:
            self._grad = g.astype(self._data.dtype)
        else:
            self._grad = np.add(self._grad, g, dtype=self._grad.dtype)

    @property
    def shape(self):
        return self._data.shape

    @property
    def size(self):
        return self._data.size

    def zero_grad(self):
        _record_grad(self)
        self._grad = None

    def __repr__(self):
        return f"Parameter(shape={self._data.shape}, dtype={self._data.dtype})"


def parameter_list(params, owner):
    """Check an optimizer's or penalty's ``params`` and return ``(parameters, names)``.

    params: an iterable of Parameters, such as ``model.parameters()``, or of ``(name,
    Parameter)`` pairs, such as ``model.named_parameters()`` (names then appear in error
    messages; ``names[i]`` is None for an unnamed parameter). ``owner`` starts each message.
    Raises TypeError for a Module, a single Parameter or anything that is not an iterable of
    Parameters, and ValueError for an empty list or a Parameter listed twice (it would be
    updated or penalized twice).
    """
    if isinstance(params, Module):
        raise TypeError(f"{owner}: expected an iterable of Parameters, got the module "
                        f"{type(params).__name__} itself; pass model.parameters()")
    if isinstance(params, Parameter):
        raise TypeError(f"{owner}: expected an iterable of Parameters, got a single Parameter; "
                        f"pass a list: [p]")
    if (isinstance(params, (str, bytes, dict, set, frozenset, np.ndarray))
            or not hasattr(params, "__iter__")):
        raise TypeError(f"{owner}: expected an ordered iterable of Parameters such as "
                        f"model.parameters(), got {type(params).__name__}")
    items, names, first_index = [], [], {}
    for i, item in enumerate(params):
        name = None
        if (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)
                and isinstance(item[1], Parameter)):
            name, item = item
        if not isinstance(item, Parameter):
            hint = ("; pass model.parameters()" if isinstance(item, Module) else
                    "; parameter groups are not supported" if isinstance(item, dict) else "")
            raise TypeError(f"{owner}: parameter {i} must be a Parameter, got "
                            f"{type(item).__name__}{hint}")
        if id(item) in first_index:
            raise ValueError(
                f"{owner}: parameter {i} is the same Parameter as parameter {first_index[id(item)]}"
                f" (shape {item.shape}); each Parameter must appear once, or it would be updated "
                f"twice per step (model.parameters() lists a shared Parameter once)")
        first_index[id(item)] = i
        items.append(item)
        names.append(name)
    if not items:
        raise ValueError(f"{owner}: expected a non-empty list of parameters")
    return items, names


_CONTAINERS = (list, tuple, dict)


def _container_items(name, value):
    """(dotted name, item) for the items of a list, tuple or dict attribute; () otherwise."""
    if isinstance(value, (list, tuple)):
        return [(f"{name}.{i}", item) for i, item in enumerate(value)]
    if isinstance(value, dict):
        return [(f"{name}.{key}", item) for key, item in value.items()]
    return ()


class _Journal:
    """What the running outermost forward or backward may change, recorded as it goes: each
    module's attributes as they were just before its first forward, backward or
    backward_params inside the call (a shallow copy: layers replace their caches and statistics
    rather than write into them), and each parameter's gradient before its first change
    (``add_grad``, ``grad = ...``, ``zero_grad`` and the zeros ``grad`` creates are the only
    ways a gradient changes, and ``add_grad`` never writes into one). Recording on first touch
    costs one dict copy per module called, with no walk over the network beforehand."""

    __slots__ = ("modules", "grads")

    def __init__(self):
        self.modules = {}  # id -> (module, attributes)
        self.grads = {}    # id -> (parameter, gradient)

    def undo(self):
        for module, attributes in self.modules.values():
            vars(module).clear()
            vars(module).update(attributes)
        for param, grad in self.grads.values():
            param._grad = grad


_running = [None]  # the _Journal of the outermost forward or backward while it runs


def _record_grad(param):
    """Before ``param``'s gradient changes inside a running call: remember it, once."""
    journal = _running[0]
    if journal is not None and id(param) not in journal.grads:
        journal.grads[id(param)] = (param, param._grad)


def _run_undoable(module, fn, args, kwargs):
    """Call ``fn(module, *args, **kwargs)``. Inside a running call, record ``module`` and run
    it; as the outermost call, run it with a new journal and, if it raises, undo everything it
    recorded, so that a failed call changes nothing."""
    journal = _running[0]
    if journal is not None:
        if id(module) not in journal.modules:
            journal.modules[id(module)] = (module, dict(vars(module)))
        return fn(module, *args, **kwargs)
    journal = _Journal()
    journal.modules[id(module)] = (module, dict(vars(module)))
    _running[0] = journal
    try:
        return fn(module, *args, **kwargs)
    except BaseException:
        journal.undo()
        raise
    finally:
        _running[0] = None


def _arm_after(fn):
    """Wrap a subclass's ``forward``: after it returns, one backward is allowed; if it raises
    (here or in a module inside it), nothing has changed."""
    @functools.wraps(fn)
    def forward(self, *args, **kwargs):
        journal = _running[0]
        if journal is None:
            out = _run_undoable(self, fn, args, kwargs)
        else:  # a part of a running call (inlined: this runs for every layer of every batch)
            if id(self) not in journal.modules:
                journal.modules[id(self)] = (self, dict(vars(self)))
            out = fn(self, *args, **kwargs)
        self._backward_ready = True
        return out
    forward._arms_backward = True
    return forward


_IN_BACKWARD = "in backward"  # _backward_ready while a backward runs (its nested calls pass)


def _disarm_after(fn, method):
    """Wrap a subclass's ``backward`` or ``backward_params``: it runs only when armed by a
    forward, and a successful call disarms the module (a failed one leaves it armed)."""
    @functools.wraps(fn)
    def backward(self, *args, **kwargs):
        ready = self._backward_ready
        if ready is not True:
            if ready is _IN_BACKWARD:  # super().backward(...) or backward_params -> backward
                return fn(self, *args, **kwargs)
            raise _not_armed_error(self, method, ready)
        journal = _running[0]
        if journal is not None:  # a part of a running call: record, then run it here
            if id(self) not in journal.modules:
                journal.modules[id(self)] = (self, dict(vars(self)))
            self._backward_ready = _IN_BACKWARD
            try:
                out = fn(self, *args, **kwargs)
            except BaseException:
                self._backward_ready = True
                raise
            self._backward_ready = False
            return out
        try:
            return _run_undoable(self, _armed_backward, (fn, *args), kwargs)
        except BaseException:
            self._backward_ready = True
            raise
    backward._arms_backward = True
    return backward


def _armed_backward(module, fn, *args, **kwargs):
    """The body of an armed backward: run ``fn`` marked as running, then disarm (the mark is
    set after ``_run_undoable`` recorded the module, so an undo puts back the armed state)."""
    module._backward_ready = _IN_BACKWARD
    out = fn(module, *args, **kwargs)
    module._backward_ready = False
    return out


def _not_armed_error(module, method, ready):
    name = f"{type(module).__name__}.{method}"
    if ready is None:
        return RuntimeError(f"{name} called before forward: call the module on an input "
                            f"(module(x)) first, then {method}")
    return RuntimeError(
        f"{name} called twice after one forward (or before forward): the first call already "
        f"added this batch's gradients to .grad, and a second one would add them again. Run "
        f"forward before every backward; to accumulate the gradients of several batches, run "
        f"forward and backward once per batch")


class Module:
    """Base class of layers, activations and whole networks.

    Subclasses implement ``forward(x)`` and ``backward(grad_out)``. Parameters and sub-modules
    stored as attributes, or in lists, tuples or dicts held by attributes, are found by
    ``parameters()``, named as in PyTorch (``fc.weight``, ``blocks.0.weight``,
    ``heads.name.weight``); a Parameter or module reachable twice is listed once.
    """

    training = True
    _backward_ready = None  # None: no forward yet; True: armed; False: its backward already ran
    # state_dict: attributes holding arrays that are state without being trained (BatchNorm1d's
    # running statistics), and parameter attributes stored under another key (PyTorch's name)
    _buffer_names = ()
    _state_dict_names = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for method in ("forward", "backward", "backward_params"):
            fn = cls.__dict__.get(method)
            if inspect.isfunction(fn) and not getattr(fn, "_arms_backward", False):
                wrapped = _arm_after(fn) if method == "forward" else _disarm_after(fn, method)
                setattr(cls, method, wrapped)

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def forward(self, x):
        raise NotImplementedError(f"{type(self).__name__} does not implement forward")

    def backward(self, grad_out):
        raise NotImplementedError(f"{type(self).__name__} does not implement backward")

    def backward_params(self, grad_out):
        """Accumulate the parameters' gradients as ``backward`` does, without dLoss/dInput.

        For a module whose input is data, which needs no gradient (PyTorch likewise skips
        inputs without ``requires_grad``). A module without parameters has nothing to do;
        layers whose input gradient is costly (Linear, Conv2d) skip computing it.
        """
        if self._has_parameters():
            self.backward(grad_out)

    def named_children(self):
        """(name, module) of the direct sub-modules: attributes, and items of list, tuple or
        dict attributes (``blocks.0``, ``heads.name``); a module held twice is listed once."""
        seen = set()
        for name, value in vars(self).items():
            if isinstance(value, Module):
                pairs = ((name, value),)
            elif isinstance(value, _CONTAINERS):
                pairs = _container_items(name, value)
            else:
                continue
            for child_name, item in pairs:
                if isinstance(item, Module) and id(item) not in seen:
                    seen.add(id(item))
                    yield child_name, item

    def children(self):
        return [module for _, module in self.named_children()]

    def _named_modules(self, prefix, seen):
        """(prefix, module) for this module and every module inside it, depth first, each once."""
        if id(self) in seen:
            return
        seen.add(id(self))
        yield prefix, self
        for name, child in self.named_children():
            yield from child._named_modules(prefix + name + ".", seen)

    def modules(self):
        """This module and every module inside it, depth first, each once (as torch.nn.Module)."""
        for _, module in self._named_modules("", set()):
            yield module

    def _collect_parameters(self, prefix, seen_modules, seen_params, out):
        """Append (dotted name, Parameter) of this module and everything inside it to ``out``,
        depth first: own attributes, then items of list, tuple or dict attributes
        (``params.0``, ``scales.name``), then the children; each module and Parameter once.
        (One pass over the attributes: ``model.zero_grad()`` runs this at every step.)"""
        seen_modules.add(id(self))
        held, children = [], []
        for name, value in vars(self).items():
            if isinstance(value, Parameter):
                if id(value) not in seen_params:
                    seen_params.add(id(value))
                    out.append((prefix + name, value))
            elif isinstance(value, Module):
                children.append((name, value))
            elif isinstance(value, _CONTAINERS):
                for pair in _container_items(name, value):
                    if isinstance(pair[1], Parameter):
                        held.append(pair)
                    elif isinstance(pair[1], Module):
                        children.append(pair)
        for name, p in held:
            if id(p) not in seen_params:
                seen_params.add(id(p))
                out.append((prefix + name, p))
        if type(self).named_children is not Module.named_children:  # e.g. Sequential's
            children = self.named_children()
        for name, child in children:
            if id(child) not in seen_modules:
                child._collect_parameters(prefix + name + ".", seen_modules, seen_params, out)
        return out

    def named_parameters(self, prefix=""):
        """Yield ``(dotted_name, Parameter)`` pairs, this module's first, then its children's;
        a Parameter shared by two layers appears once, under its first name (as in PyTorch).
        A ``prefix`` is joined with a dot: prefix "net" gives "net.0.weight"."""
        if not isinstance(prefix, str):
            raise TypeError(f"named_parameters prefix: expected a str, got {type(prefix).__name__}")
        yield from self._collect_parameters(prefix + "." if prefix else "", set(), set(), [])

    def parameters(self):
        return [p for _, p in self._collect_parameters("", set(), set(), [])]

    def _has_parameters(self):
        return any(isinstance(value, Parameter) for value in vars(self).values()) or bool(
            self._collect_parameters("", set(), set(), []))

    def num_parameters(self):
        return sum(p.size for p in self.parameters())

    def zero_grad(self):
        for p in self.parameters():
            p.zero_grad()

    def state_dict(self):
        """An OrderedDict key -> copy of the array: the parameters under their
        ``named_parameters()`` names and the buffers (BatchNorm1d's running_mean, running_var),
        with torch.nn's keys and shapes ("0.weight", "0.bias"; recurrent layers "weight_ih_l0").
        See course_nn.serialization."""
        from .serialization import module_state_dict
        return module_state_dict(self)

    def load_state_dict(self, state, strict=True):
        """Copy the arrays of ``state`` (as from ``state_dict()``) into this module, all or
        nothing: each key's array must have the parameter's (or buffer's) shape and dtype and
        finite values, and with ``strict`` the keys must be exactly the model's. Errors name the
        key. Returns ``(missing_keys, unexpected_keys)`` (empty lists when strict)."""
        from .serialization import load_module_state
        return load_module_state(self, state, strict)

    def train(self, mode=True):
        if not isinstance(mode, (bool, np.bool_)):
            raise TypeError(f"{type(self).__name__}.train mode: expected True or False, got {mode!r}")
        for module in self.modules():
            module.training = bool(mode)
        return self

    def eval(self):
        return self.train(False)

    def _require_cache(self, *names):
        """Raise a clear error when ``backward`` is called before ``forward``."""
        for name in names:
            if getattr(self, name, None) is None:
                raise RuntimeError(f"{type(self).__name__}.backward called before forward")

    def extra_repr(self):
        return ""

    def __repr__(self):
        children = list(self.named_children())
        if not children:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"{type(self).__name__}("]
        for name, child in children:
            body = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {body}")
        lines.append(")")
        return "\n".join(lines)


@contextlib.contextmanager
def evaluation_mode(model):
    """Run ``model`` in evaluation mode (dropout off, batch-norm running statistics) inside the
    ``with`` block; afterwards every module inside it is back in the mode it was in."""
    if not isinstance(model, Module):
        raise TypeError(f"evaluation_mode: expected a Module, got {type(model).__name__}")
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for module, training in modes:
            module.training = training


def _all_modules(module, path, on_path):
    """(path, module) for ``module`` and everything inside it, repeats included (unlike
    ``modules()``), so that a module used in two places shows up twice; cycles are cut."""
    yield path, module
    on_path = on_path | {id(module)}
    for name, child in module.named_children():
        if id(child) not in on_path:
            yield from _all_modules(child, f"{path}.{name}", on_path)


class Sequential(Module):
    """Modules applied one after the other; backward visits them in reverse order.

    Each module may appear once (also inside nested modules): a module keeps the cache of its
    last forward, so one used twice in a pass would get a wrong gradient. An empty
    ``Sequential()`` is the identity, as in PyTorch (x: any float array, returned as it is).

    The caller's x (and grad_out) is checked for NaN/inf as every layer checks its input;
    the arrays the layers pass to each other are course_nn's own and are not rescanned (the
    loss checks the output, the optimizer the gradients), which saves up to a tenth of a
    small network's training step.
    """

    def __init__(self, *layers):
        first_seen = {}
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                hint = ("; pass the layers as separate arguments: Sequential(*layers)"
                        if isinstance(layer, (list, tuple)) else "")
                raise TypeError(f"Sequential: layer {i} must be a Module, got "
                                f"{type(layer).__name__}{hint}")
            for path, module in _all_modules(layer, str(i), frozenset()):
                if id(module) in first_seen:
                    raise ValueError(
                        f"Sequential: layer {path} ({type(module).__name__}) is the same module "
                        f"as layer {first_seen[id(module)]}; a module keeps the cache of its last "
                        f"forward, so using it twice in one pass gives wrong gradients. Use two "
                        f"separate modules; to share weights, give the second one the first "
                        f"one's Parameters (second.weight = first.weight): the gradients of both "
                        f"uses then add up in the shared Parameter, which parameters() lists once")
                first_seen[id(module)] = path
        self.layers = list(layers)
        self._identity_shape = None

    def named_children(self):
        for i, layer in enumerate(self.layers):  # named 0, 1, 2... as in torch.nn.Sequential
            yield str(i), layer

    def forward(self, x):
        if not self.layers:  # the identity
            x = as_float_array(as_array(x, "Sequential input"), "Sequential input")
            self._identity_shape = x.shape
            return x
        x = self.layers[0](x)  # checks the caller's x
        with between_layers():  # later layers get course_nn's own arrays: no NaN/inf rescan
            for layer in self.layers[1:]:
                x = layer(x)
        return x

    def backward(self, grad_out):
        if not self.layers:
            return as_float_array(as_array(grad_out, "Sequential grad_out"), "Sequential grad_out",
                                  shape=self._identity_shape)
        return self._backward([layer.backward for layer in reversed(self.layers)], grad_out)

    def backward_params(self, grad_out):
        """Backward for training on data: layers before the first one with parameters are
        skipped, and that one only accumulates its parameters' gradients."""
        first = next((i for i, layer in enumerate(self.layers) if layer._has_parameters()), None)
        if first is not None:
            steps = [layer.backward for layer in reversed(self.layers[first + 1:])]
            self._backward(steps + [self.layers[first].backward_params], grad_out)

    @staticmethod
    def _backward(steps, grad_out):
        grad_out = steps[0](grad_out)  # checks the caller's grad_out
        with between_layers():  # the rest get course_nn's own arrays: no NaN/inf rescan
            for step in steps[1:]:
                grad_out = step(grad_out)
        return grad_out

    def __getitem__(self, index):
        if isinstance(index, slice):
            return Sequential(*self.layers[index])
        if isinstance(index, bool) or not isinstance(index, numbers.Integral):
            raise TypeError(f"Sequential index: expected an integer or a slice, got {index!r}")
        if not -len(self.layers) <= index < len(self.layers):
            raise IndexError(f"Sequential index {index} out of range for {len(self.layers)} layers")
        return self.layers[index]

    def __len__(self):
        return len(self.layers)

    def __iter__(self):
        return iter(self.layers)
