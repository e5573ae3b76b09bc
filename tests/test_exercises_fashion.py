"""Chapter 19's exercises: the checkers accept correct answers and reject typical wrong ones,
naming the slip where they recognize it."""

import numpy as np
import pytest
from exercise_helpers import rejected

import course_nn as cn
from course_nn import fashion_mnist
from course_nn.lab.exercises import evaluate
from course_nn.lab.exercises import fashion as ex
from course_nn.module import evaluation_mode

HAVE_DATA = all((fashion_mnist.DEBIAN_DIR / f"{n}.gz").is_file() for pair in
                fashion_mnist.SPLIT_FILES.values() for n in pair)

IDS = ("fashion.train_to_target", "fashion.conv_macs", "fashion.accuracy_in_batches")

# ---- conv_macs -----------------------------------------------------------------------------


def conv_macs(c_in, c_out, k, h, w, stride, padding):
    h_out = (h + 2 * padding - k) // stride + 1
    w_out = (w + 2 * padding - k) // stride + 1
    return c_out * h_out * w_out * c_in * k * k


def test_conv_macs_accepts_the_formula():
    assert evaluate("fashion.conv_macs", conv_macs).passed


def test_conv_macs_reference_counts_lenet():
    assert ex._conv_macs_reference(1, 6, 5, 28, 28, 1, 2) == 6 * 28 * 28 * 25
    assert ex._conv_macs_reference(6, 16, 5, 14, 14, 1, 0) == 16 * 10 * 10 * 150


def _out(n, k, stride, padding):
    return (n + 2 * padding - k) // stride + 1


@pytest.mark.parametrize("wrong, fragment", [
    (lambda ci, co, k, h, w, s, p: co * _out(h, k, s, p) * _out(w, k, s, p) * k * k,
     "sums over all c_in input channels"),
    (lambda ci, co, k, h, w, s, p: co * h * w * ci * k * k, "count the outputs, h_out * w_out"),
    (lambda ci, co, k, h, w, s, p: co * _out(h, k, s, p) * _out(w, k, s, p) * ci * k,
     "k * k weights per input channel"),
    (lambda ci, co, k, h, w, s, p: _out(h, k, s, p) * _out(w, k, s, p) * ci * k * k, "multiply by c_out"),
    (lambda ci, co, k, h, w, s, p: co * _out(h, k, 1, p) * _out(w, k, 1, p) * ci * k * k, "expected"),
    (lambda ci, co, k, h, w, s, p: co * _out(h, k, s, 0) * _out(w, k, s, 0) * ci * k * k, "expected"),
    (lambda ci, co, k, h, w, s, p: float(conv_macs(ci, co, k, h, w, s, p)) + 1, "expected"),
])
def test_conv_macs_rejects_slips(wrong, fragment):
    rejected("fashion.conv_macs", wrong, "wrong answer", fragment)


# ---- accuracy_in_batches -------------------------------------------------------------------


def buggy(model, X, y, batch_size):
    correct = 0
    for start in range(0, len(X) - batch_size, batch_size):
        scores = model(X[start:start + batch_size])
        correct += np.sum(np.argmax(scores, axis=1) == y[start:start + batch_size])
    return correct / len(X)


def training_mode_only(model, X, y, batch_size):
    correct = 0
    for start in range(0, len(X), batch_size):
        scores = model(X[start:start + batch_size])
        correct += np.sum(np.argmax(scores, axis=1) == y[start:start + batch_size])
    return correct / len(X)


def loop_bug_only(model, X, y, batch_size):
    correct = 0
    with evaluation_mode(model):
        for start in range(0, len(X) - batch_size, batch_size):
            correct += np.sum(np.argmax(model(X[start:start + batch_size]), axis=1)
                              == y[start:start + batch_size])
    return correct / len(X)


def loop_bug_divided_by_scored(model, X, y, batch_size):
    correct = scored = 0
    with evaluation_mode(model):
        for start in range(0, len(X) - batch_size, batch_size):
            correct += np.sum(np.argmax(model(X[start:start + batch_size]), axis=1)
                              == y[start:start + batch_size])
            scored += len(X[start:start + batch_size])
    return correct / scored


def fixed(model, X, y, batch_size):
    correct = 0
    with evaluation_mode(model):
        for start in range(0, len(X), batch_size):
            correct += np.sum(np.argmax(model(X[start:start + batch_size]), axis=1)
                              == y[start:start + batch_size])
    return correct / len(X)


def fixed_with_eval(model, X, y, batch_size):
    model.eval()
    return float(np.mean(np.argmax(np.concatenate(
        [model(X[s:s + batch_size]) for s in range(0, len(X), batch_size)]), axis=1) == y))


def test_accuracy_in_batches_accepts_fixes():
    assert evaluate("fashion.accuracy_in_batches", fixed).passed
    assert evaluate("fashion.accuracy_in_batches", fixed_with_eval).passed
    assert evaluate("fashion.accuracy_in_batches",
                    lambda m, X, y, b: float(np.mean(cn.train.predict(m, X, b).argmax(1) == y))).passed


@pytest.mark.parametrize("wrong, fragment", [
    (buggy, "two bugs: the model scored in training mode"),
    (training_mode_only, "the model scored in training mode: BatchNorm used each batch's own statistics"),
    (loop_bug_only, "stops one batch early and never scores the last images"),
    (loop_bug_divided_by_scored, "(and divide by len(X))"),
    (lambda m, X, y, b: fixed(m, X, y, b) * len(X), "expected"),   # a count, not a fraction
])
def test_accuracy_in_batches_rejects_bugs(wrong, fragment):
    rejected("fashion.accuracy_in_batches", wrong, "wrong answer", fragment)


def test_accuracy_cases_tell_the_modes_apart():
    """Every fixed case is one where the bugs change the answer (else the checker could not
    reject them there)."""
    for model, X, y, batch_size in ex._accuracy_fixed():
        ref = ex._accuracy_reference(model, X, y, batch_size)
        with evaluation_mode(model):
            direct = float(np.mean(np.argmax(model(X), axis=1) == y))
        assert ref == pytest.approx(direct, abs=1e-12)
        values = [v for v, _ in ref.slips]
        assert values[2] != float(ref)  # the loop bug always loses images
        if model.training:
            assert values[1] != float(ref)


# ---- train_to_target -----------------------------------------------------------------------

pytestmark_data = pytest.mark.skipif(not HAVE_DATA, reason="Fashion-MNIST is not installed "
                                     f"({fashion_mnist.DEBIAN_DIR}): apt-get install dataset-fashion-mnist")


def make_train(*, step=True, shuffle_apart=False, batches=None, epochs=5):
    def train(X_train, y_train, seed):
        rng = np.random.default_rng(seed)
        model = cn.Sequential(cn.Linear(784, 64, rng=rng, init=cn.init.he_normal, dtype=np.float32),
                              cn.ReLU(), cn.Linear(64, 10, rng=rng, dtype=np.float32))
        loss_fn = cn.CrossEntropyLoss()
        opt = cn.optim.Adam(model.parameters(), lr=1e-3)
        for _ in range(epochs):
            order = rng.permutation(len(X_train))
            order_y = rng.permutation(len(X_train)) if shuffle_apart else order
            starts = list(range(0, len(X_train), 64))[:batches]
            for start in starts:
                opt.zero_grad()
                loss_fn(model(X_train[order[start:start + 64]]), y_train[order_y[start:start + 64]])
                model.backward(loss_fn.backward())
                if step:
                    opt.step()
        return model
    return train


@pytestmark_data
def test_train_to_target_accepts_a_working_loop():
    result = evaluate("fashion.train_to_target", make_train())
    assert result.passed, result.message


@pytestmark_data
@pytest.mark.parametrize("kwargs, fragment", [
    (dict(step=False), "that is chance level"),
    (dict(shuffle_apart=True), "that is chance level"),
    (dict(batches=3, epochs=1), "below the target 0.8"),
])
def test_train_to_target_rejects_broken_loops(kwargs, fragment):
    rejected("fashion.train_to_target", make_train(**kwargs), "held-out images is", fragment)


@pytestmark_data
def test_train_to_target_rejects_what_is_not_a_model():
    rejected("fashion.train_to_target", lambda X, y, seed: (X, y), "expected your function to return the "
             "trained course_nn model")
    rejected("fashion.train_to_target",
             lambda X, y, seed: cn.Sequential(cn.Linear(784, 3)), "expected 10 scores per image")


@pytestmark_data
def test_train_to_target_never_shows_the_held_out_images():
    seen = []
    evaluate("fashion.train_to_target", lambda X, y, seed: seen.append((X, y)) or make_train()(X, y, seed))
    (X, y), = seen
    held_X = next(iter(ex._HELD_OUT.values()))[0]
    assert X.shape == (ex.N_TRAIN, 784) and len(held_X) == ex.N_HELD_OUT
    rows = {row.tobytes() for row in X}
    assert not any(row.tobytes() in rows for row in held_X)


SOLUTIONS = {
    "fashion.train_to_target": make_train(),
    "fashion.conv_macs": conv_macs,
    "fashion.accuracy_in_batches": [fixed, fixed_with_eval],
}
WRONG = {
    "fashion.train_to_target": {"no step": make_train(step=False),
                                "images and labels shuffled apart": make_train(shuffle_apart=True)},
    "fashion.conv_macs": {"input size for output size":
                          lambda ci, co, k, h, w, s, p: co * h * w * ci * k * k},
    "fashion.accuracy_in_batches": {"the chapter's buggy version": buggy,
                                    "training mode": training_mode_only},
}
