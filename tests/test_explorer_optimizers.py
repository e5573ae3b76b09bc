"""Chapter 7 explorer, tested without a browser: trajectory_state, the drawing, and the
widget wiring (values set programmatically, trajectories read back from the Axes)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from course_nn.lab import surfaces as S  # noqa: E402
from course_nn.lab.explorers import optimizers as ox  # noqa: E402
from course_nn.optim import SGD, AdaGrad, Adam, RMSProp  # noqa: E402

PNG_MAGIC = b"\x89PNG"


def _line(ax, name):
    lines = [ln for ln in ax.lines if ln.get_label().startswith(name + ",")]
    assert len(lines) == 1, [ln.get_label() for ln in ax.lines]
    return lines[0]


@pytest.mark.parametrize("surface", ox.SURFACE_NAMES)
def test_state_runs_every_optimizer_with_its_good_lr(surface):
    state = ox.trajectory_state(surface)
    surf = S.make_surface(surface)
    assert set(state["paths"]) == set(ox.OPTIMIZER_NAMES)
    for name in ox.OPTIMIZER_NAMES:
        path = state["paths"][name]
        assert path.shape == (ox.DEFAULT_STEPS[surface] + 1, 2)
        np.testing.assert_array_equal(path[0], surf.start)
        np.testing.assert_allclose(state["values"][name], surf.value(path))
        assert state["lr"][name] == ox.GOOD_LR[surface][name]
        assert not state["diverged"][name]


def test_state_matches_run_optimizer_directly():
    rb = S.Rosenbrock()
    state = ox.trajectory_state("rosenbrock", ("momentum", "RMSProp", "Adam", "AdaGrad", "GD"),
                                lr=0.001, momentum=0.8, alpha=0.9, beta1=0.85, beta2=0.99, steps=50)
    expected = {
        "GD": S.run_optimizer(SGD, rb.start, 50, surface=rb, lr=0.001),
        "momentum": S.run_optimizer(SGD, rb.start, 50, surface=rb, lr=0.001, momentum=0.8),
        "AdaGrad": S.run_optimizer(AdaGrad, rb.start, 50, surface=rb, lr=0.001),
        "RMSProp": S.run_optimizer(RMSProp, rb.start, 50, surface=rb, lr=0.001, alpha=0.9),
        "Adam": S.run_optimizer(Adam, rb.start, 50, surface=rb, lr=0.001, betas=(0.85, 0.99)),
    }
    for name, path in expected.items():
        np.testing.assert_array_equal(state["paths"][name], path)


def test_lr_per_optimizer_and_custom_start():
    state = ox.trajectory_state("quadratic", ("GD", "Adam"), lr={"GD": 0.05, "Adam": 0.2},
                                steps=10, start=[1.0, 1.0])
    assert state["lr"] == {"GD": 0.05, "Adam": 0.2}
    np.testing.assert_array_equal(state["paths"]["GD"][0], [1.0, 1.0])
    q = S.make_surface("quadratic")
    np.testing.assert_allclose(state["paths"]["GD"][1], [1.0, 1.0] - 0.05 * q.H @ [1.0, 1.0])


def test_divergence_is_flagged_and_labelled():
    state = ox.trajectory_state("quadratic", ("GD",), lr=0.5, steps=500)
    assert state["diverged"]["GD"]
    assert len(state["paths"]["GD"]) < 501
    fig, (a, b) = plt.subplots(1, 2)
    ox.draw_trajectories(a, b, state)
    assert "(diverged)" in _line(a, "GD").get_label()
    plt.close(fig)


def test_drawn_lines_are_the_trajectories():
    state = ox.trajectory_state("saddle", ("GD", "Adam"), steps=40)
    fig, (a, b) = plt.subplots(1, 2)
    ox.draw_trajectories(a, b, state)
    for name in ("GD", "Adam"):
        line = _line(a, name)
        np.testing.assert_array_equal(line.get_xdata(), state["paths"][name][:, 0])
        np.testing.assert_array_equal(line.get_ydata(), state["paths"][name][:, 1])
    values = {ln.get_label(): ln for ln in b.lines}
    np.testing.assert_array_equal(values["Adam"].get_ydata(), state["values"]["Adam"])
    assert b.get_yscale() == "symlog"          # the saddle has no minimum
    plt.close(fig)
    state = ox.trajectory_state("rosenbrock", ("Adam",), steps=20)
    fig, (a, b) = plt.subplots(1, 2)
    ox.draw_trajectories(a, b, state)
    assert b.get_yscale() == "log"
    np.testing.assert_allclose(b.lines[0].get_ydata(), np.maximum(state["values"]["Adam"], 1e-16))
    plt.close(fig)


def test_state_validates():
    with pytest.raises(ValueError, match="surface"):
        ox.trajectory_state("bowl")
    with pytest.raises(ValueError, match="at least one"):
        ox.trajectory_state("saddle", ())
    with pytest.raises(ValueError, match="optimizer"):
        ox.trajectory_state("saddle", ("Newton",))
    with pytest.raises(ValueError, match="lr"):
        ox.trajectory_state("saddle", ("GD",), lr=-0.1)


def test_widget_wiring():
    pytest.importorskip("ipywidgets")
    explorer = ox.optimizer_explorer()
    assert explorer.image.value[:4] == PNG_MAGIC
    c = explorer.controls
    assert set(explorer.state["paths"]) == {"GD", "momentum", "Adam"}
    assert not c["momentum"].disabled and not c["beta1"].disabled and c["alpha"].disabled

    c["surface"].value = "saddle"
    c["optimizers"].value = ("Adam",)
    c["lr"].value = 0.05
    c["beta1"].value = 0.8
    c["steps"].value = 30
    state = explorer.state
    assert state["name"] == "saddle" and set(state["paths"]) == {"Adam"}
    expected = S.run_optimizer(Adam, S.Saddle.start, 30, surface=S.Saddle(), lr=0.05,
                               betas=(0.8, 0.999))
    np.testing.assert_allclose(state["paths"]["Adam"], expected, rtol=1e-12)
    line = _line(explorer.ax_paths, "Adam")
    np.testing.assert_allclose(line.get_ydata(), expected[:, 1], rtol=1e-12)
    assert c["momentum"].disabled and c["alpha"].disabled and not c["beta2"].disabled

    c["optimizers"].value = ("RMSProp",)
    assert c["beta1"].disabled and not c["alpha"].disabled
    c["optimizers"].value = ()                 # nothing selected: the last picture stays
    assert explorer.state is not None and set(explorer.state["paths"]) == {"RMSProp"}
