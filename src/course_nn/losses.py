"""Loss functions: ``loss(pred, target)`` returns a float, ``loss.backward()`` returns dL/dpred.

Regression losses compare ``pred`` and ``target`` of the same shape (any shape, e.g. (N, 1)).
``reduction='mean'`` averages over every element (as PyTorch), ``'sum'`` adds them up, and
``'none'`` returns the per-element losses as an array (backward is then that of their sum).
Classification losses take logits/scores of shape (N, C) and integer labels of shape (N,)
(class probabilities as targets are not supported); their ``'none'`` gives one loss per sample.

Never a silent inf: pred (and a float target) must be finite; when the sum of the per-element
losses overflows but their mean does not (e.g. many losses near 1e308), the mean is computed
from the losses divided by their count first; a loss whose true value is not representable in
pred's dtype (a per-element loss such as (1e200)^2, or a ``'sum'`` beyond 1.8e308) raises
ValueError instead of returning inf. The loss caches only its own gradient array; pred and
target are not kept, and ``backward`` returns a fresh copy each time.
"""

import math

import numpy as np

from ._validate import all_finite, as_array, as_float_array, check_bool, check_number, check_same_shape
from .activations import sigmoid

REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(reduction, name):
    if not isinstance(reduction, str):
        raise TypeError(f"{name} reduction: expected one of {REDUCTIONS}, got {reduction!r}")
    if reduction not in REDUCTIONS:
        raise ValueError(f"{name} reduction: expected one of {REDUCTIONS}, got {reduction!r}")
    return reduction


def _check_unit_interval(target, name):
    if np.any((target < 0) | (target > 1)):
        raise ValueError(
            f"{name}: expected values in [0, 1], got values in "
            f"[{target.min():.4g}, {target.max():.4g}]"
        )


class Loss:
    """Base class: validates inputs, caches what backward needs, reduces per-element losses."""

    def __init__(self, reduction="mean"):
        self.reduction = _check_reduction(reduction, type(self).__name__)
        self._cache = None

    def __call__(self, pred, target):
        """The loss (a float, or an array for ``reduction='none'``); caches dL/dpred."""
        pred = as_float_array(pred, f"{type(self).__name__} pred")
        target = self._check_target(pred, target)
        # Overflow is detected below and either recomputed safely or reported as an error.
        with np.errstate(over="ignore", invalid="ignore"):
            per_element, grad = self._loss_and_grad(pred, target)
            count = per_element.size if self._averages_over_elements() else pred.shape[0]
            scale = 1.0 / count if self.reduction == "mean" else 1.0
            grad = grad * scale
            if self.reduction == "none":
                value = self._unreduced(per_element)
                if not all_finite(value):
                    raise self._overflow_error(value, pred, target)
            else:
                value = float(per_element.sum() * scale)
                if not math.isfinite(value):
                    value = self._overflow_safe_reduction(per_element, scale, pred, target)
        self._cache = grad  # only after every check passed: a failed call keeps the old one
        return value

    def backward(self):
        """dL/dpred, same shape as pred, for the last call (a fresh copy each time)."""
        if self._cache is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before the loss was computed")
        return self._cache.copy()

    def _check_target(self, pred, target):
        name = f"{type(self).__name__} target"
        target = as_array(target, name)
        if np.issubdtype(target.dtype, np.integer) or target.dtype == bool:
            target = target.astype(pred.dtype)  # integer targets (0/1 labels, counts) are fine
        target = as_float_array(target, name)
        check_same_shape(pred, target, "pred", name)
        return target

    def _averages_over_elements(self):
        return True

    def _unreduced(self, per_element):
        """What ``reduction='none'`` returns: the per-element losses."""
        return per_element

    def _overflow_safe_reduction(self, per_element, scale, pred, target):
        """The reduced loss when per_element.sum() * scale overflowed: every per-element loss
        is >= 0, so sum(loss_i * scale) never exceeds the true mean and overflows only when
        that mean is not representable; a 'sum' that overflows is not representable."""
        if not all_finite(per_element):
            raise self._overflow_error(per_element, pred, target)
        value = float(np.sum(per_element * scale)) if self.reduction == "mean" else math.inf
        if not math.isfinite(value):
            kind = "summed" if self.reduction == "sum" else "mean"
            raise ValueError(
                f"{type(self).__name__} pred: expected values whose {kind} loss is "
                f"representable in {per_element.dtype}, got a {kind} that overflows "
                f"({self._magnitudes(pred, target)})"
            )
        return value

    def _overflow_error(self, losses, pred, target):
        bad = int(losses.size - np.count_nonzero(np.isfinite(losses)))
        return ValueError(
            f"{type(self).__name__} pred: expected values whose per-element losses are "
            f"representable in {losses.dtype}, got {bad} that overflow to inf "
            f"({self._magnitudes(pred, target)})"
        )

    @staticmethod
    def _magnitudes(pred, target):
        text = f"largest |pred| = {np.max(np.abs(pred)):.3g}"
        if target.dtype.kind == "f":
            text += f", largest |target| = {np.max(np.abs(target)):.3g}"
        return text

    def _loss_and_grad(self, pred, target):
        """Return (per-element loss, derivative of the summed loss w.r.t. pred)."""
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}(reduction={self.reduction!r})"


class MSELoss(Loss):
    """Mean squared error: mean((pred - target)^2), derivative 2 (pred - target) / n.

    half=True multiplies by 1/2, so a single sample gives L = 1/2 (y - t)^2 with dL/dy = y - t:
    the convention of the notes' worked examples (it only rescales the gradient).
    """

    def __init__(self, reduction="mean", half=False):
        super().__init__(reduction)
        self.half = check_bool(half, "MSELoss half")

    def _loss_and_grad(self, pred, target):
        diff = pred - target
        if self.half:
            return 0.5 * diff**2, diff
        return diff**2, 2.0 * diff

    def __repr__(self):
        return f"MSELoss(reduction={self.reduction!r}, half={self.half})"


class L1Loss(Loss):
    """Mean absolute error: mean(|pred - target|); derivative sign(pred - target) (0 at a tie)."""

    def _loss_and_grad(self, pred, target):
        diff = pred - target
        return np.abs(diff), np.sign(diff)


MAELoss = L1Loss


class HuberLoss(Loss):
    """Quadratic near zero, linear in the tails, so one outlier cannot dominate.

    |d| <= delta: d^2 / 2;  |d| > delta: delta * (|d| - delta / 2)   (as torch.nn.HuberLoss).
    """

    def __init__(self, delta=1.0, reduction="mean"):
        super().__init__(reduction)
        self.delta = check_number(delta, "HuberLoss delta", low=0, low_open=True)

    def _loss_and_grad(self, pred, target):
        d = pred - target
        small = np.abs(d) <= self.delta
        loss = np.where(small, 0.5 * d**2, self.delta * (np.abs(d) - 0.5 * self.delta))
        grad = np.where(small, d, self.delta * np.sign(d))
        return loss, grad

    def __repr__(self):
        return f"HuberLoss(delta={self.delta}, reduction={self.reduction!r})"


class BCELoss(Loss):
    """Binary cross-entropy on probabilities p in [0, 1] and targets t in [0, 1]:
    -(t log p + (1 - t) log(1 - p)). Logs are clamped at -100 as in PyTorch, so p = 0 or 1
    gives a large finite loss instead of inf. Prefer BCEWithLogitsLoss after a linear layer.
    """

    def _loss_and_grad(self, pred, target):
        if np.any((pred < 0) | (pred > 1)):
            raise ValueError(
                f"BCELoss pred: expected probabilities in [0, 1], got values in "
                f"[{pred.min():.4g}, {pred.max():.4g}]; use BCEWithLogitsLoss for raw scores"
            )
        _check_unit_interval(target, "BCELoss target")
        with np.errstate(divide="ignore"):
            log_p = np.maximum(np.log(pred), -100.0)
            log_1mp = np.maximum(np.log1p(-pred), -100.0)
        eps = 1e-12
        loss = -(target * log_p + (1 - target) * log_1mp)
        grad = (pred - target) / np.maximum(pred * (1 - pred), eps)
        return loss, grad


class BCEWithLogitsLoss(Loss):
    """Binary cross-entropy on a raw score z: sigmoid and log fused so any z is finite.

    loss = max(z, 0) - z t + log(1 + e^-|z|);  dL/dz = sigmoid(z) - t.
    """

    def _loss_and_grad(self, pred, target):
        _check_unit_interval(target, "BCEWithLogitsLoss target")
        loss = np.maximum(pred, 0) - pred * target + np.log1p(np.exp(-np.abs(pred)))
        return loss, sigmoid(pred) - target


class _ClassificationLoss(Loss):
    """Scores of shape (N, C) against integer labels of shape (N,); mean over the N samples."""

    def _check_target(self, pred, target):
        if pred.ndim != 2:
            raise ValueError(f"{type(self).__name__} pred: expected shape (N, C), got {pred.shape}")
        target = as_array(target, f"{type(self).__name__} target")
        if not np.issubdtype(target.dtype, np.integer):
            raise TypeError(
                f"{type(self).__name__} target: expected integer class labels, got dtype "
                f"{target.dtype} (class probabilities as targets are not supported)"
            )
        if target.shape != (pred.shape[0],):
            raise ValueError(
                f"{type(self).__name__} target: expected shape ({pred.shape[0]},), got {target.shape}"
            )
        n_classes = pred.shape[1]
        if target.min() < 0 or target.max() >= n_classes:
            raise ValueError(
                f"{type(self).__name__} target: expected labels in [0, {n_classes - 1}], got values "
                f"in [{target.min()}, {target.max()}]"
            )
        return target

    def _averages_over_elements(self):
        return False


class CrossEntropyLoss(_ClassificationLoss):
    """Softmax + negative log-likelihood on logits: L_i = -log softmax(s_i)[y_i].

    Computed as logsumexp(s_i) - s_i[y_i] so logits of +-1000 stay finite.
    dL/ds_i = softmax(s_i) - onehot(y_i)  (divided by N for the mean).
    """

    def _loss_and_grad(self, pred, target):
        rows = np.arange(pred.shape[0])
        shifted = pred - pred.max(axis=1, keepdims=True)  # log_softmax and softmax share these
        exp = np.exp(shifted)
        total = exp.sum(axis=1, keepdims=True)
        loss = np.log(total[:, 0]) - shifted[rows, target]  # = -log_softmax(pred)[rows, target]
        grad = exp / total  # = softmax(pred)
        grad[rows, target] -= 1.0
        return loss, grad


class MulticlassHingeLoss(_ClassificationLoss):
    """The multiclass SVM loss of note 001: L_i = sum_{j != y_i} max(0, s_j - s_{y_i} + margin).

    Mean over samples; ``reduction='none'`` gives L_i, shape (N,).
    (torch.nn.MultiMarginLoss also divides by the number of classes C.)
    """

    def __init__(self, margin=1.0, reduction="mean"):
        super().__init__(reduction)
        self.margin = check_number(margin, "MulticlassHingeLoss margin", low=0)

    def _loss_and_grad(self, pred, target):
        rows = np.arange(pred.shape[0])
        margins = pred - pred[rows, target][:, None] + self.margin
        margins[rows, target] = 0.0
        active = (margins > 0).astype(pred.dtype)
        grad = active.copy()
        grad[rows, target] = -active.sum(axis=1)
        return np.maximum(margins, 0.0), grad

    def _unreduced(self, per_element):
        return per_element.sum(axis=1)  # (N, C) margins -> L_i, one per sample

    def __repr__(self):
        return f"MulticlassHingeLoss(margin={self.margin}, reduction={self.reduction!r})"


def mse(pred, target):
    """Mean squared error as a number (a metric; use MSELoss to train)."""
    return MSELoss()(pred, target)


def mae(pred, target):
    return L1Loss()(pred, target)


def rmse(pred, target):
    """Root mean squared error: sqrt(MSE), in the units of the target."""
    return float(np.sqrt(mse(pred, target)))
