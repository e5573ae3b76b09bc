"""Chapter 10 explorer, tested without a browser: the networks it builds, the statistics it
computes (against the variance formulas), the drawing, and the widget wiring."""

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import course_nn as nn  # noqa: E402
from course_nn.lab.explorers import initialization as ix  # noqa: E402

PNG_MAGIC = b"\x89PNG"


def test_deep_network_structure_and_init():
    model = ix.deep_network(4, 32, "relu", "he_normal", rng=np.random.default_rng(0), in_features=10)
    assert len(model) == 8
    linears = model.layers[0::2]
    assert all(isinstance(m, nn.Linear) for m in linears)
    assert all(isinstance(m, nn.ReLU) for m in model.layers[1::2])
    assert linears[0].weight.shape == (32, 10) and linears[1].weight.shape == (32, 32)
    assert all(np.all(m.bias.data == 0) for m in linears)


@pytest.mark.parametrize("scheme", sorted(ix.SCHEMES))
def test_scheme_std_formula_matches_the_samples(scheme):
    s = ix.SCHEMES[scheme]
    w = s.fn((300, 500), np.random.default_rng(1))
    assert w.shape == (300, 500)
    assert w.std() == pytest.approx(s.std(500, 300), rel=0.02, abs=1e-12)


def test_unknown_names_are_rejected():
    with pytest.raises(ValueError, match="scheme: expected one of"):
        ix.init_state("lecun", "relu")
    with pytest.raises(ValueError, match="activation: expected one of"):
        ix.init_state("he_normal", "softplus")
    with pytest.raises(ValueError, match="depth"):
        ix.init_state("he_normal", "relu", depth=0)


def test_state_shapes_and_settings():
    st = ix.init_state("xavier_uniform", "tanh", depth=5, width=64, n_samples=100)
    for key in ("mean", "std", "pre_std", "grad_norm", "input_grad_std"):
        assert st[key].shape == (5,)
    assert len(st["samples"]) == 5 and st["samples"][0].size <= 20000
    assert st["scheme_label"] == "Xavier uniform"
    assert ix.init_state("xavier_uniform", "tanh", depth=5, width=64, n_samples=100)["std"].tolist() \
        == st["std"].tolist()  # seeded: the same every time


def test_small_init_vanishes_by_sqrt_n_times_scale():
    st = ix.init_state("small", "tanh", depth=8, width=256)
    ratios = st["std"][1:] / st["std"][:-1]
    np.testing.assert_allclose(ratios, math.sqrt(256) * 0.01, rtol=0.05)
    back = st["input_grad_std"][:-1] / st["input_grad_std"][1:]   # shrinking towards layer 1
    np.testing.assert_allclose(back, math.sqrt(256) * 0.01, rtol=0.05)


def test_large_relu_explodes_by_sqrt_n_over_2():
    st = ix.init_state("large", "relu", depth=8, width=256)
    growth = (st["std"][-1] / st["std"][0]) ** (1 / 7)
    assert growth == pytest.approx(math.sqrt(128), rel=0.05)
    assert np.all(np.isfinite(st["std"]))


def test_he_relu_keeps_activations_and_gradients_level():
    st = ix.init_state("he_normal", "relu", depth=10, width=256)
    assert st["std"].max() / st["std"].min() < 1.3
    assert st["input_grad_std"].max() / st["input_grad_std"].min() < 1.3
    assert st["grad_norm"].max() / st["grad_norm"].min() < 1.5


def test_xavier_relu_loses_half_the_variance_per_layer():
    st = ix.init_state("xavier_uniform", "relu", depth=10, width=256)
    growth = (st["pre_std"][-1] / st["pre_std"][0]) ** (1 / 9)
    assert growth == pytest.approx(math.sqrt(0.5), rel=0.05)


def test_sigmoid_xavier_gradient_shrinks_about_fourfold():
    st = ix.init_state("xavier_uniform", "sigmoid", depth=10, width=256)
    factor = (st["input_grad_std"][-1] / st["input_grad_std"][0]) ** (1 / 9)
    assert 3.5 < factor < 5.0


def test_zero_init_is_all_zero_and_draws():
    st = ix.init_state("zeros", "relu", depth=4, width=32, n_samples=50)
    assert np.all(st["std"] == 0) and np.all(st["grad_norm"] == 0)
    fig = plt.figure(figsize=(12, 5.5))
    ix.draw_init_state(fig, st)
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert any("exactly 0" in t for t in texts)
    plt.close(fig)


def test_backward_layers_matches_a_full_backward():
    rng = np.random.default_rng(4)
    model = ix.deep_network(3, 16, "tanh", "xavier_normal", rng=rng)
    x, g = rng.standard_normal((20, 16)), rng.standard_normal((20, 16))
    _, post = ix.forward_layers(model, x)
    np.testing.assert_allclose(post[-1], model(x))
    norms, stds = ix.backward_layers(model, g)
    grads = [m.weight.grad.copy() for m in model.layers[0::2]]
    model.zero_grad()
    model(x)
    dx = model.backward(g)
    assert stds[0] == pytest.approx(np.std(dx))
    for n, grad, m in zip(norms, grads, model.layers[0::2]):
        np.testing.assert_allclose(grad, m.weight.grad)
        assert n == pytest.approx(np.linalg.norm(m.weight.grad))


def test_shown_layers_and_histogram_range():
    assert ix.shown_layers(5) == [0, 1, 2, 3, 4]
    chosen = ix.shown_layers(30, 10)
    assert len(chosen) == 10 and chosen[0] == 0 and chosen[-1] == 29
    st = ix.init_state("he_normal", "relu", depth=3, width=32, n_samples=50)
    lo, hi = ix.histogram_range(st, 0)
    assert lo == pytest.approx(0.0) and hi > 0
    assert ix.histogram_range(ix.init_state("small", "tanh", depth=2, width=16), 1) == (-1.0, 1.0)


def test_custom_scheme_is_accepted():
    half_he = ix.Scheme("half He", lambda s, r: 0.5 * nn.init.he_normal(s, r),
                        lambda fi, fo: 0.5 * math.sqrt(2 / fi))
    st = ix.init_state(half_he, "relu", depth=6, width=128)
    assert st["scheme_label"] == "half He"
    growth = (st["pre_std"][-1] / st["pre_std"][0]) ** (1 / 5)
    assert growth == pytest.approx(0.5, rel=0.05)  # a quarter of He's variance: 1/2 std per layer
    assert "half He" in ix.describe(st)


def test_draw_init_state_figure():
    st = ix.init_state("he_normal", "relu", depth=20, width=64, n_samples=100)
    fig = plt.figure(figsize=(12, 5.5))
    hist_axes, ax_std, ax_grad = ix.draw_init_state(fig, st)
    assert len(hist_axes) == 10 and all(ax.get_visible() for ax in hist_axes)
    assert hist_axes[-1].get_title().startswith("layer 20")
    assert ax_std.get_yscale() == "log" and ax_grad.get_yscale() == "log"
    assert len(ax_grad.get_lines()) == 2
    assert "He normal, relu, 20 layers of 64" in fig._suptitle.get_text()
    plt.close(fig)


def test_fewer_layers_than_panels_hides_the_rest():
    st = ix.init_state("xavier_uniform", "tanh", depth=3, width=32, n_samples=50)
    fig = plt.figure()
    hist_axes, _, _ = ix.draw_init_state(fig, st)
    assert [ax.get_visible() for ax in hist_axes] == [True] * 3 + [False] * 7
    plt.close(fig)


def test_explorer_widget_updates():
    pytest.importorskip("ipywidgets")
    explorer = ix.init_explorer(scheme="small", activation="tanh", depth=4, width=32)
    assert bytes(explorer.image.value).startswith(PNG_MAGIC)
    first = explorer.state["std"].copy()
    explorer.controls["scheme"].value = "xavier_uniform"
    assert explorer.state["scheme"] == "xavier_uniform"
    assert explorer.state["std"][-1] > first[-1] * 100
    explorer.controls["depth"].value = 7
    assert explorer.state["std"].shape == (7,)
    explorer.controls["activation"].value = "relu"
    explorer.controls["width"].value = 64
    assert explorer.state["activation"] == "relu" and explorer.state["width"] == 64
    assert bytes(explorer.image.value).startswith(PNG_MAGIC)
