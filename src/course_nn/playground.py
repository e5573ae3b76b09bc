"""A neural-network playground on 2-D datasets, in the spirit of TensorFlow Playground.

``Playground`` holds everything a run needs (data, model, optimizer, history) and trains it
one epoch at a time; ``draw`` renders the decision boundary, the loss curves and what each
first-layer hidden unit computes; ``widget()`` wraps both in ipywidgets controls. The class
works without a browser, so tests drive it exactly as the widget does.
"""

import html
import numbers
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from . import activations, optim
from ._validate import (
    as_array,
    as_float_array,
    check_allocation,
    check_int,
    check_number,
    check_positive_int,
)
from .data import TOY_DATASETS, iterate_minibatches, train_val_test_split
from .dropout import Dropout
from .linear import Linear
from .losses import CrossEntropyLoss
from .module import Sequential
from .regularization import L2Penalty, weights_only
from .train import accuracy, predict

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


MAX_EPOCHS = 10_000
"""Most epochs per ``Playground.step`` call: about a minute at the default settings."""


@dataclass(frozen=True)
class PlaygroundConfig:
    """Every choice the learner makes. ``hidden`` lists the widths of the hidden layers (stored
    as a tuple of ints). ``noise`` is not used by the "blobs" dataset (its spread is fixed).

    Two seeds, drawn from independent generators: ``data_seed`` draws the points and the
    training/validation split; ``seed`` draws the initial weights, the order of the mini-batches
    and the dropout masks. Changing one leaves what the other draws unchanged."""

    dataset: str = "spirals"
    n_samples: int = 400
    noise: float = 0.1
    hidden: tuple = (16, 16)
    activation: str = "tanh"
    optimizer: str = "adam"
    lr: float = 0.03
    l2: float = 0.0
    dropout: float = 0.0
    batch_size: int = 32
    val_fraction: float = 0.25
    seed: int = 0
    data_seed: int = 0

    def __post_init__(self):
        for name, table in (("dataset", TOY_DATASETS), ("activation", ACTIVATIONS),
                            ("optimizer", OPTIMIZERS)):
            value = getattr(self, name)
            if not isinstance(value, str) or value not in table:
                raise ValueError(f"{name}: expected one of {sorted(table)}, got {value!r}")
        hidden = self.hidden
        if (not isinstance(hidden, (tuple, list)) or not hidden
                or any(isinstance(w, (bool, np.bool_)) or not isinstance(w, numbers.Integral) or w < 1
                       for w in hidden)):
            raise ValueError(f"hidden: expected one or more positive layer widths, got {hidden!r}")
        object.__setattr__(self, "hidden", tuple(int(w) for w in hidden))
        for fan_in, fan_out in zip((2,) + self.hidden, self.hidden):
            check_allocation((fan_in, fan_out), np.float64, "hidden")
        check_positive_int(self.n_samples, "n_samples")
        check_positive_int(self.batch_size, "batch_size")
        check_number(self.noise, "noise", low=0)
        check_number(self.lr, "lr", low=0, low_open=True)
        check_number(self.l2, "l2", low=0)
        check_number(self.dropout, "dropout", low=0, high=1, high_open=True)
        check_number(self.val_fraction, "val_fraction", low=0, high=1, low_open=True, high_open=True)
        for name in ("seed", "data_seed"):
            value = getattr(self, name)
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 0:
                raise ValueError(f"{name}: expected a non-negative integer, got {value!r}")


@dataclass
class PlaygroundHistory:
    train_loss: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    train_acc: list = field(default_factory=list)
    val_acc: list = field(default_factory=list)


class Playground:
    """A 2-D classification run. ``Playground(dataset="moons", hidden=(8,), lr=0.1)``."""

    def __init__(self, **config):
        self.config = PlaygroundConfig(**config)
        self.reset()

    def configure(self, **changes):
        """Change settings and start over (new data only if the data settings changed). A
        setting that fails leaves the playground as it was."""
        old = self.config
        self.config = replace(old, **changes)
        try:
            self.reset()
        except Exception:
            self.config = old
            raise

    def reset(self):
        """Build data, model and optimizer from the config; all or nothing (a failure leaves
        the previous run in place)."""
        c = self.config
        data_rng = np.random.default_rng(c.data_seed)   # the points and the split
        make = TOY_DATASETS[c.dataset]
        kwargs = {} if c.dataset == "blobs" else {"noise": c.noise}
        X, y = make(c.n_samples, rng=data_rng, **kwargs)
        train_data, val_data, _ = train_val_test_split(X, y, val=c.val_fraction, test=0.0, rng=data_rng)
        rng = np.random.default_rng(c.seed)             # weights, mini-batch order, dropout masks
        n_classes = int(y.max()) + 1
        layers, width = [], 2
        for h in c.hidden:
            layers += [Linear(width, h, rng=rng), ACTIVATIONS[c.activation]()]
            if c.dropout:
                layers.append(Dropout(c.dropout, rng=rng))
            width = h
        layers.append(Linear(width, n_classes, rng=rng))
        model = Sequential(*layers)
        optimizer = OPTIMIZERS[c.optimizer](model.parameters(), c.lr)
        self.train_data, self.val_data, self.n_classes = train_data, val_data, n_classes
        self.model, self.optimizer = model, optimizer
        self.penalty = L2Penalty(c.l2) if c.l2 else None
        self.loss_fn = CrossEntropyLoss()
        self.history = PlaygroundHistory()
        self.epoch = 0
        self._rng = rng

    def step(self, epochs=1):
        """Train for ``epochs`` passes over the training set (an int, 1 <= epochs <= MAX_EPOCHS
        per call); record losses and accuracies."""
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

    def _train(self, epochs):
        penalized = weights_only(self.model)
        for _ in range(epochs):
            self.model.train()
            for xb, yb in iterate_minibatches(*self.train_data, self.config.batch_size, rng=self._rng):
                self.optimizer.zero_grad()
                self.loss_fn(self.model(xb), yb)
                self.model.backward_params(self.loss_fn.backward())
                if self.penalty is not None:
                    self.penalty.backward(penalized)
                self.optimizer.step()
            self.epoch += 1
            for split, (X, y) in (("train", self.train_data), ("val", self.val_data)):
                scores = predict(self.model, X)
                getattr(self.history, f"{split}_loss").append(self.loss_fn(scores, y))
                getattr(self.history, f"{split}_acc").append(accuracy(scores, y))

    def accuracy(self, split="train"):
        """Accuracy of the current model on the ``"train"`` or ``"val"`` split."""
        splits = {"train": self.train_data, "val": self.val_data}
        if not isinstance(split, str) or split not in splits:
            raise ValueError(f"split: expected 'train' or 'val', got {split!r}")
        X, y = splits[split]
        return accuracy(predict(self.model, X), y)

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
        if not 0 <= layer < len(self.config.hidden):
            raise ValueError(f"layer: expected 0..{len(self.config.hidden) - 1}, got {layer}")
        points = as_float_array(as_array(points, "points"), "points", shape=(None, 2))
        hidden_ends = [i + 1 for i, module in enumerate(self.model)
                       if isinstance(module, tuple(ACTIVATIONS.values()))]
        return predict(self.model[:hidden_ends[layer]], points)  # evaluation mode: dropout off

    def draw(self, fig=None, resolution=80, max_units=8):
        """Decision regions with the data, loss curves, and the first hidden layer's units."""
        import matplotlib.pyplot as plt

        max_units = check_int(max_units, "max_units", low=1)
        check_int(resolution, "resolution", low=2)  # before the figure is cleared
        if fig is None:
            fig = plt.figure(figsize=(11, 6.2))
        fig.clear()
        units = min(self.config.hidden[0], max_units)
        grid = fig.add_gridspec(3, max(units, 4), height_ratios=[3, 3, 1.6])
        ax_data = fig.add_subplot(grid[:2, : max(units, 4) // 2])
        ax_loss = fig.add_subplot(grid[:2, max(units, 4) // 2:])
        points, xx, yy = self.grid(resolution)
        probs = _softmax_rows(predict(self.model, points))
        cmap = plt.get_cmap("coolwarm" if self.n_classes == 2 else "tab10")
        if self.n_classes == 2:
            ax_data.contourf(xx, yy, probs[:, 1].reshape(xx.shape), levels=20, cmap=cmap, alpha=0.6,
                             vmin=0, vmax=1)
        else:
            ax_data.contourf(xx, yy, probs.argmax(axis=1).reshape(xx.shape), alpha=0.35, cmap=cmap,
                             levels=np.arange(self.n_classes + 1) - 0.5, vmin=0, vmax=9)
        vmax = 1 if self.n_classes == 2 else 9
        for (X, y), marker in ((self.train_data, "o"), (self.val_data, "^")):
            ax_data.scatter(X[:, 0], X[:, 1], c=y, cmap=cmap, marker=marker, s=14, edgecolors="k",
                            linewidths=0.4, vmin=0, vmax=vmax)
        ax_data.set_title(f"epoch {self.epoch}: train acc {self._last('train_acc')}, "
                          f"val acc {self._last('val_acc')}", fontsize=10)
        ax_data.set_xlabel("$x_1$")
        ax_data.set_ylabel("$x_2$")
        ax_data.tick_params(labelsize=7)
        epochs = np.arange(1, self.epoch + 1)
        ax_loss.plot(epochs, self.history.train_loss, label="train loss")
        ax_loss.plot(epochs, self.history.val_loss, label="validation loss")
        ax_loss.set_xlabel("epoch")
        ax_loss.set_ylabel("cross-entropy")
        ax_loss.legend(loc="upper right")
        ax_loss.set_title("loss curves", fontsize=10)
        hidden = self.hidden_outputs(points, 0)
        for u in range(units):
            ax = fig.add_subplot(grid[2, u])
            ax.contourf(xx, yy, hidden[:, u].reshape(xx.shape), levels=12, cmap="viridis")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"unit {u + 1}", fontsize=8)
        fig.tight_layout()
        return fig

    def _last(self, name):
        values = getattr(self.history, name)
        return f"{values[-1]:.3f}" if values else "-"

    def widget(self):
        """The interactive playground: controls, Step / Play buttons and the live figure."""
        import ipywidgets as w

        from .explorers._figure import new_figure, png

        c = self.config
        controls = {
            "dataset": w.Dropdown(options=sorted(TOY_DATASETS), value=c.dataset, description="data"),
            "noise": w.FloatSlider(value=c.noise, min=0.0, max=0.5, step=0.02, description="noise"),
            "data_seed": w.BoundedIntText(value=c.data_seed, min=0, max=2**31 - 1,
                                          description="data seed"),
            "hidden": w.Text(value=",".join(map(str, c.hidden)), description="hidden",
                             continuous_update=False),
            "activation": w.Dropdown(options=sorted(ACTIVATIONS), value=c.activation,
                                     description="activation"),
            "optimizer": w.Dropdown(options=sorted(OPTIMIZERS), value=c.optimizer, description="optimizer"),
            "lr": w.FloatLogSlider(value=c.lr, base=10, min=-3, max=0, description="lr"),
            "l2": w.FloatLogSlider(value=max(c.l2, 1e-5), base=10, min=-5, max=-1, description="L2"),
            "dropout": w.FloatSlider(value=c.dropout, min=0.0, max=0.6, step=0.05, description="dropout"),
            "seed": w.BoundedIntText(value=c.seed, min=0, max=2**31 - 1, description="train seed"),
        }
        use_l2 = w.Checkbox(value=c.l2 > 0, description="use L2")
        step_button = w.Button(description="step 10 epochs")
        reset_button = w.Button(description="reset")
        play = w.Play(value=0, min=0, max=10_000, interval=300, description="train")
        image = w.Image(format="png")  # not an Output widget: see explorers/_figure.py
        status = w.HTML()
        fig = new_figure((11, 6.2))

        def redraw():
            self.draw(fig)
            image.value = png(fig)

        def apply(_=None):
            try:
                hidden = _parse_widths(controls["hidden"].value)
                self.configure(dataset=controls["dataset"].value, noise=controls["noise"].value,
                               hidden=hidden, activation=controls["activation"].value,
                               optimizer=controls["optimizer"].value, lr=controls["lr"].value,
                               l2=controls["l2"].value if use_l2.value else 0.0,
                               dropout=controls["dropout"].value, seed=controls["seed"].value,
                               data_seed=controls["data_seed"].value)
            except ValueError as error:  # e.g. hidden "16,a": keep the last valid run, say why
                status.value = f"<b>Not applied:</b> {html.escape(str(error))}"
                return
            status.value = ""
            redraw()

        for control in list(controls.values()) + [use_l2]:
            control.observe(apply, names="value")
        reset_button.on_click(apply)
        step_button.on_click(lambda _: (self.step(10), redraw()))
        play.observe(lambda change: (self.step(1), redraw()), names="value")
        redraw()
        panel = w.VBox([w.HBox([play, step_button, reset_button]),
                        w.HBox([w.VBox(list(controls.values())[:5]),
                                w.VBox(list(controls.values())[5:] + [use_l2])]), status, image])
        panel.playground = self
        panel.controls = controls
        return panel

    def __repr__(self):
        return f"Playground({', '.join(f'{k}={v!r}' for k, v in asdict(self.config).items())})"


def _parse_widths(text):
    """'16, 8' -> (16, 8): the widget's hidden-layer field."""
    try:
        return tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise ValueError(f"hidden: expected comma-separated layer widths such as 16,16, got {text!r}") \
            from None


def _softmax_rows(scores):
    return activations.softmax(scores, axis=1)
