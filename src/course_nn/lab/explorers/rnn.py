"""Chapter 16 explorer: how the gradient of a recurrent network fades or grows with the time lag.

A vanilla recurrent network h_t = f(W_ih x_t + W_hh h_{t-1}) reads ``length`` small random
inputs; the loss is L = v . h_T for a fixed unit vector v. Backpropagation through time
gives dL/dh_t for every t, and the explorer plots its norm against the lag k = T - t on a
log scale. W_hh = rho * Q with Q orthogonal, so every singular value of W_hh is rho: with
the identity activation the norm is exactly rho^k; tanh and ReLU multiply in their
derivatives, which are at most 1.

Plain functions, tested without a browser:

- ``gradient_flow_setup``: the weights, inputs and v of one experiment (biases are zero);
- ``hidden_gradient_norms``: the norms ||dL/dh_{T-k}|| for k = 0..T, by the BPTT recursion;
- ``layer_gradient_norms``: the same measurement for any course_nn recurrent layer (RNN,
  LSTM, GRU), from its own ``backward``;
- ``draw_gradient_norms``: the curves for several rho on a matplotlib Axes.

``rnn_gradient_explorer()`` wires sliders (rho, sequence length, input scale) and an
activation dropdown to ``draw_gradient_norms``; ipywidgets is imported only there.
"""


import numpy as np

from ..._validate import (
    as_array,
    as_float_array,
    check_allocation,
    check_bool,
    check_int,
    check_number,
)
from ...recurrent import GRU, LSTM, RNN
from ..sequences import orthogonal
from ._figure import new_figure, show

MAX_LENGTH = 100_000
"""Longest sequence of one gradient-flow experiment (the explorer's slider stops at 200)."""
MAX_LAYER_STEPS = 10**6
"""layer_gradient_norms runs T steps per lag: at most this many steps in all."""
MAX_UNROLLED = 20
"""Most time steps draw_unrolled_rnn draws (more would not be readable)."""
SLIDERS = {"rho": (0.1, 2.0), "length": (2, 200), "input_scale": (10**-3, 10**0.5)}
"""The explorer's slider ranges: a starting value outside would be clamped silently, so it raises."""

ACTIVATIONS = {
    "tanh": (np.tanh, lambda z, h: 1.0 - h**2),
    "identity": (lambda z: z, lambda z, h: np.ones_like(z)),
    "relu": (lambda z: np.maximum(z, 0.0), lambda z, h: (z > 0).astype(float)),
}
"""name -> (f(z), f'(z) given z and h = f(z))."""


def gradient_flow_setup(rho, length, hidden_size=32, input_size=4, input_scale=0.01, seed=0):
    """The pieces of one gradient-flow experiment, drawn from ``np.random.default_rng(seed)``.

    Returns a dict with weight_ih (H, D) ~ U(-1, 1) / sqrt(D), weight_hh = rho * Q (H, H)
    with Q orthogonal, x (1, length, D) ~ input_scale * N(0, 1) and v (H,), a unit vector.
    Q, weight_ih, x and v do not depend on rho, so curves for different rho are comparable.
    rho: a finite number >= 0 (a spectral radius); 1 <= length <= MAX_LENGTH; hidden_size,
    input_size >= 1; input_scale >= 0; seed: an int >= 0.
    """
    rho = check_number(rho, "rho", low=0)
    length = check_int(length, "length", low=1, high=MAX_LENGTH)
    hidden_size = check_int(hidden_size, "hidden_size", low=1)
    input_size = check_int(input_size, "input_size", low=1)
    input_scale = check_number(input_scale, "input_scale", low=0, high=1e300)
    seed = check_int(seed, "seed", low=0)
    check_allocation((3, hidden_size, max(hidden_size, input_size)), np.float64, "gradient_flow_setup")
    check_allocation((length + 1, max(hidden_size, input_size)), np.float64, "gradient_flow_setup")
    rng = np.random.default_rng(seed)
    q = orthogonal(hidden_size, rng=rng)
    w_ih = rng.uniform(-1.0, 1.0, size=(hidden_size, input_size)) / np.sqrt(input_size)
    x = input_scale * rng.standard_normal((1, length, input_size))
    v = rng.standard_normal(hidden_size)
    return {"weight_ih": w_ih, "weight_hh": rho * q, "x": x, "v": v / np.linalg.norm(v)}


def hidden_gradient_norms(rho, length, activation="tanh", hidden_size=32, input_scale=0.01, seed=0):
    """||dL/dh_{T-k}|| for k = 0, 1, ..., T, with L = v . h_T (so the value at k = 0 is 1).

    Forward: z_t = W_ih x_t + W_hh h_{t-1}, h_t = f(z_t), h_0 = 0 (no biases).
    Backward: g_T = v;  g_{t-1} = W_hh^T (g_t * f'(z_t)).  Returns (lags, norms), each (T + 1,).
    Norms that overflow are inf (a diverging gradient), as the plot shows them off the scale.
    """
    if not isinstance(activation, str) or activation not in ACTIVATIONS:
        raise KeyError(f"unknown activation {activation!r}; known: {', '.join(ACTIVATIONS)}")
    f, df = ACTIVATIONS[activation]
    s = gradient_flow_setup(rho, length, hidden_size, input_scale=input_scale, seed=seed)
    w_ih, w_hh, x = s["weight_ih"], s["weight_hh"], s["x"][0]
    zs = np.empty((length, hidden_size))
    hs = np.zeros((length + 1, hidden_size))
    proj = x @ w_ih.T
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(length):
            zs[t] = proj[t] + hs[t] @ w_hh.T
            hs[t + 1] = f(zs[t])
        norms = np.empty(length + 1)
        g = s["v"].copy()
        norms[0] = np.linalg.norm(g)
        for k in range(1, length + 1):          # g is dL/dh_{T-k+1}; step back through z_{T-k+1}
            t = length - k                      # zs[t] is z_{T-k+1}
            g = (g * df(zs[t], hs[t + 1])) @ w_hh
            norms[k] = np.linalg.norm(g)
    return np.arange(length + 1), norms


def layer_gradient_norms(layer, x, v, lags=None):
    """||dL/d state_{T-k}|| measured with a course_nn recurrent layer's own backward.

    x: (1, T, D); v: (H,); L = v . h_T. For each lag k (default 1..T) the layer is run on
    x[:, :T-k] to reach the state at T - k, then on the last k steps from that state, and
    ``backward`` with the output gradient v at the last step returns dL/d(state at T - k).
    For an LSTM the state is (h, c) and the norm is that of both gradients together.
    layer: an RNN, LSTM or GRU of hidden size H; lags: ints in 1..T, T * len(lags) <=
    MAX_LAYER_STEPS. Returns (lags, norms).
    """
    if not isinstance(layer, (RNN, LSTM, GRU)):
        raise TypeError(f"layer: expected an RNN, LSTM or GRU, got {type(layer).__name__}")
    x = as_float_array(as_array(x, "x"), "x", ndim=3)
    if x.shape[0] != 1:
        raise ValueError(f"x: expected shape (1, T, D), one sequence, got {x.shape}")
    t_len = x.shape[1]
    v = as_float_array(as_array(v, "v"), "v", shape=(layer.hidden_size,))
    if lags is None:
        lags = np.arange(1, t_len + 1)
    else:
        lags = as_array(lags, "lags")
        if lags.ndim != 1 or lags.dtype.kind not in "iu" or lags.size == 0:
            raise TypeError(f"lags: expected a non-empty 1-D list of ints, got shape {lags.shape} "
                            f"and dtype {lags.dtype}")
        if lags.min() < 1 or lags.max() > t_len:
            raise ValueError(f"lags: expected values in [1, {t_len}] (T = {t_len}), got values in "
                             f"[{lags.min()}, {lags.max()}]")
    if t_len * len(lags) > MAX_LAYER_STEPS:
        raise ValueError(f"layer_gradient_norms: T * len(lags) = {t_len * len(lags)} steps; "
                         f"expected at most {MAX_LAYER_STEPS}")
    norms = np.empty(len(lags))
    for i, k in enumerate(lags):
        state = None if k == t_len else layer(x[:, :t_len - k])[1]
        out, _ = layer(x[:, t_len - k:], state)
        grad = np.zeros_like(out)
        grad[0, -1] = v
        layer.zero_grad()
        _, dstate = layer.backward(grad)
        if isinstance(layer, LSTM):
            dstate = np.concatenate(dstate, axis=-1)
        norms[i] = np.linalg.norm(dstate)
    return lags, norms


def draw_gradient_norms(ax, rhos, length=50, activation="tanh", hidden_size=32, input_scale=0.01,
                        seed=0, show_power=True, title=None):
    """Plot ||dL/dh_{T-k}|| against the lag k for each rho, on a log scale.

    With ``show_power`` a dotted line rho^k is drawn for each rho, the identity-activation
    prediction. Returns {rho: Line2D} of the measured curves (drawn first, in the order of
    ``rhos``); norms that underflow to 0 or overflow are not drawn. rhos: a non-empty list of
    numbers >= 0; the other arguments as in ``hidden_gradient_norms``.
    """
    if isinstance(rhos, (str, bytes)) or not hasattr(rhos, "__iter__"):
        raise TypeError(f"rhos: expected a list of spectral radii, got {type(rhos).__name__}")
    rhos = list(rhos)
    if not rhos:
        raise ValueError("rhos: expected at least one spectral radius")
    for rho in rhos:
        check_number(rho, "rhos", low=0)
    show_power = check_bool(show_power, "show_power")
    length = check_int(length, "length", low=1, high=MAX_LENGTH)
    if title is not None and not isinstance(title, str):
        raise TypeError(f"title: expected a str or None, got {title!r}")
    ax.clear()
    lines = {}
    colors = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown",
              "tab:pink", "tab:gray"]
    for i, rho in enumerate(rhos):
        lags, norms = hidden_gradient_norms(rho, length, activation, hidden_size, input_scale, seed)
        shown = np.where(np.isfinite(norms) & (norms > 0), norms, np.nan)
        line, = ax.plot(lags, shown, color=colors[i % len(colors)], lw=2, label=f"ρ = {rho:g}")
        lines[rho] = line
    if show_power:
        k = np.arange(length + 1)
        with np.errstate(over="ignore"):
            for i, rho in enumerate(rhos):
                ax.plot(k, float(rho) ** k, color=colors[i % len(colors)], lw=1, ls=":")
    ax.set_yscale("log")
    ax.set_xlabel("time lag k = T − t")
    ax.set_ylabel("‖∂L/∂h_t‖  (L = v·h_T)")
    ax.set_title(title if title is not None else
                 f"{activation} RNN, T = {length}, input scale {input_scale:g}"
                 + ("  (dotted: ρ^k)" if show_power else ""), fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, loc="best")
    return lines




def rnn_gradient_explorer(rho=1.0, length=50, activation="tanh", input_scale=0.01,
                          references=(0.5, 1.5)):
    """An ipywidgets VBox: move the spectral radius rho of W_hh, the sequence length T, the
    activation and the input scale, and watch ||dL/dh_t|| against the lag redraw.

    The chosen rho is drawn with the ``references`` (fixed rho values) for comparison. The
    widget carries ``.fig``, ``.ax``, ``.controls`` ("rho", "length", "activation",
    "input_scale") and ``.redraw()``.
    """
    import ipywidgets as widgets

    if not isinstance(activation, str) or activation not in ACTIVATIONS:
        raise KeyError(f"unknown activation {activation!r}; known: {', '.join(ACTIVATIONS)}")
    rho = check_number(rho, "rho", low=SLIDERS["rho"][0], high=SLIDERS["rho"][1])
    length = check_int(length, "length", low=SLIDERS["length"][0], high=SLIDERS["length"][1])
    input_scale = check_number(input_scale, "input_scale", low=SLIDERS["input_scale"][0],
                               high=SLIDERS["input_scale"][1])
    if isinstance(references, (str, bytes)) or not hasattr(references, "__iter__"):
        raise TypeError(f"references: expected a list of spectral radii, got {references!r}")
    references = tuple(references)
    for r in references:
        check_number(r, "references", low=0)
    style = {"description_width": "120px"}
    controls = {
        "rho": widgets.FloatSlider(value=float(rho), min=0.1, max=2.0, step=0.05,
                                   description="spectral radius ρ", style=style),
        "length": widgets.IntSlider(value=int(length), min=2, max=200, step=1,
                                    description="sequence length T", style=style),
        "activation": widgets.Dropdown(options=list(ACTIVATIONS), value=activation,
                                       description="activation", style=style),
        "input_scale": widgets.FloatLogSlider(value=float(input_scale), base=10, min=-3, max=0.5,
                                              step=0.1, description="input scale", style=style),
    }
    fig = new_figure((6.5, 4.2))
    ax = fig.add_subplot(1, 1, 1)
    image = widgets.Image(format="png")
    box = widgets.VBox([
        widgets.HBox([controls["rho"], controls["length"]]),
        widgets.HBox([controls["activation"], controls["input_scale"]]),
        image,
    ])

    def redraw(_change=None):
        rhos = [controls["rho"].value] + [r for r in references if r != controls["rho"].value]
        draw_gradient_norms(ax, rhos, controls["length"].value, controls["activation"].value,
                            input_scale=controls["input_scale"].value)
        fig.tight_layout()
        show(image, fig)

    for control in controls.values():
        control.observe(redraw, names="value")
    redraw()
    box.fig, box.ax, box.controls, box.redraw = fig, ax, controls, redraw
    return box


# --- architecture diagrams (chapters 16 and 17) ------------------------------------------


def _box(ax, x, y, text, color="#dbe9f6", w=0.9, h=0.6, fontsize=11):
    from matplotlib.patches import FancyBboxPatch

    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.04",
                                fc=color, ec="0.25", lw=1.2))
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize)


def _node(ax, x, y, text, r=0.22, color="white", fontsize=11):
    from matplotlib.patches import Circle

    ax.add_patch(Circle((x, y), r, fc=color, ec="0.25", lw=1.2))
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize)


def _arrow(ax, start, end, label=None, color="0.2", label_offset=(0.0, 0.15), rad=0.0, fontsize=9,
           lw=1.4):
    ax.annotate("", xy=end, xytext=start,
                arrowprops=dict(arrowstyle="-|>", color=color, lw=lw, shrinkA=0, shrinkB=0,
                                connectionstyle=f"arc3,rad={rad}"))
    if label:
        mx, my = (start[0] + end[0]) / 2 + label_offset[0], (start[1] + end[1]) / 2 + label_offset[1]
        ax.text(mx, my, label, ha="center", va="center", fontsize=fontsize, color=color)


def _line(ax, points, color="0.2", lw=1.4):
    xs, ys = zip(*points)
    ax.plot(xs, ys, color=color, lw=lw, solid_capstyle="round")


def draw_unrolled_rnn(ax, steps=4):
    """The recurrent layer folded (a loop) and unrolled over ``steps`` time steps.

    Boxes: inputs x_t (below), hidden states h_t (middle), outputs o_t (above). Every
    horizontal arrow carries the same W_hh, every vertical one the same W_ih (and W_ho):
    one set of weights, reused at each step. 1 <= steps <= MAX_UNROLLED.
    """
    steps = check_int(steps, "steps", low=1, high=MAX_UNROLLED)
    ax.clear()
    ax.set_aspect("equal")
    ax.axis("off")
    # folded: h feeds itself through W_hh (a loop out of the right side, back in from below)
    _box(ax, 0.0, 0.0, "$h$", color="#fde2c8")
    _box(ax, 0.0, -1.5, "$x$", color="#e3f1dd")
    _box(ax, 0.0, 1.5, "$o$", color="#eadcf2")
    _arrow(ax, (0.0, -1.2), (0.0, -0.3), "$W_{ih}$", label_offset=(-0.4, 0.0))
    _arrow(ax, (0.0, 0.3), (0.0, 1.2), "$W_{ho}$", label_offset=(0.4, 0.0))
    _line(ax, [(0.45, 0.1), (0.95, 0.1), (0.95, -0.65), (0.25, -0.65)], color="tab:red")
    _arrow(ax, (0.25, -0.65), (0.25, -0.3), color="tab:red")
    ax.text(1.05, -0.3, "$W_{hh}$", color="tab:red", fontsize=10)
    ax.text(0.0, -2.3, "folded", ha="center", fontsize=10, style="italic")
    ax.text(1.9, 0.0, "=", ha="center", va="center", fontsize=22)
    # unrolled
    x0, dx = 3.0, 1.9
    _box(ax, x0, 0.0, "$h_0$", color="#f2f2f2")
    for t in range(1, steps + 1):
        cx = x0 + t * dx
        _box(ax, cx, 0.0, f"$h_{t}$", color="#fde2c8")
        _box(ax, cx, -1.5, f"$x_{t}$", color="#e3f1dd")
        _box(ax, cx, 1.5, f"$o_{t}$", color="#eadcf2")
        _arrow(ax, (cx, -1.2), (cx, -0.3), "$W_{ih}$", label_offset=(0.38, 0.0))
        _arrow(ax, (cx, 0.3), (cx, 1.2), "$W_{ho}$", label_offset=(0.38, 0.0))
        _arrow(ax, (cx - dx + 0.45, 0.0), (cx - 0.45, 0.0), "$W_{hh}$", color="tab:red",
               label_offset=(0.0, 0.22))
    ax.text(x0 + (steps + 1) * dx / 2, -2.3,
            f"unrolled over T = {steps} steps (the same weights at every step)",
            ha="center", fontsize=10, style="italic")
    ax.set_xlim(-1.0, x0 + steps * dx + 0.8)
    ax.set_ylim(-2.6, 2.1)


def _cell_frame(ax):
    from matplotlib.patches import FancyBboxPatch

    ax.clear()
    ax.set_aspect("equal")
    ax.axis("off")
    ax.add_patch(FancyBboxPatch((0.0, 0.0), 10.0, 6.0, boxstyle="round,pad=0.1", fc="#fbfbf4",
                                ec="0.5", lw=1.0))
    ax.set_xlim(-1.6, 11.8)
    ax.set_ylim(-1.4, 6.6)


def _gate_boxes(ax, gates, bottom):
    for name, gx, act, role in gates:
        _line(ax, [(gx, bottom), (gx, 1.95)])
        _box(ax, gx, 2.3, f"${name} = $ {act}", color="#dbe9f6", w=1.3, h=0.7, fontsize=10)
        ax.text(gx, 1.45, role, ha="center", fontsize=8, color="0.35")


def draw_lstm_cell(ax):
    """One LSTM step in PyTorch's formulation (gates i, f, g, o).

    The cell state runs along the top: c_t = f * c_{t-1} + i * g, touched only by an
    elementwise product and a sum. The four gates below read x_t and h_{t-1}; the output is
    h_t = o * tanh(c_t)."""
    _cell_frame(ax)
    top, bottom = 5.0, 0.8
    red = "tab:red"
    _line(ax, [(-1.3, top), (1.58, top)], color=red, lw=2.2)
    _node(ax, 1.8, top, "×", color="#fde2c8")
    _line(ax, [(2.02, top), (4.78, top)], color=red, lw=2.2)
    _node(ax, 5.0, top, "+", color="#fde2c8")
    _arrow(ax, (5.22, top), (11.4, top), color=red, lw=2.2)
    ax.text(-1.3, top + 0.35, "$c_{t-1}$", fontsize=12, color=red)
    ax.text(10.6, top + 0.35, "$c_t$", fontsize=12, color=red)
    ax.text(2.3, top + 0.45, r"cell state  $c_t = f \odot c_{t-1} + i \odot g$", fontsize=10, color=red)
    _line(ax, [(-1.3, bottom), (6.8, bottom)])
    ax.text(-1.3, bottom - 0.5, "$h_{t-1}$", fontsize=12)
    _line(ax, [(0.6, -1.1), (0.6, bottom)])
    ax.text(0.75, -1.0, "$x_t$", fontsize=12)
    _gate_boxes(ax, [("f", 1.8, "σ", "forget"), ("i", 3.4, "σ", "input"),
                     ("g", 5.0, "tanh", "candidate"), ("o", 6.8, "σ", "output")], bottom)
    _arrow(ax, (1.8, 2.65), (1.8, top - 0.22))
    _node(ax, 4.2, 3.7, "×")
    _line(ax, [(3.4, 2.65), (3.4, 3.7), (3.98, 3.7)])
    _line(ax, [(5.0, 2.65), (5.0, 3.7), (4.42, 3.7)])
    _arrow(ax, (4.35, 3.87), (4.86, top - 0.17))
    ax.text(3.3, 4.05, r"$i \odot g$", fontsize=9)
    _line(ax, [(8.6, top), (8.6, 4.3)])
    _box(ax, 8.6, 4.0, "tanh", color="#eadcf2", w=0.9, h=0.55, fontsize=9)
    _arrow(ax, (8.6, 3.72), (8.6, 2.52))
    _node(ax, 8.6, 2.3, "×")
    _line(ax, [(7.45, 2.3), (8.38, 2.3)])
    _line(ax, [(8.6, 2.08), (8.6, -0.5)])
    _arrow(ax, (8.6, -0.5), (11.4, -0.5))
    ax.text(10.6, -0.25, "$h_t$", fontsize=12)
    ax.text(8.8, 1.3, r"$h_t = o \odot \tanh(c_t)$", fontsize=10)


def draw_gru_cell(ax):
    """One GRU step in PyTorch's formulation (gates r, z, n).

    The state runs along the top: h_t = z * h_{t-1} + (1 - z) * n, an elementwise mixture of
    the old state and the candidate n = tanh(W_in x_t + b_in + r * (W_hn h_{t-1} + b_hn))."""
    _cell_frame(ax)
    top, bottom = 5.0, 0.8
    red = "tab:red"
    _line(ax, [(-1.3, top), (4.18, top)], color=red, lw=2.2)
    _node(ax, 4.4, top, "×", color="#fde2c8")
    _line(ax, [(4.62, top), (7.58, top)], color=red, lw=2.2)
    _node(ax, 7.8, top, "+", color="#fde2c8")
    _arrow(ax, (8.02, top), (11.4, top), color=red, lw=2.2)
    ax.text(-1.3, top + 0.35, "$h_{t-1}$", fontsize=12, color=red)
    ax.text(10.6, top + 0.35, "$h_t$", fontsize=12, color=red)
    ax.text(4.9, top + 0.45, r"$h_t = z \odot h_{t-1} + (1 - z) \odot n$", fontsize=10, color=red)
    _line(ax, [(0.4, top), (0.4, bottom), (6.8, bottom)])
    _line(ax, [(1.0, -1.1), (1.0, bottom)])
    ax.text(1.15, -1.0, "$x_t$", fontsize=12)
    _gate_boxes(ax, [("r", 2.0, "σ", "reset"), ("z", 4.4, "σ", "update"),
                     ("n", 6.8, "tanh", "candidate")], bottom)
    # r scales the hidden part of the candidate
    _line(ax, [(2.0, 2.65), (2.0, 3.2), (5.8, 3.2), (5.8, 2.3)])
    _arrow(ax, (5.8, 2.3), (6.13, 2.3))
    ax.text(2.15, 3.35, r"$r \odot (W_{hn} h_{t-1} + b_{hn})$", fontsize=9)
    # z keeps the old state; 1 - z weighs the candidate
    _arrow(ax, (4.4, 2.65), (4.4, top - 0.22))
    _node(ax, 6.8, 4.1, "×")
    _arrow(ax, (6.8, 2.65), (6.8, 3.88))
    _line(ax, [(4.4, 4.1), (6.58, 4.1)])
    ax.text(5.1, 4.22, "$1 - z$", fontsize=9)
    _arrow(ax, (6.96, 4.26), (7.64, top - 0.16))
