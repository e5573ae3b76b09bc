"""Chapter 18 (the playground): every exercise checker accepts a plain-numpy solution and
rejects the typical wrong answers (the mesh in the wrong order, x and y swapped, forgotten
biases or output layer, argmax over the wrong axis, probabilities instead of labels, W
instead of W.T, a forgotten bias or activation). The references agree with the Playground
itself: its grid, its model's parameter count, its accuracy and its hidden_outputs.

IDS, SOLUTIONS and WRONG feed the checks every exercise gets, in tests/test_exercises.py
(registered, reference and solutions pass, each wrong answer rejected).
"""

import numpy as np
import pytest

from course_nn.lab.exercises import exercises
from course_nn.lab.playground import Playground
from course_nn.train import accuracy, predict

IDS = ("playground.decision_grid", "playground.count_parameters", "playground.predict_class",
       "playground.first_layer_units", "playground.features_needed")


# --- plain-numpy solutions, as a learner would write them ---------------------------------

def decision_grid(xmin, xmax, ymin, ymax, n):
    xx, yy = np.meshgrid(np.linspace(xmin, xmax, n), np.linspace(ymin, ymax, n))
    return np.column_stack([xx.ravel(), yy.ravel()])


def count_parameters(hidden):
    widths = [2, *hidden, 2]
    return sum(n_in * n_out + n_out for n_in, n_out in zip(widths[:-1], widths[1:]))


def predict_class(scores):
    return np.argmax(scores, axis=1)


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


SOLUTIONS = dict(zip(IDS, (decision_grid, count_parameters, predict_class, first_layer_units,
                           features_needed)))


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


def _params(widths, bias=True):
    return sum(a * b + (b if bias else 0) for a, b in zip(widths[:-1], widths[1:]))


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
        "y varies fastest (indexing='ij')": _grid_y_fastest,
        "x and y ranges swapped": _grid_xy_swapped,
        "np.arange steps: the upper end is missing": _grid_arange,
        "the x range used for y as well": _grid_x_range_for_both,
        "the two mesh arrays instead of the points": _grid_mesh_arrays,
    },
    "playground.count_parameters": {
        "weights only, no biases": lambda hidden: _params([2, *hidden, 2], bias=False),
        "no output layer": lambda hidden: _params([2, *hidden]),
        "one output score (a single logit)": lambda hidden: _params([2, *hidden, 1]),
        "hidden units only (the widths summed)": lambda hidden: int(sum(hidden)),
        "one bias per layer": lambda hidden: _params([2, *hidden, 2], bias=False) + len(hidden) + 1,
    },
    "playground.predict_class": {
        "argmax over axis 0": lambda s: np.argmax(s, axis=0),
        "argmin": lambda s: np.argmin(s, axis=1),
        "the largest score, not its index": lambda s: np.max(s, axis=1),
        "the probabilities (softmax)": lambda s: np.exp(s) / np.exp(s).sum(axis=1, keepdims=True),
        "two-class shortcut s[:, 1] > s[:, 0]": lambda s: (s[:, 1] > s[:, 0]).astype(int),
        "float labels": lambda s: np.argmax(s, axis=1).astype(float),
        "ties go to the last class": lambda s: s.shape[1] - 1 - np.argmax(s[:, ::-1], axis=1),
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


@pytest.mark.parametrize("hidden", [(1,), (16, 16), (5, 3, 2)])
def test_parameter_count_matches_the_built_model(hidden):
    pg = Playground(dataset="xor", hidden=hidden)
    assert exercises()["playground.count_parameters"].reference(hidden) == sum(
        p.data.size for p in pg.model.parameters())


def test_predicted_classes_give_the_playground_accuracy():
    pg = Playground(dataset="spirals").step(5)
    X, y = pg.train_data
    labels = exercises()["playground.predict_class"].reference(predict(pg.model, X))
    assert np.mean(labels == y) == pytest.approx(pg.accuracy("train"))
    assert np.mean(labels == y) == pytest.approx(accuracy(predict(pg.model, X), y))


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
