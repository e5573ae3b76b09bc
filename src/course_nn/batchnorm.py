"""Batch normalization: BatchNorm1d over the batch axis of (N, C) activations, BatchNorm2d
over the batch and both spatial axes of (N, C, H, W) feature maps.

Both share one implementation (``_BatchNorm``) that works on a matrix with one axis of
samples and one of features: BatchNorm1d's x itself, (N, C), samples along axis 0;
BatchNorm2d's x with the channels moved first and reshaped to (C, N*H*W), samples along
axis 1, so every pixel of every image is one sample of its channel's statistics and each
channel's values are one contiguous row (its sums run along memory, about ten times faster
than down the columns of a (N*H*W, C) matrix with few channels).

Caching rule: backward needs x_hat and 1/std, which forward computes into fresh arrays (the
caller's x is not kept); the output is a fresh array too. The running statistics are
replaced by new arrays at each training step, never written in place.

Overflow: the batch mean and variance are computed as usual; only when that overflows (a
variance of 1e200-sized values, or a sum of values near 1e308) are they recomputed on x scaled
per feature by a power of two (exact). The normalized output of such a batch is finite; when
the variance itself (or the running variance) is not representable, forward raises ValueError
and changes nothing.
"""

import numpy as np

from ._validate import (
    all_finite,
    as_float_array,
    check_allocation,
    check_bool,
    check_float_dtype,
    check_number,
    check_positive_int,
)
from .activations import _power_of_two_near
from .module import Module, Parameter


class _BatchNorm(Module):
    """The statistics, running estimates and backward of batch normalization on a matrix of
    samples x features: (M, C) with ``_axis = 0`` or (C, M) with ``_axis = 1`` (the samples'
    axis); subclasses say how their input becomes that matrix (``_rows``) and back
    (``_unrows``) and name themselves in error messages (``_label``, ``_unit``)."""

    _buffer_names = ("running_mean", "running_var")  # saved by state_dict with the parameters
    _label = "BatchNorm"
    _unit = "feature"  # what one of the C features is called in error messages
    _axis = 0           # the axis of the samples in the matrix of _rows

    def __init__(self, num_features, eps, momentum, affine, dtype):
        label = self._label
        self.num_features = check_positive_int(num_features, f"{label} num_features")
        self.eps = check_number(eps, f"{label} eps", low=0, low_open=True)
        self.momentum = check_number(momentum, f"{label} momentum", low=0, high=1)
        self.affine = check_bool(affine, f"{label} affine")
        dtype = check_float_dtype(dtype, f"{label} dtype")
        check_allocation((4, self.num_features), dtype, f"{label} parameters and statistics")
        if self.affine:
            self.weight = Parameter(np.ones(num_features, dtype=dtype))
            self.bias = Parameter(np.zeros(num_features, dtype=dtype))
        else:  # as torch.nn: no weight, no bias (y = x_hat)
            self.weight = None
            self.bias = None
        self.running_mean = np.zeros(num_features, dtype=dtype)
        self.running_var = np.ones(num_features, dtype=dtype)
        self._cache = None

    # -- how the input becomes the matrix; BatchNorm1d's is the input itself, (M, C)
    def _check_input(self, x):
        return as_float_array(x, f"{self._label} input", shape=(None, self.num_features))

    def _too_few_message(self, shape):
        return (f"{self._label} input: expected more than 1 sample per batch in training, "
                f"got shape {shape}")

    @staticmethod
    def _rows(x):
        return x

    @staticmethod
    def _unrows(rows, shape):
        return rows

    def forward(self, x):
        label = self._label
        x = self._check_input(x)
        shape = x.shape
        x = self._rows(x)
        running_mean, running_var = self._running_stats()
        axis = self._axis
        if self.training:
            n = x.shape[axis]
            if n < 2:
                raise ValueError(self._too_few_message(shape))
            mean, var = _batch_moments(x, label, self._unit, axis)
            m = self.momentum
            running_mean = (1 - m) * running_mean + m * mean
            with np.errstate(over="ignore"):
                new_var = (1 - m) * running_var + m * var * n / (n - 1)
                if not np.all(np.isfinite(new_var)):  # m * var * n overflowed on the way
                    new_var = (1 - m) * running_var + m * var * (n / (n - 1))
            if not (np.all(np.isfinite(new_var)) and np.all(np.isfinite(running_mean))):
                raise ValueError(
                    f"{label} input: expected values whose running variance is "
                    f"representable in {new_var.dtype}, got one that overflows (largest "
                    f"|x| = {np.max(np.abs(x)):.3g})"
                )
            running_var = new_var
        else:
            mean, var = running_mean, running_var
        inv_std = 1.0 / np.sqrt(var + self.eps)
        x_hat = (x - self._along(mean)) * self._along(inv_std)
        # (without weight and bias the output is x_hat, copied: the cache must not be the
        # array the caller gets back and may write into)
        out = (self._along(self.weight.data) * x_hat + self._along(self.bias.data) if self.affine
               else x_hat.copy())
        if self.training:  # state changes only once nothing can fail
            self.running_mean, self.running_var = running_mean, running_var
        self._cache = (x_hat, inv_std, self.training, shape)
        return self._unrows(out, shape)

    def backward(self, grad_out):
        """grad_out: the output's shape -> dL/dx of the input's shape; accumulates dL/dgamma
        and dL/dbeta (weight and bias, when affine)."""
        self._require_cache("_cache")
        label = self._label
        x_hat, inv_std, training, shape = self._cache
        grad_out = as_float_array(grad_out, f"{label} grad_out", shape=shape)
        grad_out = self._rows(grad_out)
        with np.errstate(over="ignore", invalid="ignore"):
            grads = self._grads(grad_out, x_hat, inv_std, training)
            if not all(all_finite(g) for g in grads) and all_finite(grad_out):
                # huge finite grad_out: sums over the batch overflowed (inf - inf = NaN where
                # the true value is finite); every result is linear in grad_out, so redo it on
                # grad_out scaled by a power of two (exact) and scale back
                scale = _power_of_two_near(np.max(np.abs(grad_out)))
                grads = [g * scale for g in self._grads(grad_out / scale, x_hat, inv_std,
                                                        training)]
                if not all(all_finite(g) for g in grads):
                    raise ValueError(
                        f"{label} grad_out: expected values whose gradients are "
                        f"representable in {grads[0].dtype}, got sums over the batch that "
                        f"overflow (largest |grad_out| = {np.max(np.abs(grad_out)):.3g})"
                    )
        d_gamma, d_beta, d_x = grads
        if self.affine:
            self.weight.add_grad(d_gamma)
            self.bias.add_grad(d_beta)
        return self._unrows(d_x, shape)

    def _along(self, v):
        """A (C,) vector shaped to broadcast along the features' axis of the matrix."""
        return v if self._axis == 0 else v[:, None]

    def _grads(self, grad_out, x_hat, inv_std, training):
        """(dL/dgamma, dL/dbeta, dL/dx) for one grad_out, all on the matrix of ``_rows``.

        With dL/dx_hat = gamma * grad_out, the two centring terms of training mode are
        gamma * dL/dbeta / m and x_hat * gamma * dL/dgamma / m (m values per feature), so
        dL/dx = gamma / sqrt(var + eps) * (grad_out - dL/dbeta / m - x_hat * dL/dgamma / m):
        four passes over the matrix after the two sums, instead of eight."""
        axis = self._axis
        d_gamma = _reduce("sum", grad_out * x_hat, axis)
        d_beta = _reduce("sum", grad_out, axis)
        scale = self._along(self.weight.data * inv_std if self.affine else inv_std)
        if not training:
            return d_gamma, d_beta, grad_out * scale
        return d_gamma, d_beta, _training_input_grad(grad_out, x_hat, d_gamma, d_beta, scale, axis)

    def _running_stats(self):
        """running_mean and running_var after checking them (they are public, and a value
        written into them by hand is used by every evaluation-mode forward)."""
        label = self._label
        stats = []
        for name in ("running_mean", "running_var"):
            arr = as_float_array(getattr(self, name), f"{label} {name}",
                                 shape=(self.num_features,))
            if not np.all(np.isfinite(arr)):
                raise ValueError(f"{label} {name}: expected finite values, got "
                                 f"{arr.size - np.count_nonzero(np.isfinite(arr))} NaN or inf")
            stats.append(arr)
        if np.any(stats[1] < 0):
            raise ValueError(f"{label} running_var: expected values >= 0, got minimum "
                             f"{stats[1].min():.4g}")
        return stats

    def extra_repr(self):
        affine = "" if self.affine else ", affine=False"
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}{affine}"


class BatchNorm1d(_BatchNorm):
    """y = gamma * (x - mean) / sqrt(var + eps) + beta, per feature.

    Training: mean and (biased) variance of the current batch; the running statistics move
    toward them, running = (1 - momentum) * running + momentum * batch, with the unbiased
    variance, as PyTorch. Evaluation: the running statistics, so one sample's output does not
    depend on the rest of its batch. x: (N, C) -> (N, C); weight (gamma), bias (beta),
    running_mean, running_var: (C,). eps > 0, momentum in [0, 1], dtype float32 or float64.
    """

    _label = "BatchNorm1d"

    def __init__(self, num_features, eps=1e-5, momentum=0.1, dtype=np.float64):
        super().__init__(num_features, eps, momentum, True, dtype)


class BatchNorm2d(_BatchNorm):
    """y = gamma * (x - mean) / sqrt(var + eps) + beta, per channel of (N, C, H, W) maps.

    The statistics of channel c are taken over every image and every pixel: x[:, c, :, :],
    N*H*W values (BatchNorm1d's on x moved to (N*H*W, C); computed on (C, N*H*W), where each
    channel's values are contiguous).
    Training: mean and biased variance of the batch normalize; the running statistics move
    toward the mean and the unbiased variance (N*H*W - 1 in the denominator),
    running = (1 - momentum) * running + momentum * batch, as PyTorch. Evaluation: the
    running statistics. x: (N, C, H, W) -> (N, C, H, W); weight (gamma), bias (beta),
    running_mean, running_var: (C,). affine=False: no weight and no bias (y = x_hat).
    eps > 0, momentum in [0, 1], dtype float32 or float64. Training needs N*H*W > 1.
    """

    _label = "BatchNorm2d"
    _unit = "channel"
    _axis = 1

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, dtype=np.float64):
        super().__init__(num_features, eps, momentum, affine, dtype)

    def _check_input(self, x):
        return as_float_array(x, f"{self._label} input", shape=("N", self.num_features, "H", "W"))

    def _too_few_message(self, shape):
        return (f"{self._label} input: expected more than 1 value per channel in training "
                f"(N*H*W > 1), got shape {shape}")

    @staticmethod
    def _rows(x):
        """(N, C, H, W) -> (C, N*H*W): column n*H*W + i*W + j holds pixel (i, j) of image n."""
        return x.transpose(1, 0, 2, 3).reshape(x.shape[1], -1)

    @staticmethod
    def _unrows(rows, shape):
        n, c, h, w = shape
        return np.ascontiguousarray(rows.reshape(c, n, h, w).transpose(1, 0, 2, 3))


_BLOCK = 128  # _row_sums adds blocks of this many columns, then halves them


def _row_sums(a):
    """Row sums of a (C, M) matrix, the same to the last bit under every supported numpy
    version: numpy's own sum along a contiguous row is a pairwise sum whose float32 inner loop
    changed between numpy 1.26 and 2.x. Here the row is cut into blocks of 128, the blocks are
    added one after another (elementwise, vectorized), and the 128 partial sums are halved to
    one by elementwise adds."""
    c, m = a.shape
    pad = -m % _BLOCK
    if pad:  # zeros change no sum
        a = np.concatenate([a, np.zeros((c, pad), dtype=a.dtype)], axis=1)
    s = a.reshape(c, -1, _BLOCK).sum(axis=1)  # down the columns: block after block
    while s.shape[1] > 1:
        half = s.shape[1] // 2
        s = s[:, :half] + s[:, half:]
    return s[:, 0]


def _training_input_grad(grad_out, x_hat, d_gamma, d_beta, scale, axis):
    """dL/dx of batch norm in training mode, scale * (grad_out - dbeta / m - x_hat * dgamma / m),
    in four passes over grad_out's shape; the m values of each feature lie along ``axis``.

    d_gamma, d_beta: the sums of grad_out * x_hat and grad_out over ``axis`` (that axis
    dropped); scale: gamma / sqrt(var + eps), shaped to broadcast against grad_out. Shared by
    BatchNorm1d/2d and the stacked copies of course_nn.lab, which must stay bit for bit equal."""
    m = grad_out.shape[axis]
    d_x = x_hat * np.expand_dims(d_gamma / m, axis)
    np.subtract(grad_out, d_x, out=d_x)
    d_x -= np.expand_dims(d_beta / m, axis)
    d_x *= scale
    return d_x


def _reduce(kind, a, axis, keepdims=False):
    """Sum, mean or (biased) variance of ``a`` along the samples' ``axis``: numpy's down the
    columns (axis 0, one row added after another), ``_row_sums`` along the rows (axis 1)."""
    if axis == 0:
        return {"sum": np.sum, "mean": np.mean, "var": np.var}[kind](a, axis=0, keepdims=keepdims)
    n = a.shape[1]
    if kind == "var":
        d = a - (_row_sums(a) / n)[:, None]
        out = _row_sums(d * d) / n
    else:
        out = _row_sums(a) / n if kind == "mean" else _row_sums(a)
    out = out.astype(a.dtype, copy=False)
    return out[:, None] if keepdims else out


def _batch_moments(x, label="BatchNorm1d", unit="feature", axis=0):
    """Per-feature mean and biased variance of x: (M, C) with the samples along ``axis`` 0, or
    (C, M) with ``axis`` 1; (C,) each, without overflow where they are finite. Raises
    ValueError (naming ``label`` and the ``unit``) when a variance is not representable."""
    with np.errstate(over="ignore", invalid="ignore"):
        mean = _reduce("mean", x, axis)
        var = _reduce("var", x, axis)
    if np.all(np.isfinite(mean)) and np.all(np.isfinite(var)):
        return mean, var
    if not all_finite(x):  # NaN/inf passed in between the layers of a Sequential
        bad = int(x.size - np.count_nonzero(np.isfinite(x)))
        raise ValueError(f"{label} input: expected finite values, got {bad} NaN or inf "
                         f"entries")
    # a power of two within a factor 2 of max |x| per feature: x / scale is exact and within
    # (-2, 2) (2^(e-1), not 2^e, which for values near 1.8e308 would itself overflow)
    scale = np.ldexp(np.ones_like(mean), np.frexp(np.max(np.abs(x), axis=axis))[1] - 1)
    scaled = x / np.expand_dims(scale, axis)
    mean_s = scaled.mean(axis=axis, keepdims=True)
    mean_s += (scaled - mean_s).mean(axis=axis, keepdims=True)  # one refinement: exact for a
    centred = scaled - mean_s       # constant feature, whose rounding noise (~eps^2 x^2) would
    var_s = np.mean(centred * centred, axis=axis)  # not be representable scaled back near 1e308
    mean = mean_s.reshape(-1) * scale
    with np.errstate(over="ignore"):
        var = var_s * scale * scale
    if not np.all(np.isfinite(var)):
        j = int(np.flatnonzero(~np.isfinite(var))[0])
        raise ValueError(
            f"{label} input: expected values whose per-{unit} variance is representable "
            f"in {x.dtype}, got {unit} {j} with variance overflowing (largest |x| = "
            f"{np.max(np.abs(np.take(x, j, axis=1 - axis))):.3g})"
        )
    return mean, var
