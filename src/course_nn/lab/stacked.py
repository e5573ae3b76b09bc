"""Many copies of one small network, trained side by side as one: a leading model axis.

A claim such as "the CNN beats the MLP" needs many training runs (several weight seeds, several
splits of the data). ``stack`` turns S networks of the same architecture into one network whose
every weight has a leading axis of length S (slice s holds model s's weights): one batched
matrix product per layer does the work of S small ones, and the layer calls are paid once.

Nothing is shared between the S models. Model s sees only its own inputs (x[s]) and its own
weights, so its gradient is the gradient it would have alone; optimizers that act on every
coordinate separately (SGD with or without momentum, AdaGrad, RMSProp, Adam, weight decay)
then move slice s exactly as they would move the lone model. ``fit_stacked`` trains a stack
with the batches ``fit`` would draw for each model; ``tests/test_stacked.py`` checks that each
trained slice equals the model trained alone by ``fit`` to round-off.

stack(models)             a network for S models: input (S, N, ...), output (S, N, ...)
unstack(stacked, models)  copy slice s of every stacked weight into models[s]
fit_stacked(...)          softmax cross-entropy training of S models (their own data, batch
                          order and weights), written back into the models
predict_stacked(...)      the S models' outputs in one pass

Inside the stack the sample axis comes last: an image batch is (S, C, H, W, N) and a feature
batch (S, features, N). Then every copy that a convolution or a pooling layer makes moves runs
of N (times the image width) contiguous numbers, instead of the short rows of an 8 x 8 image,
and a convolution's output comes out of its matrix product already in that layout.

Supported layers: Linear, Conv2d (any kernel, stride and padding), MaxPool2d with
non-overlapping windows (stride = kernel, no padding), BatchNorm2d (each model's statistics
over its own batch, its own running estimates), Flatten and the elementwise activations
(ReLU, Sigmoid, Tanh, ...). Not dropout, whose random masks would differ from the lone
model's.
"""

import copy

import numpy as np

from .._validate import as_float_array, check_generator, check_positive_int
from ..activations import _Elementwise
from ..batchnorm import BatchNorm2d, _training_input_grad
from ..conv import Conv2d, Flatten, MaxPool2d, _output_hw
from ..linear import Linear
from ..losses import CrossEntropyLoss
from ..module import Module, Parameter, Sequential
from ..optim import Optimizer


def _stacked_parameter(arrays, name):
    if len({(a.shape, a.dtype) for a in arrays}) != 1:
        raise ValueError(f"{name}: the models' arrays differ in shape or dtype: "
                         f"{sorted({(a.shape, str(a.dtype)) for a in arrays})}")
    return Parameter(np.stack(arrays))


def _same(layers, settings, what):
    if len({settings(m) for m in layers}) != 1:
        raise ValueError(f"{what}: the models' layers differ in their settings")


class _ToSampleLast(Module):
    """(S, N, ...) -> (S, ..., N): the layout inside a stack."""

    def forward(self, x):
        x = as_float_array(x, "stacked network input")
        if x.ndim < 3:
            raise ValueError(f"stacked network input: expected (S, N, ...), got shape {x.shape}")
        return np.ascontiguousarray(np.moveaxis(x, 1, -1))

    def backward(self, grad_out):
        return np.ascontiguousarray(np.moveaxis(grad_out, -1, 1))


class _ToSampleFirst(Module):
    """(S, ..., N) -> (S, N, ...): the stack's output, one row per sample again."""

    def forward(self, x):
        return np.ascontiguousarray(np.moveaxis(x, -1, 1))

    def backward(self, grad_out):
        grad_out = as_float_array(grad_out, "stacked network grad_out")
        return np.ascontiguousarray(np.moveaxis(grad_out, 1, -1))


class StackedLinear(Module):
    """S Linear layers. x: (S, in, N) -> (S, out, N) = weight[s] @ x[s] + bias[s];
    weight (S, out, in), bias (S, out) or None."""

    def __init__(self, layers):
        _same(layers, lambda m: (m.in_features, m.out_features, m.bias is None), "StackedLinear")
        self.models, self.in_features, self.out_features = (len(layers), layers[0].in_features,
                                                            layers[0].out_features)
        self.weight = _stacked_parameter([m.weight.data for m in layers], "StackedLinear weight")
        self.bias = (None if layers[0].bias is None else
                     _stacked_parameter([m.bias.data for m in layers], "StackedLinear bias"))
        self._x = None

    def forward(self, x):
        x = as_float_array(x, "StackedLinear input", shape=(self.models, self.in_features, None))
        self._x = x.copy()  # nobody else can write to the cache
        out = np.matmul(self.weight.data, self._x)
        if self.bias is not None:
            out += self.bias.data[:, :, None]
        return out

    def backward(self, grad_out):
        """grad_out: (S, out, N) -> dL/dx: (S, in, N); accumulates dW and db."""
        return np.matmul(self.weight.data.transpose(0, 2, 1), self._accumulate_grads(grad_out))

    def backward_params(self, grad_out):
        self._accumulate_grads(grad_out)

    def _accumulate_grads(self, grad_out):
        self._require_cache("_x")
        grad_out = as_float_array(grad_out, "StackedLinear grad_out",
                                  shape=(self.models, self.out_features, self._x.shape[2]))
        self.weight.add_grad(np.matmul(grad_out, self._x.transpose(0, 2, 1)))
        if self.bias is not None:
            self.bias.add_grad(grad_out.sum(axis=2))
        return grad_out

    def extra_repr(self):
        return f"models={self.models}, in_features={self.in_features}, out_features={self.out_features}"


class StackedConv2d(Module):
    """S Conv2d layers with the same settings. x: (S, C_in, H, W, N) -> (S, C_out, Ho, Wo, N);
    weight (S, C_out, C_in, kh, kw), bias (S, C_out) or None.

    Model s's patches form a (C_in*kh*kw, Ho*Wo*N) matrix (im2col, as in Conv2d, with the
    sample index last), and one batched product multiplies all S of them by their weights."""

    def __init__(self, layers):
        _same(layers, lambda m: (m.in_channels, m.out_channels, m.kernel_size, m.stride,
                                 m.padding, m.bias is None), "StackedConv2d")
        first = layers[0]
        self.models, self.in_channels, self.out_channels = (len(layers), first.in_channels,
                                                            first.out_channels)
        self.kernel_size, self.stride, self.padding = first.kernel_size, first.stride, first.padding
        self.weight = _stacked_parameter([m.weight.data for m in layers], "StackedConv2d weight")
        self.bias = (None if first.bias is None else
                     _stacked_parameter([m.bias.data for m in layers], "StackedConv2d bias"))
        self._cache = None

    def forward(self, x):
        x = as_float_array(x, "StackedConv2d input",
                           shape=(self.models, self.in_channels, None, None, None))
        s, c, h, w, n = x.shape
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        ho, wo = _output_hw((n, c, h, w), self.kernel_size, self.stride, self.padding,
                            "StackedConv2d")
        xp = np.zeros((s, c, h + 2 * ph, w + 2 * pw, n), dtype=x.dtype)
        xp[:, :, ph:ph + h, pw:pw + w] = x
        cols = np.empty((s, c, kh, kw, ho, wo, n), dtype=x.dtype)
        for i in range(kh):  # one copy per kernel offset, of runs of wo * n numbers
            for j in range(kw):
                cols[:, :, i, j] = xp[:, :, i:i + sh * ho:sh, j:j + sw * wo:sw]
        cols = cols.reshape(s, c * kh * kw, ho * wo * n)
        out = np.matmul(self.weight.data.reshape(s, self.out_channels, -1), cols)
        if self.bias is not None:
            out += self.bias.data[:, :, None]
        self._cache = (cols, xp.shape, (ho, wo))
        return out.reshape(s, self.out_channels, ho, wo, n)

    def backward(self, grad_out):
        """grad_out: (S, C_out, Ho, Wo, N) -> dL/dx: (S, C_in, H, W, N); accumulates dW, db."""
        g = self._accumulate_grads(grad_out)
        _, padded_shape, (ho, wo) = self._cache
        s, c, hp, wp, n = padded_shape
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        w_t = self.weight.data.reshape(s, self.out_channels, -1).transpose(0, 2, 1)
        patches = np.matmul(w_t, g).reshape(s, c, kh, kw, ho, wo, n)
        grad = np.zeros(padded_shape, dtype=patches.dtype)
        for i in range(kh):  # the adjoint of the copies in forward
            for j in range(kw):
                grad[:, :, i:i + sh * ho:sh, j:j + sw * wo:sw] += patches[:, :, i, j]
        return np.ascontiguousarray(grad[:, :, ph:hp - ph, pw:wp - pw])

    def backward_params(self, grad_out):
        self._accumulate_grads(grad_out)

    def _accumulate_grads(self, grad_out):
        """Add dL/dW[s] = g[s] @ cols[s].T and dL/db; return g (S, C_out, Ho*Wo*N)."""
        self._require_cache("_cache")
        cols, padded_shape, out_hw = self._cache
        s, n = padded_shape[0], padded_shape[4]
        grad_out = as_float_array(grad_out, "StackedConv2d grad_out",
                                  shape=(s, self.out_channels) + out_hw + (n,))
        g = grad_out.reshape(s, self.out_channels, -1)
        self.weight.add_grad(np.matmul(g, cols.transpose(0, 2, 1)).reshape(self.weight.data.shape))
        if self.bias is not None:
            self.bias.add_grad(g.sum(axis=2))
        return g

    def extra_repr(self):
        return (f"models={self.models}, {self.in_channels}, {self.out_channels}, "
                f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}")


class StackedMaxPool2d(Module):
    """Max pooling over non-overlapping kh x kw windows (stride = kernel, no padding), as
    MaxPool2d's fast path: x (S, C, H, W, N) -> (S, C, H // kh, W // kw, N); the gradient goes
    to each window's first maximum (row-major), as in MaxPool2d and PyTorch."""

    def __init__(self, layer):
        if layer.stride != layer.kernel_size or any(layer.padding):
            raise ValueError("StackedMaxPool2d: only non-overlapping windows (stride = kernel, "
                             "no padding)")
        self.kernel_size = layer.kernel_size
        self._cache = None

    def forward(self, x):
        x = as_float_array(x, "StackedMaxPool2d input", ndim=5)
        (kh, kw), (h, w) = self.kernel_size, x.shape[2:4]
        ho, wo = h // kh, w // kw
        if ho == 0 or wo == 0:
            raise ValueError(f"StackedMaxPool2d: a {kh} x {kw} window does not fit {h} x {w}")
        offsets = [x[:, :, i:ho * kh:kh, j:wo * kw:kw] for i in range(kh) for j in range(kw)]
        out = offsets[0].copy()
        for part in offsets[1:]:
            np.maximum(out, part, out=out)
        first = np.empty((kh * kw,) + out.shape, dtype=bool)
        taken = np.zeros(out.shape, dtype=bool)
        for k, part in enumerate(offsets):
            np.equal(part, out, out=first[k])
            first[k] &= ~taken
            taken |= first[k]
        self._cache = (first, x.shape)
        return out

    def backward(self, grad_out):
        self._require_cache("_cache")
        first, x_shape = self._cache
        grad_out = as_float_array(grad_out, "StackedMaxPool2d grad_out", shape=first.shape[1:])
        (kh, kw), (ho, wo) = self.kernel_size, first.shape[3:5]
        grad = np.zeros(x_shape, dtype=grad_out.dtype)
        for k in range(kh * kw):
            i, j = divmod(k, kw)
            np.multiply(first[k], grad_out, out=grad[:, :, i:ho * kh:kh, j:wo * kw:kw])
        return grad

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}"


class StackedBatchNorm2d(Module):
    """S BatchNorm2d layers (affine, the same num_features, eps and momentum). x: (S, C, H, W, N)
    -> the same shape. In training, model s normalizes channel c with the mean and (biased)
    variance of its own x[s, c] (all H * W * N values, as BatchNorm2d over N, H and W) and moves
    its own running estimates (unbiased variance, as BatchNorm2d); in evaluation, its running
    estimates. weight (gamma), bias (beta): (S, C); running_mean, running_var: (S, C)."""

    def __init__(self, layers):
        _same(layers, lambda m: (m.num_features, m.eps, m.momentum, m.affine), "StackedBatchNorm2d")
        first = layers[0]
        if not first.affine:
            raise ValueError("StackedBatchNorm2d: only affine BatchNorm2d layers (with gamma and beta)")
        self.models, self.num_features = len(layers), first.num_features
        self.eps, self.momentum = first.eps, first.momentum
        self.weight = _stacked_parameter([m.weight.data for m in layers], "StackedBatchNorm2d weight")
        self.bias = _stacked_parameter([m.bias.data for m in layers], "StackedBatchNorm2d bias")
        self.running_mean = np.stack([np.asarray(m.running_mean, dtype=float) for m in layers])
        self.running_var = np.stack([np.asarray(m.running_var, dtype=float) for m in layers])
        self._cache = None

    def forward(self, x):
        x = as_float_array(x, "StackedBatchNorm2d input",
                           shape=(self.models, self.num_features, None, None, None))
        rows = x.reshape(self.models, self.num_features, -1)      # (S, C, H*W*N)
        if self.training:
            m = rows.shape[2]
            if m < 2:
                raise ValueError(f"StackedBatchNorm2d input: expected more than 1 value per channel "
                                 f"in training, got shape {x.shape}")
            mean, var = rows.mean(axis=2), rows.var(axis=2)
            k = self.momentum
            self.running_mean = (1 - k) * self.running_mean + k * mean
            self.running_var = (1 - k) * self.running_var + k * var * m / (m - 1)
        else:
            mean, var = self.running_mean, self.running_var
        inv_std = 1.0 / np.sqrt(var + self.eps)
        x_hat = (rows - mean[:, :, None]) * inv_std[:, :, None]
        out = self.weight.data[:, :, None] * x_hat + self.bias.data[:, :, None]
        self._cache = (x_hat, inv_std, self.training, x.shape)
        return out.reshape(x.shape)

    def backward(self, grad_out):
        """grad_out: (S, C, H, W, N) -> dL/dx of the same shape; accumulates dgamma, dbeta."""
        self._require_cache("_cache")
        x_hat, inv_std, training, shape = self._cache
        g = as_float_array(grad_out, "StackedBatchNorm2d grad_out", shape=shape).reshape(x_hat.shape)
        d_gamma, d_beta = (g * x_hat).sum(axis=2), g.sum(axis=2)
        self.weight.add_grad(d_gamma)
        self.bias.add_grad(d_beta)
        scale = (self.weight.data * inv_std)[:, :, None]
        if not training:
            return (g * scale).reshape(shape)
        # the batch's mean and variance depend on every value: two centring terms
        return _training_input_grad(g, x_hat, d_gamma, d_beta, scale, axis=2).reshape(shape)

    def extra_repr(self):
        return f"models={self.models}, {self.num_features}, eps={self.eps}, momentum={self.momentum}"


class StackedFlatten(Module):
    """(S, C, H, W, N) -> (S, C*H*W, N), features in Flatten's (C, H, W) order."""

    def __init__(self):
        self._shape = None

    def forward(self, x):
        x = as_float_array(x, "StackedFlatten input")
        self._shape = x.shape
        return x.reshape(x.shape[0], -1, x.shape[-1]).copy()

    def backward(self, grad_out):
        self._require_cache("_shape")
        return as_float_array(grad_out, "StackedFlatten grad_out").reshape(self._shape).copy()


def _stacked_layer(layers, position):
    kinds = {type(m) for m in layers}
    if len(kinds) != 1:
        raise ValueError(f"stack: layer {position} has different types in different models: "
                         f"{sorted(k.__name__ for k in kinds)}")
    first = layers[0]
    if isinstance(first, Linear):
        return StackedLinear(layers)
    if isinstance(first, Conv2d):
        return StackedConv2d(layers)
    if isinstance(first, BatchNorm2d):
        return StackedBatchNorm2d(layers)
    if len({repr(m) for m in layers}) != 1:
        raise ValueError(f"stack: layer {position} has different settings in different models")
    if isinstance(first, MaxPool2d):
        return StackedMaxPool2d(first)
    if isinstance(first, Flatten):
        return StackedFlatten()
    if isinstance(first, _Elementwise) and not first.parameters():
        return copy.deepcopy(first)  # elementwise: the same in any layout
    raise TypeError(f"stack: layer {position} ({type(first).__name__}) is not supported; "
                    f"expected Linear, Conv2d, MaxPool2d (non-overlapping), BatchNorm2d, Flatten or an "
                    f"elementwise activation")


def _layers(model, name):
    """The layers of a Sequential, or [model] for a single layer."""
    if isinstance(model, Sequential):
        return list(model)
    if isinstance(model, Module):
        return [model]
    raise TypeError(f"{name}: expected a Sequential or a layer, got {type(model).__name__}")


def stack(models):
    """One network for S Sequentials (or single layers) of the same architecture: slice s of
    every weight is a copy of models[s]'s. Returns a Sequential whose input is (S, N, ...)
    (model s's batch is x[s]) and whose output is (S, N, ...); inside, the sample axis is last."""
    models = list(models)
    if not models:
        raise ValueError("stack: expected at least one model")
    per_model = [_layers(m, f"stack model {i}") for i, m in enumerate(models)]
    if len({len(layers) for layers in per_model}) != 1:
        raise ValueError("stack: the models have different numbers of layers")
    inner = [_stacked_layer(list(column), i) for i, column in enumerate(zip(*per_model))]
    return Sequential(_ToSampleLast(), *inner, _ToSampleFirst())


def unstack(stacked, models):
    """Copy slice s of every weight of ``stacked`` (from ``stack``) into models[s], and of
    every BatchNorm2d's running statistics; returns the models."""
    models = list(models)
    per_model = [_layers(m, "unstack model") for m in models]
    inner = list(stacked)[1:-1]
    if any(len(layers) != len(inner) for layers in per_model):
        raise ValueError("unstack: the models do not have the stack's layers")
    for i, layer in enumerate(inner):
        if isinstance(layer, (StackedLinear, StackedConv2d)):
            if layer.models != len(models):
                raise ValueError(f"unstack: the stack holds {layer.models} models, got {len(models)}")
            for s, layers in enumerate(per_model):
                layers[i].weight.data = layer.weight.data[s]
                if layer.bias is not None:
                    layers[i].bias.data = layer.bias.data[s]
        elif isinstance(layer, StackedBatchNorm2d):
            if layer.models != len(models):
                raise ValueError(f"unstack: the stack holds {layer.models} models, got {len(models)}")
            for s, layers in enumerate(per_model):
                layers[i].weight.data = layer.weight.data[s]
                layers[i].bias.data = layer.bias.data[s]
                layers[i].running_mean = layer.running_mean[s].copy()
                layers[i].running_var = layer.running_var[s].copy()
    return models


def fit_stacked(models, train_sets, *, epochs, batch_size, rngs, optimizer, after_epoch=None):
    """Train S classifiers at once with softmax cross-entropy, as S calls of
    ``fit(models[s], CrossEntropyLoss(), optimizer, train_sets[s], epochs=epochs,
    batch_size=batch_size, rng=rngs[s])`` would, without the per-epoch evaluation, and write
    the trained weights back into the models.

    train_sets: S pairs (X, y) with the same number of samples, or one pair for all models;
    rngs: S generators, model s's batch order (each epoch one ``rng.permutation``, as ``fit``);
    optimizer: a function params -> optimizer, e.g. ``lambda p: optim.Adam(p, lr=1e-3)``,
    which must act on each coordinate separately (every course_nn optimizer does);
    after_epoch: None, or a function called with the epoch number (1, 2, ...) after each
    epoch, when the models hold the weights trained so far. Returns the models.
    """
    models = list(models)
    s = len(models)
    epochs = check_positive_int(epochs, "fit_stacked epochs")
    batch_size = check_positive_int(batch_size, "fit_stacked batch_size")
    if isinstance(train_sets, tuple) and len(train_sets) == 2 and isinstance(train_sets[0], np.ndarray):
        train_sets = [train_sets] * s
    train_sets, rngs = list(train_sets), list(rngs)
    if len(train_sets) != s or len(rngs) != s:
        raise ValueError(f"fit_stacked: {s} models need {s} training sets and {s} generators, got "
                         f"{len(train_sets)} and {len(rngs)}")
    rngs = [check_generator(r, "fit_stacked rngs") for r in rngs]
    X = np.stack([np.asarray(x) for x, _ in train_sets])
    Y = np.stack([np.asarray(y) for _, y in train_sets])
    if X.shape[:2] != Y.shape[:2] or Y.ndim != 2 or Y.dtype.kind not in "iu":
        raise ValueError(f"fit_stacked: expected S sets of N samples with N integer labels each, "
                         f"got X {X.shape}, y {Y.shape} ({Y.dtype})")
    net = stack(models)
    opt = optimizer(net.parameters())
    if not isinstance(opt, Optimizer):
        raise TypeError("fit_stacked optimizer: expected a function params -> course_nn optimizer")
    loss_fn = CrossEntropyLoss(reduction="sum")
    n, rows = X.shape[1], np.arange(s)[:, None]
    net.train()
    for epoch in range(1, epochs + 1):
        orders = np.stack([r.permutation(n) for r in rngs])
        for start in range(0, n, batch_size):
            idx = orders[:, start:start + batch_size]
            opt.zero_grad()
            scores = net(X[rows, idx])                                  # (S, B, classes)
            loss_fn(scores.reshape(-1, scores.shape[-1]), Y[rows, idx].reshape(-1))
            grad = loss_fn.backward() * (1.0 / idx.shape[1])   # each model's mean over its batch
            net.backward_params(grad.reshape(scores.shape))
            opt.step()
        if after_epoch is not None and epoch < epochs:
            unstack(net, models)
            after_epoch(epoch)
    unstack(net, models)
    if after_epoch is not None:
        after_epoch(epochs)
    return models


def predict_stacked(models, X, *, per_model=False):
    """Outputs of S models in evaluation mode, computed by one stacked network: X (N, ...)
    shared by all models, or with ``per_model`` (S, N, ...), one set per model -> (S, N, ...)."""
    models = list(models)
    X = np.asarray(X)
    if not per_model:
        X = np.broadcast_to(X, (len(models),) + X.shape)
    elif X.shape[:1] != (len(models),):
        raise ValueError(f"predict_stacked: expected X of shape ({len(models)}, N, ...), got {X.shape}")
    return stack(models).eval()(X)


__all__ = ["StackedLinear", "StackedConv2d", "StackedMaxPool2d", "StackedBatchNorm2d", "StackedFlatten",
           "stack", "unstack", "fit_stacked", "predict_stacked"]
