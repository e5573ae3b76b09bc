"""Chapter 16 explorer and the chapters' diagrams, tested without a browser."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import course_nn as cn  # noqa: E402
from course_nn.gradcheck import numerical_gradient, rel_error  # noqa: E402
from course_nn.lab.explorers import rnn as ex  # noqa: E402

PNG_MAGIC = b"\x89PNG"


@pytest.fixture
def ax():
    fig, ax = plt.subplots()
    yield ax
    plt.close(fig)


def _rnn_from_setup(setup, hidden=32):
    layer = cn.RNN(setup["weight_ih"].shape[1], hidden)
    layer.weight_ih.data[...] = setup["weight_ih"]
    layer.weight_hh.data[...] = setup["weight_hh"]
    layer.bias_ih.data[...] = 0.0
    layer.bias_hh.data[...] = 0.0
    return layer


def test_setup_shares_q_inputs_and_v_across_rho():
    a, b = ex.gradient_flow_setup(0.5, 10), ex.gradient_flow_setup(1.5, 10)
    np.testing.assert_allclose(a["weight_hh"] / 0.5, b["weight_hh"] / 1.5, atol=1e-15)
    np.testing.assert_array_equal(a["x"], b["x"])
    assert np.linalg.norm(a["v"]) == pytest.approx(1.0)
    np.testing.assert_allclose(np.linalg.svd(b["weight_hh"], compute_uv=False), 1.5, rtol=1e-12)


@pytest.mark.parametrize("rho", [0.5, 1.0, 1.3])
def test_identity_activation_gives_exactly_rho_to_the_k(rho):
    k, norms = ex.hidden_gradient_norms(rho, 40, "identity")
    np.testing.assert_allclose(norms, rho ** k.astype(float), rtol=1e-10)
    assert norms[0] == pytest.approx(1.0)


@pytest.mark.parametrize("rho", [0.5, 0.9, 1.2, 1.5])
def test_tanh_recursion_equals_course_nn_backward(rho):
    setup = ex.gradient_flow_setup(rho, 25)
    lags, measured = ex.layer_gradient_norms(_rnn_from_setup(setup), setup["x"], setup["v"])
    k, recursion = ex.hidden_gradient_norms(rho, 25)
    np.testing.assert_array_equal(lags, k[1:])
    assert rel_error(measured, recursion[1:]) < 1e-10


def test_relu_curve_lies_below_rho_to_the_k():
    k, norms = ex.hidden_gradient_norms(1.2, 50, "relu")
    assert np.all(norms[1:] <= 1.2 ** k[1:] * (1 + 1e-12))
    assert norms[-1] < 1e-3 * 1.2 ** 50


@pytest.mark.parametrize("cell", ["LSTM", "GRU"])
def test_layer_gradient_norms_matches_a_numerical_state_gradient(cell):
    rng = np.random.default_rng(0)
    layer = getattr(cn, cell)(3, 4, rng=rng)
    x = rng.standard_normal((1, 8, 3))
    v = rng.standard_normal(4)
    k = 5
    _, norms = ex.layer_gradient_norms(layer, x, v, lags=[k])
    _, state = layer(x[:, :8 - k])
    parts = list(state) if isinstance(state, tuple) else [state]
    grads = []
    for i, part in enumerate(parts):
        def loss(s, i=i):
            full = list(parts)
            full[i] = s
            st = tuple(full) if isinstance(state, tuple) else full[0]
            return float(layer(x[:, 8 - k:], st)[0][0, -1] @ v)
        grads.append(numerical_gradient(loss, part.copy()))
    assert norms[0] == pytest.approx(np.linalg.norm(np.concatenate(grads, axis=-1)), rel=1e-7)


def test_spectral_radius_orders_the_long_lag_gradient():
    ends = [ex.hidden_gradient_norms(r, 60)[1][-1] for r in (0.5, 0.9, 1.0, 1.2, 1.5)]
    assert all(a < b for a, b in zip(ends, ends[1:]))
    assert ends[0] < 1e-15 and ends[-1] > 100


def test_draw_gradient_norms_draws_the_measured_curves(ax):
    lines = ex.draw_gradient_norms(ax, [0.5, 1.2], length=30, activation="tanh")
    assert list(lines) == [0.5, 1.2]
    assert ax.get_yscale() == "log"
    for rho, line in lines.items():
        k, norms = ex.hidden_gradient_norms(rho, 30)
        np.testing.assert_array_equal(line.get_xdata(), k)
        np.testing.assert_allclose(line.get_ydata(), norms)
    dotted = [line for line in ax.lines if line.get_linestyle() == ":"]
    assert len(dotted) == 2
    np.testing.assert_allclose(dotted[1].get_ydata(), 1.2 ** np.arange(31))
    assert "tanh" in ax.get_title() and "T = 30" in ax.get_title()


def test_draw_gradient_norms_clears_and_can_hide_the_power_lines(ax):
    ex.draw_gradient_norms(ax, [0.5, 0.9, 1.0], length=10)
    ex.draw_gradient_norms(ax, [0.7], length=10, activation="relu", show_power=False)
    assert len(ax.lines) == 1


def test_unknown_activation_is_a_clear_error():
    with pytest.raises(KeyError, match="unknown activation 'gelu'"):
        ex.hidden_gradient_norms(1.0, 5, "gelu")


def test_explorer_is_a_widget_and_redraws_on_every_control():
    import ipywidgets as widgets

    w = ex.rnn_gradient_explorer()
    assert isinstance(w, widgets.VBox)
    c = w.controls
    assert set(c) == {"rho", "length", "activation", "input_scale"}
    image = w.children[-1]
    assert isinstance(image, widgets.Image) and image.value[:4] == PNG_MAGIC

    def first_curve():
        return w.ax.lines[0].get_xdata(), w.ax.lines[0].get_ydata()

    k, y = first_curve()
    np.testing.assert_allclose(y, ex.hidden_gradient_norms(1.0, 50)[1])

    c["rho"].value = 0.8
    c["length"].value = 20
    k, y = first_curve()
    assert len(k) == 21
    np.testing.assert_allclose(y, ex.hidden_gradient_norms(0.8, 20)[1])

    before = image.value
    c["activation"].value = "identity"
    k, y = first_curve()
    np.testing.assert_allclose(y, 0.8 ** k.astype(float), rtol=1e-10)
    assert image.value != before

    c["activation"].value = "tanh"
    c["input_scale"].value = 1.0
    np.testing.assert_allclose(first_curve()[1], ex.hidden_gradient_norms(0.8, 20, input_scale=1.0)[1])
    labels = [line.get_label() for line in w.ax.lines]
    assert {"ρ = 0.8", "ρ = 0.5", "ρ = 1.5"} <= set(labels)


def test_explorer_starts_from_the_given_settings():
    w = ex.rnn_gradient_explorer(rho=1.4, length=12, activation="relu")
    np.testing.assert_allclose(w.ax.lines[0].get_ydata(), ex.hidden_gradient_norms(1.4, 12, "relu")[1])
    with pytest.raises(KeyError):
        ex.rnn_gradient_explorer(activation="softplus")


@pytest.mark.parametrize("draw, labels", [
    (ex.draw_unrolled_rnn, ["$h_0$", "$h_4$", "$x_1$", "$o_3$", "$W_{hh}$", "$W_{ih}$"]),
    (ex.draw_lstm_cell, ["$c_{t-1}$", "$h_t$", "$x_t$", "forget", "input", "output", "candidate"]),
    (ex.draw_gru_cell, ["$h_{t-1}$", "$x_t$", "reset", "update", "candidate", "$1 - z$"]),
])
def test_diagrams_draw_their_labels(ax, draw, labels):
    draw(ax)
    texts = [t.get_text() for t in ax.texts]
    for label in labels:
        assert any(label in t for t in texts), (label, texts)
    assert len(ax.patches) >= 4
