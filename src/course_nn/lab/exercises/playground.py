"""Chapter 18 exercises: the playground.

playground.decision_grid      the (n*n, 2) grid of points a decision-boundary picture is
                              evaluated on, in the order of course_nn.Playground.grid
                              (x varies fastest)
playground.count_parameters   trainable numbers of a 2-input, 2-class Playground network
                              with the given hidden widths (weights and biases)
playground.predict_class      the class a network predicts from its (N, C) scores: the
                              argmax of each row, as integer labels
playground.first_layer_units  what the first-layer tanh units compute at some points,
                              tanh(points @ W.T + b), as Playground.hidden_outputs(points, 0)
playground.features_needed    predict, then run: how many of the given input features does a
                              network with no hidden layer need at least to reach 90 %
                              validation accuracy on "xor", "circles" or "blobs" (0 when no
                              choice of them is enough)? The rule is the measured one:
                              tests/test_exercises_playground.py runs the Playground on every
                              set of one or two features and on all seven, for two seeds

Fixed cases hold the traps: a non-square box (x and y swapped, or the mesh in the wrong
order), n = 2, one hidden layer of width 1 (a forgotten bias or output layer shows), ties
between scores (the first class wins, as np.argmax decides), three classes, a single point,
and a first layer whose width is not 2 (so W and W.T cannot be confused silently).
"""

from types import SimpleNamespace

import numpy as np

from ...activations import Tanh
from ...linear import Linear
from ..playground import FEATURES, Playground
from . import Exercise, _default_compare, register


def _decision_grid(xmin, xmax, ymin, ymax, n):
    # Playground.grid spans the data's bounding box plus a margin: give it a stand-in whose
    # data are the box's two corners, and no margin.
    corners = np.array([[xmin, ymin], [xmax, ymax]], dtype=float)
    stand_in = SimpleNamespace(train_data=(corners, None), val_data=(np.empty((0, 2)), None))
    points, _, _ = Playground.grid(stand_in, resolution=int(n), margin=0.0)
    return points


def _count_parameters(hidden):
    # the network Playground builds: 2 inputs, the hidden layers, 2 output scores
    pg = Playground(dataset="circles", hidden=tuple(int(w) for w in hidden), n_samples=8)
    return int(pg.model.num_parameters())


def _predict_class(scores):
    return np.argmax(np.asarray(scores, dtype=float), axis=1)


def _compare_labels(expected, got):
    got_arr = np.asarray(got)
    if got_arr.shape != expected.shape:
        return f"expected shape {expected.shape}, got shape {got_arr.shape}"
    if not np.issubdtype(got_arr.dtype, np.integer):
        return f"expected integer class labels, got an array of dtype {got_arr.dtype}"
    if not np.array_equal(got_arr, expected):
        return f"expected {expected.tolist()}, got {got_arr.tolist()}"
    return None


def _first_layer_units(points, weight, bias):
    return Tanh()(Linear.from_weights(weight, bias)(points))


def _random_box(rng):
    xmin, ymin = rng.uniform(-3, 1, size=2)
    width, height = rng.uniform(0.5, 4, size=2)
    return float(xmin), float(xmin + width), float(ymin), float(ymin + height), int(rng.integers(2, 9))


def _random_hidden(rng):
    depth = int(rng.integers(1, 4))
    return tuple(int(w) for w in rng.integers(1, 65, size=depth))


def _random_scores(rng):
    n, c = int(rng.integers(1, 8)), int(rng.integers(2, 6))
    return np.round(rng.standard_normal((n, c)) * 3, 1)      # rounded: ties happen


def _random_units(rng):
    n, h = int(rng.integers(1, 7)), int(rng.integers(1, 6))
    return rng.uniform(-2, 2, size=(n, 2)), rng.standard_normal((h, 2)) * 2, rng.standard_normal(h)


register(Exercise(
    id="playground.decision_grid",
    kind="transcribe",
    reference=_decision_grid,
    fixed=[
        (-1.0, 1.0, -2.0, 0.0, 3),            # a box whose x and y ranges differ
        (0.0, 1.0, 0.0, 2.0, 2),              # n = 2: only the corners
        (-1.5, 1.5, -1.5, 1.5, 4),
        (0.0, 4.0, 10.0, 12.0, 5),            # a box far from the origin
    ],
    random=_random_box,
    arg_names=("xmin", "xmax", "ymin", "ymax", "n"),
))

register(Exercise(
    id="playground.count_parameters",
    kind="transcribe",
    reference=_count_parameters,
    fixed=[
        ((1,),),                              # 2*1 + 1 + 1*2 + 2 = 7
        ((16, 16),),                          # the playground's default network
        ((4,),),
        ((8, 4, 2),),
        ((3, 1),),
    ],
    random=lambda rng: (_random_hidden(rng),),
    arg_names=("hidden",),
))

register(Exercise(
    id="playground.predict_class",
    kind="transcribe",
    reference=_predict_class,
    fixed=[
        (np.array([[2.0, -1.0], [-0.5, 0.5], [0.1, 0.0]]),),
        (np.array([[1.0, 1.0], [-3.0, -3.0]]),),                 # ties: the first class wins
        (np.array([[0.2, 1.5, -0.3], [4.0, 0.0, 4.5], [-1.0, -2.0, -0.5]]),),   # three classes
        (np.array([[-7.0, -2.0]]),),                             # one point, negative scores
        (np.array([[0.0, 1.0], [1.0, 0.0], [3.0, 2.0], [2.0, 3.0]]),),
    ],
    random=lambda rng: (_random_scores(rng),),
    arg_names=("scores",),
    compare=_compare_labels,
))

register(Exercise(
    id="playground.first_layer_units",
    kind="transcribe",
    reference=_first_layer_units,
    fixed=[
        (np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]),
         np.array([[1.0, 0.0], [0.0, 2.0], [1.0, -1.0]]), np.array([0.0, 0.5, -1.0])),
        (np.array([[0.5, -0.5], [-1.0, 2.0]]), np.array([[3.0, 1.0]]), np.array([0.2])),
        (np.array([[1.0, 2.0]]), np.array([[0.5, -1.0], [2.0, 0.0], [-1.0, 1.0], [0.0, 0.3]]),
         np.zeros(4)),                                           # bias 0: only W matters
        (np.array([[2.0, 2.0], [-2.0, -2.0]]), np.zeros((2, 2)), np.array([1.0, -1.0])),
    ],
    random=_random_units,
    arg_names=("points", "weight", "bias"),
))


SEPARABLE_DATASETS = ("xor", "circles", "blobs")
SEPARABLE_THRESHOLD = 0.9
"""``playground.features_needed`` asks for the fewest of the given features with which
Playground(dataset, features=..., hidden=()) trained 30 epochs reaches at least this
validation accuracy, whatever the seeds."""


def _features_needed(dataset, features):
    # a network with no hidden layer is a linear function of its features: it separates the
    # classes when some weighted sum of the features does
    f = set(features)
    if dataset == "xor":                   # the class is the sign of x1 * x2
        return 1 if "x1*x2" in f else 0
    if dataset == "circles":               # the class is the radius: x1^2 + x2^2
        return 2 if {"x1^2", "x2^2"} <= f else 0
    return 1 if f & {"x1", "x2", "sin(x1)", "sin(x2)"} else 0   # blobs: one rising coordinate


def _compare_count(expected, got):
    reason = _default_compare(expected, got, 0.0, 0.0)
    if reason and isinstance(got, (int, np.integer)) and not isinstance(got, (bool, np.bool_)):
        if expected == 0:
            reason += (f": no choice of these features takes a network with no hidden layer to "
                       f"{SEPARABLE_THRESHOLD:.0%} validation accuracy")
        elif 0 < got < expected:
            reason += f": {got} of these features are not enough, a run shows it"
        else:
            reason += (f": {expected} of these features are enough (run Playground(dataset=..., "
                       f"features=..., hidden=()).step(30))")
    return reason


def _random_features(rng):
    names = list(FEATURES)
    k = int(rng.integers(1, len(names) + 1))
    chosen = rng.choice(len(names), size=k, replace=False)
    return str(rng.choice(SEPARABLE_DATASETS)), tuple(names[i] for i in chosen)


register(Exercise(
    id="playground.features_needed",
    kind="predict",
    reference=_features_needed,
    fixed=[
        ("xor", ("x1", "x2")),                          # a line never separates XOR
        ("xor", ("x1*x2",)),                            # one feature is enough
        ("xor", ("x1^2", "x2^2")),                      # squares forget the signs
        ("xor", tuple(FEATURES)),                       # all seven, of which one is needed
        ("circles", ("x1^2", "x2^2")),                  # the radius, squared
        ("circles", ("x2^2",)),                         # half of it is not enough
        ("circles", ("x1", "x2", "x1*x2")),
        ("circles", ("x2", "x1^2", "x1*x2", "sin(x2)")),  # the best set that does not separate
        ("circles", tuple(FEATURES)),
        ("blobs", ("sin(x2)",)),                        # one rising coordinate
        ("blobs", ("x1^2", "x2^2", "x1*x2")),           # even features: both blobs look alike
        ("blobs", ("x1", "x2")),                        # two are more than needed
    ],
    random=_random_features,
    arg_names=("dataset", "features"),
    compare=_compare_count,
))
