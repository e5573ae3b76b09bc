"""Parameter, Module and Sequential: the skeleton every layer hangs on.

A Module does two things: ``forward(x)`` computes its output and remembers what it needs,
and ``backward(grad_out)`` receives dLoss/dOutput, adds dLoss/dParameter into each
parameter's ``.grad`` and returns dLoss/dInput for the module before it.
"""

import contextlib

import numpy as np

from ._validate import between_layers


class Parameter:
    """A trainable array together with the gradient of the loss with respect to it.

    data: the values (any shape); grad: same shape, accumulated by ``backward`` (zeros until
    then: ``zero_grad`` drops the old gradient and a new zero array appears when first read).
    """

    def __init__(self, data):
        self.data = np.array(data, dtype=np.result_type(np.asarray(data).dtype, np.float32))
        self._grad = None

    @property
    def grad(self):
        if self._grad is None:
            self._grad = np.zeros_like(self.data)
        return self._grad

    @grad.setter
    def grad(self, value):
        self._grad = value

    def add_grad(self, g):
        """grad += g. The first gradient after ``zero_grad`` is kept as it is rather than added
        to zeros, so ``g`` must be a fresh array that the caller does not use again."""
        if self._grad is None and g.shape == self.data.shape and g.dtype == self.data.dtype:
            self._grad = g
        else:
            self.grad += g

    @property
    def shape(self):
        return self.data.shape

    @property
    def size(self):
        return self.data.size

    def zero_grad(self):
        self._grad = None

    def __repr__(self):
        return f"Parameter(shape={self.data.shape}, dtype={self.data.dtype})"


class Module:
    """Base class of layers, activations and whole networks.

    Subclasses implement ``forward(x)`` and ``backward(grad_out)``. Parameters and sub-modules
    stored as attributes (or in lists of modules) are found automatically by ``parameters()``.
    """

    training = True

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
        if self.parameters():
            self.backward(grad_out)

    def named_children(self):
        for name, value in vars(self).items():
            if isinstance(value, Module):
                yield name, value
            elif isinstance(value, (list, tuple)):
                for i, item in enumerate(value):
                    if isinstance(item, Module):
                        yield f"{name}.{i}", item

    def children(self):
        return [module for _, module in self.named_children()]

    def modules(self):
        """This module and every module inside it, depth first (as torch.nn.Module.modules)."""
        yield self
        for child in self.children():
            yield from child.modules()

    def named_parameters(self, prefix=""):
        """Yield ``(dotted_name, Parameter)`` pairs, this module's first, then its children's."""
        for name, value in vars(self).items():
            if isinstance(value, Parameter):
                yield prefix + name, value
        for name, child in self.named_children():
            yield from child.named_parameters(prefix + name + ".")

    def parameters(self):
        return [p for _, p in self.named_parameters()]

    def num_parameters(self):
        return sum(p.size for p in self.parameters())

    def zero_grad(self):
        for p in self.parameters():
            p.zero_grad()

    def train(self, mode=True):
        self.training = bool(mode)
        for child in self.children():
            child.train(mode)
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
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for module, training in modes:
            module.training = training


class Sequential(Module):
    """Modules applied one after the other; backward visits them in reverse order.

    The caller's x (and grad_out) is checked for NaN/inf as every layer checks its input;
    the arrays the layers pass to each other are course_nn's own and are not rescanned (the
    loss checks the output, the optimizer the gradients), which saves up to a tenth of a
    small network's training step.
    """

    def __init__(self, *layers):
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise TypeError(f"Sequential: layer {i} must be a Module, got {type(layer).__name__}")
        self.layers = list(layers)

    def named_children(self):
        for i, layer in enumerate(self.layers):  # named 0, 1, 2... as in torch.nn.Sequential
            yield str(i), layer

    def forward(self, x):
        x = self.layers[0](x)  # checks the caller's x
        with between_layers():  # later layers get course_nn's own arrays: no NaN/inf rescan
            for layer in self.layers[1:]:
                x = layer(x)
        return x

    def backward(self, grad_out):
        return self._backward([layer.backward for layer in reversed(self.layers)], grad_out)

    def backward_params(self, grad_out):
        """Backward for training on data: layers before the first one with parameters are
        skipped, and that one only accumulates its parameters' gradients."""
        first = next((i for i, layer in enumerate(self.layers) if layer.parameters()), None)
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
        return self.layers[index]

    def __len__(self):
        return len(self.layers)

    def __iter__(self):
        return iter(self.layers)
