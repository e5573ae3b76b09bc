"""Chapter 4 explorers: how an outlier pulls a fit under MSE, MAE and Huber, and how three
logits become softmax probabilities and a cross-entropy loss.

The computing and drawing are plain functions (tested without a browser); ``loss_explorer``
and ``softmax_explorer`` only wire sliders to them. Figures are drawn on a
``matplotlib.figure.Figure`` (no pyplot state) and shown as a PNG in an ipywidgets ``Image``,
so the explorers need no interactive matplotlib backend.

    from course_nn.lab.explorers.losses import loss_explorer
    loss_explorer()          # in a notebook: sliders for the outlier and Huber's delta
"""

import math
import numbers

import numpy as np

from ..._validate import as_real_array, check_allocation, check_int, check_number
from ...activations import softmax
from ...losses import CrossEntropyLoss, HuberLoss, L1Loss, MSELoss
from ._figure import new_figure, show

LOSS_COLORS = {"MSE": "tab:blue", "MAE": "tab:orange", "Huber": "tab:green"}
_INV_PHI = (math.sqrt(5.0) - 1.0) / 2.0  # 1 / golden ratio
MAX_STEPS = 10**6  # gradient_descent_constant's Python loop: seconds, not hours
SLIDERS = {"outlier": (-30.0, 30.0), "delta": (0.1, 5.0), "logit": (-10.0, 10.0)}
"""The explorers' slider ranges; a starting value outside would be clamped silently, so it raises."""


def _values(y, name):
    """y as a non-empty 1-D float64 array of finite values (any shape is flattened)."""
    return as_real_array(y, name).reshape(-1)


def _loss_value(value, loss):
    """A loss's value, checked to be a finite real number."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real) \
            or not math.isfinite(value):
        raise ValueError(f"loss: expected {type(loss).__name__} to return a finite real number, "
                         f"got {value!r}")
    return float(value)


def _check_loss(loss, name, needs_backward=False):
    if not callable(loss) or (needs_backward and not callable(getattr(loss, "backward", None))):
        what = "a course_nn loss (called, then .backward())" if needs_backward else "a loss function"
        raise TypeError(f"{name}: expected {what}, got {type(loss).__name__}")


def make_outlier_data(outlier=20.0, n_clean=10, center=2.0, spread=0.5, seed=0):
    """``n_clean`` values near ``center`` (seeded normal noise) followed by one ``outlier``.

    Returns a float64 array of shape (n_clean + 1,); the outlier is the last entry.
    n_clean >= 1; spread >= 0; seed: an int >= 0.
    """
    outlier = check_number(outlier, "outlier")
    n_clean = _n_clean(n_clean)
    center = check_number(center, "center")
    spread = check_number(spread, "spread", low=0, high=1e300)
    seed = check_int(seed, "seed", low=0)
    rng = np.random.default_rng(seed)
    clean = center + spread * rng.standard_normal(n_clean)
    return np.append(clean, outlier)


def _n_clean(n_clean):
    """n_clean checked: an int >= 1 whose array fits in memory."""
    n_clean = check_int(n_clean, "n_clean", low=1)
    check_allocation((n_clean + 1,), np.float64, "make_outlier_data")
    return n_clean


def regression_losses(delta=1.0):
    """The three losses compared in the chapter, by name (mean reduction)."""
    return {"MSE": MSELoss(), "MAE": L1Loss(), "Huber": HuberLoss(delta=delta)}


def fit_constant(y, loss, tol=1e-10, max_iter=200):
    """The constant c minimizing ``loss(c * ones, y)``, by golden-section search.

    Each of MSE, MAE and Huber is convex in c, and its minimizer lies in [min(y), max(y)],
    so shrinking that bracket by the golden ratio converges to the minimizer (for MAE with an
    odd number of points, the median; for MSE, the mean). y: finite values (any shape);
    tol: the bracket's relative width at the end, 1e-15 <= tol < 1 (float64 resolves about
    1e-16); max_iter: an int, 1 <= max_iter <= 10_000 (tol = 1e-10 takes about 50 steps).
    Raises ValueError if the bracket is still wider than tol after max_iter steps.
    Returns a float.
    """
    y = _values(y, "fit_constant y")
    _check_loss(loss, "fit_constant loss")
    tol = check_number(tol, "tol", low=1e-15, high=1, high_open=True)
    max_iter = check_int(max_iter, "max_iter", low=1, high=10_000)

    def f(c):
        return _loss_value(loss(np.full_like(y, c), y), loss)

    lo, hi = float(y.min()), float(y.max())
    with np.errstate(over="ignore"):
        span = hi - lo
    if not math.isfinite(span):
        raise ValueError(f"fit_constant y: values from {lo:g} to {hi:g} are too far apart for float64")
    a = hi - _INV_PHI * (hi - lo)
    b = lo + _INV_PHI * (hi - lo)
    fa, fb = f(a), f(b)
    for _ in range(max_iter):
        if hi - lo <= tol * max(1.0, abs(lo), abs(hi)):
            break
        if fa <= fb:  # the minimum is in [lo, b]
            hi, b, fb = b, a, fa
            a = hi - _INV_PHI * (hi - lo)
            fa = f(a)
        else:  # the minimum is in [a, hi]
            lo, a, fa = a, b, fb
            b = lo + _INV_PHI * (hi - lo)
            fb = f(b)
    else:
        if hi - lo > tol * max(1.0, abs(lo), abs(hi)):
            raise ValueError(f"fit_constant: the bracket is still {hi - lo:g} wide after "
                             f"max_iter = {max_iter} steps; expected a larger tol or max_iter")
    return lo + 0.5 * (hi - lo)   # not (lo + hi) / 2, which overflows near 1e308


def constant_fits(y, delta=1.0):
    """{"MSE": c, "MAE": c, "Huber": c}: the best constant under each loss."""
    return {name: fit_constant(y, loss) for name, loss in regression_losses(delta).items()}


def gradient_descent_constant(y, loss, c0=0.0, lr=0.5, steps=60):
    """Fit a constant by gradient descent, using ``loss.backward()`` for dL/dc.

    The prediction is c * ones(N), so dL/dc = sum_i dL/dpred_i (the chain rule with
    dpred_i/dc = 1). lr > 0; steps: an int, 0 <= steps <= MAX_STEPS. Returns the array of c
    after each step, shape (steps + 1,), c0 first; a run whose c overflows raises ValueError.
    """
    y = _values(y, "gradient_descent_constant y")
    _check_loss(loss, "gradient_descent_constant loss", needs_backward=True)
    c = check_number(c0, "c0")
    lr = check_number(lr, "lr", low=0, low_open=True)
    steps = check_int(steps, "steps", low=0, high=MAX_STEPS)
    cs = np.empty(steps + 1)
    cs[0] = c
    for k in range(1, steps + 1):
        loss(np.full_like(y, c), y)
        c -= lr * float(np.sum(loss.backward()))
        if not math.isfinite(c):
            raise ValueError(f"gradient_descent_constant: c overflowed at step {k}; expected a "
                             f"smaller lr than {lr:g}")
        cs[k] = c
    return cs


def outlier_state(outlier=20.0, delta=1.0):
    """Everything the outlier explorer shows: the data and the three fitted constants."""
    outlier = check_number(outlier, "outlier")
    delta = check_number(delta, "delta", low=0, low_open=True)
    y = make_outlier_data(outlier)
    return {"y": y, "outlier": float(outlier), "delta": float(delta),
            "fits": constant_fits(y, delta)}


def outlier_view_limits(state, pad=0.6):
    """y-limits framing the clean points and the three fits (the outlier may fall outside);
    pad >= 0."""
    pad = check_number(pad, "pad", low=0)
    shown = np.concatenate([state["y"][:-1], list(state["fits"].values())])
    return float(shown.min()) - pad, float(shown.max()) + pad


def draw_outlier_fits(ax, state):
    """Draw the data as dots and each loss's best constant as a horizontal line.

    The view is zoomed on the clean points and the fits, so the lines are told apart; an
    outlier beyond the view is drawn at the edge as a triangle pointing to where it is.
    """
    y = state["y"]
    lo, hi = outlier_view_limits(state)
    ax.clear()
    idx = np.arange(y.size)
    ax.scatter(idx[:-1], y[:-1], color="black", zorder=3, label="data")
    out = y[-1]
    if lo <= out <= hi:
        ax.scatter(idx[-1:], [out], color="tab:red", marker="*", s=160, zorder=3,
                   label="outlier")
    else:
        edge = hi if out > hi else lo
        ax.scatter(idx[-1:], [edge], color="tab:red", marker="^" if out > hi else "v", s=120,
                   zorder=3, clip_on=False, label=f"outlier (y = {out:.1f}, off the scale)")
        ax.annotate(f"y = {out:.1f}", (idx[-1], edge), xytext=(-12, -16 if out > hi else 10),
                    textcoords="offset points", ha="right", color="tab:red")
    for name, c in state["fits"].items():
        ax.axhline(c, color=LOSS_COLORS[name], lw=2, label=f"{name} fit: c = {c:.3f}")
    ax.set_ylim(lo, hi)
    ax.set_xlabel("sample index i")
    ax.set_ylabel("value y_i")
    ax.set_title(f"outlier = {state['outlier']:.1f}, Huber δ = {state['delta']:.2f}")
    ax.legend(loc="best", fontsize=8)
    return ax


def softmax_ce_state(logits, label):
    """Probabilities softmax(logits) and the cross-entropy -log p[label] (via CrossEntropyLoss).

    logits: (C,) finite real numbers; label: an int in 0..C-1.
    """
    z = as_real_array(logits, "logits", ndim=1).reshape(1, -1)
    label = check_int(label, "label", low=0, high=z.shape[1] - 1)
    loss = CrossEntropyLoss()(z, np.array([label]))
    return {"logits": z[0].copy(), "label": label, "probs": softmax(z, axis=1)[0], "loss": loss}


def draw_softmax_ce(ax, state, class_names=None):
    """Bar chart of the class probabilities; the true class is highlighted."""
    probs = state["probs"]
    names = [f"class {k}" for k in range(probs.size)] if class_names is None else list(class_names)
    if len(names) != probs.size:
        raise ValueError(f"class_names: expected {probs.size} names (one per class), got {len(names)}")
    colors = ["tab:green" if k == state["label"] else "tab:gray" for k in range(probs.size)]
    ax.clear()
    ax.bar(names, probs, color=colors)
    ax.set_ylim(0, 1.12)
    ax.set_ylabel("softmax probability p_k")
    ax.set_title(f"CE = −log p[true] = {state['loss']:.4f}")
    for k, p in enumerate(probs):
        ax.text(k, p + 0.02, f"{p:.3f}", ha="center")
    return ax




class _Explorer:
    """Sliders + a PNG of a Figure; ``update()`` recomputes ``state`` and redraws."""

    def __init__(self, sliders, figsize):
        import ipywidgets as widgets

        self.sliders = sliders
        self.fig = new_figure(figsize)
        self.ax = self.fig.add_subplot(1, 1, 1)
        self.image = widgets.Image(format="png")
        self.widget = widgets.VBox([widgets.HBox(list(sliders.values())), self.image])
        self.state = None
        for slider in sliders.values():
            slider.observe(lambda _change: self.update(), names="value")
        self.update()

    def update(self):
        self.state = self._compute()
        self._draw()
        self.fig.tight_layout()
        show(self.image, self.fig)
        return self.state

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)


def _in_slider(value, name, slider):
    low, high = SLIDERS[slider]
    return check_number(value, name, low=low, high=high)


class OutlierExplorer(_Explorer):
    def __init__(self, outlier=20.0, delta=1.0):
        import ipywidgets as widgets

        outlier = _in_slider(outlier, "outlier", "outlier")
        delta = _in_slider(delta, "delta", "delta")
        sliders = {
            "outlier": widgets.FloatSlider(value=outlier, min=-30.0, max=30.0, step=0.5,
                                           description="outlier"),
            "delta": widgets.FloatSlider(value=delta, min=0.1, max=5.0, step=0.1,
                                         description="Huber δ"),
        }
        super().__init__(sliders, figsize=(7, 4))

    def _compute(self):
        return outlier_state(self.sliders["outlier"].value, self.sliders["delta"].value)

    def _draw(self):
        draw_outlier_fits(self.ax, self.state)


class SoftmaxExplorer(_Explorer):
    def __init__(self, logits=(2.0, 1.0, -1.0), label=0, class_names=("cat", "dog", "bird")):
        import ipywidgets as widgets

        for name, value in (("logits", logits), ("class_names", class_names)):
            if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
                raise TypeError(f"{name}: expected a list, got {type(value).__name__}")
        self.class_names = [str(name) for name in class_names]
        logits = [_in_slider(v, f"logits[{k}]", "logit") for k, v in enumerate(logits)]
        if len(logits) != len(self.class_names):
            raise ValueError(f"logits: expected {len(self.class_names)} values (one per class "
                             f"name), got {len(logits)}")
        check_int(label, "label", low=0, high=len(logits) - 1)
        sliders = {f"z{k}": widgets.FloatSlider(value=v, min=-10.0, max=10.0, step=0.1,
                                                description=f"logit {self.class_names[k]}")
                   for k, v in enumerate(logits)}
        sliders["label"] = widgets.Dropdown(
            options=[(name, k) for k, name in enumerate(self.class_names)], value=label,
            description="true class")
        super().__init__(sliders, figsize=(6, 3.5))

    def _compute(self):
        logits = [self.sliders[f"z{k}"].value for k in range(len(self.class_names))]
        return softmax_ce_state(logits, self.sliders["label"].value)

    def _draw(self):
        draw_softmax_ce(self.ax, self.state, self.class_names)


def loss_explorer(outlier=20.0, delta=1.0):
    """Sliders for the outlier's value and Huber's delta; redraws the three constant fits."""
    return OutlierExplorer(outlier, delta)


def softmax_explorer(logits=(2.0, 1.0, -1.0), label=0):
    """Sliders for three logits and the true class; shows softmax probabilities and the CE."""
    return SoftmaxExplorer(logits, label)
