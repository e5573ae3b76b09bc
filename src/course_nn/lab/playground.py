"""A neural-network playground on 2-D datasets, in the spirit of TensorFlow Playground.

``Playground`` holds everything a run needs (data, model, optimizer, history) and trains it
one epoch at a time; ``draw`` renders the decision regions (or, for regression, the
predicted value surface), the loss curves and what each first-layer hidden unit computes;
``draw_network`` draws the whole network, every neuron of every layer with its output over
the plane and every weight as an edge; ``widget()`` wraps them in ipywidgets controls. The
class works without a browser, so tests drive it exactly as the widget does.

What TensorFlow Playground offers is here: input features (x1, x2, x1^2, x2^2, x1*x2,
sin x1, sin x2), L1 or L2 regularization, classification and regression datasets, batch
size, the training/validation ratio, separate data and weight seeds, and the learner's own
data (``Playground(data=(X, y))``).
"""

import html
import numbers
from dataclasses import asdict, dataclass, field, fields, replace

import numpy as np

from .. import activations, optim
from .._validate import (
    as_array,
    as_float_array,
    as_real_array,
    check_allocation,
    check_int,
    check_number,
    check_positive_int,
)
from ..data import TOY_DATASETS, iterate_minibatches, train_val_test_split
from ..dropout import Dropout
from ..linear import Linear
from ..losses import CrossEntropyLoss, MSELoss
from ..module import Sequential
from ..regularization import L1Penalty, L2Penalty, weights_only
from ..train import accuracy, predict

ACTIVATIONS = {
    "tanh": activations.Tanh,
    "relu": activations.ReLU,
    "leaky_relu": activations.LeakyReLU,
    "sigmoid": activations.Sigmoid,
    "elu": activations.ELU,
    "gelu": activations.GELU,
}
OPTIMIZERS = {
    "sgd": lambda params, lr: optim.SGD(params, lr),
    "momentum": lambda params, lr: optim.SGD(params, lr, momentum=0.9),
    "rmsprop": lambda params, lr: optim.RMSProp(params, lr),
    "adam": lambda params, lr: optim.Adam(params, lr),
}

FEATURES = {
    "x1": lambda X: X[:, 0],
    "x2": lambda X: X[:, 1],
    "x1^2": lambda X: X[:, 0] ** 2,
    "x2^2": lambda X: X[:, 1] ** 2,
    "x1*x2": lambda X: X[:, 0] * X[:, 1],
    "sin(x1)": lambda X: np.sin(X[:, 0]),
    "sin(x2)": lambda X: np.sin(X[:, 1]),
}
"""The input features a network can be given, computed from a point's coordinates (x1, x2)."""

REGULARIZATIONS = ("none", "l1", "l2")
TASKS = ("auto", "classification", "regression")
MAX_CLASSES = 10  # the colour map of the class regions has ten colours


def make_plane(n, noise=0.1, *, rng):
    """Regression on a tilted plane: X uniform in [-1, 1]^2, target (x1 + x2) / 2 plus
    Gaussian noise of standard deviation ``noise``. Returns X: (n, 2), y: (n,) float64."""
    X = rng.uniform(-1.0, 1.0, size=(n, 2))
    return X, 0.5 * (X[:, 0] + X[:, 1]) + noise * rng.standard_normal(n)


GAUSSIAN_CENTRES = np.array([[-2 / 3, 0.5], [0.0, 0.5], [2 / 3, 0.5],
                             [-2 / 3, -0.5], [0.0, -0.5], [2 / 3, -0.5]])
GAUSSIAN_SIGNS = np.array([1.0, -1.0, 1.0, -1.0, 1.0, -1.0])


def make_multi_gaussian(n, noise=0.1, *, rng):
    """Regression on six bumps (TensorFlow Playground's "multi gaussian"): X uniform in
    [-1, 1]^2, target the sum of six Gaussian bumps of height +1 or -1 (width 0.2) centred on
    a 3 x 2 grid, plus Gaussian noise of standard deviation ``noise``. Returns X: (n, 2),
    y: (n,) float64."""
    X = rng.uniform(-1.0, 1.0, size=(n, 2))
    sq = ((X[:, None, :] - GAUSSIAN_CENTRES[None]) ** 2).sum(axis=2)        # (n, 6)
    y = (GAUSSIAN_SIGNS * np.exp(-sq / (2 * 0.2**2))).sum(axis=1)
    return X, y + noise * rng.standard_normal(n)


REGRESSION_DATASETS = {"plane": make_plane, "multi_gaussian": make_multi_gaussian}
DATASETS = sorted(TOY_DATASETS) + sorted(REGRESSION_DATASETS) + ["custom"]
"""Every ``dataset`` name: the classification sets, the regression sets, and "custom" (the
learner's own data, given as ``Playground(data=(X, y))``)."""

MAX_EPOCHS = 10_000
"""Most epochs per ``Playground.step`` call: about a minute at the default settings."""


@dataclass(frozen=True)
class PlaygroundConfig:
    """Every choice the learner makes.

    ``dataset``: one of ``DATASETS`` ("custom" when the data come from ``data=(X, y)``).
    ``features``: the network's inputs, names from ``FEATURES`` (stored as a tuple).
    ``hidden``: the widths of the hidden layers (stored as a tuple of ints); ``()`` is a
    network with no hidden layer, a linear model of the features.
    ``noise``: not used by the "blobs" dataset (its spread is fixed) nor by custom data.
    ``regularization``: "none", "l1" or "l2", with strength ``reg_rate`` (ignored for "none").
    ``batch_size``: points per optimizer step; ``val_fraction``: the share of the points held
    out for validation (0 < val_fraction < 1).
    ``task``: "auto" (the dataset decides; custom data: integer labels mean classification,
    floating-point targets regression), "classification" or "regression".

    Two seeds, drawn from independent generators: ``data_seed`` draws the points and the
    training/validation split; ``weight_seed`` draws the initial weights, the order of the
    mini-batches and the dropout masks. Changing one leaves what the other draws unchanged."""

    dataset: str = "spirals"
    n_samples: int = 400
    noise: float = 0.1
    features: tuple = ("x1", "x2")
    hidden: tuple = (16, 16)
    activation: str = "tanh"
    optimizer: str = "adam"
    lr: float = 0.03
    regularization: str = "none"
    reg_rate: float = 0.0
    dropout: float = 0.0
    batch_size: int = 32
    val_fraction: float = 0.25
    task: str = "auto"
    weight_seed: int = 0
    data_seed: int = 0

    def __post_init__(self):
        for name, table in (("dataset", DATASETS), ("activation", ACTIVATIONS),
                            ("optimizer", OPTIMIZERS), ("regularization", REGULARIZATIONS),
                            ("task", TASKS)):
            value = getattr(self, name)
            if not isinstance(value, str) or value not in table:
                raise ValueError(f"{name}: expected one of {sorted(table)}, got {value!r}")
        features = self.features
        if isinstance(features, str):
            raise ValueError(f"features: expected a tuple of feature names such as ('x1', 'x2'), "
                             f"got the string {features!r}")
        if not isinstance(features, (tuple, list)) or not features:
            raise ValueError(f"features: expected one or more of {list(FEATURES)}, got {features!r}")
        for name in features:
            if not isinstance(name, str) or name not in FEATURES:
                raise ValueError(f"features: expected names from {list(FEATURES)}, got {name!r}")
        if len(set(features)) != len(features):
            raise ValueError(f"features: expected each feature at most once, got {tuple(features)!r}")
        object.__setattr__(self, "features", tuple(features))
        hidden = self.hidden
        if (not isinstance(hidden, (tuple, list))
                or any(isinstance(w, (bool, np.bool_)) or not isinstance(w, numbers.Integral) or w < 1
                       for w in hidden)):
            raise ValueError(f"hidden: expected one or more positive layer widths, or () for no "
                             f"hidden layer, got {hidden!r}")
        object.__setattr__(self, "hidden", tuple(int(w) for w in hidden))
        for fan_in, fan_out in zip((len(self.features),) + self.hidden, self.hidden):
            check_allocation((fan_in, fan_out), np.float64, "hidden")
        check_positive_int(self.n_samples, "n_samples")
        check_positive_int(self.batch_size, "batch_size")
        check_number(self.noise, "noise", low=0)
        check_number(self.lr, "lr", low=0, low_open=True)
        check_number(self.reg_rate, "reg_rate", low=0)
        check_number(self.dropout, "dropout", low=0, high=1, high_open=True)
        check_number(self.val_fraction, "val_fraction", low=0, high=1, low_open=True, high_open=True)
        for name in ("weight_seed", "data_seed"):
            value = getattr(self, name)
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 0:
                raise ValueError(f"{name}: expected a non-negative integer, got {value!r}")
        builtin_task = ("classification" if self.dataset in TOY_DATASETS else
                        "regression" if self.dataset in REGRESSION_DATASETS else None)
        if builtin_task and self.task not in ("auto", builtin_task):
            raise ValueError(f"task: the dataset {self.dataset!r} is a {builtin_task} task, got "
                             f"task={self.task!r}")


SETTINGS = tuple(f.name for f in fields(PlaygroundConfig))
_RENAMED = {"seed": "weight_seed", "l2": "regularization='l2', reg_rate"}


def _check_setting_names(names):
    for name in names:
        if name not in SETTINGS:
            hint = f" (did you mean {_RENAMED[name]}?)" if name in _RENAMED else ""
            raise TypeError(f"{name}: not a playground setting{hint}; expected one of {list(SETTINGS)}")


@dataclass
class PlaygroundHistory:
    """Per epoch: losses (cross-entropy, or mean squared error for regression) and, for
    classification only, accuracies."""
    train_loss: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    train_acc: list = field(default_factory=list)
    val_acc: list = field(default_factory=list)


def _own_data(data, task):
    """Check the learner's ``data=(X, y)``: X (N, 2) real and finite; y (N,) integer class
    labels 0..K-1 (every class present, 2 <= K <= 10) or real finite targets. Returns private
    float64/int64 copies and the task ("classification" or "regression")."""
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise TypeError(f"data: expected a pair (X, y) of arrays, got {type(data).__name__}"
                        + (f" of length {len(data)}" if isinstance(data, (tuple, list)) else ""))
    X = as_real_array(data[0], "data X", shape=(None, 2)).copy()
    y = as_array(data[1], "data y")
    if y.ndim != 1 or len(y) != len(X):
        raise ValueError(f"data y: expected shape ({len(X)},), one target per row of X, got {y.shape}")
    kind = y.dtype.kind
    if kind not in "iuf":
        raise TypeError(f"data y: expected integer class labels or real-valued targets, got dtype "
                        f"{y.dtype}")
    if task == "auto":
        task = "regression" if kind == "f" else "classification"
    if task == "regression":
        return X, as_real_array(y, "data y").copy(), task
    if kind == "f":
        as_float_array(y, "data y")  # finite
        if not np.all(y == np.round(y)):
            raise ValueError("data y: expected whole-number class labels for classification, got "
                             f"fractional values such as {y[y != np.round(y)][0]!r}")
    if y.min() < 0:
        raise ValueError(f"data y: expected class labels 0, 1, ..., got {y.min()}")
    y = y.astype(np.int64)
    classes = np.unique(y)
    if len(classes) < 2 or len(classes) > MAX_CLASSES or classes[-1] != len(classes) - 1:
        raise ValueError(f"data y: expected class labels 0..K-1 with every class present and "
                         f"2 <= K <= {MAX_CLASSES}, got labels {classes.tolist()[:12]}")
    return X, y, task


class Playground:
    """A 2-D classification or regression run.

    ``Playground(dataset="moons", hidden=(8,), lr=0.1)``; the settings are those of
    ``PlaygroundConfig``. ``Playground(data=(X, y))`` trains on the learner's own points:
    X (N, 2), y (N,) integer labels (classification) or real targets (regression).
    """

    def __init__(self, data=None, **config):
        _check_setting_names(config)
        if data is not None:
            config.setdefault("dataset", "custom")
        self._data = None
        self._apply(PlaygroundConfig(**config), data)

    def configure(self, data=None, **changes):
        """Change settings and start over; ``data=(X, y)`` replaces the learner's data (and
        sets dataset="custom"). A setting that fails leaves the playground as it was."""
        _check_setting_names(changes)
        if data is not None:
            changes.setdefault("dataset", "custom")
        self._apply(replace(self.config, **changes), data)

    def reset(self):
        """Start the run again from epoch 0 with the current settings (the same data and
        initial weights)."""
        self._apply(self.config, None)

    def _apply(self, config, data):
        """Build data, model and optimizer from ``config`` (and new ``data``, or the data
        given before); all or nothing (a failure leaves the previous run in place)."""
        c = config
        if data is not None and c.dataset != "custom":
            raise ValueError(f"data: given together with dataset={c.dataset!r}; expected "
                             f"dataset='custom' (or no dataset) with your own data")
        own = self._data
        if data is not None:
            X, y, _ = _own_data(data, c.task)               # checked before it is stored
            own = (X, np.array(data[1]).copy())
        data_rng = np.random.default_rng(c.data_seed)   # the points and the split
        if c.dataset == "custom":
            if own is None:
                raise ValueError("dataset: 'custom' needs your data: Playground(data=(X, y))")
            X, y, task = _own_data(own, c.task)
        else:
            make = TOY_DATASETS.get(c.dataset) or REGRESSION_DATASETS[c.dataset]
            X, y = make(c.n_samples, rng=data_rng, **({} if c.dataset == "blobs" else {"noise": c.noise}))
            task = "regression" if c.dataset in REGRESSION_DATASETS else "classification"
        train_data, val_data, _ = train_val_test_split(X, y, val=c.val_fraction, test=0.0, rng=data_rng)
        rng = np.random.default_rng(c.weight_seed)      # weights, mini-batch order, dropout masks
        n_outputs = int(y.max()) + 1 if task == "classification" else 1
        layers, width = [], len(c.features)
        for h in c.hidden:
            layers += [Linear(width, h, rng=rng), ACTIVATIONS[c.activation]()]
            if c.dropout:
                layers.append(Dropout(c.dropout, rng=rng))
            width = h
        layers.append(Linear(width, n_outputs, rng=rng))
        model = Sequential(*layers)
        optimizer = OPTIMIZERS[c.optimizer](model.parameters(), c.lr)
        penalty = {"none": None, "l1": L1Penalty, "l2": L2Penalty}[c.regularization]
        # nothing above changed the playground; from here on nothing can fail
        self.config, self._data, self.task = c, own, task
        self.train_data, self.val_data = train_data, val_data
        self.n_classes = n_outputs if task == "classification" else None
        self.model, self.optimizer = model, optimizer
        self.penalty = penalty(c.reg_rate) if penalty is not None and c.reg_rate > 0 else None
        self.loss_fn = CrossEntropyLoss() if task == "classification" else MSELoss()
        self.history = PlaygroundHistory()
        self.epoch = 0
        self._rng = rng

    def features_of(self, points):
        """The network's inputs at ``points``: (N, 2) coordinates -> (N, F), one column per
        name in ``config.features``, in that order."""
        points = as_float_array(as_array(points, "points"), "points", shape=(None, 2))
        return np.column_stack([FEATURES[name](points) for name in self.config.features])

    def predict(self, points):
        """The network's output at ``points`` (N, 2), in evaluation mode: (N, C) class scores
        for classification, (N,) predicted values for regression."""
        out = predict(self.model, self.features_of(points))
        return out[:, 0] if self.task == "regression" else out

    def step(self, epochs=1):
        """Train for ``epochs`` passes over the training set (an int, 1 <= epochs <= MAX_EPOCHS
        per call); record losses (and accuracies, for classification)."""
        epochs = check_int(epochs, "epochs", low=1, high=MAX_EPOCHS)
        undo = self._checkpoint()
        try:
            self._train(epochs)
        except BaseException:  # a failed or interrupted step leaves the run as it was
            undo()
            raise
        return self

    def _checkpoint(self):
        """Record what ``step`` changes (weights in place, gradients, optimizer state, layer
        attributes such as caches, the generator, epoch count and history); return a function
        that puts it all back."""
        params = [(p, p.data.copy(), p._grad) for p in self.model.parameters()]
        modules = [(m, dict(vars(m))) for m in self.model.modules()]
        opt = self.optimizer
        states, opt_steps = [dict(state) for state in opt.state], opt.steps
        rng_state = self._rng.bit_generator.state
        epoch, lengths = self.epoch, {k: len(v) for k, v in vars(self.history).items()}

        def undo():
            for p, data, grad in params:
                p.data[...] = data
                p._grad = grad
            for m, attributes in modules:
                vars(m).clear()
                vars(m).update(attributes)
            for state, saved in zip(opt.state, states):
                state.clear()
                state.update(saved)
            opt.steps = opt_steps
            self._rng.bit_generator.state = rng_state
            self.epoch = epoch
            for k, n in lengths.items():
                del getattr(self.history, k)[n:]
        return undo

    def _targets(self, y):
        return y[:, None] if self.task == "regression" else y

    def _train(self, epochs):
        penalized = weights_only(self.model)
        inputs = {split: (self.features_of(X), self._targets(y))
                  for split, (X, y) in (("train", self.train_data), ("val", self.val_data))}
        both, n_train = np.concatenate([inputs["train"][0], inputs["val"][0]]), len(inputs["train"][0])
        l1 = isinstance(self.penalty, L1Penalty)
        for _ in range(epochs):
            self.model.train()
            for xb, yb in iterate_minibatches(*inputs["train"], self.config.batch_size, rng=self._rng):
                self.optimizer.zero_grad()
                self.loss_fn(self.model(xb), yb)
                self.model.backward_params(self.loss_fn.backward())
                if self.penalty is not None and not l1:
                    self.penalty.backward(penalized)
                self.optimizer.step()
                if l1:  # a proximal step: weights that would cross zero stop at exactly zero
                    self.penalty.proximal_step(penalized, self.config.lr)
            self.epoch += 1
            scores = predict(self.model, both)          # one pass over both splits
            for split, part in (("train", scores[:n_train]), ("val", scores[n_train:])):
                y = inputs[split][1]
                getattr(self.history, f"{split}_loss").append(self.loss_fn(part, y))
                if self.task == "classification":
                    getattr(self.history, f"{split}_acc").append(accuracy(part, y))

    def accuracy(self, split="train"):
        """Accuracy of the current model on the ``"train"`` or ``"val"`` split
        (classification only)."""
        splits = {"train": self.train_data, "val": self.val_data}
        if not isinstance(split, str) or split not in splits:
            raise ValueError(f"split: expected 'train' or 'val', got {split!r}")
        if self.task != "classification":
            raise ValueError("accuracy: expected a classification task, got a regression task; "
                             "use loss(split), the mean squared error")
        X, y = splits[split]
        return accuracy(self.predict(X), y)

    def loss(self, split="train"):
        """The loss of the current model on the ``"train"`` or ``"val"`` split (cross-entropy,
        or mean squared error for regression), without the regularization penalty."""
        splits = {"train": self.train_data, "val": self.val_data}
        if not isinstance(split, str) or split not in splits:
            raise ValueError(f"split: expected 'train' or 'val', got {split!r}")
        X, y = splits[split]
        return self.loss_fn(predict(self.model, self.features_of(X)), self._targets(y))

    def weights(self):
        """The weight matrices, first layer first: a list of (fan_out, fan_in) arrays (copies)."""
        return [p.data.copy() for p in weights_only(self.model)]

    def grid(self, resolution=100, margin=0.3):
        """A (resolution^2, 2) grid covering the data (plus ``margin`` >= 0 on every side), with
        its mesh arrays (xx, yy); resolution >= 2."""
        resolution = check_int(resolution, "resolution", low=2)
        margin = check_number(margin, "margin", low=0)
        check_allocation((4, resolution, resolution), np.float64, "Playground.grid")
        X = np.concatenate([self.train_data[0], self.val_data[0]])
        with np.errstate(over="ignore"):
            lo, hi = X.min(axis=0) - margin, X.max(axis=0) + margin
            width = hi - lo
        if not np.all(np.isfinite(width)):
            raise ValueError(f"margin: {margin:g} makes the grid's limits overflow to inf")
        xx, yy = np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))
        return np.c_[xx.ravel(), yy.ravel()], xx, yy

    def hidden_outputs(self, points, layer=0):
        """Activations of hidden layer ``layer`` (0 = first) at ``points``: (N, 2) float ->
        (N, width)."""
        if isinstance(layer, (bool, np.bool_)) or not isinstance(layer, numbers.Integral):
            raise TypeError(f"layer: expected an integer, got {layer!r}")
        if not self.config.hidden:
            raise ValueError(f"layer: the network has no hidden layer (hidden=()), got layer {layer}")
        if not 0 <= layer < len(self.config.hidden):
            raise ValueError(f"layer: expected 0..{len(self.config.hidden) - 1}, got {layer}")
        inputs = self.features_of(points)
        hidden_ends = [i + 1 for i, module in enumerate(self.model)
                       if isinstance(module, tuple(ACTIVATIONS.values()))]
        return predict(self.model[:hidden_ends[layer]], inputs)  # evaluation mode: dropout off

    def draw(self, fig=None, resolution=80, max_units=8):
        """Decision regions (regression: the predicted value surface) with the data, loss
        curves, and the first ``max_units`` units of the first hidden layer (every unit of
        every layer: ``draw_network``)."""
        import matplotlib.pyplot as plt

        max_units = check_int(max_units, "max_units", low=1)
        check_int(resolution, "resolution", low=2)  # before the figure is cleared
        if fig is None:
            fig = plt.figure(figsize=(11, 6.2))
        fig.clear()
        units = min(self.config.hidden[0], max_units) if self.config.hidden else 0
        grid = fig.add_gridspec(3, max(units, 4), height_ratios=[3, 3, 1.6 if units else 0.01])
        ax_data = fig.add_subplot(grid[:2, : max(units, 4) // 2])
        ax_loss = fig.add_subplot(grid[:2, max(units, 4) // 2:])
        points, xx, yy = self.grid(resolution)
        self._draw_output(ax_data, points, xx, yy)
        epochs = np.arange(1, self.epoch + 1)
        ax_loss.plot(epochs, self.history.train_loss, label="train loss")
        ax_loss.plot(epochs, self.history.val_loss, label="validation loss")
        ax_loss.set_xlabel("epoch")
        ax_loss.set_ylabel("cross-entropy" if self.task == "classification" else "mean squared error")
        ax_loss.legend(loc="upper right")
        ax_loss.set_title("loss curves", fontsize=10)
        hidden = self.hidden_outputs(points, 0) if units else None
        for u in range(units):
            ax = fig.add_subplot(grid[2, u])
            ax.contourf(xx, yy, hidden[:, u].reshape(xx.shape), levels=12, cmap="viridis")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"unit {u + 1}", fontsize=8)
        fig.tight_layout()
        return fig

    def draw_output(self, ax=None, resolution=120, boundary=True, unit_lines=False, title=None):
        """The network's output over the plane: the class-1 probability (two classes), the
        predicted class (more), or the predicted value (regression), with the training points
        as circles and the validation points as triangles. ``boundary`` draws the decision
        boundary (probability 0.5, two classes only) in black; ``unit_lines`` draws, dashed,
        where each first-layer unit's weighted sum is zero; ``title`` replaces the default
        title (epoch, accuracies or MSE). Returns the Axes."""
        import matplotlib.pyplot as plt

        resolution = check_int(resolution, "resolution", low=2)
        if ax is None:
            _, ax = plt.subplots(figsize=(5, 4.5))
        points, xx, yy = self.grid(resolution)
        self._draw_output(ax, points, xx, yy, levels=np.linspace(0, 1, 11))
        if boundary and self.n_classes == 2:
            p1 = _softmax_rows(self.predict(points))[:, 1].reshape(xx.shape)
            if p1.min() < 0.5 < p1.max():
                ax.contour(xx, yy, p1, levels=[0.5], colors="k", linewidths=1.5)
        if unit_lines and self.config.hidden:
            first = self.model[0]
            z = self.features_of(points) @ first.weight.data.T + first.bias.data
            for u in range(z.shape[1]):
                if z[:, u].min() < 0 < z[:, u].max():
                    ax.contour(xx, yy, z[:, u].reshape(xx.shape), levels=[0], colors="0.25",
                               linewidths=1, linestyles="--")
        ax.set_xlim(xx.min(), xx.max())
        ax.set_ylim(yy.min(), yy.max())
        if title is not None:
            ax.set_title(title, fontsize=10)
        return ax

    def _draw_output(self, ax, points, xx, yy, levels=20):
        """The output panel of ``draw`` and ``draw_output``: (N, 2) grid points and their
        (resolution, resolution) mesh arrays."""
        import matplotlib.pyplot as plt

        out = self.predict(points)
        if self.task == "regression":
            y_all = np.concatenate([self.train_data[1], self.val_data[1]])
            vmax = max(float(np.max(np.abs(y_all))), float(np.max(np.abs(out))), 1e-12)
            cmap, vmin = plt.get_cmap("coolwarm"), -vmax
            ax.contourf(xx, yy, out.reshape(xx.shape), levels=np.linspace(-vmax, vmax, 21), cmap=cmap,
                        alpha=0.6)
            title = (f"epoch {self.epoch}: train MSE {self._last('train_loss')}, "
                     f"val MSE {self._last('val_loss')}")
        else:
            probs = _softmax_rows(out)
            cmap = plt.get_cmap("coolwarm" if self.n_classes == 2 else "tab10")
            if self.n_classes == 2:
                ax.contourf(xx, yy, probs[:, 1].reshape(xx.shape), levels=levels, cmap=cmap, alpha=0.6,
                            vmin=0, vmax=1)
            else:
                ax.contourf(xx, yy, probs.argmax(axis=1).reshape(xx.shape), alpha=0.35, cmap=cmap,
                            levels=np.arange(self.n_classes + 1) - 0.5, vmin=0, vmax=9)
            vmin, vmax = 0, (1 if self.n_classes == 2 else 9)
            title = (f"epoch {self.epoch}: train acc {self._last('train_acc')}, "
                     f"val acc {self._last('val_acc')}")
        for (X, y), marker in ((self.train_data, "o"), (self.val_data, "^")):
            ax.scatter(X[:, 0], X[:, 1], c=y, cmap=cmap, marker=marker, s=14, edgecolors="k",
                       linewidths=0.4, vmin=vmin, vmax=vmax)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("$x_1$")
        ax.set_ylabel("$x_2$")
        ax.tick_params(labelsize=7)

    def draw_network(self, ax=None, resolution=20):
        """The whole network, as TensorFlow Playground draws it: one column per layer (the
        input features, every hidden layer, the output), every neuron as a small picture of
        its output over the plane, and every weight as an edge, coloured by its sign (red
        positive, blue negative) with a width proportional to its size (a weight of exactly
        zero draws no edge). Wide layers are drawn in full: each column has the same height, so
        the pictures of a layer wider than four units shrink to fit it (a 64-unit layer becomes
        a column of small squares) while narrower layers keep theirs. Returns the Axes."""
        import matplotlib.pyplot as plt
        from matplotlib.collections import LineCollection

        resolution = check_int(resolution, "resolution", low=2)
        if ax is None:
            _, ax = plt.subplots(figsize=(11, 5))
        points, xx, yy = self.grid(resolution, margin=0.0)
        columns = [self.features_of(points)]
        columns += [self.hidden_outputs(points, k) for k in range(len(self.config.hidden))]
        out = predict(self.model, columns[0])
        columns.append(out if self.task == "regression" else _softmax_rows(out))
        names = (["features"] + [f"layer {k + 1}: {w} units" for k, w in enumerate(self.config.hidden)]
                 + ["output" if self.task == "regression" else "output: class probabilities"])
        # each column is 1 high; a neuron's picture is 0.8 of its share, so a wide layer is
        # drawn in full with small pictures while the narrow ones keep theirs readable
        sizes = [0.8 / max(col.shape[1], 4) for col in columns]
        gap = 0.5                                        # horizontal distance between columns
        centres = [(np.arange(col.shape[1])[::-1] - (col.shape[1] - 1) / 2) / max(col.shape[1], 4)
                   for col in columns]
        weights = self.weights()
        biggest = max(float(np.max(np.abs(W))) for W in weights) or 1.0
        for i, W in enumerate(weights):                  # W: (fan_out, fan_in)
            x0, x1 = i * gap + sizes[i] / 2, (i + 1) * gap - sizes[i + 1] / 2
            src, dst = np.meshgrid(centres[i], centres[i + 1])
            segments = np.stack([np.stack([np.full(W.size, x0), src.ravel()], axis=1),
                                 np.stack([np.full(W.size, x1), dst.ravel()], axis=1)], axis=1)
            alpha = 0.7 if W.size <= 300 else 0.35       # many edges: lighter, so they stay readable
            colours = np.where(W.ravel()[:, None] > 0, [[0.84, 0.15, 0.16, alpha]],
                               [[0.12, 0.47, 0.71, alpha]])
            ax.add_collection(LineCollection(segments, colors=colours,
                                             linewidths=3.0 * np.abs(W.ravel()) / biggest))
        for i, (col, ys, size) in enumerate(zip(columns, centres, sizes)):
            x = i * gap
            if i == len(columns) - 1 and self.task == "classification":
                lo, hi = 0.0, 1.0
            else:
                hi = max(float(np.max(np.abs(col))), 1e-12)
                lo = -hi
            for u, y in enumerate(ys):
                ax.imshow(col[:, u].reshape(xx.shape), origin="lower", cmap="coolwarm", vmin=lo, vmax=hi,
                          extent=(x - size / 2, x + size / 2, y - size / 2, y + size / 2),
                          interpolation="nearest", zorder=2)
                if i == 0:
                    ax.text(x - size / 2 - 0.02, y, self.config.features[u], ha="right", va="center",
                            fontsize=8)
            ax.text(x, 0.5 + 0.02, names[i], ha="center", va="bottom", fontsize=8)
        ax.set_xlim(-0.3, (len(columns) - 1) * gap + 0.2)
        ax.set_ylim(-0.55, 0.62)
        ax.set_aspect("equal")
        ax.axis("off")
        ax.set_title(f"the network at epoch {self.epoch}: edges red for a positive weight, blue for a "
                     f"negative one, width in proportion to |w|", fontsize=9)
        return ax

    def _last(self, name):
        values = getattr(self.history, name)
        return f"{values[-1]:.3f}" if values else "-"

    def widget(self):
        """The interactive playground: controls, Step / Play buttons, the epoch counter, the
        network and the live figure."""
        import ipywidgets as w

        from .explorers._figure import new_figure, show

        c = self.config
        datasets = [d for d in DATASETS if d != "custom" or self._data is not None]
        controls = {
            "dataset": w.Dropdown(options=datasets, value=c.dataset, description="data"),
            "noise": w.FloatSlider(value=c.noise, min=0.0, max=0.5, step=0.02, description="noise"),
            "val_fraction": w.FloatSlider(value=c.val_fraction, min=0.1, max=0.9, step=0.05,
                                          description="validation"),
            "data_seed": w.BoundedIntText(value=c.data_seed, min=0, max=2**31 - 1,
                                          description="data seed"),
            "features": w.SelectMultiple(options=list(FEATURES), value=c.features, rows=len(FEATURES),
                                         description="features"),
            "hidden": w.Text(value=",".join(map(str, c.hidden)), description="hidden",
                             continuous_update=False),
            "activation": w.Dropdown(options=sorted(ACTIVATIONS), value=c.activation,
                                     description="activation"),
            "optimizer": w.Dropdown(options=sorted(OPTIMIZERS), value=c.optimizer, description="optimizer"),
            "lr": w.FloatLogSlider(value=c.lr, base=10, min=-3, max=0, description="lr"),
            "batch_size": w.BoundedIntText(value=c.batch_size, min=1, max=4096, description="batch size"),
            "regularization": w.Dropdown(options=list(REGULARIZATIONS), value=c.regularization,
                                         description="regularize"),
            "reg_rate": w.FloatLogSlider(value=max(c.reg_rate, 1e-5), base=10, min=-5, max=-1,
                                         description="reg. rate"),
            "dropout": w.FloatSlider(value=c.dropout, min=0.0, max=0.6, step=0.05, description="dropout"),
            "weight_seed": w.BoundedIntText(value=c.weight_seed, min=0, max=2**31 - 1,
                                            description="weight seed"),
        }
        step_button = w.Button(description="step 10 epochs")
        reset_button = w.Button(description="reset")
        play = w.Play(value=0, min=0, max=10_000, interval=300, description="train")
        image = w.Image(format="png")  # not an Output widget: see explorers/_figure.py
        network_image = w.Image(format="png")
        status = w.HTML()
        epoch_label = w.Label(value="epoch 0")   # the run's progress, next to the buttons
        epoch_label.add_class("course-nn-epoch")
        fig, net_fig = new_figure((11, 6.2)), new_figure((11, 4.5))

        def redraw():
            self.draw(fig)
            show(image, fig)
            net_fig.clear()
            self.draw_network(net_fig.add_subplot(1, 1, 1))
            show(network_image, net_fig)
            epoch_label.value = f"epoch {self.epoch}"

        def apply(_=None):
            try:
                values = {name: control.value for name, control in controls.items()}
                values["hidden"] = _parse_widths(values["hidden"])
                values["features"] = tuple(values["features"])
                self.configure(**values)
            except (TypeError, ValueError) as error:  # e.g. hidden "16,a": keep the last run, say why
                status.value = f"<b>Not applied:</b> {html.escape(str(error))}"
                return
            status.value = ""
            redraw()

        for control in controls.values():
            control.observe(apply, names="value")
        reset_button.on_click(apply)
        step_button.on_click(lambda _: (self.step(10), redraw()))
        play.observe(lambda change: (self.step(1), redraw()), names="value")
        redraw()
        column = list(controls.values())
        panel = w.VBox([w.HBox([play, step_button, reset_button, epoch_label]),
                        w.HBox([w.VBox(column[:5]), w.VBox(column[5:10]), w.VBox(column[10:])]),
                        status, network_image, image])
        panel.playground = self
        panel.controls = controls
        return panel

    def __repr__(self):
        settings = asdict(self.config)
        if self.config.dataset == "custom":
            del settings["n_samples"], settings["noise"]
            return (f"Playground(data=<{len(self.train_data[0]) + len(self.val_data[0])} points>, "
                    + ", ".join(f"{k}={v!r}" for k, v in settings.items()) + ")")
        return f"Playground({', '.join(f'{k}={v!r}' for k, v in settings.items())})"


def _parse_widths(text):
    """'16, 8' -> (16, 8): the widget's hidden-layer field."""
    try:
        return tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise ValueError(f"hidden: expected comma-separated layer widths such as 16,16, got {text!r}") \
            from None


def _softmax_rows(scores):
    return activations.softmax(scores, axis=1)
