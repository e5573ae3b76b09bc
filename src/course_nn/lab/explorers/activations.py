"""Chapter 3 explorer: an activation function, its derivative, and what a weight and a bias
do to it.

A neuron computes f(w x + b). ``draw_activation`` plots that curve, f(scale * x + shift),
against x (and, if asked, its derivative scale * f'(scale * x + shift)) on a matplotlib Axes;
it is a plain function, tested without a browser. ``activation_explorer`` wires a dropdown,
a parameter slider (alpha or beta where the activation has one), a derivative checkbox and
shift/scale sliders to it. Figures are drawn on a ``matplotlib.figure.Figure`` (no pyplot
state) and shown as a PNG in an ipywidgets ``Image``, so no interactive backend is needed.

    from course_nn.lab.explorers.activations import activation_explorer
    activation_explorer()          # in a notebook
"""

from dataclasses import dataclass

import numpy as np

from ... import activations as act
from ..._validate import as_real_array, check_bool, check_number
from ._figure import new_figure, show

SHIFT_RANGE = (-5.0, 5.0)   # the shift and scale sliders of activation_explorer
SCALE_RANGE = (-3.0, 3.0)
LARGEST_INPUT = 1e100       # |shift|, |scale| and |x| stay below it: scale * x + shift is finite


@dataclass(frozen=True)
class ActivationSpec:
    """How the explorer draws one activation.

    f, df:      ``(z, param) -> array``, the function and its derivative at z.
    param_name: label of the slider, or None when the activation has no parameter.
    default, low, high: the slider's starting value and range.
    """

    label: str
    f: object
    df: object
    param_name: str = None
    default: float = 0.0
    low: float = 0.0
    high: float = 1.0


def _softmax_first(z, c):
    """p_1 of softmax over the three logits (z, 0, c), for every entry of z."""
    z = np.asarray(z, dtype=float)
    logits = np.stack([z, np.zeros_like(z), np.full_like(z, c)], axis=-1)
    return act.softmax(logits, axis=-1)[..., 0]


def _softmax_first_grad(z, c):
    p = _softmax_first(z, c)
    return p * (1.0 - p)   # the diagonal entry of the Jacobian diag(p) - p p^T


SPECS = {
    "identity": ActivationSpec("identity", lambda z, p: act.identity(z),
                               lambda z, p: act.identity_grad(z)),
    "sigmoid": ActivationSpec("sigmoid", lambda z, p: act.sigmoid(z),
                              lambda z, p: act.sigmoid_grad(z)),
    "tanh": ActivationSpec("tanh", lambda z, p: act.tanh(z), lambda z, p: act.tanh_grad(z)),
    "relu": ActivationSpec("ReLU", lambda z, p: act.relu(z), lambda z, p: act.relu_grad(z)),
    "leaky_relu": ActivationSpec("Leaky ReLU", act.leaky_relu, act.leaky_relu_grad,
                                 "α (slope)", 0.1, 0.0, 1.0),
    "prelu": ActivationSpec("PReLU (α is learned)", act.leaky_relu, act.leaky_relu_grad,
                            "α (learned)", 0.25, 0.0, 1.0),
    "elu": ActivationSpec("ELU", act.elu, act.elu_grad, "α", 1.0, 0.1, 3.0),
    "swish": ActivationSpec("Swish", act.swish, act.swish_grad, "β", 1.0, 0.0, 10.0),
    "gelu": ActivationSpec("GELU (exact)", lambda z, p: act.gelu(z),
                           lambda z, p: act.gelu_grad(z)),
    "gelu_tanh": ActivationSpec("GELU (tanh approximation)", lambda z, p: act.gelu(z, "tanh"),
                                lambda z, p: act.gelu_grad(z, "tanh")),
    "softmax": ActivationSpec("softmax: p₁ of logits (z, 0, c)", _softmax_first,
                              _softmax_first_grad, "c (3rd logit)", 0.0, -5.0, 5.0),
}
"""Name -> ActivationSpec, in the order of the dropdown."""


def activation_curves(name, param=None, shift=0.0, scale=1.0, x=None):
    """x, f(scale * x + shift) and its derivative with respect to x, as three arrays.

    param: alpha or beta (the activation's default when None; ignored if it has none), a
    finite number. shift, scale: finite numbers; x: the points to draw, finite reals of any
    shape (default 601 points on [-6, 6]); |shift|, |scale|, |x| <= 1e100.
    """
    spec = _spec(name)
    p = spec.default if param is None else check_number(param, "param", low=-LARGEST_INPUT,
                                                         high=LARGEST_INPUT)
    shift = check_number(shift, "shift", low=-LARGEST_INPUT, high=LARGEST_INPUT)
    scale = check_number(scale, "scale", low=-LARGEST_INPUT, high=LARGEST_INPUT)
    if x is None:
        x = np.linspace(-6.0, 6.0, 601)
    else:
        x = as_real_array(x, "x")
        if np.abs(x).max() > LARGEST_INPUT:
            raise ValueError(f"x: expected |x| <= {LARGEST_INPUT:g}, got {np.abs(x).max():g}")
    z = scale * x + shift
    return x, spec.f(z, p), scale * spec.df(z, p)


def _spec(name):
    if not isinstance(name, str) or name not in SPECS:
        raise KeyError(f"unknown activation {name!r}; known: {', '.join(SPECS)}")
    return SPECS[name]


def draw_activation(ax, name, param=None, show_derivative=True, shift=0.0, scale=1.0,
                    x=None, title=None):
    """Draw f(scale * x + shift) (and its derivative, dashed) on ``ax``; return the lines.

    ax.lines[0] is the function, ax.lines[1] the derivative when shown; the zero axes are
    drawn after them. Returns ``{"f": Line2D, "df": Line2D or None}``.
    """
    show_derivative = check_bool(show_derivative, "show_derivative")
    if title is not None and not isinstance(title, str):
        raise TypeError(f"title: expected a str or None, got {title!r}")
    x, y, dy = activation_curves(name, param, shift, scale, x)
    spec = SPECS[name]
    ax.clear()
    line_f, = ax.plot(x, y, color="tab:blue", lw=2, label="f(s·x + t)")
    line_df = None
    if show_derivative:
        line_df, = ax.plot(x, dy, color="tab:red", lw=1.5, ls="--", label="d/dx f(s·x + t)")
    ax.axhline(0.0, color="0.6", lw=0.8)
    ax.axvline(0.0, color="0.6", lw=0.8)
    if title is None:
        title = spec.label
        if spec.param_name is not None:
            p = spec.default if param is None else float(param)
            title += f", {spec.param_name.split(' ')[0]} = {p:g}"
        if shift != 0.0 or scale != 1.0:
            title += f"\ns = {scale:g}, t = {shift:g}"
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("x")
    ax.set_ylabel("value")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    return {"f": line_f, "df": line_df}




def activation_explorer(name="relu", param=None, show_derivative=True, shift=0.0, scale=1.0):
    """An ipywidgets VBox: pick an activation, move its parameter, shift and scale its input.

    The returned widget carries ``.fig``, ``.ax``, ``.controls`` (a dict of the widgets:
    "name", "param", "derivative", "shift", "scale") and ``.redraw()``; changing any control
    redraws ``.ax`` and refreshes the PNG.
    """
    import ipywidgets as widgets

    spec = _spec(name)
    show_derivative = check_bool(show_derivative, "show_derivative")
    shift = check_number(shift, "shift", low=SHIFT_RANGE[0], high=SHIFT_RANGE[1])
    scale = check_number(scale, "scale", low=SCALE_RANGE[0], high=SCALE_RANGE[1])
    if param is not None and spec.param_name is not None:   # the slider would clamp it
        param = check_number(param, "param", low=spec.low, high=spec.high)
    style = {"description_width": "110px"}
    controls = {
        "name": widgets.Dropdown(options=[(s.label, k) for k, s in SPECS.items()], value=name,
                                 description="activation", style=style),
        "param": widgets.FloatSlider(value=0.0, min=0.0, max=1.0, step=0.01,
                                     description="parameter", style=style),
        "derivative": widgets.Checkbox(value=show_derivative, description="derivative"),
        "shift": widgets.FloatSlider(value=shift, min=SHIFT_RANGE[0], max=SHIFT_RANGE[1], step=0.1,
                                     description="shift t (bias)", style=style),
        "scale": widgets.FloatSlider(value=scale, min=SCALE_RANGE[0], max=SCALE_RANGE[1], step=0.1,
                                     description="scale s (weight)", style=style),
    }
    fig = new_figure((6.5, 4.0))
    ax = fig.add_subplot(1, 1, 1)
    image = widgets.Image(format="png")
    box = widgets.VBox([
        widgets.HBox([controls["name"], controls["derivative"]]),
        widgets.HBox([controls["param"]]),
        widgets.HBox([controls["shift"], controls["scale"]]),
        image,
    ])
    busy = {"configuring": False}

    def configure_param(value=None):
        """Give the slider the range, value and label of the chosen activation's parameter.

        All of it reaches the browser in ONE state message (hold_sync): sent one trait at a
        time, the browser's slider would clamp its old value into an intermediate range and
        write that back, and the new activation would start from the previous one's parameter
        (Swish's beta 1.1 showing up as softmax's c)."""
        spec = SPECS[controls["name"].value]
        slider = controls["param"]
        busy["configuring"] = True
        try:
            with slider.hold_sync():
                if spec.param_name is None:
                    slider.description, slider.disabled = "(no parameter)", True
                else:
                    slider.min, slider.max = -1e9, 1e9      # widen first: min <= value <= max
                    slider.value = spec.default if value is None else float(value)
                    slider.min, slider.max = spec.low, spec.high
                    slider.step = (spec.high - spec.low) / 100.0
                    slider.description, slider.disabled = spec.param_name, False
        finally:
            busy["configuring"] = False

    def redraw(_change=None):
        if busy["configuring"]:
            return
        spec = SPECS[controls["name"].value]
        param = None if spec.param_name is None else controls["param"].value
        draw_activation(ax, controls["name"].value, param, controls["derivative"].value,
                        controls["shift"].value, controls["scale"].value)
        fig.tight_layout()
        show(image, fig)

    def on_name(_change):
        configure_param()
        redraw()

    configure_param(param)
    controls["name"].observe(on_name, names="value")
    for key in ("param", "derivative", "shift", "scale"):
        controls[key].observe(redraw, names="value")
    redraw()
    box.fig, box.ax, box.controls, box.redraw = fig, ax, controls, redraw
    return box
