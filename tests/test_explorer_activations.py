"""Chapter 3 explorer, tested without a browser: the drawing function and the widget wiring."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from course_nn import activations as A  # noqa: E402
from course_nn.lab.explorers import activations as ex  # noqa: E402

PNG_MAGIC = b"\x89PNG"

# name -> (f(z, param), f'(z, param)) straight from course_nn, independent of ex.SPECS
EXPECTED = {
    "identity": (lambda z, p: z, lambda z, p: np.ones_like(z)),
    "sigmoid": (lambda z, p: A.sigmoid(z), lambda z, p: A.sigmoid_grad(z)),
    "tanh": (lambda z, p: np.tanh(z), lambda z, p: 1 - np.tanh(z) ** 2),
    "relu": (lambda z, p: np.maximum(z, 0), lambda z, p: (z > 0).astype(float)),
    "leaky_relu": (lambda z, p: np.where(z > 0, z, p * z), lambda z, p: np.where(z > 0, 1.0, p)),
    "prelu": (lambda z, p: np.where(z > 0, z, p * z), lambda z, p: np.where(z > 0, 1.0, p)),
    "elu": (lambda z, p: A.elu(z, p), lambda z, p: A.elu_grad(z, p)),
    "swish": (lambda z, p: z * A.sigmoid(p * z), lambda z, p: A.swish_grad(z, p)),
    "gelu": (lambda z, p: A.gelu(z), lambda z, p: A.gelu_grad(z)),
    "gelu_tanh": (lambda z, p: A.gelu(z, "tanh"), lambda z, p: A.gelu_grad(z, "tanh")),
    "softmax": (lambda z, p: np.exp(z) / (np.exp(z) + 1 + np.exp(p)),
                lambda z, p: (lambda q: q * (1 - q))(np.exp(z) / (np.exp(z) + 1 + np.exp(p)))),
}


@pytest.fixture
def ax():
    fig, ax = plt.subplots()
    yield ax
    plt.close(fig)


def test_every_activation_has_a_spec_and_an_expected_curve():
    assert set(ex.SPECS) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
@pytest.mark.parametrize("shift, scale", [(0.0, 1.0), (1.5, -2.0)])
def test_draw_activation_draws_the_function_and_its_derivative(ax, name, shift, scale):
    spec = ex.SPECS[name]
    param = None if spec.param_name is None else (spec.low + spec.high) / 3
    p = spec.default if param is None else param
    lines = ex.draw_activation(ax, name, param, show_derivative=True, shift=shift, scale=scale)
    x = ax.lines[0].get_xdata()
    z = scale * x + shift
    f, df = EXPECTED[name]
    assert lines["f"] is ax.lines[0] and lines["df"] is ax.lines[1]
    np.testing.assert_allclose(ax.lines[0].get_ydata(), f(z, p), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ax.lines[1].get_ydata(), scale * df(z, p), rtol=1e-12, atol=1e-12)


def test_derivative_line_is_optional_and_redrawing_clears_the_axes(ax):
    ex.draw_activation(ax, "tanh", show_derivative=True)
    lines = ex.draw_activation(ax, "relu", show_derivative=False)
    assert lines["df"] is None
    curves = [line for line in ax.lines if line.get_label().startswith(("f", "d/dx"))]
    assert len(curves) == 1      # the tanh curves are gone; only ReLU's function remains
    x = ax.lines[0].get_xdata()
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), np.maximum(x, 0))


def test_derivative_curve_matches_a_finite_difference_of_the_function_curve(ax):
    x = np.linspace(-4, 4, 8001)
    for name in ["sigmoid", "elu", "swish", "gelu", "softmax"]:
        ex.draw_activation(ax, name, None, True, shift=0.3, scale=1.7, x=x)
        y, dy = ax.lines[0].get_ydata(), ax.lines[1].get_ydata()
        numeric = np.gradient(y, x)
        # atol: np.gradient is O(h) accurate at ELU's kink in the second derivative
        np.testing.assert_allclose(dy[1:-1], numeric[1:-1], atol=1e-3, err_msg=name)


def test_title_names_the_parameter_and_the_neuron(ax):
    ex.draw_activation(ax, "leaky_relu", 0.2, shift=-1.0, scale=2.0)
    title = ax.get_title()
    assert "Leaky ReLU" in title and "α = 0.2" in title and "s = 2" in title and "t = -1" in title


def test_unknown_activation_is_a_clear_error(ax):
    with pytest.raises(KeyError, match="unknown activation 'softplus'"):
        ex.draw_activation(ax, "softplus")


def _curve(widget, i=0):
    return widget.ax.lines[i].get_xdata(), widget.ax.lines[i].get_ydata()


def test_explorer_is_a_widget_and_redraws_on_every_control():
    import ipywidgets as widgets

    w = ex.activation_explorer()
    assert isinstance(w, widgets.VBox)
    c = w.controls
    assert set(c) == {"name", "param", "derivative", "shift", "scale"}
    image = w.children[-1]
    assert isinstance(image, widgets.Image) and image.value[:4] == PNG_MAGIC

    x, y = _curve(w)
    np.testing.assert_array_equal(y, np.maximum(x, 0))             # ReLU by default
    assert c["param"].disabled                                     # ReLU has no parameter

    c["name"].value = "leaky_relu"
    assert not c["param"].disabled and c["param"].value == pytest.approx(0.1)
    c["param"].value = 0.3
    x, y = _curve(w)
    np.testing.assert_allclose(y, np.where(x > 0, x, 0.3 * x))

    c["name"].value = "swish"
    assert c["param"].value == pytest.approx(1.0) and c["param"].max == pytest.approx(10.0)
    c["param"].value = 4.0
    c["shift"].value = 1.0
    c["scale"].value = -2.0
    x, y = _curve(w)
    z = -2.0 * x + 1.0
    np.testing.assert_allclose(y, z * A.sigmoid(4.0 * z), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(_curve(w, 1)[1], -2.0 * A.swish_grad(z, 4.0), rtol=1e-12, atol=1e-12)

    before = image.value
    c["derivative"].value = False
    assert not any(line.get_label().startswith("d/dx") for line in w.ax.lines)
    assert image.value != before                                   # the PNG was refreshed

    c["name"].value = "sigmoid"
    assert c["param"].disabled
    x, y = _curve(w)
    np.testing.assert_allclose(y, A.sigmoid(-2.0 * x + 1.0))       # shift and scale persist


def test_explorer_starts_from_the_given_settings():
    w = ex.activation_explorer("elu", param=2.0, show_derivative=False, shift=0.5, scale=1.5)
    assert w.controls["param"].value == pytest.approx(2.0)
    x, y = _curve(w)
    np.testing.assert_allclose(y, A.elu(1.5 * x + 0.5, 2.0))
    assert not any(line.get_label().startswith("d/dx") for line in w.ax.lines)


def test_explorer_rejects_an_unknown_activation():
    with pytest.raises(KeyError):
        ex.activation_explorer("softplus")


class _ClampingFrontEnd:
    """What the browser's FloatSlider does with the kernel's state messages: apply each message
    as it arrives and, when the value it holds falls outside the new [min, max], clamp it and
    write the clamped value back to the kernel (as the slider view does)."""

    def __init__(self, slider, monkeypatch):
        self.slider = slider
        self.state = {k: getattr(slider, k) for k in ("min", "max", "value")}
        self.messages = []
        self.echoes = []
        monkeypatch.setattr(slider, "send_state", self.receive)

    def receive(self, key=None):
        keys = [key] if isinstance(key, str) else list(key or ("min", "max", "value"))
        sent = {k: getattr(self.slider, k) for k in keys if k in ("min", "max", "value")}
        self.messages.append(sorted(sent))
        self.state.update(sent)
        clamped = min(max(self.state["value"], self.state["min"]), self.state["max"])
        if clamped != self.state["value"]:
            self.state["value"] = clamped
            self.echoes.append(clamped)


def test_switching_activation_sends_range_and_value_in_one_message(monkeypatch):
    # issue 14 item 7: in JupyterLab, Swish (beta 1.1) -> softmax showed c = 1.1, because the
    # slider's min, max and value went out one message at a time and the browser wrote back
    # a value clamped into an intermediate range
    w = ex.activation_explorer("swish", param=1.1)
    slider = w.controls["param"]
    front = _ClampingFrontEnd(slider, monkeypatch)
    for name in ("softmax", "leaky_relu", "elu", "swish", "relu", "leaky_relu"):
        front.messages.clear()
        w.controls["name"].value = name
        spec = ex.SPECS[name]
        assert len(front.messages) <= 1, front.messages          # one state message per switch
        if spec.param_name is not None:   # the browser holds what the kernel holds
            assert front.state == {"min": spec.low, "max": spec.high, "value": spec.default}
            assert slider.value == pytest.approx(spec.default)
    assert front.echoes == []                                  # nothing for the browser to clamp
