"""The exercises of chapters 1 ("intro.*") and 2 ("neurons.*"): each checker accepts a correct
plain-numpy answer and rejects the mistakes a learner is likely to make.

IDS, SOLUTIONS and WRONG feed the checks every exercise gets, in tests/test_exercises.py
(registered, reference and solutions pass, each wrong answer rejected).
"""

import numpy as np

from course_nn.lab.exercises import evaluate

IDS = ["intro.neuron_output", "intro.active_region", "intro.weight_shapes",
       "neurons.dot", "neurons.dense_forward", "neurons.broadcast_shape",
       "neurons.count_parameters"]


def _pairs(sizes):
    return [(sizes[k], sizes[k + 1]) for k in range(len(sizes) - 1)]


def broadcast_by_rule(n, n_out, bias_shape):
    """numpy's rule: align the shapes on the right; two sizes agree if equal or one is 1."""
    a, b = (n, n_out), tuple(bias_shape)
    width = max(len(a), len(b))
    a, b = (1,) * (width - len(a)) + a, (1,) * (width - len(b)) + b
    if any(p != q and 1 not in (p, q) for p, q in zip(a, b, strict=True)):
        return None
    return tuple(max(p, q) for p, q in zip(a, b, strict=True))


def broadcast_by_running(n, n_in, n_out, bias_shape):
    try:
        return (np.zeros((n, n_in)) @ np.zeros((n_out, n_in)).T + np.zeros(bias_shape)).shape
    except ValueError:
        return None


def buggy_dense_forward(x, W, b):   # the chapter's debug exercise: both bugs
    return x @ W


def active_region(w, b):
    if w > 0:
        return (-b / w, np.inf)
    if w < 0:
        return (-np.inf, -b / w)
    return (-np.inf, np.inf) if b > 0 else (0.0, 0.0)


def buggy_weight_shapes(layer_sizes):   # the chapter's debug exercise: both bugs
    return [(layer_sizes[k - 1], layer_sizes[k]) for k in range(len(layer_sizes))]


SOLUTIONS = {
    "intro.neuron_output": lambda x, w, b: max(0.0, float(np.dot(w, x) + b)),
    "intro.active_region": lambda w, b: active_region(w, b),
    "intro.weight_shapes": lambda s: [(b, a) for a, b in _pairs(s)],
    "neurons.dot": lambda a, b: float(sum(ai * bi for ai, bi in zip(a, b, strict=True))),
    "neurons.dense_forward": lambda x, W, b: x @ W.T + b,
    "neurons.broadcast_shape": [lambda n, n_in, n_out, b: broadcast_by_rule(n, n_out, b),
                                lambda n, n_in, n_out, b: broadcast_by_running(n, n_in, n_out, b)],
    "neurons.count_parameters": lambda s: sum(a * b + b for a, b in _pairs(s)),
}

WRONG = {
    "intro.neuron_output": {
        "no ReLU": lambda x, w, b: float(np.dot(w, x) + b),
        "bias forgotten": lambda x, w, b: max(0.0, float(np.dot(w, x))),
        "bias outside ReLU": lambda x, w, b: max(0.0, float(np.dot(w, x))) + b,
        "sigmoid instead of ReLU": lambda x, w, b: float(1 / (1 + np.exp(-(np.dot(w, x) + b)))),
        "array instead of a number": lambda x, w, b: np.maximum(0.0, w * x + b),
    },
    "intro.active_region": {
        "always x > -b / w": lambda w, b: (-b / w, np.inf) if w != 0 else (-np.inf, np.inf),
        "boundary at b / w": lambda w, b: active_region(w, -b) if w != 0 else active_region(w, b),
        "w = 0 always active": lambda w, b: active_region(w, b) if w != 0 else (-np.inf, np.inf),
        "sides swapped": lambda w, b: (active_region(-w, -b) if w != 0 else active_region(w, b)),
        "one number, the boundary": lambda w, b: -b / w if w != 0 else 0.0,
    },
    "intro.weight_shapes": {
        "the chapter's buggy_weight_shapes": lambda s: buggy_weight_shapes(s),
        "(in, out) layout": lambda s: [(a, b) for a, b in _pairs(s)],
        "one shape too many": lambda s: [(b, a) for a, b in _pairs(s)] + [(s[-1], s[-1])],
        "bias shapes listed too": lambda s: [shape for a, b in _pairs(s)
                                             for shape in ((b, a), (b,))],
        "a count instead of shapes": lambda s: sum(a * b for a, b in _pairs(s)),
    },
    "neurons.dot": {
        "elementwise product": lambda a, b: a * b,
        "sum of sums": lambda a, b: float(np.sum(a) + np.sum(b)),
        "product of sums": lambda a, b: float(np.sum(a) * np.sum(b)),
        "last index skipped": lambda a, b: float(sum(a[i] * b[i] for i in range(len(a) - 1))),
    },
    "neurons.dense_forward": {
        "the chapter's buggy_dense_forward": buggy_dense_forward,
        "W not transposed": lambda x, W, b: x @ W + b,
        "bias forgotten": lambda x, W, b: x @ W.T,
        "notes' column layout returned": lambda x, W, b: W @ x.T + b[:, None],
        "ReLU applied": lambda x, W, b: np.maximum(0.0, x @ W.T + b),
        "bias subtracted": lambda x, W, b: x @ W.T - b,
    },
    "neurons.broadcast_shape": {
        "always (n, n_out)": lambda n, n_in, n_out, b: (n, n_out),
        "error unless the bias is (n_out,)": lambda n, n_in, n_out, b:
            (n, n_out) if tuple(b) == (n_out,) else None,
        "aligned on the left": lambda n, n_in, n_out, b:
            broadcast_by_rule(n, n_out, tuple(b) + (1,) * (2 - len(b))),
        "never an error": lambda n, n_in, n_out, b:
            broadcast_by_rule(n, n_out, b) or (n, n_out),
        "the bias's shape": lambda n, n_in, n_out, b: tuple(b),
    },
    "neurons.count_parameters": {
        "weights only": lambda s: sum(a * b for a, b in _pairs(s)),
        "one bias per input neuron": lambda s: sum(a * b + a for a, b in _pairs(s)),
        "biases for the input layer too": lambda s: sum(a * b + b for a, b in _pairs(s)) + s[0],
        "only the first layer": lambda s: s[0] * s[1] + s[1] if len(s) > 1 else 0,
    },
}


def test_transposed_weight_shapes_get_a_hint():
    result = evaluate("intro.weight_shapes", WRONG["intro.weight_shapes"]["(in, out) layout"])
    assert "course_nn stores (out, in)" in result.message


def test_untransposed_square_weight_is_caught_by_value_not_by_a_crash():
    # the first fixed case is square, so x @ W runs and must be rejected for its numbers
    result = evaluate("neurons.dense_forward", WRONG["neurons.dense_forward"]["W not transposed"])
    assert "wrong answer" in result.message and "raised" not in result.message


def test_debug_exercise_names_the_bugs():
    msg = evaluate("neurons.dense_forward", buggy_dense_forward).message
    assert "the bias is missing, and x @ W uses W, not W.T" in msg
    msg = evaluate("neurons.dense_forward", WRONG["neurons.dense_forward"]["bias forgotten"]).message
    assert "the bias is missing: add b" in msg
    msg = evaluate("neurons.dense_forward", WRONG["neurons.dense_forward"]["W not transposed"]).message
    assert "uses W, not W.T" in msg and "bias is missing" not in msg
    msg = evaluate("neurons.dense_forward", WRONG["neurons.dense_forward"]["bias subtracted"]).message
    assert "wrong answer" in msg and "W.T" not in msg and "missing" not in msg


def test_broadcast_predictions_are_explained():
    msg = evaluate("neurons.broadcast_shape", lambda n, n_in, n_out, b: (n, n_out)).message
    assert "bias_shape = (4, 1)" in msg and "numpy raises ValueError" in msg
    msg = evaluate("neurons.broadcast_shape", lambda n, n_in, n_out, b: None).message
    assert "numpy broadcasts these shapes, got None" in msg
    # the silent (n_out, n_out) of the column layout's bias with one sample
    assert broadcast_by_running(1, 3, 4, (4, 1)) == (4, 4)


def test_active_region_names_the_slips_and_matches_the_neuron():
    import course_nn as cn

    msg = evaluate("intro.active_region", WRONG["intro.active_region"]["always x > -b / w"]).message
    assert "active on the left" in msg
    msg = evaluate("intro.active_region", WRONG["intro.active_region"]["boundary at b / w"]).message
    assert "x = -b / w" in msg
    msg = evaluate("intro.active_region", WRONG["intro.active_region"]["w = 0 always active"]).message
    assert "never active" in msg
    grid = np.linspace(-20, 20, 4001)[:, None]
    for w, b in ((1.0, -2.0), (-1.0, 1.0), (0.25, 3.0), (0.0, 0.5), (0.0, -1.0)):
        on = grid[(cn.ReLU()(cn.Linear.from_weights(np.array([[w]]), np.array([b]))(grid)) > 0)[:, 0]]
        lo, hi = active_region(w, b)
        assert np.all((on > lo) & (on < hi))
        assert len(on) == np.sum((grid > lo) & (grid < hi))


def test_weight_shapes_debug_is_named():
    msg = evaluate("intro.weight_shapes", buggy_weight_shapes).message
    assert "expected 2 weight matrices" in msg
