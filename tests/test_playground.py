"""The playground, driven exactly as its widget drives it, without a browser."""

import matplotlib
import numpy as np
import pytest

from course_nn.data import make_spirals
from course_nn.lab.playground import Playground

matplotlib.use("Agg")


def test_spiral_classifier_trains_past_95_percent_from_its_own_state():
    pg = Playground(dataset="spirals")
    while pg.accuracy("train") <= 0.95 and pg.epoch < 300:
        pg.step(10)
    assert pg.accuracy("train") > 0.95
    assert pg.history.train_acc[-1] == pytest.approx(pg.accuracy("train"))
    assert len(pg.history.val_loss) == pg.epoch
    assert pg.history.train_loss[-1] < pg.history.train_loss[0] / 2


def test_the_same_settings_give_the_same_run():
    a = Playground(dataset="moons", weight_seed=3).step(5)
    b = Playground(dataset="moons", weight_seed=3).step(5)
    assert a.history.train_loss == b.history.train_loss


def test_configure_rebuilds_model_and_data():
    pg = Playground(dataset="xor", hidden=(4,), activation="relu").step(3)
    pg.configure(hidden=(5, 3), dropout=0.2, regularization="l2", reg_rate=1e-3, optimizer="momentum")
    assert pg.epoch == 0 and pg.history.train_loss == []
    widths = [m.weight.shape for m in pg.model if hasattr(m, "weight") and m.weight is not None]
    assert widths == [(5, 2), (3, 5), (2, 3)]
    pg.step(2)
    assert pg.epoch == 2


def test_hidden_outputs_and_grid():
    pg = Playground(dataset="circles", hidden=(6, 4))
    points, xx, yy = pg.grid(resolution=20)
    assert points.shape == (400, 2) and xx.shape == (20, 20)
    assert pg.hidden_outputs(points, 0).shape == (400, 6)
    assert pg.hidden_outputs(points, 1).shape == (400, 4)
    assert np.all(np.abs(pg.hidden_outputs(points, 0)) <= 1)  # tanh units
    with pytest.raises(ValueError, match=r"layer: expected 0..1, got 2"):
        pg.hidden_outputs(points, 2)


def test_draw_shows_boundary_losses_and_units():
    pg = Playground(dataset="blobs", hidden=(3,)).step(2)
    fig = pg.draw(resolution=30)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[0].startswith("epoch 2: train acc")
    assert "loss curves" in titles and "unit 3" in titles
    assert len(fig.axes[1].lines) == 2 and len(fig.axes[1].lines[0].get_xdata()) == 2


@pytest.mark.parametrize("bad, message", [
    (dict(dataset="swirl"), "dataset: expected one of"),
    (dict(activation="softplus"), "activation: expected one of"),
    (dict(optimizer="lbfgs"), "optimizer: expected one of"),
    (dict(hidden=(4, 0)), "hidden: expected one or more positive layer widths, or"),
    (dict(hidden=4), "hidden: expected one or more positive layer widths, or"),
    (dict(lr=-1.0), "lr: expected a value > 0"),
])
def test_bad_settings_are_rejected(bad, message):
    with pytest.raises(ValueError, match=message):
        Playground(**bad)


def test_widget_controls_drive_the_playground():
    pytest.importorskip("ipywidgets")
    panel = Playground(dataset="xor", hidden=(4,)).widget()
    pg, controls = panel.playground, panel.controls
    controls["dataset"].value = "moons"
    controls["hidden"].value = "8,8"
    assert pg.config.dataset == "moons" and pg.config.hidden == (8, 8)
    buttons = {b.description: b for b in panel.children[0].children if hasattr(b, "click")}
    buttons["step 10 epochs"].click()
    assert pg.epoch == 10
    panel.children[0].children[0].value = 1  # the Play widget ticks: one more epoch
    assert pg.epoch == 11
    buttons["reset"].click()
    assert pg.epoch == 0


def test_spirals_data_is_balanced_and_seeded():
    X, y = make_spirals(300, rng=np.random.default_rng(0))
    assert np.bincount(y).tolist() == [150, 150]


@pytest.mark.parametrize("bad, message", [
    (dict(noise=-0.1), "noise: expected a value >= 0"),
    (dict(dropout=1.0), "dropout: expected a value < 1"),
    (dict(reg_rate=-1e-3), "reg_rate: expected a value >= 0"),
    (dict(batch_size=0), "batch_size: expected a positive integer"),
    (dict(n_samples=2.5), "n_samples: expected a positive integer"),
    (dict(val_fraction=0.0), "val_fraction: expected a value > 0"),
    (dict(weight_seed=-1), "weight_seed: expected a non-negative integer"),
    (dict(data_seed=-1), "data_seed: expected a non-negative integer"),
    (dict(data_seed=True), "data_seed: expected a non-negative integer"),
    (dict(data_seed=1.5), "data_seed: expected a non-negative integer"),
])
def test_bad_numeric_settings_are_rejected_before_anything_is_built(bad, message):
    with pytest.raises(ValueError, match=message):
        Playground(**bad)


def test_accuracy_names_its_split():
    pg = Playground(dataset="xor", hidden=(4,)).step(2)
    assert 0.0 <= pg.accuracy("train") <= 1.0 and 0.0 <= pg.accuracy("val") <= 1.0
    with pytest.raises(ValueError, match="split: expected 'train' or 'val', got 'test'"):
        pg.accuracy("test")


def test_hidden_outputs_restores_the_mode_it_found():
    pg = Playground(dataset="moons", hidden=(5, 3), dropout=0.3)
    points = pg.grid(5)[0]
    pg.model.eval()
    pg.hidden_outputs(points, 1)
    assert not pg.model.training  # still in evaluation mode, as the caller left it
    pg.model.train()
    a, b = pg.hidden_outputs(points, 0), pg.hidden_outputs(points, 0)
    np.testing.assert_array_equal(a, b)  # dropout is off while reading the units
    assert pg.model.training
    with pytest.raises(ValueError, match=r"layer: expected 0\.\.1, got 2"):
        pg.hidden_outputs(points, 2)


def test_widget_reports_a_bad_layer_list_and_keeps_the_last_run():
    pytest.importorskip("ipywidgets")
    panel = Playground(dataset="xor", hidden=(4,)).widget()
    pg, controls = panel.playground, panel.controls
    status = panel.children[2]
    controls["hidden"].value = "16,a"
    assert pg.config.hidden == (4,)
    assert "Not applied" in status.value and "16,a" in status.value
    controls["hidden"].value = "6"
    assert pg.config.hidden == (6,) and status.value == ""
    controls["weight_seed"].value = 7
    assert pg.config.weight_seed == 7
    again = Playground(dataset="xor", hidden=(6,), weight_seed=7)
    np.testing.assert_array_equal(pg.train_data[0], again.train_data[0])
    np.testing.assert_array_equal(pg.model[0].weight.data, again.model[0].weight.data)


def test_widget_has_a_data_seed_and_a_weight_seed():
    pytest.importorskip("ipywidgets")
    panel = Playground(dataset="moons", hidden=(4,)).widget()
    pg, controls = panel.playground, panel.controls
    assert controls["data_seed"].description == "data seed"
    assert controls["weight_seed"].description == "weight seed"
    weights = pg.model[0].weight.data.copy()
    controls["data_seed"].value = 2
    assert pg.config.data_seed == 2 and pg.config.weight_seed == 0
    np.testing.assert_array_equal(pg.train_data[0], Playground(dataset="moons", data_seed=2).train_data[0])
    np.testing.assert_array_equal(pg.model[0].weight.data, weights)  # new data, same initial weights


def test_data_seed_draws_the_data_and_weight_seed_the_training():
    base = Playground(dataset="moons", hidden=(5,))
    other_weights = Playground(dataset="moons", hidden=(5,), weight_seed=4)
    other_data = Playground(dataset="moons", hidden=(5,), data_seed=4)
    # the weight seed changes the initial weights, not the points or the split
    for a, b in zip(base.train_data + base.val_data, other_weights.train_data + other_weights.val_data):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(base.model[0].weight.data, other_weights.model[0].weight.data)
    # the data seed changes the points and the split, not the initial weights
    assert not np.array_equal(base.train_data[0], other_data.train_data[0])
    for a, b in zip(base.model.parameters(), other_data.model.parameters()):
        np.testing.assert_array_equal(a.data, b.data)
    # and the order of the mini-batches follows the weight seed: same seed, same run on new data
    a = Playground(dataset="moons", hidden=(5,), data_seed=4, weight_seed=1).step(3)
    b = Playground(dataset="moons", hidden=(5,), data_seed=4, weight_seed=1).step(3)
    assert a.history.train_loss == b.history.train_loss
    assert "data_seed=4" in repr(a)


@pytest.mark.parametrize("error", [FloatingPointError, KeyboardInterrupt])
@pytest.mark.parametrize("settings", [dict(optimizer="adam"), dict(optimizer="momentum", regularization="l2",
                                                                   reg_rate=1e-3, dropout=0.2),
                                      dict(optimizer="sgd", regularization="l1", reg_rate=1e-2,
                                           features=("x1", "x2", "x1^2", "x2^2")),
                                      dict(dataset="multi_gaussian", hidden=(6,))])
def test_a_failed_step_leaves_the_run_as_it_was(monkeypatch, error, settings):
    """An error (or Ctrl-C) in the middle of an epoch puts back the weights, gradients,
    optimizer state, generator, epoch count and history: the next step is the step the run
    would have taken."""
    pg, twin = Playground(**settings).step(2), Playground(**settings).step(2)
    before = [p.data.copy() for p in pg.model.parameters()]
    real_step, calls = type(pg.optimizer).step, []

    def failing_step(opt):
        calls.append(1)
        if len(calls) == 5:  # the fifth mini-batch of this call
            raise error("injected")
        real_step(opt)

    monkeypatch.setattr(pg.optimizer, "step", failing_step.__get__(pg.optimizer))
    with pytest.raises(error, match="injected"):
        pg.step(2)
    assert len(calls) == 5 and pg.epoch == 2 and len(pg.history.train_loss) == 2
    for p, b in zip(pg.model.parameters(), before):
        np.testing.assert_array_equal(p.data, b)
    monkeypatch.undo()
    pg.step(1)
    twin.step(1)
    for p, q in zip(pg.model.parameters(), twin.model.parameters()):
        np.testing.assert_array_equal(p.data, q.data)
    assert pg.history == twin.history and pg.optimizer.steps == twin.optimizer.steps
