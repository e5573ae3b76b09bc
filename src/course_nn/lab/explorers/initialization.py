"""Chapter 10 explorer: how the initial weights of a deep network shape its activations and
gradients, layer by layer.

A stack of ``depth`` dense layers of ``width`` units, each followed by an activation, is built
with one initialization scheme (biases zero); a batch of standard-normal inputs is pushed
through it, and a fixed random upstream gradient is pushed back with ``Module.backward``.
``init_state`` returns what that produced (per-layer activation mean and standard deviation,
per-layer gradient norms, a sample of every layer's activations for histograms);
``draw_init_state`` draws it on a ``matplotlib.figure.Figure``. Both are plain functions,
tested without a browser; ``init_explorer`` only wires dropdowns and sliders to them and
shows the figure as a PNG in an ipywidgets ``Image`` (no interactive backend needed).

    from course_nn.lab.explorers.initialization import init_explorer
    init_explorer()          # in a notebook: scheme, activation, depth and width
"""

import math
from dataclasses import dataclass

import numpy as np

from ... import init
from ..._validate import check_allocation, check_int, check_positive_int
from ...activations import Identity, LeakyReLU, ReLU, Sigmoid, Tanh
from ...linear import Linear
from ...module import Sequential
from ._figure import new_figure, show


@dataclass(frozen=True)
class Scheme:
    """An initialization scheme: its label, ``(shape, rng) -> array``, and its weight std
    for a dense weight with fan_in inputs and fan_out outputs (the formula, for tables)."""

    label: str
    fn: object
    std: object


def _small(shape, rng):
    return init.small_random(shape, rng, scale=0.01)


def _large(shape, rng):
    return init.small_random(shape, rng, scale=1.0)


SCHEMES = {
    "zeros": Scheme("zeros: w = 0", init.zeros, lambda fi, fo: 0.0),
    "small": Scheme("small: 0.01·randn", _small, lambda fi, fo: 0.01),
    "large": Scheme("large: randn (std 1)", _large, lambda fi, fo: 1.0),
    "default": Scheme("PyTorch default U(±1/√n_in)", init.default_uniform,
                      lambda fi, fo: 1.0 / math.sqrt(3.0 * fi)),
    "xavier_uniform": Scheme("Xavier uniform", init.xavier_uniform,
                             lambda fi, fo: math.sqrt(2.0 / (fi + fo))),
    "xavier_normal": Scheme("Xavier normal", init.xavier_normal,
                            lambda fi, fo: math.sqrt(2.0 / (fi + fo))),
    "he_normal": Scheme("He normal", init.he_normal, lambda fi, fo: math.sqrt(2.0 / fi)),
    "he_uniform": Scheme("He uniform", init.he_uniform, lambda fi, fo: math.sqrt(2.0 / fi)),
}
"""Name -> Scheme. ``std(fan_in, fan_out)`` is the standard deviation of one weight."""

ACTIVATIONS = {
    "tanh": Tanh,
    "sigmoid": Sigmoid,
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "identity": Identity,
}
"""Name -> activation Module class."""

BOUNDED = {"tanh": (-1.0, 1.0), "sigmoid": (0.0, 1.0)}
DEPTH_RANGE, WIDTH_RANGE = (1, 30), (16, 1024)   # the explorer's sliders
MAX_PANELS = 50  # histograms in one figure


def _check_choice(value, table, what):
    if not isinstance(value, str) or value not in table:
        raise ValueError(f"{what}: expected one of {sorted(table)}, got {value!r}")
    return value


def resolve_scheme(scheme):
    """A Scheme from its name in SCHEMES, or a Scheme given directly (for one-off variants)."""
    if isinstance(scheme, Scheme):
        return scheme
    return SCHEMES[_check_choice(scheme, SCHEMES, "scheme")]


def deep_network(depth, width, activation="tanh", scheme="xavier_uniform", *, rng,
                 in_features=None):
    """``depth`` blocks Linear(width) -> activation, weights from ``scheme`` (a name in
    SCHEMES or a Scheme), biases zero.

    in_features defaults to ``width``. Returns a Sequential of 2 * depth modules: the Linear
    layers are at even positions, the activations at odd positions.
    """
    depth = check_positive_int(depth, "depth")
    width = check_positive_int(width, "width")
    fn = resolve_scheme(scheme).fn
    act_cls = ACTIVATIONS[_check_choice(activation, ACTIVATIONS, "activation")]
    n_in = width if in_features is None else check_positive_int(in_features, "in_features")
    check_allocation((depth, max(n_in, width), width), np.float64, "deep_network")
    layers = []
    for _ in range(depth):
        layers += [Linear(n_in, width, rng=rng, init=fn), act_cls()]
        n_in = width
    return Sequential(*layers)


def _blocks(model):
    """The (Linear, activation) pairs of a deep_network."""
    if (not isinstance(model, Sequential) or len(model) % 2
            or not all(isinstance(layer, Linear) for layer in model.layers[0::2])):
        raise TypeError(f"model: expected a deep_network (Linear, activation) * depth, got "
                        f"{type(model).__name__}")
    return list(zip(model.layers[0::2], model.layers[1::2]))


def forward_layers(model, x):
    """Run ``model`` (a deep_network) on x: (N, in_features) and return ([pre-activations],
    [activations]), one (N, width) array per block."""
    _blocks(model)
    pre, post = [], []
    for linear, activation in zip(model.layers[0::2], model.layers[1::2]):
        z = linear(x)
        x = activation(z)
        pre.append(z)
        post.append(x)
    return pre, post


def backward_layers(model, grad_out):
    """Backpropagate ``grad_out`` (dL/d last activation) through a deep_network that has just
    run forward (``forward_layers`` or ``model(x)``), one block at a time.

    Returns (weight_grad_norms, input_grad_stds), first block first: the Frobenius norm of
    dL/dW of each Linear layer, and the standard deviation of dL/d(input of each block), the
    "backward signal" that reaches that block. Parameter gradients are zeroed first, so the
    values are this one backward's.
    """
    blocks = _blocks(model)
    model.zero_grad()
    input_grad_stds = []
    g = grad_out
    for linear, activation in reversed(blocks):
        g = linear.backward(activation.backward(g))
        input_grad_stds.append(float(np.std(g)))
    weight_norms = [float(np.linalg.norm(lin.weight.grad)) for lin in model.layers[0::2]]
    return np.array(weight_norms), np.array(input_grad_stds[::-1])


def init_state(scheme="he_normal", activation="relu", depth=10, width=256, n_samples=500,
               seed=0, max_hist=20000):
    """Everything the explorer shows for one setting, computed with course_nn.

    scheme: a name in SCHEMES or a Scheme; activation: a name in ACTIVATIONS.
    Inputs x ~ N(0, 1) of shape (n_samples, width); the upstream gradient is N(0, 1) of the
    output's shape (as if a loss sent back unit-sized gradients). Returns a dict with
    ``mean``, ``std`` (per-layer activation mean and std, shape (depth,)), ``pre_std`` (std of
    the pre-activations z), ``grad_norm`` (||dL/dW|| per layer), ``input_grad_std`` (std of
    dL/d input of each block, the backward signal), ``samples`` (up to ``max_hist`` activations per layer, for
    histograms), ``x_std`` and the settings.
    """
    label = resolve_scheme(scheme).label
    _check_choice(activation, ACTIVATIONS, "activation")
    depth = check_positive_int(depth, "depth")
    width = check_positive_int(width, "width")
    n_samples = check_positive_int(n_samples, "n_samples")
    seed = check_int(seed, "seed", low=0)
    max_hist = check_positive_int(max_hist, "max_hist")
    # every block keeps its pre-activations and activations (and backward as much again)
    check_allocation((4 * depth + 2, n_samples, width), np.float64, "init_state")
    rng = np.random.default_rng(seed)
    model = deep_network(depth, width, activation, scheme, rng=rng)
    x = rng.standard_normal((n_samples, width))
    grad_out = rng.standard_normal((n_samples, width))
    with np.errstate(over="ignore", invalid="ignore"):
        pre, post = forward_layers(model, x)
        grad_norm, input_grad_std = backward_layers(model, grad_out)
    step = max(1, (n_samples * width) // max_hist)
    return {
        "scheme": scheme, "scheme_label": label, "activation": activation, "depth": depth,
        "width": width,        "n_samples": n_samples, "x_std": float(x.std()),
        "mean": np.array([a.mean() for a in post]),
        "std": np.array([a.std() for a in post]),
        "pre_std": np.array([z.std() for z in pre]),
        "grad_norm": grad_norm,
        "input_grad_std": input_grad_std,
        "samples": [a.reshape(-1)[::step].copy() for a in post],
    }


def histogram_range(state, layer):
    """The x-range of one layer's histogram: the activation's range if it is bounded (so a
    collapse to 0 or a pile-up at the ends is visible), otherwise the data's own range.
    layer: 0 .. depth - 1."""
    layer = check_int(layer, "layer", low=0, high=state["depth"] - 1)
    if state["activation"] in BOUNDED:
        return BOUNDED[state["activation"]]
    a = state["samples"][layer]
    a = a[np.isfinite(a)]
    lo, hi = (float(a.min()), float(a.max())) if a.size else (0.0, 0.0)
    if hi - lo <= 0:  # all values equal (e.g. all zero): a unit-wide window around them
        return lo - 1.0, lo + 1.0
    return lo, hi


def shown_layers(depth, max_panels=10):
    """Indices of the layers given a histogram: all of them, or ``max_panels`` spread evenly
    (always including the first and the last). depth >= 1; 1 <= max_panels <= MAX_PANELS."""
    depth = check_int(depth, "depth", low=1, high=10**15)
    max_panels = check_int(max_panels, "max_panels", low=1, high=MAX_PANELS)
    if depth <= max_panels:
        return list(range(depth))
    return sorted({int(round(v)) for v in np.linspace(0, depth - 1, max_panels)})


def draw_histograms(axes, state):
    """One histogram per axis, for the layers in ``shown_layers``; title: layer and std."""
    axes = list(axes)
    if not axes:
        raise ValueError("axes: expected at least one matplotlib Axes")
    layers = shown_layers(state["depth"], len(axes))
    for ax in axes:
        ax.clear()
        ax.set_visible(False)
    for ax, layer in zip(axes, layers):
        ax.set_visible(True)
        a = state["samples"][layer]
        a = a[np.isfinite(a)]
        ax.hist(a, bins=40, range=histogram_range(state, layer), color="tab:blue")
        ax.set_title(f"layer {layer + 1}\nstd {state['std'][layer]:.2g}", fontsize=8)
        ax.set_yticks([])
        ax.tick_params(axis="x", labelsize=7)
    axes[0].set_ylabel("count")
    return axes


def _semilogy_safe(ax, x, y, **kwargs):
    """Plot y on a log axis. Zeros (a dead or all-zero network) cannot be drawn on it: they
    are left out, and if nothing is left the axis says so in words."""
    y = np.asarray(y, dtype=float)
    ok = np.isfinite(y) & (y > 0)
    if not ok.any():
        ax.text(0.5, 0.5 - 0.12 * len(ax.texts), f"{kwargs.get('label', 'all values')}: exactly 0",
                transform=ax.transAxes, ha="center", color=kwargs.get("color", "tab:blue"))
        ax.set_yticks([])
        return
    ax.semilogy(np.asarray(x)[ok], y[ok], **kwargs)


def draw_profiles(ax_std, ax_grad, state):
    """Per-layer activation std (left); per-layer gradients from backward (right): the norm
    ||dL/dW|| of each weight gradient and the std of the backward signal dL/d(block input).
    Both on a log scale, so a constant ratio per layer is a straight line."""
    layers = np.arange(1, state["depth"] + 1)
    ax_std.clear()
    ax_grad.clear()
    _semilogy_safe(ax_std, layers, state["std"], marker="o")
    ax_std.set_xlabel("layer")
    ax_std.set_ylabel("std of activations")
    _semilogy_safe(ax_grad, layers, state["grad_norm"], marker="o", color="tab:red",
                   label="‖dL/dW‖")
    _semilogy_safe(ax_grad, layers, state["input_grad_std"], marker="s", color="tab:purple",
                   label="std of dL/d(layer input)")
    ax_grad.set_xlabel("layer")
    ax_grad.set_ylabel("gradient (from backward)")
    from matplotlib.ticker import MaxNLocator

    for ax in (ax_std, ax_grad):
        ax.set_xlim(0.5, state["depth"] + 0.5)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if ax_grad.get_legend_handles_labels()[0]:
        ax_grad.legend(fontsize=7)
    return ax_std, ax_grad


def describe(state):
    """A one-line summary: scheme, activation, size, and the first and last layer's std."""
    return (f"{state['scheme_label']}, {state['activation']}, {state['depth']} layers of "
            f"{state['width']}: "            f"std layer 1 = {state['std'][0]:.3g}, layer {state['depth']} = "
            f"{state['std'][-1]:.3g}")


def draw_init_state(fig, state, max_panels=10):
    """Histograms of each shown layer's activations on top; std and gradient profiles below.
    1 <= max_panels <= MAX_PANELS."""
    max_panels = check_int(max_panels, "max_panels", low=1, high=MAX_PANELS)
    fig.clear()
    outer = fig.add_gridspec(2, 1, height_ratios=[1, 1.3], hspace=0.45, top=0.86, bottom=0.1,
                             left=0.07, right=0.98)
    top = outer[0].subgridspec(1, max_panels, wspace=0.15)
    bottom = outer[1].subgridspec(1, 2, wspace=0.3)
    hist_axes = [fig.add_subplot(top[0, k]) for k in range(max_panels)]
    ax_std = fig.add_subplot(bottom[0, 0])
    ax_grad = fig.add_subplot(bottom[0, 1])
    draw_histograms(hist_axes, state)
    draw_profiles(ax_std, ax_grad, state)
    fig.suptitle(describe(state), fontsize=10)
    return hist_axes, ax_std, ax_grad




class InitExplorer:
    """Dropdowns for the scheme and the activation, sliders for depth and width."""

    def __init__(self, scheme="he_normal", activation="relu", depth=10, width=256):
        import ipywidgets as widgets

        _check_choice(scheme, SCHEMES, "scheme")   # the dropdowns hold names, not Schemes
        _check_choice(activation, ACTIVATIONS, "activation")
        depth = check_int(depth, "depth", low=DEPTH_RANGE[0], high=DEPTH_RANGE[1])
        width = check_int(width, "width", low=WIDTH_RANGE[0], high=WIDTH_RANGE[1])
        self.controls = {
            "scheme": widgets.Dropdown(options=[(s.label, k) for k, s in SCHEMES.items()],
                                       value=scheme, description="init"),
            "activation": widgets.Dropdown(options=list(ACTIVATIONS), value=activation,
                                           description="activation"),
            "depth": widgets.IntSlider(value=depth, min=DEPTH_RANGE[0], max=DEPTH_RANGE[1],
                                       description="depth"),
            "width": widgets.IntSlider(value=width, min=WIDTH_RANGE[0], max=WIDTH_RANGE[1], step=16,
                                       description="width"),
        }
        self.fig = new_figure((12, 5.5))
        self.image = widgets.Image(format="png")
        self.widget = widgets.VBox([
            widgets.HBox([self.controls["scheme"], self.controls["activation"]]),
            widgets.HBox([self.controls["depth"], self.controls["width"]]),
            self.image,
        ])
        self.state = None
        for control in self.controls.values():
            control.observe(lambda _change: self.update(), names="value")
        self.update()

    def update(self):
        c = self.controls
        self.state = init_state(c["scheme"].value, c["activation"].value, c["depth"].value,
                                c["width"].value)
        draw_init_state(self.fig, self.state)
        show(self.image, self.fig, dpi=80)
        return self.state

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)


def init_explorer(scheme="he_normal", activation="relu", depth=10, width=256):
    """Choose an init scheme, an activation, the depth and the width; see every layer's
    activation histogram, the per-layer std and the per-layer gradient norm."""
    return InitExplorer(scheme, activation, depth, width)
