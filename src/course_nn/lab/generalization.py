"""Chapter 12 (generalization and regularization): the experiments, shared by the notebook
and ``tests/test_generalization.py`` so both run exactly the same code path.

Two testbeds:

* a noisy 1-D curve fitted by linear regression on polynomial features (closed form, with
  an optional ridge penalty), for capacity sweeps, learning curves and k-fold
  cross-validation;
* a small digits task: ``n_train`` images of the 8x8 digits (optionally with a fraction of
  the training labels corrupted), a validation and a test set, and an MLP trained by
  ``course_nn.train.fit`` under a regularization ``Setup`` (L1/L2 penalty, dropout,
  batch norm, shift augmentation, early stopping), and ``train_augmented`` for rotation,
  scaling and cropping in place of the shifts.
"""

from dataclasses import dataclass, replace

import numpy as np

from .. import optim
from .._validate import (
    as_array,
    as_real_array,
    check_allocation,
    check_bool,
    check_generator,
    check_int,
    check_number,
    check_positive_int,
)
from ..activations import ReLU
from ..augment import random_augment, random_shifts
from ..batchnorm import BatchNorm1d
from ..data import load_digits, train_val_test_split
from ..dropout import Dropout
from ..linear import Linear
from ..losses import CrossEntropyLoss, mse
from ..metrics import _labels
from ..module import Sequential
from ..regularization import ElasticNet, weights_only
from ..train import History, evaluate, fit
from .threads import one_blas_thread

# --- the 1-D curve ----------------------------------------------------------------------


def true_curve(x):
    """The function behind the noisy data: sin(pi x) on [-1, 1]; x: finite reals with
    |x| <= 1e300, any shape."""
    x = as_real_array(x, "true_curve x", allow_empty=True)
    if x.size and np.abs(x).max() > 1e300:
        raise ValueError(f"true_curve x: expected |x| <= 1e300, got {np.abs(x).max():g}")
    return np.sin(np.pi * x)


def make_curve_data(n, noise=0.3, *, rng):
    """n points x ~ U(-1, 1), y = sin(pi x) + noise * N(0, 1). Returns x: (n,), y: (n,)."""
    n, rng = check_positive_int(n, "n"), check_generator(rng)
    noise = check_number(noise, "noise", low=0, high=1e300)  # larger: overflow to inf
    check_allocation((2, n), np.float64, "make_curve_data")
    x = rng.uniform(-1.0, 1.0, n)
    return x, true_curve(x) + noise * rng.standard_normal(n)


def polynomial_features(x, degree):
    """(n,) -> (n, degree): the Legendre polynomials P_1(x) .. P_degree(x).

    They span the same functions as x, x^2, .., x^degree (so the model is an ordinary
    polynomial of that degree) but are far better conditioned on [-1, 1]. The constant
    P_0 = 1 is left out: the bias of the Linear layer plays its role.
    """
    degree = check_positive_int(degree, "degree")
    x = as_real_array(x, "polynomial_features x", ndim=1)
    check_allocation((len(x), degree + 1), np.float64, "polynomial_features")
    return np.polynomial.legendre.legvander(x, degree)[:, 1:]


def fit_polynomial(x, y, degree, lam=0.0):
    """Least squares on polynomial features, optionally ridge-penalized.

    Minimizes  mean((X w + b - y)^2) + lam * sum(w^2)  (the bias b is not penalized) in
    closed form and returns it as a ``Linear(degree, 1)``, so predictions and errors are
    computed by course_nn: ``model(polynomial_features(x, degree))`` has shape (n, 1).
    """
    lam = check_number(lam, "lam", low=0)
    X = polynomial_features(x, degree)
    y = as_real_array(y, "fit_polynomial y", ndim=1)
    if len(y) != len(X):
        raise ValueError(f"fit_polynomial: x has {len(X)} points but y has {len(y)}")
    x_mean, y_mean = X.mean(axis=0), y.mean()
    Xc, yc = X - x_mean, y - y_mean          # centring takes the unpenalized bias out
    if lam > 0:
        with np.errstate(over="ignore", invalid="ignore"):  # a huge lam: reported below
            w = np.linalg.solve(Xc.T @ Xc + len(y) * lam * np.eye(degree), Xc.T @ yc)
    else:
        w = np.linalg.lstsq(Xc, yc, rcond=None)[0]
    if not np.all(np.isfinite(w)):
        raise ValueError(f"fit_polynomial: the solution is not finite (lam = {lam:g} too large?)")
    model = Linear(degree, 1, rng=np.random.default_rng(0))
    model.weight.data[...] = w[None, :]
    model.bias.data[...] = y_mean - x_mean @ w
    return model


def polynomial_mse(model, x, y):
    """Mean squared error of a fitted polynomial model (a Linear(degree, 1) from
    ``fit_polynomial``) on x: (n,), y: (n,)."""
    if not isinstance(model, Linear) or model.out_features != 1:
        raise TypeError(f"polynomial_mse model: expected the Linear(degree, 1) of fit_polynomial, "
                        f"got {model!r}")
    X = polynomial_features(x, model.in_features)
    y = as_real_array(y, "polynomial_mse y", ndim=1)
    if len(y) != len(X):
        raise ValueError(f"polynomial_mse: x has {len(X)} points but y has {len(y)}")
    return mse(model(X), y.reshape(-1, 1))


def kfold_indices(n, k, *, rng):
    """Shuffle 0..n-1 once and cut it into k folds of (almost) equal size.

    Returns a list of k pairs (train_idx, val_idx); every index is in exactly one val_idx.
    """
    n, k, rng = check_positive_int(n, "n"), check_positive_int(k, "k"), check_generator(rng)
    if not 2 <= k <= n:
        raise ValueError(f"kfold_indices: expected 2 <= k <= n = {n}, got k = {k}")
    check_allocation((2, n), np.int64, "kfold_indices")
    folds = np.array_split(rng.permutation(n), k)
    return [(np.concatenate(folds[:i] + folds[i + 1:]), folds[i]) for i in range(k)]


def cross_val_mse(x, y, degree, lam, folds):
    """Mean validation MSE of ``fit_polynomial(degree, lam)`` over the given folds.

    x, y: (n,); folds: a non-empty list of (train_idx, val_idx) pairs of integer indices into
    x, such as ``kfold_indices`` returns.
    """
    x = as_real_array(x, "cross_val_mse x", ndim=1)
    y = as_real_array(y, "cross_val_mse y", ndim=1)
    if len(x) != len(y):
        raise ValueError(f"cross_val_mse: x has {len(x)} points but y has {len(y)}")
    folds = list(folds) if isinstance(folds, (list, tuple)) else None
    if not folds:
        raise ValueError("cross_val_mse folds: expected a non-empty list of (train_idx, val_idx) "
                         "pairs, such as kfold_indices returns")
    checked = []
    for i, fold in enumerate(folds):
        if not isinstance(fold, (list, tuple)) or len(fold) != 2:
            raise ValueError(f"cross_val_mse folds[{i}]: expected a (train_idx, val_idx) pair, "
                             f"got {type(fold).__name__}")
        pair = []
        for part, idx in zip(("train_idx", "val_idx"), fold):
            idx = as_array(idx, f"cross_val_mse folds[{i}] {part}")
            if idx.dtype.kind not in "iu" or idx.ndim != 1 or idx.size == 0:
                raise ValueError(f"cross_val_mse folds[{i}] {part}: expected a non-empty 1-D "
                                 f"array of integer indices, got shape {idx.shape} and dtype "
                                 f"{idx.dtype}")
            if idx.min() < 0 or idx.max() >= len(x):
                raise ValueError(f"cross_val_mse folds[{i}] {part}: expected indices in "
                                 f"[0, {len(x) - 1}], got values in [{idx.min()}, {idx.max()}]")
            pair.append(idx)
        checked.append(pair)
    return float(np.mean([polynomial_mse(fit_polynomial(x[tr], y[tr], degree, lam), x[va], y[va])
                          for tr, va in checked]))


# --- the digits task --------------------------------------------------------------------


@dataclass(frozen=True)
class DigitsTask:
    """train / val / test pairs (X: (N, 64) in [0, 1], y: (N,) labels 0..9)."""

    train: tuple
    val: tuple
    test: tuple
    label_noise: float = 0.0

    def __post_init__(self):
        for name in ("train", "val", "test"):
            pair = getattr(self, name)
            if (not isinstance(pair, tuple) or len(pair) != 2
                    or np.ndim(pair[0]) == 0 or np.ndim(pair[1]) == 0 or len(pair[0]) != len(pair[1])):
                raise ValueError(f"DigitsTask {name}: expected an (X, y) pair with as many "
                                 f"labels as images")
        check_number(self.label_noise, "label_noise", low=0, high=1)


def corrupt_labels(y, fraction, *, rng, num_classes=10):
    """Return a copy of y in which round(fraction * N) labels, chosen at random, are replaced
    by a different class (uniform over the other num_classes - 1). y: (N,) labels in
    [0, num_classes); num_classes >= 2. Everything is checked before ``rng`` draws."""
    rng = check_generator(rng)
    fraction = check_number(fraction, "fraction", low=0, high=1)
    num_classes = check_int(num_classes, "num_classes", low=2)
    y = _labels(y, "corrupt_labels y", num_classes).copy()
    idx = rng.choice(len(y), size=int(round(fraction * len(y))), replace=False)
    y[idx] = (y[idx] + rng.integers(1, num_classes, size=len(idx))) % num_classes
    return y


def digits_task(n_train=200, label_noise=0.0, seed=0):
    """The 8x8 digits cut 60 / 20 / 20 into train / val / test with ``seed``; only the first
    ``n_train`` training images are kept. ``label_noise`` corrupts that fraction of the
    *training* labels (validation and test labels stay clean)."""
    n_train = check_positive_int(n_train, "n_train")
    label_noise = check_number(label_noise, "label_noise", low=0, high=1)
    seed = check_int(seed, "seed", low=0)
    X, y = load_digits()
    train, val, test = train_val_test_split(X, y, val=0.2, test=0.2, rng=np.random.default_rng(seed))
    if n_train > len(train[0]):
        raise ValueError(f"digits_task: n_train = {n_train} exceeds the {len(train[0])} training images")
    X_tr, y_tr = train[0][:n_train], train[1][:n_train]
    if label_noise:
        y_tr = corrupt_labels(y_tr, label_noise, rng=np.random.default_rng(seed + 1))
    return DigitsTask((X_tr, y_tr), val, test, float(label_noise))


def make_mlp(width=128, hidden_layers=2, dropout=0.0, batchnorm=False, *, rng,
             in_features=64, num_classes=10):
    """Linear -> [BatchNorm1d] -> ReLU -> [Dropout(p)], ``hidden_layers`` times, then Linear.

    Dropout follows each hidden (dense) layer, as note 002 §9.3 suggests; batch norm sits
    between the affine map and the nonlinearity. Weights and dropout masks use ``rng``.
    """
    width = check_positive_int(width, "width")
    hidden_layers = check_positive_int(hidden_layers, "hidden_layers")
    check_allocation((hidden_layers, width, width), np.float64, "make_mlp")
    dropout = check_number(dropout, "dropout", low=0, high=1, high_open=True)
    batchnorm = check_bool(batchnorm, "batchnorm")
    layers, fan_in = [], in_features
    for _ in range(hidden_layers):
        layers.append(Linear(fan_in, width, rng=rng))
        if batchnorm:
            layers.append(BatchNorm1d(width))
        layers.append(ReLU())
        if dropout:
            layers.append(Dropout(dropout, rng=rng))
        fan_in = width
    layers.append(Linear(fan_in, num_classes, rng=rng))
    return Sequential(*layers)


@dataclass(frozen=True)
class Setup:
    """One training recipe for the digits MLP; the defaults are the unregularized baseline.

    l1, l2:    penalty l1 * sum|w| + l2 * sum w^2 on the weight matrices (not biases)
    dropout:   drop probability after each hidden layer (0: none)
    batchnorm: BatchNorm1d after each hidden Linear
    augment:   each epoch, every training image is shifted by one random pixel step in x
               and y with this probability (0: no augmentation)
    patience:  early stopping on the validation loss (None: train all epochs)
    """

    name: str = "no regularization"
    l1: float = 0.0
    l2: float = 0.0
    dropout: float = 0.0
    batchnorm: bool = False
    augment: float = 0.0
    patience: int = None
    width: int = 128
    hidden_layers: int = 2
    epochs: int = 100
    lr: float = 0.05
    momentum: float = 0.9
    batch_size: int = 32

    def __post_init__(self):
        if not isinstance(self.name, str):
            raise TypeError(f"Setup name: expected a str, got {self.name!r}")
        for name in ("l1", "l2", "momentum"):
            check_number(getattr(self, name), name, low=0)
        check_number(self.dropout, "dropout", low=0, high=1, high_open=True)
        check_number(self.augment, "augment", low=0, high=1)
        check_number(self.lr, "lr", low=0, low_open=True)
        check_bool(self.batchnorm, "batchnorm")
        for name in ("width", "hidden_layers", "epochs", "batch_size"):
            check_positive_int(getattr(self, name), name)
        if self.patience is not None:
            check_positive_int(self.patience, "patience")

    def but(self, **changes):
        """A copy with some fields changed: ``BASELINE.but(name="L2", l2=1e-3)``."""
        return replace(self, **changes)


BASELINE = Setup()


@dataclass
class Run:
    """A trained model, its History and its final (loss, accuracy) on the three splits.

    ``train`` is measured on the original (un-augmented) training images, in evaluation mode.
    """

    setup: Setup
    seed: int
    model: Sequential
    history: History
    train: tuple
    val: tuple
    test: tuple


def train_setup(setup, task, seed=0):
    """Build the MLP of ``setup`` with ``np.random.default_rng(seed)`` and train it on ``task``.

    SGD with momentum on the cross-entropy, mini-batches shuffled by a second generator
    seeded from ``seed``; the penalty (if any) is an ElasticNet on ``weights_only(model)``.
    Runs with one BLAS thread (see ``one_blas_thread``).
    """
    if not isinstance(setup, Setup):
        raise TypeError(f"train_setup setup: expected a Setup, got {type(setup).__name__}")
    if not isinstance(task, DigitsTask):
        raise TypeError(f"train_setup task: expected a DigitsTask, got {type(task).__name__}")
    seed = check_int(seed, "seed", low=0)
    with one_blas_thread():
        return _train_setup(setup, task, seed)


def _train_setup(setup, task, seed):
    rng = np.random.default_rng(seed)
    model = make_mlp(setup.width, setup.hidden_layers, setup.dropout, setup.batchnorm, rng=rng)
    loss_fn = CrossEntropyLoss()
    opt = optim.SGD(model.parameters(), lr=setup.lr, momentum=setup.momentum)
    penalty = ElasticNet(l1=setup.l1, l2=setup.l2) if (setup.l1 or setup.l2) else None
    shuffle_rng = np.random.default_rng([seed, 1])
    common = dict(epochs=setup.epochs, batch_size=setup.batch_size, rng=shuffle_rng,
                  penalty=penalty, penalty_params=weights_only(model), progress=False)
    if not setup.augment:
        history = fit(model, loss_fn, opt, task.train, task.val, patience=setup.patience, **common)
    else:
        if setup.patience is not None:
            raise ValueError("train_setup: augmentation and early stopping are not combined here")
        history = _fit_augmented(model, loss_fn, opt, task, setup, np.random.default_rng([seed, 2]),
                                 common)
    results = [evaluate(model, loss_fn, *split) for split in (task.train, task.val, task.test)]
    return Run(setup, seed, model, history, *results)


def _fit_augmented(model, loss_fn, opt, task, setup, aug_rng, common):
    """fit one epoch at a time, each on freshly shifted training images."""
    X, y = task.train
    history = History()
    common = dict(common, epochs=1)
    best = np.inf
    for epoch in range(setup.epochs):
        shifted = random_shifts(X, rng=aug_rng)[0]
        keep = aug_rng.random(len(X)) >= setup.augment     # these images stay unshifted
        shifted[keep] = X[keep]
        h = fit(model, loss_fn, opt, (shifted, y), task.val, **common)
        for name in ("train_loss", "train_acc", "val_loss", "val_acc"):
            getattr(history, name).extend(getattr(h, name))
        if history.val_loss[-1] < best:
            best, history.best_epoch = history.val_loss[-1], epoch
    return history


#: ``random_augment``'s settings for the 8x8 digits in chapter 12: turns of up to 15 degrees
#: either way, zoom by 0.9 to 1.1, and a crop after 1 pixel of padding
ROTATE_SCALE_CROP = {"max_angle": 15.0, "scale_range": (0.9, 1.1), "padding": 1}


def train_augmented(setup, tasks, seeds, *, prob, **augment):
    """Train ``setup`` in every (task, seed) run at once, as ``multiseed.train_setups``, but
    augment with rotation, scaling and cropping instead of shifts: every epoch, each training
    image is replaced with probability ``prob`` by ``random_augment(X, rng=..., **augment)``'s
    copy (the draws of run ``seed`` come from ``np.random.default_rng([seed, 2])``, the
    generator the shifts use). Weights and mini-batch order are those of ``train_setups``.

    setup: a Setup without its own augmentation or early stopping; tasks: one DigitsTask per
    seed; prob: in [0, 1]; augment: keyword arguments of ``random_augment`` (for example
    ``**ROTATE_SCALE_CROP``). Returns one ``Run`` per seed; ``train`` is measured on the
    original training images.
    """
    from .multiseed import train_setups

    if not isinstance(setup, Setup):
        raise TypeError(f"train_augmented setup: expected a Setup, got {type(setup).__name__}")
    if setup.augment or setup.patience is not None:
        raise ValueError("train_augmented setup: expected augment=0 and patience=None (the "
                         f"augmentation is given here), got augment={setup.augment}, "
                         f"patience={setup.patience}")
    if isinstance(tasks, DigitsTask) or not isinstance(tasks, (list, tuple)):
        raise TypeError("train_augmented tasks: expected a list of DigitsTask, one per seed")
    seeds = [check_int(s, "train_augmented seeds", low=0) for s in seeds]
    if len(tasks) != len(seeds) or not seeds:
        raise ValueError(f"train_augmented: expected one task per seed, got {len(tasks)} tasks "
                         f"and {len(seeds)} seeds")
    for task in tasks:
        if not isinstance(task, DigitsTask):
            raise TypeError(f"train_augmented tasks: expected DigitsTask, got {type(task).__name__}")
    prob = check_number(prob, "train_augmented prob", low=0, high=1)
    random_augment(tasks[0].train[0][:1], rng=np.random.default_rng(0), **augment)  # checks them
    return train_setups(setup, tasks, seeds, record_train=False, record_val=False,
                        augmentation=(prob, lambda X, rng: random_augment(X, rng=rng, **augment).images))
