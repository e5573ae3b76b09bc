"""Convolution and pooling on NCHW images (batch, channels, height, width), as in PyTorch.

The fast path is im2col: one strided copy per kernel offset gathers every patch into a
(C*kh*kw, N*Ho*Wo) matrix, so the whole convolution is one matrix product with the
(out, C*kh*kw) weight matrix. The backward pass scatters patch gradients back with one
vectorized add per kernel offset (kh*kw of them), never a loop over samples or pixels.
``conv2d_naive`` is the readable seven-loop definition, kept for teaching and for the tests
that hold the two equal.
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from . import init as initializers
from ._validate import as_float_array, check_positive_int
from .module import Module, Parameter


def _pair(value, name, minimum=1):
    pair = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(pair) != 2 or any(isinstance(v, bool) or not isinstance(v, (int, np.integer))
                             or v < minimum for v in pair):
        raise ValueError(f"{name}: expected an int >= {minimum} or a pair of them, got {value!r}")
    return tuple(int(v) for v in pair)


def conv_output_size(size, kernel_size, stride=1, padding=0):
    """floor((size + 2 * padding - kernel_size) / stride) + 1, the output length along one axis."""
    out = (size + 2 * padding - kernel_size) // stride + 1
    if out < 1:
        raise ValueError(
            f"kernel {kernel_size} with padding {padding} does not fit an input of size {size}"
        )
    return out


def receptive_field(layers):
    """Receptive field of the last layer of a stack, in input pixels.

    layers: sequence of (kernel_size, stride). Each layer widens the field by
    (kernel_size - 1) times the product of the strides before it (the 'jump').
    """
    field, jump = 1, 1
    for kernel_size, stride in layers:
        field += (kernel_size - 1) * jump
        jump *= stride
    return field


def _windows(x, kernel, stride, padding):
    """Padded input (N, C, Hp, Wp) and its (N, C, Ho, Wo, kh, kw) view of patches."""
    (ph, pw), (sh, sw) = padding, stride
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw))) if ph or pw else x
    view = sliding_window_view(xp, kernel, axis=(2, 3))[:, :, ::sh, ::sw]
    return xp, view


def _add_at_offsets(grad, patches, stride):
    """grad[..., i + sh*r, j + sw*q] += patches[i, j, ..., r, q] for every kernel offset (i, j),
    one vectorized add per offset. grad: (..., Hp, Wp); patches: (kh, kw, ..., Ho, Wo)."""
    (sh, sw), (ho, wo) = stride, patches.shape[-2:]
    for i in range(patches.shape[0]):
        for j in range(patches.shape[1]):
            grad[..., i:i + sh * ho:sh, j:j + sw * wo:sw] += patches[i, j]
    return grad


def _scatter_windows(grad_windows, padded_shape, stride, padding):
    """Adjoint of ``_windows``: add (N, C, Ho, Wo, kh, kw) patch gradients into the input."""
    (ph, pw) = padding
    grad = np.zeros(padded_shape, dtype=grad_windows.dtype)
    _add_at_offsets(grad, grad_windows.transpose(4, 5, 0, 1, 2, 3), stride)
    return grad[:, :, ph:padded_shape[2] - ph, pw:padded_shape[3] - pw]


def _im2col(x, kernel, stride, padding, out_hw):
    """Patches of x (N, C, H, W) as a (C*kh*kw, N*Ho*Wo) matrix, and the padded shape.

    Row (c, i, j) holds input channel c shifted by kernel offset (i, j), for every sample and
    output pixel; zero padding is written around a channel-major copy of x first.
    """
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (ph, pw), (ho, wo) = kernel, stride, padding, out_hw
    xp = np.zeros((c, n, h + 2 * ph, w + 2 * pw), dtype=x.dtype)
    xp[:, :, ph:ph + h, pw:pw + w] = x.transpose(1, 0, 2, 3)
    cols = np.empty((c, kh, kw, n, ho, wo), dtype=x.dtype)
    for i in range(kh):  # one vectorized copy per kernel offset
        for j in range(kw):
            cols[:, i, j] = xp[:, :, i:i + sh * ho:sh, j:j + sw * wo:sw]
    return cols.reshape(c * kh * kw, n * ho * wo), (n, c) + xp.shape[2:]


def _col2im(grad_cols, padded_shape, kernel, stride, padding, out_hw):
    """Adjoint of ``_im2col``: add each row of (C*kh*kw, N*Ho*Wo) back at its offset.

    Returns dL/dx of shape (N, C, H, W) (the padding's share is dropped)."""
    n, c, hp, wp = padded_shape
    (ph, pw) = padding
    patches = grad_cols.reshape((c,) + kernel + (n,) + out_hw).transpose(1, 2, 0, 3, 4, 5)
    grad = np.zeros((c, n, hp, wp), dtype=grad_cols.dtype)  # channel-major: long runs to add
    _add_at_offsets(grad, patches, stride)
    return np.ascontiguousarray(grad[:, :, ph:hp - ph, pw:wp - pw].transpose(1, 0, 2, 3))


def _check_images(x, name, channels):
    x = as_float_array(x, name, ndim=4)
    if channels is not None and x.shape[1] != channels:
        raise ValueError(f"{name}: expected {channels} channels (shape (N, {channels}, H, W)), "
                         f"got shape {x.shape}")
    return x


class Conv2d(Module):
    """2-D cross-correlation, y[n, o] = b[o] + sum_c x[n, c] (*) W[o, c].

    x: (N, in_channels, H, W) -> y: (N, out_channels, Ho, Wo) with
    Ho = floor((H + 2 * padding - kh) / stride) + 1. weight: (out, in, kh, kw), bias: (out,).
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, bias=True,
                 *, rng=None, init=None, dtype=np.float64):
        self.in_channels = check_positive_int(in_channels, "in_channels")
        self.out_channels = check_positive_int(out_channels, "out_channels")
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.stride = _pair(stride, "stride")
        self.padding = _pair(padding, "padding", minimum=0)
        shape = (self.out_channels, self.in_channels) + self.kernel_size
        fan_in = self.in_channels * self.kernel_size[0] * self.kernel_size[1]
        if init is None:
            w = initializers.default_uniform(shape, rng)
            b = initializers.default_uniform((self.out_channels,), rng, fan_in=fan_in)
        else:
            w, b = init(shape, rng), np.zeros(self.out_channels)
        self.weight = Parameter(np.asarray(w, dtype=dtype))
        self.bias = Parameter(np.asarray(b, dtype=dtype)) if bias else None
        self._cache = None

    def forward(self, x):
        x = _check_images(x, "Conv2d input", self.in_channels)
        out_hw = tuple(conv_output_size(x.shape[axis], k, s, p)  # raises if the kernel does not fit
                       for axis, k, s, p in zip((2, 3), self.kernel_size, self.stride, self.padding))
        cols, padded_shape = _im2col(x, self.kernel_size, self.stride, self.padding, out_hw)
        out = self.weight.data.reshape(self.out_channels, -1) @ cols  # (out, N*Ho*Wo)
        if self.bias is not None:
            out += self.bias.data[:, None]
        self._cache = (cols, padded_shape, out_hw)
        n = x.shape[0]
        return np.ascontiguousarray(out.reshape((self.out_channels, n) + out_hw).transpose(1, 0, 2, 3))

    def backward(self, grad_out):
        """grad_out: (N, out, Ho, Wo) -> dL/dx: (N, in, H, W); accumulates dW and db."""
        g = self._accumulate_grads(grad_out)
        cols, padded_shape, out_hw = self._cache
        grad_cols = self.weight.data.reshape(self.out_channels, -1).T @ g  # (C*kh*kw, N*Ho*Wo)
        return _col2im(grad_cols, padded_shape, self.kernel_size, self.stride, self.padding, out_hw)

    def backward_params(self, grad_out):
        """Only dL/dW and dL/db, for a first layer whose input is data."""
        self._accumulate_grads(grad_out)

    def _accumulate_grads(self, grad_out):
        """Add dL/dW = g @ cols.T and dL/db; return g = grad_out as (out, N*Ho*Wo)."""
        self._require_cache("_cache")
        cols, padded_shape, out_hw = self._cache
        grad_out = as_float_array(grad_out, "Conv2d grad_out",
                                  shape=(padded_shape[0], self.out_channels) + out_hw)
        g = grad_out.transpose(1, 0, 2, 3).reshape(self.out_channels, -1)
        self.weight.add_grad((cols @ g.T).T.reshape(self.weight.data.shape))  # = g @ cols.T, faster
        if self.bias is not None:
            self.bias.add_grad(g.sum(axis=1))
        return g

    def extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}")


def conv2d_naive(x, weight, bias=None, stride=1, padding=0):
    """The definition, loop by loop: for every sample, output channel and output pixel, the
    sum over input channels and kernel offsets of input times weight. x: (N, C, H, W),
    weight: (O, C, kh, kw) -> (N, O, Ho, Wo). Slow; for teaching and testing only."""
    x, weight = np.asarray(x, dtype=float), np.asarray(weight, dtype=float)
    (sh, sw), (ph, pw) = _pair(stride, "stride"), _pair(padding, "padding", minimum=0)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    n, c, h, w = xp.shape
    o, _, kh, kw = weight.shape
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    out = np.zeros((n, o, ho, wo))
    for s in range(n):
        for f in range(o):
            for r in range(ho):
                for q in range(wo):
                    total = 0.0 if bias is None else float(bias[f])
                    for ch in range(c):
                        for i in range(kh):
                            for j in range(kw):
                                total += xp[s, ch, r * sh + i, q * sw + j] * weight[f, ch, i, j]
                    out[s, f, r, q] = total
    return out


class _Pool2d(Module):
    def __init__(self, kernel_size, stride=None, padding=0):
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.stride = self.kernel_size if stride is None else _pair(stride, "stride")
        self.padding = _pair(padding, "padding", minimum=0)
        for k, p in zip(self.kernel_size, self.padding):
            if p > k // 2:
                raise ValueError(f"padding: expected at most half the kernel size ({k // 2}), got {p}")
        self._cache = None

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool2d(_Pool2d):
    """Maximum over each window. Backward sends each window's gradient to its (first)
    maximum, as PyTorch. x: (N, C, H, W) -> (N, C, Ho, Wo).

    Non-overlapping windows (stride = kernel, no padding, the common 2x2 case) take a fast
    path: a reshape to (N, C, Ho, kh, Wo, kw) makes every window two axes of one array.
    """

    def forward(self, x):
        x = _check_images(x, "MaxPool2d input", None)
        if self.stride == self.kernel_size and not any(self.padding):
            return self._forward_tiled(x)
        if any(self.padding):
            x = np.pad(x, ((0, 0), (0, 0)) + tuple((p, p) for p in self.padding),
                       constant_values=-np.inf)
        _, view = _windows(x, self.kernel_size, self.stride, (0, 0))
        flat = view.reshape(view.shape[:4] + (-1,))
        arg = flat.argmax(axis=-1)
        self._cache = ("windows", arg, x.shape)
        return np.take_along_axis(flat, arg[..., None], axis=-1)[..., 0]

    def _forward_tiled(self, x):
        (kh, kw), (h, w) = self.kernel_size, x.shape[2:]
        ho, wo = conv_output_size(h, kh, kh), conv_output_size(w, kw, kw)
        offsets = [x[:, :, i:ho * kh:kh, j:wo * kw:kw] for i in range(kh) for j in range(kw)]
        out = offsets[0].copy()
        for part in offsets[1:]:  # one vectorized maximum per kernel offset
            np.maximum(out, part, out=out)
        self._cache = ("tiled", x, out)
        return out

    def backward(self, grad_out):
        self._require_cache("_cache")
        if self._cache[0] == "tiled":
            return self._backward_tiled(grad_out)
        _, arg, padded_shape = self._cache
        grad_out = as_float_array(grad_out, "MaxPool2d grad_out", shape=arg.shape)
        kh, kw = self.kernel_size
        onehot = arg[..., None] == np.arange(kh * kw)
        grad_windows = (onehot * grad_out[..., None]).reshape(arg.shape + (kh, kw))
        return _scatter_windows(grad_windows, padded_shape, self.stride, self.padding)

    def _backward_tiled(self, grad_out):
        _, x, out = self._cache
        grad_out = as_float_array(grad_out, "MaxPool2d grad_out", shape=out.shape)
        (kh, kw), (ho, wo) = self.kernel_size, out.shape[2:]
        grad = np.zeros(x.shape, dtype=grad_out.dtype)
        taken = np.zeros(out.shape, dtype=bool)
        for i in range(kh):  # offsets in row-major order: the first maximum wins, as PyTorch
            for j in range(kw):
                first = (x[:, :, i:ho * kh:kh, j:wo * kw:kw] == out) & ~taken
                grad[:, :, i:ho * kh:kh, j:wo * kw:kw] = first * grad_out
                taken |= first
        return grad


class AvgPool2d(_Pool2d):
    """Mean over each window (zero padding counted, as PyTorch's default).
    x: (N, C, H, W) -> (N, C, Ho, Wo)."""

    def forward(self, x):
        x = _check_images(x, "AvgPool2d input", None)
        xp, view = _windows(x, self.kernel_size, self.stride, self.padding)
        self._cache = (view.shape, xp.shape)
        return view.mean(axis=(-2, -1))

    def backward(self, grad_out):
        self._require_cache("_cache")
        view_shape, padded_shape = self._cache
        grad_out = as_float_array(grad_out, "AvgPool2d grad_out", shape=view_shape[:4])
        kh, kw = self.kernel_size
        grad_windows = np.broadcast_to((grad_out / (kh * kw))[..., None, None], view_shape)
        return _scatter_windows(grad_windows, padded_shape, self.stride, self.padding)


class Flatten(Module):
    """(N, d1, d2, ...) -> (N, d1 * d2 * ...), between convolutional and dense layers."""

    def __init__(self):
        self._shape = None

    def forward(self, x):
        x = as_float_array(x, "Flatten input")
        if x.ndim < 2:
            raise ValueError(f"Flatten input: expected at least 2 dimensions (N, ...), got {x.shape}")
        self._shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, grad_out):
        self._require_cache("_shape")
        return np.asarray(grad_out).reshape(self._shape)
