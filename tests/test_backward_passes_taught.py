"""Every backward pass course_nn implements is taught: derived in the text and implemented by
the learner in a checked exercise (issue 13 item 1).

For each backward pass, the exercise that makes the learner write (or repair) it is registered,
sits in a chapter, and its checker rejects a broken implementation: the learner-style
solution with every gradient it returns scaled by 1.5 (a plausible slip: a lost factor),
besides the typical slips each chapter's tests list.
"""

import json
import re
import sys
from importlib import import_module
from pathlib import Path

import numpy as np
import pytest

from course_nn.lab.exercises import evaluate, exercises

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

BACKWARD_PASSES = {
    "Linear (dense) layer": "backprop.dense_backward",
    "sigmoid neuron": "backprop.sigmoid_neuron_grad",
    "ReLU, max and the gates (add distributes, multiply swaps, max routes)": "backprop.gate_grads",
    "two-layer network by hand": "backprop.two_layer_grads",
    "softmax + cross-entropy": "losses.softmax_cross_entropy_backward",
    "L-layer network, matrix form": "backprop_matrix.network_backward",
    "autograd operations": "autograd.fix_closures",
    "convolution (dW, dX, db)": "cnn.conv2d_backward",
    "max pooling": "cnn.maxpool_backward",
    "average pooling": "cnn.avgpool_backward",
    "batch normalization": "regularization.batchnorm_backward",
    "dropout": "regularization.dropout_backward",
    "one tanh RNN step": "rnn.tanh_step_backward",
    "BPTT over a sequence": "rnn.rnn_bptt",
    "LSTM step": "rnn.lstm_step_backward",
    "GRU step": "rnn.gru_step_backward",
}
ALL = exercises()


def _chapter_of(exercise_id):
    module, name = exercise_id.split(".", 1)
    label = f":label: ex-{module}-{name}"
    for path in sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb")):
        text = "".join("".join(c["source"]) for c in json.loads(path.read_text())["cells"]
                       if c["cell_type"] == "markdown")
        if re.search(re.escape(label) + r"\s", text):
            return path.stem
    return None


def _solution(exercise_id):
    chapter_tests = import_module("test_exercises_" + exercise_id.split(".")[0])
    solutions = chapter_tests.SOLUTIONS[exercise_id]
    return solutions if callable(solutions) else solutions[0]


def _scaled(value):
    """Every float array (or float) in a nested result times 1.5; None when there is none."""
    if isinstance(value, np.ndarray) and value.dtype.kind == "f" and np.any(value):
        return value * 1.5
    if isinstance(value, float) and value:
        return value * 1.5
    if isinstance(value, (tuple, list)):
        parts = [_scaled(v) for v in value]
        if all(p is None for p in parts):
            return None
        return type(value)(v if p is None else p for v, p in zip(value, parts))
    if isinstance(value, dict):
        parts = {k: _scaled(v) for k, v in value.items()}
        if all(p is None for p in parts.values()):
            return None
        return {k: value[k] if p is None else p for k, p in parts.items()}
    return None


@pytest.mark.parametrize("what, exercise_id", BACKWARD_PASSES.items(), ids=list(BACKWARD_PASSES))
def test_backward_pass_has_an_exercise_in_a_chapter(what, exercise_id):
    assert exercise_id in ALL, f"{what}: no exercise {exercise_id}"
    assert _chapter_of(exercise_id), f"{what}: {exercise_id} is in no chapter"


@pytest.mark.parametrize("what, exercise_id", BACKWARD_PASSES.items(), ids=list(BACKWARD_PASSES))
def test_backward_pass_checker_rejects_a_broken_implementation(what, exercise_id):
    solution = _solution(exercise_id)
    calls = []

    def broken(*args, **kwargs):
        out = solution(*args, **kwargs)
        scaled = _scaled(out)
        calls.append(scaled is not None)
        return out if scaled is None else scaled

    result = evaluate(exercise_id, broken)
    if not any(calls):
        pytest.skip(f"{exercise_id} returns no gradient array to scale (its slips are tested "
                    f"in tests/test_exercises_{exercise_id.split('.')[0]}.py)")
    assert not result.passed, f"{what}: gradients scaled by 1.5 passed {exercise_id}"
