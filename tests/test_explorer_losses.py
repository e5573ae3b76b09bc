"""Chapter 4 explorers, tested without a browser: the plain functions and the widget wiring."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from course_nn import CrossEntropyLoss, HuberLoss, L1Loss, MSELoss  # noqa: E402
from course_nn.activations import softmax  # noqa: E402
from course_nn.lab.explorers import losses as ex  # noqa: E402

PNG_MAGIC = b"\x89PNG"


def test_outlier_data_is_seeded_and_ends_with_the_outlier():
    a, b = ex.make_outlier_data(7.5), ex.make_outlier_data(7.5)
    assert a.shape == (11,)
    np.testing.assert_array_equal(a, b)
    assert a[-1] == 7.5
    np.testing.assert_array_equal(a[:-1], ex.make_outlier_data(-3.0)[:-1])


@pytest.mark.parametrize("outlier", [-25.0, 0.0, 20.0])
def test_fit_constant_finds_mean_and_median(outlier):
    y = ex.make_outlier_data(outlier)
    assert ex.fit_constant(y, MSELoss()) == pytest.approx(y.mean(), abs=1e-6)
    assert ex.fit_constant(y, L1Loss()) == pytest.approx(np.median(y), abs=1e-6)


@pytest.mark.parametrize("delta", [0.3, 1.0, 2.5])
def test_fit_constant_huber_zeroes_the_gradient(delta):
    y = ex.make_outlier_data(20.0)
    c = ex.fit_constant(y, HuberLoss(delta=delta))
    # stationarity: sum_i clip(c - y_i, -delta, delta) = 0
    assert abs(np.clip(c - y, -delta, delta).sum()) < 1e-6
    # and no grid point does better
    loss = HuberLoss(delta=delta)
    grid = np.linspace(y.min(), y.max(), 2001)
    best = min(loss(np.full_like(y, g), y) for g in grid)
    assert loss(np.full_like(y, c), y) <= best + 1e-12


def test_fits_are_ordered_by_robustness():
    fits = ex.constant_fits(ex.make_outlier_data(20.0), delta=1.0)
    clean = ex.make_outlier_data(20.0)[:-1]
    assert fits["MSE"] > fits["Huber"] > fits["MAE"] - 1e-9
    assert abs(fits["MAE"] - np.median(clean)) < 0.1
    assert fits["MSE"] - clean.mean() > 1.0  # dragged toward the outlier


def test_huber_fit_moves_from_median_to_mean_as_delta_grows():
    y = ex.make_outlier_data(20.0)
    small = ex.fit_constant(y, HuberLoss(delta=1e-3))
    large = ex.fit_constant(y, HuberLoss(delta=100.0))
    assert small == pytest.approx(np.median(y), abs=1e-3)
    assert large == pytest.approx(y.mean(), abs=1e-6)


def test_gradient_descent_constant_converges_for_mse_and_huber():
    y = ex.make_outlier_data(20.0)
    path = ex.gradient_descent_constant(y, MSELoss(), lr=0.5, steps=60)
    assert path.shape == (61,)
    assert path[0] == 0.0
    assert path[-1] == pytest.approx(y.mean(), abs=1e-9)
    path = ex.gradient_descent_constant(y, HuberLoss(delta=1.0), lr=0.5, steps=200)
    assert path[-1] == pytest.approx(ex.fit_constant(y, HuberLoss(delta=1.0)), abs=1e-6)


def test_gradient_descent_on_mae_chatters_around_the_median():
    y = ex.make_outlier_data(20.0)
    path = ex.gradient_descent_constant(y, L1Loss(), lr=0.5, steps=200)
    tail = path[-20:]
    assert tail.min() < np.median(y) < tail.max()
    assert tail.max() - tail.min() > 0.05  # the fixed step never shrinks


def test_outlier_state_validates():
    with pytest.raises(ValueError):
        ex.outlier_state(20.0, delta=0.0)
    with pytest.raises(ValueError):
        ex.outlier_state(float("nan"), delta=1.0)


def test_draw_outlier_fits_draws_one_line_per_loss():
    state = ex.outlier_state(12.0, 0.5)
    fig, ax = plt.subplots()
    ex.draw_outlier_fits(ax, state)
    lines = {line.get_color(): line.get_ydata()[0] for line in ax.get_lines()}
    for name, c in state["fits"].items():
        assert lines[ex.LOSS_COLORS[name]] == pytest.approx(c)
    clean, outlier = ax.collections[0].get_offsets(), ax.collections[1].get_offsets()
    np.testing.assert_allclose(clean[:, 1], state["y"][:-1])
    lo, hi = ax.get_ylim()
    assert lo <= min(state["fits"].values()) and max(state["fits"].values()) <= hi
    # the outlier (12.0) is beyond the zoomed view: drawn at the top edge
    assert state["y"][-1] > hi and outlier[0, 1] == pytest.approx(hi)
    plt.close(fig)


def test_draw_outlier_fits_shows_an_outlier_inside_the_view():
    state = ex.outlier_state(2.5, 1.0)
    fig, ax = plt.subplots()
    ex.draw_outlier_fits(ax, state)
    assert ax.collections[1].get_offsets()[0, 1] == pytest.approx(2.5)
    plt.close(fig)


def test_softmax_ce_state_matches_course_nn():
    state = ex.softmax_ce_state([2.0, 1.0, -1.0], 1)
    np.testing.assert_allclose(state["probs"], softmax(np.array([2.0, 1.0, -1.0])))
    assert state["probs"].sum() == pytest.approx(1.0)
    assert state["loss"] == pytest.approx(-np.log(state["probs"][1]))
    assert state["loss"] == pytest.approx(
        CrossEntropyLoss()(np.array([[2.0, 1.0, -1.0]]), np.array([1])))


def test_softmax_ce_state_is_stable():
    state = ex.softmax_ce_state([1000.0, 0.0, -1000.0], 2)
    assert np.all(np.isfinite(state["probs"]))
    assert state["loss"] == pytest.approx(2000.0)


def test_draw_softmax_ce_bars():
    state = ex.softmax_ce_state([0.5, 0.5, 3.0], 2)
    fig, ax = plt.subplots()
    ex.draw_softmax_ce(ax, state, ["a", "b", "c"])
    heights = [p.get_height() for p in ax.patches]
    np.testing.assert_allclose(heights, state["probs"])
    assert f"{state['loss']:.4f}" in ax.get_title()
    plt.close(fig)


def test_loss_explorer_reacts_to_sliders():
    pytest.importorskip("ipywidgets")
    e = ex.loss_explorer(outlier=20.0, delta=1.0)
    assert set(e.sliders) == {"outlier", "delta"}
    assert e.image.value[:4] == PNG_MAGIC
    before = dict(e.state["fits"])
    e.sliders["outlier"].value = -10.0
    assert e.state["outlier"] == -10.0
    assert e.state["fits"]["MSE"] < before["MSE"]
    assert e.state["fits"] == ex.constant_fits(ex.make_outlier_data(-10.0), 1.0)
    e.sliders["delta"].value = 4.0
    assert e.state["delta"] == 4.0
    assert e.state["fits"]["Huber"] == pytest.approx(
        ex.fit_constant(ex.make_outlier_data(-10.0), HuberLoss(delta=4.0)))
    drawn = sorted(line.get_ydata()[0] for line in e.ax.get_lines())
    np.testing.assert_allclose(drawn, sorted(e.state["fits"].values()))


def test_softmax_explorer_reacts_to_sliders():
    pytest.importorskip("ipywidgets")
    e = ex.softmax_explorer(logits=(2.0, 1.0, -1.0), label=0)
    loss0 = e.state["loss"]
    e.sliders["z0"].value = 6.0
    assert e.state["loss"] < loss0
    e.sliders["label"].value = 2
    assert e.state["label"] == 2
    assert e.state["loss"] == pytest.approx(
        CrossEntropyLoss()(np.array([[6.0, 1.0, -1.0]]), np.array([2])))
    np.testing.assert_allclose([p.get_height() for p in e.ax.patches], e.state["probs"])
    assert e.image.value[:4] == PNG_MAGIC
