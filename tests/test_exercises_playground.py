"""Chapter 18 (the playground): every exercise checker accepts a plain-numpy solution and
rejects the typical wrong answers (the debug exercise's two planted bugs, alone and together,
the mesh in the wrong order, W instead of W.T, a forgotten bias or activation, wrong feature
counts, an untrained or half-trained spiral network). The references agree with the
Playground itself: its grid, its hidden_outputs, and what its runs measure.

IDS, SOLUTIONS and WRONG feed the checks every exercise gets, in tests/test_exercises.py
(registered, reference and solutions pass, each wrong answer rejected).
"""

import numpy as np
import pytest

import course_nn as nn
from course_nn.lab.exercises import evaluate, exercises
from course_nn.lab.playground import Playground

IDS = ("playground.decision_grid", "playground.first_layer_units", "playground.features_needed",
       "playground.train_spirals")


# --- plain-numpy solutions, as a learner would write them ---------------------------------

def decision_grid(xmin, xmax, ymin, ymax, n):
    xx, yy = np.meshgrid(np.linspace(xmin, xmax, n), np.linspace(ymin, ymax, n))
    return np.column_stack([xx.ravel(), yy.ravel()])


def first_layer_units(points, weight, bias):
    return np.tanh(points @ weight.T + bias)


def features_needed(dataset, features):
    f = set(features)
    if dataset == "xor":          # the class is the sign of x1 * x2
        return 1 if "x1*x2" in f else 0
    if dataset == "circles":      # inside or outside a circle: x1^2 + x2^2
        return 2 if "x1^2" in f and "x2^2" in f else 0
    rising = {"x1", "x2", "sin(x1)", "sin(x2)"}   # blobs: a line between two clouds
    return 1 if f & rising else 0


def _tanh_net_trained(X_train, y_train, seed, width, epochs):
    """A learner's loop: 2-width-width-2 tanh network, Adam 0.03, batches of 32."""
    rng = np.random.default_rng(seed)
    model = nn.Sequential(nn.Linear(2, width, rng=rng), nn.Tanh(), nn.Linear(width, width, rng=rng),
                          nn.Tanh(), nn.Linear(width, 2, rng=rng))
    loss_fn, opt = nn.CrossEntropyLoss(), nn.optim.Adam(model.parameters(), lr=0.03)
    for _ in range(epochs):
        order = rng.permutation(len(X_train))
        for start in range(0, len(X_train), 32):
            idx = order[start:start + 32]
            opt.zero_grad()
            loss_fn(model(X_train[idx]), y_train[idx])
            model.backward(loss_fn.backward())
            opt.step()
    return model


def train_spirals(X_train, y_train, seed):
    return _tanh_net_trained(X_train, y_train, seed, width=32, epochs=100)


SOLUTIONS = dict(zip(IDS, (decision_grid, first_layer_units, features_needed, train_spirals)))


# --- wrong answers ----------------------------------------------------------------------

def _grid_y_fastest(xmin, xmax, ymin, ymax, n):
    xx, yy = np.meshgrid(np.linspace(xmin, xmax, n), np.linspace(ymin, ymax, n), indexing="ij")
    return np.column_stack([xx.ravel(), yy.ravel()])


def _grid_xy_swapped(xmin, xmax, ymin, ymax, n):
    return decision_grid(ymin, ymax, xmin, xmax, n)[:, ::-1]


def _grid_arange(xmin, xmax, ymin, ymax, n):
    step_x, step_y = (xmax - xmin) / n, (ymax - ymin) / n
    xx, yy = np.meshgrid(np.arange(n) * step_x + xmin, np.arange(n) * step_y + ymin)
    return np.column_stack([xx.ravel(), yy.ravel()])


def _grid_x_range_for_both(xmin, xmax, ymin, ymax, n):
    return decision_grid(xmin, xmax, xmin, xmax, n)


def _grid_mesh_arrays(xmin, xmax, ymin, ymax, n):
    xx, yy = np.meshgrid(np.linspace(xmin, xmax, n), np.linspace(ymin, ymax, n))
    return np.stack([xx, yy])


def _grid_as_given(xmin, xmax, ymin, ymax, n):
    xs, ys = np.linspace(xmin, xmax, n), np.linspace(ymin, ymax, n)
    xx, yy = np.meshgrid(ys, xs)
    return np.stack([xx, yy]).reshape(-1, 2)


def _grid_only_pairs_fixed(xmin, xmax, ymin, ymax, n):
    xs, ys = np.linspace(xmin, xmax, n), np.linspace(ymin, ymax, n)
    xx, yy = np.meshgrid(ys, xs)
    return np.stack([xx, yy], axis=-1).reshape(-1, 2)


def _grid_only_meshgrid_fixed(xmin, xmax, ymin, ymax, n):
    xs, ys = np.linspace(xmin, xmax, n), np.linspace(ymin, ymax, n)
    xx, yy = np.meshgrid(xs, ys)
    return np.stack([xx, yy]).reshape(-1, 2)


def _untrained(X_train, y_train, seed):
    rng = np.random.default_rng(seed)
    return nn.Sequential(nn.Linear(2, 16, rng=rng), nn.Tanh(), nn.Linear(16, 2, rng=rng))


def _too_short(X_train, y_train, seed):
    """The playground's default network after three epochs: a tilted plane."""
    return _tanh_net_trained(X_train, y_train, seed, width=16, epochs=3)


WRONG = {
    "playground.features_needed": {
        "all of them": lambda d, f: len(f),
        "never enough (no hidden layer, no curve)": lambda d, f: 0,
        "only x1 and x2 together draw a line": lambda d, f: 2 if {"x1", "x2"} <= set(f) else 0,
        "circles: one square is enough": lambda d, f: (
            int("x1^2" in f or "x2^2" in f) if d == "circles" else features_needed(d, f)),
        "xor: the two squares as well": lambda d, f: (
            2 if d == "xor" and {"x1^2", "x2^2"} <= set(f) and "x1*x2" not in f
            else features_needed(d, f)),
        "blobs: needs both coordinates": lambda d, f: (
            2 if {"x1", "x2"} <= set(f) else 0) if d == "blobs" else features_needed(d, f),
        "circles: the radius is one number": lambda d, f: (
            min(features_needed(d, f), 1) if d == "circles" else features_needed(d, f)),
        "True and False instead of a count": lambda d, f: features_needed(d, f) > 0,
    },
    "playground.decision_grid": {
        "the function as given (both bugs)": _grid_as_given,
        "only the stacking fixed (meshgrid(ys, xs) left)": _grid_only_pairs_fixed,
        "only the meshgrid fixed (stack then reshape left)": _grid_only_meshgrid_fixed,
        "y varies fastest (indexing='ij')": _grid_y_fastest,
        "x and y ranges swapped": _grid_xy_swapped,
        "np.arange steps: the upper end is missing": _grid_arange,
        "the x range used for y as well": _grid_x_range_for_both,
        "the two mesh arrays instead of the points": _grid_mesh_arrays,
    },
    "playground.train_spirals": {
        "an untrained network": _untrained,
        "three epochs: still on the plateau": _too_short,
        "the scores of the training points instead of a model": lambda X, y, seed: np.zeros((len(X), 2)),
    },
    "playground.first_layer_units": {
        "W instead of W.T": lambda p, w, b: np.tanh(p @ w + b),
        "no bias": lambda p, w, b: np.tanh(p @ w.T),
        "no activation": lambda p, w, b: p @ w.T + b,
        "sigmoid instead of tanh": lambda p, w, b: 1 / (1 + np.exp(-(p @ w.T + b))),
        "ReLU instead of tanh": lambda p, w, b: np.maximum(0, p @ w.T + b),
        "bias subtracted": lambda p, w, b: np.tanh(p @ w.T - b),
    },
}


def test_the_fixed_cases_alone_catch_the_mesh_order():
    ex = exercises()["playground.decision_grid"]
    assert any(not np.allclose(_grid_y_fastest(*args), ex.reference(*args)) for args in ex.fixed)


# --- the references agree with the Playground itself ----------------------------------------

def test_grid_reference_is_the_playground_grid():
    pg = Playground(dataset="moons", hidden=(3,))
    points, xx, yy = pg.grid(resolution=7, margin=0.3)
    ref = exercises()["playground.decision_grid"].reference(xx.min(), xx.max(), yy.min(), yy.max(), 7)
    np.testing.assert_allclose(ref, points, rtol=0, atol=1e-12)


def test_first_layer_reference_is_hidden_outputs():
    pg = Playground(dataset="circles", hidden=(6, 4)).step(2)
    points, _, _ = pg.grid(resolution=9)
    first = pg.model[0]
    ref = exercises()["playground.first_layer_units"].reference(points, first.weight.data,
                                                                first.bias.data)
    np.testing.assert_allclose(ref, pg.hidden_outputs(points, 0), rtol=1e-12, atol=1e-14)


def test_features_needed_reference_is_what_the_playground_measures():
    """Every set of one or two features, and all seven, on the three datasets: a set separates
    when every seed reaches 90 % validation accuracy, and none does when one seed does not
    (no set is borderline); the reference is the size of the smallest separating subset."""
    import itertools

    from course_nn.lab.playground import FEATURES

    reference = exercises()["playground.features_needed"].reference
    small = [c for k in (1, 2) for c in itertools.combinations(FEATURES, k)]
    for dataset in ("xor", "circles", "blobs"):
        separates = {}
        for features in small + [tuple(FEATURES)]:
            accs = [Playground(dataset=dataset, features=features, hidden=(), data_seed=s,
                               weight_seed=s).step(30).accuracy("val") for s in (0, 1)]
            assert (min(accs) >= 0.9) == (max(accs) >= 0.9), (dataset, features, accs)
            separates[features] = min(accs) >= 0.9
        for features in small + [tuple(FEATURES)]:
            sizes = [len(sub) for sub in small if separates[sub] and set(sub) <= set(features)]
            assert reference(dataset, features) == min(sizes, default=0), (dataset, features)
            assert (reference(dataset, features) > 0) == separates[features], (dataset, features)


@pytest.mark.parametrize("fn,slip", [
    (_grid_as_given, "both planted bugs"),
    (_grid_only_pairs_fixed, "x and y are swapped"),
    (_grid_only_meshgrid_fixed, "pair up the wrong numbers"),
    (lambda *a: decision_grid(*a).reshape(a[-1], a[-1], 2).transpose(1, 0, 2).reshape(-1, 2),
     "y varies fastest"),
])
def test_grid_checker_names_each_planted_bug(fn, slip):
    result = evaluate("playground.decision_grid", fn)
    assert not result.passed and slip in result.message, result.message


def test_the_swapped_meshgrid_passes_a_square_box():
    """The story of the debug exercise: on a square box the swapped meshgrid is right."""
    args = (-1.5, 1.5, -1.5, 1.5, 4)
    np.testing.assert_array_equal(_grid_only_pairs_fixed(*args), decision_grid(*args))


@pytest.mark.parametrize("fn,slip", [(_untrained, "plateau"), (_too_short, "plateau")])
def test_spiral_checker_explains_a_weak_model(fn, slip):
    result = evaluate("playground.train_spirals", fn)
    assert not result.passed and slip in result.message, result.message


def test_spiral_case_is_the_playgrounds_data():
    from course_nn.lab.exercises.playground import SPIRAL_DATA_SEED
    from course_nn.lab.playground import Playground

    (case,) = exercises()["playground.train_spirals"].fixed
    pg = Playground(dataset="spirals", data_seed=SPIRAL_DATA_SEED)
    np.testing.assert_array_equal(case[0], pg.train_data[0])
    np.testing.assert_array_equal(case[1], pg.train_data[1])
