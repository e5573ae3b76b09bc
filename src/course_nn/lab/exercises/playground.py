"""Chapter 18 exercises: the playground.

playground.decision_grid      debug: a grid of points for a decision-region picture that passed
                              on square boxes; its meshgrid takes the y values for x, and its
                              points pair up the wrong numbers (np.stack then reshape). The
                              checker compares with Playground.grid's order (x varies fastest)
                              and names each planted bug it still sees
playground.first_layer_units  what the first-layer tanh units compute at some points,
                              tanh(points @ W.T + b), as Playground.hidden_outputs(points, 0)
playground.features_needed    predict, then run: how many of the given input features does a
                              network with no hidden layer need at least to reach 90 %
                              validation accuracy on "xor", "circles" or "blobs" (0 when no
                              choice of them is enough)? The rule is the measured one:
                              tests/test_exercises_playground.py runs the Playground on every
                              set of one or two features and on all seven, for two seeds
playground.train_spirals      train: a network of the learner's choice, trained by the
                              learner's own loop on the spirals' training points, must reach
                              SPIRAL_TARGET validation accuracy on the points it never saw

Fixed cases hold the traps: non-square boxes (x and y swapped shows only there), n = 2, a box
far from the origin, and a first layer whose width is not 2 (so W and W.T cannot be confused
silently).
"""


import numpy as np

from ...activations import Tanh
from ...linear import Linear
from ..playground import FEATURES, Playground
from . import Exercise, _default_compare, _slip_hint, register
from ._trained import HeldOut, fingerprint, score_classifier, train_plain

# ---------------------------------------------------------------------------------------------
# Debug: the grid behind a decision-region picture
# ---------------------------------------------------------------------------------------------

def _grid_points(xs, ys):
    """(len(xs) * len(ys), 2) points, x varying fastest, as Playground.grid orders them."""
    xx, yy = np.meshgrid(xs, ys)
    return np.column_stack([xx.ravel(), yy.ravel()])


class _Grid(np.ndarray):
    """The reference grid, carrying what each recognized bug (or pair of bugs) gives."""

    slips = ()


GRID_SLIPS = {
    "both": "both planted bugs are still there: the meshgrid's arguments are swapped, and "
            "np.stack([xx, yy]).reshape(-1, 2) pairs up the wrong numbers",
    "swapped": "x and y are swapped: np.meshgrid(ys, xs) puts the y values in the first column; "
               "np.meshgrid(xs, ys) (x first) is what Playground.grid does",
    "pairs": "the points pair up the wrong numbers: np.stack([xx, yy]) has shape (2, n, n), and "
             "reshape(-1, 2) then takes two neighbours of xx as one point; stack along the last "
             "axis, np.stack([xx, yy], axis=-1), or np.column_stack([xx.ravel(), yy.ravel()])",
    "ij": "y varies fastest: indexing='ij' (or the transposed mesh) gives the points in the other "
          "order, so a picture reshaped to (n, n) comes out mirrored across its diagonal",
    "arrays": "that is the two mesh arrays, shape (2, n, n): the picture needs the (n * n, 2) "
              "points, one row per point",
}


def _decision_grid(xmin, xmax, ymin, ymax, n):
    # Playground.grid spans the data's bounding box plus a margin: give it a stand-in whose
    # data are the box's two corners, and no margin.
    from types import SimpleNamespace

    corners = np.array([[xmin, ymin], [xmax, ymax]], dtype=float)
    stand_in = SimpleNamespace(train_data=(corners, None), val_data=(np.empty((0, 2)), None))
    points, _, _ = Playground.grid(stand_in, resolution=int(n), margin=0.0)
    out = points.view(_Grid)
    xs, ys = np.linspace(xmin, xmax, int(n)), np.linspace(ymin, ymax, int(n))
    swapped = np.meshgrid(ys, xs)
    slips = [("both", np.stack(swapped).reshape(-1, 2)),
             ("swapped", np.column_stack([m.ravel() for m in swapped])),
             ("pairs", np.stack(np.meshgrid(xs, ys)).reshape(-1, 2)),
             ("ij", _grid_points(xs, ys).reshape(int(n), int(n), 2).transpose(1, 0, 2).reshape(-1, 2)),
             ("arrays", np.stack(np.meshgrid(xs, ys)))]
    kept = []  # a slip that gives the right grid (or an earlier slip's) on this box says nothing
    for key, wrong in slips:
        if all(wrong.shape != seen.shape or not np.allclose(wrong, seen)
               for seen in [points] + [w for _, w in kept]):
            kept.append((key, wrong))
    out.slips = tuple(kept)
    return out


def _compare_grid(expected, got):
    want = np.asarray(expected).view(np.ndarray)
    return _slip_hint(_default_compare(want, got, 1e-6, 1e-9), got, want,
                      [(wrong, GRID_SLIPS[key]) for key, wrong in expected.slips])


def _random_box(rng):
    xmin, ymin = rng.uniform(-3, 1, size=2)
    width, height = rng.uniform(0.5, 4, size=2)
    return float(xmin), float(xmin + width), float(ymin), float(ymin + height), int(rng.integers(2, 9))


register(Exercise(
    id="playground.decision_grid",
    kind="debug",
    reference=_decision_grid,
    compare=_compare_grid,
    fixed=[
        (-1.0, 1.0, -2.0, 0.0, 3),            # a box whose x and y ranges differ
        (-1.5, 1.5, -1.5, 1.5, 4),            # a square box centred on 0: x, y swapped passes
        (0.0, 1.0, 0.0, 2.0, 2),              # n = 2: only the corners
        (0.0, 4.0, 10.0, 12.0, 5),            # a box far from the origin
    ],
    random=_random_box,
    arg_names=("xmin", "xmax", "ymin", "ymax", "n"),
))


# ---------------------------------------------------------------------------------------------
# The first hidden layer's pictures
# ---------------------------------------------------------------------------------------------

def _first_layer_units(points, weight, bias):
    return Tanh()(Linear.from_weights(weight, bias)(points))


def _random_units(rng):
    n, h = int(rng.integers(1, 7)), int(rng.integers(1, 6))
    return rng.uniform(-2, 2, size=(n, 2)), rng.standard_normal((h, 2)) * 2, rng.standard_normal(h)


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


# ---------------------------------------------------------------------------------------------
# Train: the spirals, with your own network and your own loop
# ---------------------------------------------------------------------------------------------

SPIRAL_TARGET = 0.9
"""Validation accuracy that ``playground.train_spirals`` must reach on the held-out points."""
SPIRAL_DATA_SEED = 3
"""The data seed of the case the checker uses (a draw on which the default width needs more
than a hundred epochs)."""

_SPIRAL_HELD_OUT = {}  # the validation points of each case, by a fingerprint of its training points


def spiral_case(data_seed=SPIRAL_DATA_SEED, seed=0):
    """(X_train (300, 2), y_train (300,), seed): the training points of
    ``Playground(dataset="spirals", data_seed=data_seed)``; its validation points are kept for
    judging."""
    pg = Playground(dataset="spirals", data_seed=data_seed)
    X, y = pg.train_data
    _SPIRAL_HELD_OUT[fingerprint(X, y)] = pg.val_data
    return X.copy(), y.copy(), seed


def _train_spirals_reference_model(X_train, y_train, seed):
    """2-32-32-2 tanh network, Adam 0.03, batches of 32, 100 epochs: the learner-style loop."""
    from ...losses import CrossEntropyLoss
    from ...module import Sequential
    from ...optim import Adam

    rng = np.random.default_rng(seed)
    model = Sequential(Linear(2, 32, rng=rng), Tanh(), Linear(32, 32, rng=rng), Tanh(),
                       Linear(32, 2, rng=rng))
    return train_plain(model, CrossEntropyLoss(), Adam(model.parameters(), lr=0.03), X_train,
                       y_train, epochs=100, batch_size=32, rng=rng)


def _train_spirals_reference(X_train, y_train, seed):
    X_val, y_val = _SPIRAL_HELD_OUT[fingerprint(X_train, y_train)]
    return HeldOut(X_val, y_val, SPIRAL_TARGET,
                         lambda: _train_spirals_reference_model(X_train, y_train, seed))


def _judge_spirals(expected, got):
    acc, reason = score_classifier(expected, got, n_classes=2, item="point", example="a Sequential")
    if reason is not None or acc >= expected.target:
        return reason
    if acc < 0.8:
        hint = ("no better than a tilted plane or a few lines: the run stopped on its plateau "
                "(train longer, or give the network more units), or it does not train at all "
                "(does your loop call opt.step() after backward, and take X and y with the same "
                "indices?)")
    else:
        hint = "nearly there: a few more epochs, or a few more units"
    return (f"your model's accuracy on the {len(expected.X)} validation points is {acc:.2f}, "
            f"below the target {expected.target}: {hint}")


register(Exercise(
    id="playground.train_spirals",
    kind="train",
    reference=_train_spirals_reference,
    fixed=[spiral_case()],
    arg_names=("X_train", "y_train", "seed"),
    compare=_judge_spirals,
    time_limit=30.0,
))
