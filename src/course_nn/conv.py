"""Convolution and pooling on NCHW images (batch, channels, height, width), as in PyTorch.

The fast path is im2col: one strided copy per kernel offset gathers every patch into a
(C*kh*kw, N*Ho*Wo) matrix, so the whole convolution is one matrix product with the
(out, C*kh*kw) weight matrix. The backward pass scatters patch gradients back with one
vectorized add per kernel offset (kh*kw of them), never a loop over samples or pixels.
``conv2d_naive`` is the readable seven-loop definition, kept for teaching and for the tests
that hold the two equal.

Caching rule: no layer here keeps, for backward, an array the caller can still write. Conv2d
keeps its im2col matrix (a copy), MaxPool2d index masks, AvgPool2d and Flatten only shapes;
every output is a new array, except that Flatten views an array passed between the layers of
a Sequential (as torch.flatten), which no caller holds.
"""

import math
import numbers

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from . import _validate
from . import init as initializers
from ._validate import (
    as_float_array,
    check_allocation,
    check_bool,
    check_float_dtype,
    check_int,
)
from .module import Module, Parameter

NAIVE_MAX_STEPS = 10 ** 6  # conv2d_naive's Python loops: about a second at most


def _pair(value, name, minimum=1):
    """(value, value) for an int, else a pair of ints; each >= ``minimum``.

    TypeError for anything that is not an int or a sequence of two ints (float, None, str,
    bool), ValueError for a pair of the wrong length or a value below ``minimum``."""
    want = f"an int >= {minimum} or a pair of them"
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_)):
        pair = (value, value)
    elif isinstance(value, (tuple, list, np.ndarray)):
        pair = tuple(value)
        if len(pair) != 2:
            raise ValueError(f"{name}: expected {want}, got {value!r} ({len(pair)} values)")
    else:
        raise TypeError(f"{name}: expected {want}, got {value!r} ({type(value).__name__})")
    for v in pair:
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral):
            raise TypeError(f"{name}: expected {want}, got {value!r} (contains {type(v).__name__})")
        if v < minimum:
            raise ValueError(f"{name}: expected {want}, got {value!r}")
    return tuple(int(v) for v in pair)


def conv_output_size(size, kernel_size, stride=1, padding=0):
    """floor((size + 2 * padding - kernel_size) / stride) + 1, the output length along one axis.

    size, kernel_size, stride: ints >= 1; padding: int >= 0. Raises ValueError when the
    kernel does not fit the padded input (the output would be empty)."""
    size = check_int(size, "conv_output_size size", low=1)
    kernel_size = check_int(kernel_size, "conv_output_size kernel_size", low=1)
    stride = check_int(stride, "conv_output_size stride", low=1)
    padding = check_int(padding, "conv_output_size padding", low=0)
    out = (size + 2 * padding - kernel_size) // stride + 1
    if out < 1:
        raise ValueError(
            f"kernel {kernel_size} with padding {padding} does not fit an input of size {size}: "
            f"expected size + 2 * padding >= kernel_size"
        )
    return out


def receptive_field(layers):
    """Receptive field of the last layer of a stack, in input pixels.

    layers: sequence of (kernel_size, stride) pairs of ints >= 1. Each layer widens the field
    by (kernel_size - 1) times the product of the strides before it (the 'jump').
    """
    if isinstance(layers, (str, bytes)) or not hasattr(layers, "__iter__"):
        raise TypeError(f"receptive_field layers: expected a sequence of (kernel_size, stride) "
                        f"pairs, got {type(layers).__name__}")
    field, jump = 1, 1
    for i, layer in enumerate(layers):
        if not isinstance(layer, (tuple, list, np.ndarray)) or len(layer) != 2:
            raise TypeError(f"receptive_field layers[{i}]: expected a (kernel_size, stride) pair "
                            f"of ints, got {layer!r}")
        kernel_size = check_int(layer[0], f"receptive_field layers[{i}] kernel_size", low=1)
        stride = check_int(layer[1], f"receptive_field layers[{i}] stride", low=1)
        field += (kernel_size - 1) * jump
        jump *= stride
    return field


def _output_hw(x_shape, kernel, stride, padding, name):
    """(Ho, Wo) of a window operation on an (N, C, H, W) input; ValueError naming the layer
    when the kernel does not fit the padded input."""
    out = []
    for axis, size, k, s, p in zip(("H", "W"), x_shape[2:], kernel, stride, padding):
        if size + 2 * p < k:
            raise ValueError(
                f"{name} input: kernel {k} with padding {p} does not fit an input of size {size} "
                f"(axis {axis} of shape {x_shape}); expected {axis} + 2 * padding >= kernel_size"
            )
        out.append((size + 2 * p - k) // s + 1)
    return tuple(out)


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


# Column layouts: the (N, H, W) positions of an image batch flattened in the order
# (N, H, W) ("batch first") or (H, W, N) ("batch last"). Batch last makes im2col's copies and
# col2im's adds move runs of Wo*N contiguous numbers instead of Wo, but costs full transposes
# of the input, the output and their gradients; see ``_batch_last`` for when it pays.
_ORDER = {False: (1, 0, 2, 3), True: (1, 2, 3, 0)}  # (N, C, H, W) -> memory order (C, ...)


def _batch_last(c_in, c_out, kernel, out_w):
    """Whether a convolution uses the batch-last column layout. Batch first, numpy's copies
    pay a fixed cost per run of out_w numbers, a share of each patch-matrix element that grows
    as out_w shrinks; batch last pays transposes of in + out channels instead. Measured on
    bench/run.py's and the book's convolutions, batch last is faster (forward and backward) where
    C*kh*kw >= 3 * (in + out) * out_w / 16: for 8->16 at 14x14 or 6->16 at 10x10, not for one
    input channel at 28x28."""
    return 16 * c_in * kernel[0] * kernel[1] >= 3 * (c_in + c_out) * out_w


def _to_columns(a, batch_last):
    """(N, K, H, W) -> (K, N*H*W) matrix in the column layout (a copy)."""
    return a.transpose(_ORDER[batch_last]).reshape(a.shape[1], -1)


def _from_columns(m, n, hw, batch_last):
    """(K, N*H*W) matrix in the column layout -> contiguous (N, K, H, W) array."""
    if batch_last:
        return np.ascontiguousarray(m.reshape((m.shape[0],) + hw + (n,)).transpose(3, 0, 1, 2))
    return np.ascontiguousarray(m.reshape((m.shape[0], n) + hw).transpose(1, 0, 2, 3))


def _padded(shape_cnhw, dtype, batch_last):
    """Zeros of shape (C, N, Hp, Wp), stored in the column layout's memory order."""
    c, n, hp, wp = shape_cnhw
    if batch_last:
        return np.zeros((c, hp, wp, n), dtype=dtype).transpose(0, 3, 1, 2)
    return np.zeros(shape_cnhw, dtype=dtype)


def _im2col(x, kernel, stride, padding, out_hw, batch_last):
    """Patches of x (N, C, H, W) as a (C*kh*kw, N*Ho*Wo) matrix in the column layout, and the
    padded shape.

    Row (c, i, j) holds input channel c shifted by kernel offset (i, j), for every sample and
    output pixel; zero padding is written around a channel-major copy of x first.
    """
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (ph, pw), (ho, wo) = kernel, stride, padding, out_hw
    xp = _padded((c, n, h + 2 * ph, w + 2 * pw), x.dtype, batch_last)  # indexed (C, N, Hp, Wp)
    xp[:, :, ph:ph + h, pw:pw + w] = x.transpose(1, 0, 2, 3)
    cols = np.empty((c, kh, kw) + ((ho, wo, n) if batch_last else (n, ho, wo)), dtype=x.dtype)
    view = cols.transpose(0, 1, 2, 5, 3, 4) if batch_last else cols  # indexed (C, kh, kw, N, Ho, Wo)
    for i in range(kh):  # one vectorized copy per kernel offset
        for j in range(kw):
            view[:, i, j] = xp[:, :, i:i + sh * ho:sh, j:j + sw * wo:sw]
    return cols.reshape(c * kh * kw, -1), (n, c) + xp.shape[2:]


def _col2im(grad_cols, padded_shape, kernel, stride, padding, out_hw, batch_last):
    """Adjoint of ``_im2col``: add each row of (C*kh*kw, N*Ho*Wo) back at its offset.

    Returns dL/dx of shape (N, C, H, W) (the padding's share is dropped)."""
    n, c, hp, wp = padded_shape
    (kh, kw), (ph, pw), (ho, wo) = kernel, padding, out_hw
    if batch_last:
        patches = grad_cols.reshape(c, kh, kw, ho, wo, n).transpose(0, 1, 2, 5, 3, 4)
    else:
        patches = grad_cols.reshape(c, kh, kw, n, ho, wo)
    grad = _padded((c, n, hp, wp), grad_cols.dtype, batch_last)  # indexed (C, N, Hp, Wp)
    _add_at_offsets(grad, patches.transpose(1, 2, 0, 3, 4, 5), stride)
    return np.ascontiguousarray(grad[:, :, ph:hp - ph, pw:wp - pw].transpose(1, 0, 2, 3))


_BLOCK_BYTES = 256 * 1024  # a block of im2col columns that stays in a core's L2 cache


def _block_columns(cols):
    """Columns per block of the (rows, M) matrix ``cols``, about 256 KB; 0 when blocks do not
    help: above 32 rows (measured: a single product is as fast or faster) or when M is at most
    two blocks."""
    rows, m = cols.shape
    block = max(256, _BLOCK_BYTES // (rows * cols.itemsize))
    return 0 if rows > 32 or m <= 2 * block else block


def _blocked_product(w, cols):
    """w @ cols for w (out, K) and cols (K, M), in column blocks where K is small: with few
    rows OpenBLAS runs blocks that fit in L2 up to 2x faster. Each column is the same dot
    product; OpenBLAS may round it differently in a block's edge kernels (round-off only)."""
    block = _block_columns(cols)
    if not block:
        return w @ cols
    out = np.empty((w.shape[0], cols.shape[1]), dtype=np.result_type(w, cols))
    for start in range(0, cols.shape[1], block):
        np.matmul(w, cols[:, start:start + block], out=out[:, start:start + block])
    return out


def _weight_gradient(cols, g):
    """dL/dW = g @ cols.T, (out, C*kh*kw), from cols (C*kh*kw, M) and g (out, M).

    A first layer has few patch rows (C*kh*kw = 25 for one channel and a 5 x 5 kernel) and very
    many columns (M = N*Ho*Wo, 50,176 for 64 images of 28 x 28): OpenBLAS then runs this
    product several times below its speed. Cut into column blocks of about 256 KB of cols,
    summed block after block, it is 1.5-3x faster (measured in float32 and float64); with many
    rows the single product is as fast or faster, and is kept."""
    block = _block_columns(cols)
    if not block:
        return (cols @ g.T).T  # = g @ cols.T, faster in this orientation
    total = cols[:, :block] @ g[:, :block].T
    for start in range(block, cols.shape[1], block):
        total += cols[:, start:start + block] @ g[:, start:start + block].T
    return total.T


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
    ``init`` is a function ``(shape, rng) -> array`` from ``course_nn.init`` (PyTorch's default
    uniform if omitted; biases then start at zero); ``dtype`` is float32 or float64.

    Nothing the caller can write is kept for backward: the cache is the im2col matrix, a copy.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, bias=True,
                 *, rng=None, init=None, dtype=np.float64):
        self.in_channels = check_int(in_channels, "Conv2d in_channels", low=1)
        self.out_channels = check_int(out_channels, "Conv2d out_channels", low=1)
        self.kernel_size = _pair(kernel_size, "Conv2d kernel_size")
        self.stride = _pair(stride, "Conv2d stride")
        self.padding = _pair(padding, "Conv2d padding", minimum=0)
        bias = check_bool(bias, "Conv2d bias")
        dtype = check_float_dtype(dtype, "Conv2d dtype")
        shape = (self.out_channels, self.in_channels) + self.kernel_size
        check_allocation(shape, dtype, "Conv2d weight")
        fan_in = self.in_channels * self.kernel_size[0] * self.kernel_size[1]
        if init is None:
            w = initializers.default_uniform(shape, rng)
            b = initializers.default_uniform((self.out_channels,), rng, fan_in=fan_in)
        else:
            w, b = initializers.initial_values(init, shape, rng, dtype, "Conv2d"), np.zeros(self.out_channels)
        self.weight = Parameter(np.asarray(w, dtype=dtype))
        self.bias = Parameter(np.asarray(b, dtype=dtype)) if bias else None
        self._cache = None

    def forward(self, x):
        x = _check_images(x, "Conv2d input", self.in_channels)
        n, c, h, w = x.shape
        out_hw = _output_hw(x.shape, self.kernel_size, self.stride, self.padding, "Conv2d")
        (ph, pw), (kh, kw) = self.padding, self.kernel_size
        check_allocation((c, n, h + 2 * ph, w + 2 * pw), x.dtype, "Conv2d padded input")
        check_allocation((c * kh * kw, n) + out_hw, x.dtype, "Conv2d im2col matrix")
        check_allocation((self.out_channels, n) + out_hw, x.dtype, "Conv2d output")
        batch_last = _batch_last(c, self.out_channels, self.kernel_size, out_hw[1])
        cols, padded_shape = _im2col(x, self.kernel_size, self.stride, self.padding, out_hw,
                                     batch_last)
        out = _blocked_product(self.weight.data.reshape(self.out_channels, -1), cols)  # (out, N*Ho*Wo)
        if self.bias is not None:
            out += self.bias.data[:, None]
        self._cache = (cols, padded_shape, out_hw, batch_last)
        return _from_columns(out, n, out_hw, batch_last)

    def backward(self, grad_out):
        """grad_out: (N, out, Ho, Wo) -> dL/dx: (N, in, H, W); accumulates dW and db."""
        g = self._accumulate_grads(grad_out)
        cols, padded_shape, out_hw, batch_last = self._cache
        grad_cols = self.weight.data.reshape(self.out_channels, -1).T @ g  # (C*kh*kw, N*Ho*Wo)
        return _col2im(grad_cols, padded_shape, self.kernel_size, self.stride, self.padding,
                       out_hw, batch_last)

    def backward_params(self, grad_out):
        """Only dL/dW and dL/db, for a first layer whose input is data."""
        self._accumulate_grads(grad_out)

    def _accumulate_grads(self, grad_out):
        """Add dL/dW = g @ cols.T and dL/db; return g = grad_out as (out, N*Ho*Wo)."""
        self._require_cache("_cache")
        cols, padded_shape, out_hw, batch_last = self._cache
        grad_out = as_float_array(grad_out, "Conv2d grad_out",
                                  shape=(padded_shape[0], self.out_channels) + out_hw)
        g = _to_columns(grad_out, batch_last)
        self.weight.add_grad(_weight_gradient(cols, g).reshape(self.weight.data.shape))
        if self.bias is not None:
            self.bias.add_grad(g.sum(axis=1))
        return g

    def extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}")


def conv2d_naive(x, weight, bias=None, stride=1, padding=0):
    """The definition, loop by loop: for every sample, output channel and output pixel, the
    sum over input channels and kernel offsets of input times weight. x: (N, C, H, W),
    weight: (O, C, kh, kw), bias: (O,) or None -> (N, O, Ho, Wo). Slow; for teaching and
    testing only (inputs needing more than NAIVE_MAX_STEPS multiply-adds are refused)."""
    x = _check_images(x, "conv2d_naive x", None)
    weight = as_float_array(weight, "conv2d_naive weight", ndim=4)
    if weight.shape[1] != x.shape[1]:
        raise ValueError(f"conv2d_naive weight: expected {x.shape[1]} input channels to match x "
                         f"(shape (O, {x.shape[1]}, kh, kw)), got shape {weight.shape}")
    if bias is not None:
        bias = as_float_array(bias, "conv2d_naive bias", shape=(weight.shape[0],))
    stride = _pair(stride, "conv2d_naive stride")
    padding = _pair(padding, "conv2d_naive padding", minimum=0)
    ho, wo = _output_hw(x.shape, weight.shape[2:], stride, padding, "conv2d_naive")
    n, c = x.shape[:2]
    o, _, kh, kw = weight.shape
    steps = n * o * ho * wo * c * kh * kw
    if steps > NAIVE_MAX_STEPS:
        raise ValueError(f"conv2d_naive: expected at most {NAIVE_MAX_STEPS} multiply-adds (its "
                         f"Python loops are for small examples), got {steps}; use Conv2d")
    (sh, sw), (ph, pw) = stride, padding
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
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
        name = type(self).__name__
        self.kernel_size = _pair(kernel_size, f"{name} kernel_size")
        self.stride = self.kernel_size if stride is None else _pair(stride, f"{name} stride")
        self.padding = _pair(padding, f"{name} padding", minimum=0)
        for k, p in zip(self.kernel_size, self.padding):
            if p > k // 2:
                raise ValueError(f"{name} padding: expected at most half the kernel size ({k // 2}), "
                                 f"got {p}")
        self._cache = None

    def _out_hw(self, x):
        """(Ho, Wo) for x (N, C, H, W), after checking the padded input's size is allocatable."""
        out_hw = _output_hw(x.shape, self.kernel_size, self.stride, self.padding, type(self).__name__)
        if any(self.padding):
            (ph, pw), (n, c, h, w) = self.padding, x.shape
            check_allocation((n, c, h + 2 * ph, w + 2 * pw), x.dtype,
                             f"{type(self).__name__} padded input")
        return out_hw

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool2d(_Pool2d):
    """Maximum over each window. Backward sends each window's gradient to its (first)
    maximum, as PyTorch. x: (N, C, H, W) -> (N, C, Ho, Wo).

    Non-overlapping windows (stride = kernel, no padding, the common 2x2 case) take a fast
    path: every kernel offset (i, j) is one strided (N, C, Ho, Wo) slice of x, and forward
    keeps one boolean mask per offset marking where that offset holds the window's first
    maximum. The cache never holds x or the output, so the caller may write to either.
    """

    def forward(self, x):
        x = _check_images(x, "MaxPool2d input", None)
        out_hw = self._out_hw(x)
        if self.stride == self.kernel_size and not any(self.padding):
            return self._forward_tiled(x, out_hw)
        check_allocation(x.shape[:2] + out_hw + (self.kernel_size[0] * self.kernel_size[1],),
                         x.dtype, "MaxPool2d window matrix")
        if any(self.padding):
            x = np.pad(x, ((0, 0), (0, 0)) + tuple((p, p) for p in self.padding),
                       constant_values=-np.inf)
        _, view = _windows(x, self.kernel_size, self.stride, (0, 0))
        flat = view.reshape(view.shape[:4] + (-1,))
        arg = flat.argmax(axis=-1)
        self._cache = ("windows", arg, x.shape)
        return np.take_along_axis(flat, arg[..., None], axis=-1)[..., 0]

    def _forward_tiled(self, x, out_hw):
        (kh, kw), (ho, wo) = self.kernel_size, out_hw
        offsets = [x[:, :, i:ho * kh:kh, j:wo * kw:kw] for i in range(kh) for j in range(kw)]
        out = offsets[0].copy()
        for part in offsets[1:]:  # one vectorized maximum per kernel offset
            np.maximum(out, part, out=out)
        first = np.empty((kh * kw,) + out.shape, dtype=bool)  # offset k holds the first maximum
        taken = np.zeros(out.shape, dtype=bool)
        for k, part in enumerate(offsets):  # row-major order: the first maximum wins, as PyTorch
            np.equal(part, out, out=first[k])
            first[k] &= ~taken
            taken |= first[k]
        self._cache = ("tiled", first, x.shape)
        return out

    def backward(self, grad_out):
        """grad_out: (N, C, Ho, Wo) -> dL/dx: (N, C, H, W)."""
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
        _, first, x_shape = self._cache
        grad_out = as_float_array(grad_out, "MaxPool2d grad_out", shape=first.shape[1:])
        (kh, kw), (ho, wo) = self.kernel_size, first.shape[3:]
        grad = np.zeros(x_shape, dtype=grad_out.dtype)
        for k in range(kh * kw):
            i, j = divmod(k, kw)
            np.multiply(first[k], grad_out, out=grad[:, :, i:ho * kh:kh, j:wo * kw:kw])
        return grad


class AvgPool2d(_Pool2d):
    """Mean over each window (zero padding counted, as PyTorch's default).
    x: (N, C, H, W) -> (N, C, Ho, Wo)."""

    def forward(self, x):
        x = _check_images(x, "AvgPool2d input", None)
        self._out_hw(x)
        xp, view = _windows(x, self.kernel_size, self.stride, self.padding)
        with np.errstate(over="ignore"):
            out = view.mean(axis=(-2, -1))
        if not _validate.all_finite(out):  # the sum overflowed (|x| near the largest float):
            kh, kw = self.kernel_size      # the mean of finite values is finite, sum x / (kh kw)
            out = (view / (kh * kw)).sum(axis=(-2, -1))
        self._cache = (view.shape, xp.shape)
        return out

    def backward(self, grad_out):
        """grad_out: (N, C, Ho, Wo) -> dL/dx: (N, C, H, W)."""
        self._require_cache("_cache")
        view_shape, padded_shape = self._cache
        grad_out = as_float_array(grad_out, "AvgPool2d grad_out", shape=view_shape[:4])
        kh, kw = self.kernel_size
        grad_windows = np.broadcast_to((grad_out / (kh * kw))[..., None, None], view_shape)
        return _scatter_windows(grad_windows, padded_shape, self.stride, self.padding)


class Flatten(Module):
    """(N, d1, d2, ...) -> (N, d1 * d2 * ...), between convolutional and dense layers.

    As torch.flatten, the output is a view of an array that a layer of a Sequential passed
    along; the caller's own array is copied instead, so no later layer keeps memory the
    caller can still write (backward itself only needs the input's shape).
    """

    def __init__(self):
        self._shape = None

    def forward(self, x):
        x = as_float_array(x, "Flatten input")
        if x.ndim < 2:
            raise ValueError(f"Flatten input: expected at least 2 dimensions (N, ...), got shape {x.shape}")
        self._shape = x.shape
        out = x.reshape(x.shape[0], -1)
        return out if _validate._between_layers or not np.may_share_memory(out, x) else out.copy()

    def backward(self, grad_out):
        """grad_out: (N, d1 * d2 * ...) -> dL/dx: (N, d1, d2, ...)."""
        self._require_cache("_shape")
        grad_out = as_float_array(grad_out, "Flatten grad_out",
                                  shape=(self._shape[0], math.prod(self._shape[1:])))
        return grad_out.reshape(self._shape)
