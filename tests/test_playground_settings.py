"""The playground's TensorFlow-Playground settings, driven without a browser: input features,
no hidden layer, L1 and L2 regularization, regression datasets, batch size and the
validation share, the learner's own data, the two seeds, the network drawing and the
widget's new controls. Every bad value is rejected with a message naming the setting, and a
failed configure() changes nothing."""

import matplotlib
import numpy as np
import pytest
from matplotlib.collections import LineCollection

from course_nn.lab.playground import DATASETS, FEATURES, Playground
from course_nn.module import Parameter
from course_nn.regularization import L1Penalty

matplotlib.use("Agg")

ALL_FEATURES = tuple(FEATURES)


def _state(pg):
    """Everything a configure() could change, as comparable values."""
    return (pg.config, pg.model, pg.optimizer, pg.train_data, pg.val_data, pg.epoch,
            pg.task, pg.penalty, [p.data.copy() for p in pg.model.parameters()])


def _same_state(a, b):
    assert a[:8] == b[:8] or all(x is y for x, y in zip(a[:8], b[:8]))
    for x, y in zip(a[8], b[8]):
        np.testing.assert_array_equal(x, y)


# --- features --------------------------------------------------------------------------

def test_features_are_computed_in_the_order_asked():
    pg = Playground(dataset="moons", features=("sin(x2)", "x1*x2", "x1^2", "x1"), hidden=(3,))
    P = np.array([[0.5, -2.0], [1.5, 3.0]])
    expected = np.column_stack([np.sin(P[:, 1]), P[:, 0] * P[:, 1], P[:, 0] ** 2, P[:, 0]])
    np.testing.assert_array_equal(pg.features_of(P), expected)
    assert pg.model[0].weight.shape == (3, 4)         # one input per feature
    every = Playground(dataset="moons", features=ALL_FEATURES, hidden=(2,))
    assert every.features_of(P).shape == (2, 7)
    np.testing.assert_array_equal(every.features_of(P)[:, 3], P[:, 1] ** 2)


@pytest.mark.parametrize("bad, message", [
    (("x1", "x3"), r"features: expected names from \['x1', 'x2', 'x1\^2', 'x2\^2', 'x1\*x2', "
                   r"'sin\(x1\)', 'sin\(x2\)'\], got 'x3'"),
    (("x1", "x1"), r"features: expected each feature at most once"),
    ((), r"features: expected one or more of"),
    ("x1", r"features: expected a tuple of feature names such as \('x1', 'x2'\), got the string"),
    (("x1", 2), r"features: expected names from .*, got 2"),
])
def test_bad_features_are_rejected_naming_the_valid_ones(bad, message):
    with pytest.raises(ValueError, match=message):
        Playground(features=bad)
    pg = Playground(dataset="xor", hidden=(2,))
    before = _state(pg)
    with pytest.raises(ValueError, match=message):
        pg.configure(features=bad)
    _same_state(before, _state(pg))


def test_squared_features_make_the_circles_linearly_separable():
    """No hidden layer: with x1^2 and x2^2 every seed separates the circles, with x1 and x2 none
    gets far beyond a coin flip."""
    square = [Playground(dataset="circles", features=("x1^2", "x2^2"), hidden=(), data_seed=s,
                         weight_seed=s).step(30).accuracy("val") for s in range(3)]
    plain = [Playground(dataset="circles", features=("x1", "x2"), hidden=(), data_seed=s,
                        weight_seed=s).step(30).accuracy("val") for s in range(3)]
    assert min(square) >= 0.95 and max(plain) < 0.7


def test_no_hidden_layer_is_a_linear_model():
    pg = Playground(dataset="xor", features=("x1*x2",), hidden=())
    assert len(pg.model) == 1 and pg.model[0].weight.shape == (2, 1)
    assert pg.step(30).accuracy("val") > 0.95          # the product's sign is the XOR class
    with pytest.raises(ValueError, match=r"layer: the network has no hidden layer"):
        pg.hidden_outputs(np.zeros((1, 2)), 0)
    fig = pg.draw(resolution=10)
    assert not any(ax.get_title().startswith("unit") for ax in fig.axes)
    assert len(pg.draw_network(resolution=4).images) == 1 + 2


# --- regularization ----------------------------------------------------------------------

def test_l1_drives_unneeded_weights_to_exactly_zero_and_l2_does_not():
    runs = {reg: [Playground(dataset="circles", features=ALL_FEATURES, hidden=(), optimizer="sgd",
                             lr=0.3, regularization=reg, reg_rate=0.01, data_seed=s,
                             weight_seed=s).step(30) for s in range(3)]
            for reg in ("none", "l1", "l2")}
    zeros = {reg: [int(np.sum(run.weights()[0] == 0)) for run in r] for reg, r in runs.items()}
    assert min(zeros["l1"]) >= 4 and zeros["l2"] == [0, 0, 0] and zeros["none"] == [0, 0, 0]
    for run in runs["l1"]:
        W = run.weights()[0]
        assert np.all(W[:, [2, 3]] != 0)              # the squares, which matter, stay
        assert run.accuracy("val") > 0.95
    # L2 keeps the weights smaller than no penalty, run by run
    for plain, l2 in zip(runs["none"], runs["l2"]):
        assert np.abs(l2.weights()[0]).sum() < np.abs(plain.weights()[0]).sum()


def test_regularization_settings_are_checked():
    for bad, error, message in [(dict(regularization="l3"), ValueError,
                                 r"regularization: expected one of \['l1', 'l2', 'none'\], got 'l3'"),
                                (dict(regularization=None), ValueError, "regularization: expected one of"),
                                (dict(reg_rate=-0.1), ValueError, "reg_rate: expected a value >= 0"),
                                (dict(reg_rate=np.inf), ValueError, "reg_rate: expected a finite number"),
                                (dict(reg_rate="0.1"), TypeError, "reg_rate: expected a real number")]:
        with pytest.raises(error, match=message):
            Playground(**bad)
    assert Playground(regularization="l1", reg_rate=0.0).penalty is None
    assert Playground(regularization="none", reg_rate=0.5).penalty is None
    assert isinstance(Playground(regularization="l1", reg_rate=0.5).penalty, L1Penalty)


def test_old_setting_names_point_to_the_new_ones():
    with pytest.raises(TypeError, match=r"seed: not a playground setting \(did you mean weight_seed\?\)"):
        Playground(seed=1)
    with pytest.raises(TypeError, match=r"l2: not a playground setting \(did you mean regularization='l2'"):
        Playground(dataset="xor").configure(l2=1e-3)
    with pytest.raises(TypeError, match=r"colour: not a playground setting; expected one of \['dataset'"):
        Playground(colour="red")


def test_l1_proximal_step_is_soft_thresholding():
    p, q = Parameter(np.array([[0.5, -0.5, 0.05, -0.02, 0.0]])), Parameter(np.array([[1.0, -3.0]]))
    L1Penalty(2.0).proximal_step([p, q], 0.1)         # threshold 0.2
    np.testing.assert_allclose(p.data, [[0.3, -0.3, 0.0, 0.0, 0.0]])
    np.testing.assert_allclose(q.data, [[0.8, -2.8]])
    assert np.all(p.data[0, 2:] == 0)                   # exactly zero, not nearly
    assert not np.any(np.signbit(p.data[0, 2:]))        # and +0.0, not -0.0
    # it minimizes 1/2 (w - v)^2 + t |w| for each entry: compare with a fine search
    v, t = np.array([1.3, -0.4, 0.05]), 0.25
    w = Parameter(v[None].copy())
    L1Penalty(1.0).proximal_step([w], t)
    grid = np.linspace(-2, 2, 400_001)
    best = [grid[np.argmin(0.5 * (grid - vi) ** 2 + t * np.abs(grid))] for vi in v]
    np.testing.assert_allclose(w.data[0], best, atol=1e-5)
    # bad arguments change nothing
    before = p.data.copy()
    for bad, error, message in [(-0.1, ValueError, "step: expected a value >= 0"),
                                (np.nan, ValueError, "step: expected a finite number"),
                                ("1", TypeError, "step: expected a real number")]:
        with pytest.raises(error, match=message):
            L1Penalty(1.0).proximal_step([p], bad)
    with pytest.raises(ValueError, match="overflows"):
        L1Penalty(1e300).proximal_step([p], 1e300)
    with pytest.raises(TypeError, match="expected an iterable of Parameters"):
        L1Penalty(1.0).proximal_step(p, 0.1)
    np.testing.assert_array_equal(p.data, before)


# --- regression --------------------------------------------------------------------------

@pytest.mark.parametrize("dataset", ["plane", "multi_gaussian"])
def test_regression_datasets_train_with_mse_and_a_linear_output(dataset):
    pg = Playground(dataset=dataset, hidden=(8, 8))
    assert pg.task == "regression" and pg.n_classes is None
    assert pg.train_data[1].dtype == np.float64 and pg.model[-1].weight.shape == (1, 8)
    assert type(pg.model[-1]).__name__ == "Linear"      # no activation on the output
    start = pg.loss("val")
    pg.step(40)
    assert pg.history.train_acc == [] and pg.history.val_acc == []
    assert len(pg.history.val_loss) == 40 and pg.history.val_loss[-1] == pytest.approx(pg.loss("val"))
    assert pg.loss("val") < start / 3
    X, y = pg.val_data
    assert pg.predict(X).shape == (len(X),)
    assert pg.loss("val") == pytest.approx(np.mean((pg.predict(X) - y) ** 2))
    with pytest.raises(ValueError, match="accuracy: expected a classification task, got a regression"):
        pg.accuracy("val")
    fig = pg.draw(resolution=12)
    assert fig.axes[0].get_title().startswith("epoch 40: train MSE")
    assert fig.axes[1].get_ylabel() == "mean squared error"


def test_regression_targets_are_what_the_datasets_say():
    plane = Playground(dataset="plane", noise=0.0)
    X, y = plane.train_data
    np.testing.assert_allclose(y, (X[:, 0] + X[:, 1]) / 2)
    bumps = Playground(dataset="multi_gaussian", noise=0.0, n_samples=2000)
    X, y = bumps.train_data
    near = np.linalg.norm(X - [0.0, 0.5], axis=1) < 0.05
    assert np.all(y[near] < -0.8)                       # the bump at (0, 0.5) points down
    assert np.abs(y).max() < 1.2


def test_task_must_match_a_builtin_dataset():
    with pytest.raises(ValueError, match="task: the dataset 'plane' is a regression task"):
        Playground(dataset="plane", task="classification")
    with pytest.raises(ValueError, match=r"task: expected one of \['auto', 'classification', 'regression'\]"):
        Playground(task="ranking")


# --- batch size and validation share -----------------------------------------------------

@pytest.mark.parametrize("batch_size", [1, 7, 32, 300, 1000])
def test_batch_size_sets_the_steps_per_epoch(batch_size):
    pg = Playground(dataset="moons", hidden=(3,), batch_size=batch_size).step(2)
    assert pg.optimizer.steps == 2 * int(np.ceil(300 / batch_size))


@pytest.mark.parametrize("fraction, n_val", [(0.1, 40), (0.5, 200), (0.9, 360)])
def test_validation_share_sets_the_split(fraction, n_val):
    pg = Playground(dataset="xor", hidden=(2,), val_fraction=fraction).step(1)
    assert len(pg.val_data[0]) == n_val and len(pg.train_data[0]) == 400 - n_val
    assert len(pg.history.val_acc) == 1


# --- the learner's own data --------------------------------------------------------------

def _own(n=60, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    return X, (X[:, 0] * X[:, 1] > 0).astype(np.int64)


def test_own_classification_data():
    X, y = _own()
    pg = Playground(data=(X, y), features=("x1*x2",), hidden=())
    assert pg.config.dataset == "custom" and pg.task == "classification" and pg.n_classes == 2
    together = np.concatenate([pg.train_data[0], pg.val_data[0]])
    assert sorted(map(tuple, together)) == sorted(map(tuple, X))
    X[:] = 0.0                                          # the playground keeps its own copy
    assert not np.all(pg.train_data[0] == 0)
    pg.step(40)
    assert pg.accuracy("train") > 0.95
    assert repr(pg).startswith("Playground(data=<60 points>, dataset='custom'")
    pg.configure(weight_seed=3)                          # other settings keep the data
    assert pg.config.dataset == "custom" and len(pg.train_data[0]) == 45


def test_own_regression_data_and_three_classes():
    X, _ = _own()
    reg = Playground(data=(X, X[:, 0] - X[:, 1]), hidden=(4,))
    assert reg.task == "regression" and reg.model[-1].weight.shape == (1, 4)
    labels = np.arange(60) % 3
    three = Playground(data=(X, labels), hidden=(4,))
    assert three.n_classes == 3 and three.model[-1].weight.shape == (3, 4)
    whole = Playground(data=(X, labels.astype(float)), task="classification", hidden=(4,))
    assert whole.n_classes == 3 and whole.train_data[1].dtype == np.int64
    three.draw(resolution=8)
    three.draw_network(resolution=4)


@pytest.mark.parametrize("make, error, message", [
    (lambda X, y: X, TypeError, r"data: expected a pair \(X, y\) of arrays, got ndarray"),
    (lambda X, y: (X, y, y), TypeError, r"data: expected a pair \(X, y\) of arrays, got tuple of length 3"),
    (lambda X, y: (X[:, :1], y), ValueError, r"data X: expected shape \(N, 2\), got \(60, 1\)"),
    (lambda X, y: (X.T, y), ValueError, r"data X: expected shape \(N, 2\), got \(2, 60\)"),
    (lambda X, y: (np.where(X > 1, np.nan, X), y), ValueError, "data X: expected finite values"),
    (lambda X, y: (X > 0, y), TypeError, "data X: expected real numbers, got dtype bool"),
    (lambda X, y: (X, y[:-1]), ValueError, r"data y: expected shape \(60,\), one target per row of X"),
    (lambda X, y: (X, y[:, None]), ValueError, r"data y: expected shape \(60,\)"),
    (lambda X, y: (X, y.astype(bool)), TypeError, "data y: expected integer class labels or real"),
    (lambda X, y: (X, y.astype(str)), TypeError, "data y: expected integer class labels or real"),
    (lambda X, y: (X, y - 1), ValueError, "data y: expected class labels 0, 1, ..., got -1"),
    (lambda X, y: (X, 2 * y), ValueError, r"data y: expected class labels 0..K-1 .* got labels \[0, 2\]"),
    (lambda X, y: (X, np.zeros_like(y)), ValueError, r"got labels \[0\]"),
    (lambda X, y: (X, np.arange(60) % 12), ValueError, r"2 <= K <= 10"),
    (lambda X, y: (X, np.where(y > 0, np.nan, 0.5)), ValueError, "data y: expected finite values"),
    (lambda X, y: (X[:2], y[:2]), ValueError, "val: 0.25 of 2 samples rounds to no sample"),
])
def test_bad_own_data_is_rejected_and_changes_nothing(make, error, message):
    X, y = _own()
    with pytest.raises(error, match=message):
        Playground(data=make(X, y))
    pg = Playground(data=(X, y), hidden=(2,)).step(1)
    before = _state(pg)
    with pytest.raises(error, match=message):
        pg.configure(data=make(X, y))
    _same_state(before, _state(pg))
    assert pg.epoch == 1


def test_fractional_labels_and_mismatched_dataset_are_rejected():
    X, y = _own()
    with pytest.raises(ValueError, match="data y: expected whole-number class labels"):
        Playground(data=(X, y + 0.5), task="classification")
    with pytest.raises(ValueError, match="data: given together with dataset='moons'"):
        Playground(data=(X, y), dataset="moons")
    with pytest.raises(ValueError, match=r"dataset: 'custom' needs your data"):
        Playground(dataset="custom")
    pg = Playground(dataset="xor", hidden=(2,))
    with pytest.raises(ValueError, match=r"dataset: 'custom' needs your data"):
        pg.configure(dataset="custom")
    assert pg.config.dataset == "xor"


def test_switching_between_own_and_builtin_data_keeps_the_own_data():
    X, y = _own()
    pg = Playground(data=(X, y), hidden=(2,))
    points = pg.train_data[0].copy()
    pg.configure(dataset="moons")
    assert pg.config.dataset == "moons" and len(pg.train_data[0]) == 300
    pg.configure(dataset="custom")
    np.testing.assert_array_equal(pg.train_data[0], points)
    pg.configure(data=(X[:40], 1 - y[:40]))
    assert len(pg.train_data[0]) == 30


def test_data_seed_and_weight_seed_are_independent_for_own_data():
    X, y = _own()
    base = Playground(data=(X, y), hidden=(3,))
    new_split = Playground(data=(X, y), hidden=(3,), data_seed=1)
    new_weights = Playground(data=(X, y), hidden=(3,), weight_seed=1)
    assert not np.array_equal(base.train_data[0], new_split.train_data[0])
    np.testing.assert_array_equal(base.model[0].weight.data, new_split.model[0].weight.data)
    np.testing.assert_array_equal(base.train_data[0], new_weights.train_data[0])
    assert not np.array_equal(base.model[0].weight.data, new_weights.model[0].weight.data)


# --- the network drawing -----------------------------------------------------------------

def test_draw_network_shows_every_neuron_and_every_weight():
    pg = Playground(dataset="moons", features=("x1", "x2", "x1^2"), hidden=(5, 64, 3)).step(1)
    ax = pg.draw_network(resolution=6)
    assert len(ax.images) == 3 + 5 + 64 + 3 + 2          # features, every unit, both outputs
    edges = [c for c in ax.collections if isinstance(c, LineCollection)]
    weights = pg.weights()
    assert [len(c.get_segments()) for c in edges] == [W.size for W in weights]
    biggest = max(np.abs(W).max() for W in weights)
    for c, W in zip(edges, weights):
        np.testing.assert_allclose(c.get_linewidths(), 3.0 * np.abs(W.ravel()) / biggest)
        red = c.get_colors()[:, 0] > c.get_colors()[:, 2]
        np.testing.assert_array_equal(red, W.ravel() > 0)   # colour for sign
    texts = [t.get_text() for t in ax.texts]
    assert "x1^2" in texts and "layer 2: 64 units" in texts


def test_draw_network_draws_no_edge_for_a_zero_weight():
    pg = Playground(dataset="circles", features=ALL_FEATURES, hidden=(), optimizer="sgd", lr=0.3,
                    regularization="l1", reg_rate=0.01).step(30)
    W = pg.weights()[0]
    edges = [c for c in pg.draw_network(resolution=4).collections if isinstance(c, LineCollection)]
    widths = np.asarray(edges[0].get_linewidths())
    assert np.sum(widths == 0) == np.sum(W == 0) >= 4


# --- the widget ---------------------------------------------------------------------------

def test_widget_has_every_new_control_and_each_reconfigures():
    pytest.importorskip("ipywidgets")
    panel = Playground(dataset="xor", hidden=(4,)).widget()
    pg, controls = panel.playground, panel.controls
    assert {"features", "regularization", "reg_rate", "batch_size", "val_fraction", "data_seed",
            "weight_seed"} <= set(controls)
    assert set(controls["dataset"].options) == set(DATASETS) - {"custom"}
    assert panel.children[3].value[:4] == b"\x89PNG"      # the network picture
    controls["features"].value = ("x1*x2",)
    controls["hidden"].value = ""
    assert pg.config.features == ("x1*x2",) and pg.config.hidden == ()
    controls["regularization"].value = "l1"
    controls["reg_rate"].value = 1e-3
    assert pg.config.regularization == "l1" and pg.config.reg_rate == pytest.approx(1e-3)
    assert isinstance(pg.penalty, L1Penalty)
    controls["batch_size"].value = 10
    controls["val_fraction"].value = 0.5
    assert pg.config.batch_size == 10 and len(pg.val_data[0]) == 200
    controls["dataset"].value = "plane"
    assert pg.task == "regression"
    buttons = {b.description: b for b in panel.children[0].children if hasattr(b, "click")}
    buttons["step 10 epochs"].click()
    assert pg.epoch == 10 and pg.optimizer.steps == 10 * 20
    controls["weight_seed"].value = 5
    assert pg.config.weight_seed == 5 and pg.epoch == 0


def test_widget_reports_an_empty_feature_set_and_keeps_the_run():
    pytest.importorskip("ipywidgets")
    panel = Playground(dataset="xor", hidden=(4,)).widget()
    pg, controls, status = panel.playground, panel.controls, panel.children[2]
    controls["features"].value = ()
    assert "Not applied" in status.value and "features" in status.value
    assert pg.config.features == ("x1", "x2")


def test_widget_offers_custom_data_when_given():
    pytest.importorskip("ipywidgets")
    X, y = _own()
    panel = Playground(data=(X, y), hidden=(2,)).widget()
    assert "custom" in panel.controls["dataset"].options
    panel.controls["dataset"].value = "moons"
    panel.controls["dataset"].value = "custom"
    assert panel.playground.config.dataset == "custom" and len(panel.playground.train_data[0]) == 45


def test_draw_output_draws_the_boundary_and_the_unit_lines():
    pg = Playground(dataset="circles", hidden=(3,)).step(20)
    ax = pg.draw_output(resolution=30, unit_lines=True, title="three units")
    assert ax.get_title() == "three units"
    contours = [c for c in ax.collections if type(c).__name__ == "QuadContourSet"]
    z = pg.features_of(pg.grid(30)[0]) @ pg.model[0].weight.data.T + pg.model[0].bias.data
    crossing = int(np.sum((z.min(axis=0) < 0) & (z.max(axis=0) > 0)))
    assert crossing >= 2
    assert [c.filled for c in contours] == [True, False] + [False] * crossing  # regions, boundary, units
    plain = pg.draw_output(resolution=30, boundary=False)
    assert [c.filled for c in plain.collections if type(c).__name__ == "QuadContourSet"] == [True]
    squares = Playground(dataset="circles", features=("x1^2", "x2^2"), hidden=()).step(30)
    ax = squares.draw_output(resolution=30)
    assert ax.get_title().startswith("epoch 30: train acc")
    assert Playground(dataset="plane").step(2).draw_output(resolution=8).get_title().startswith(
        "epoch 2: train MSE")
    with pytest.raises(ValueError, match="resolution: expected an integer >= 2"):
        squares.draw_output(resolution=1)
