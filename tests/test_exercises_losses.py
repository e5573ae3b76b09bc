"""Chapter 4 (loss functions): every exercise checker accepts a plain-numpy solution and
rejects typical wrong answers (sum instead of mean, unstable softmax, the j = y_i hinge term,
...); the last tests pin, by hand arithmetic, the numbers the chapter prints.

IDS, SOLUTIONS and WRONG feed the checks every exercise gets, in tests/test_exercises.py
(registered, reference and solutions pass, each wrong answer rejected).
"""

import math

import numpy as np
import pytest
from exercise_helpers import rejected

import course_nn as nn
from course_nn.activations import sigmoid
from course_nn.lab.exercises import evaluate
from course_nn.lab.explorers import losses as lx

IDS = ("losses.rmse_grad", "losses.huber", "losses.cross_entropy", "losses.hinge_loss",
       "losses.softmax_jacobian", "losses.softmax_cross_entropy_backward")


# --- plain-numpy solutions, as a learner would write them ---------------------------------

def rmse_grad(pred, target):
    d = pred - target
    rmse = np.sqrt(np.mean(d ** 2))
    return d / (d.size * rmse)          # (1 / (2 rmse)) * (2 d / n): the chain rule on sqrt(MSE)


def huber(pred, target, delta):
    d = pred - target
    per = np.where(np.abs(d) <= delta, 0.5 * d**2, delta * (np.abs(d) - 0.5 * delta))
    return float(per.mean())


def cross_entropy(logits, labels):
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-log_probs[np.arange(len(labels)), labels].mean())


def hinge_loss(scores, labels):
    rows = np.arange(len(labels))
    margins = np.maximum(0.0, scores - scores[rows, labels][:, None] + 1.0)
    margins[rows, labels] = 0.0
    return float(margins.sum() / len(labels))


def _stable_softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def softmax_jacobian(z):
    y_hat = _stable_softmax(z)                                   # (N, K)
    eye = np.eye(z.shape[1])
    return y_hat[:, :, None] * eye - y_hat[:, :, None] * y_hat[:, None, :]


def softmax_jacobian_loop(z):
    y_hat = _stable_softmax(z)
    return np.stack([np.diag(p) - np.outer(p, p) for p in y_hat])


def softmax_cross_entropy_backward(z, y):
    return (_stable_softmax(z) - y) / z.shape[0]


SOLUTIONS = {
    "losses.rmse_grad": rmse_grad,
    "losses.huber": huber,
    "losses.cross_entropy": cross_entropy,
    "losses.hinge_loss": hinge_loss,
    "losses.softmax_jacobian": [softmax_jacobian, softmax_jacobian_loop],
    "losses.softmax_cross_entropy_backward": softmax_cross_entropy_backward,
}


# --- wrong answers ----------------------------------------------------------------------

WRONG = {
    "losses.rmse_grad": {
        "the MSE gradient": lambda p, t: 2.0 * (p - t) / p.size,
        "the 2 of the square missing": lambda p, t: rmse_grad(p, t) / 2,
        "no 1/n": lambda p, t: rmse_grad(p, t) * p.size,
        "divided by rows, not entries": lambda p, t: rmse_grad(p, t) * p.shape[1],
        "wrong sign (y - y_hat)": lambda p, t: -rmse_grad(p, t),
        "returns the RMSE, not its gradient": lambda p, t: float(np.sqrt(np.mean((p - t) ** 2))),
        "sqrt of the MSE gradient": lambda p, t: np.sqrt(np.abs(2.0 * (p - t) / p.size)),
    },
    "losses.huber": {
        "linear branch delta*|d| (no -delta/2)": lambda p, t, d: float(np.mean(
            np.where(np.abs(p - t) <= d, 0.5 * (p - t) ** 2, d * np.abs(p - t)))),
        "linear branch |d| - 1/2 (ignores delta)": lambda p, t, d: float(np.mean(
            np.where(np.abs(p - t) <= d, 0.5 * (p - t) ** 2, np.abs(p - t) - 0.5))),
        "quadratic branch without 1/2": lambda p, t, d: float(np.mean(
            np.where(np.abs(p - t) <= d, (p - t) ** 2, d * (np.abs(p - t) - 0.5 * d)))),
        "sum instead of mean": lambda p, t, d: float(np.sum(
            np.where(np.abs(p - t) <= d, 0.5 * (p - t) ** 2, d * (np.abs(p - t) - 0.5 * d)))),
        "branches swapped": lambda p, t, d: float(np.mean(
            np.where(np.abs(p - t) > d, 0.5 * (p - t) ** 2, d * (np.abs(p - t) - 0.5 * d)))),
    },
}


def _naive_ce(logits, labels):
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return float(-np.log(p[np.arange(len(labels)), labels]).mean())


def _softmax_then_log(logits, labels):
    shifted = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    return float(-np.log(p[np.arange(len(labels)), labels]).mean())


def _ce_sum(logits, labels):
    return cross_entropy(logits, labels) * len(labels)


def _ce_mean_over_all_entries(logits, labels):
    onehot = np.eye(logits.shape[1])[labels]
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-(onehot * log_p).mean())


def _ce_no_softmax(logits, labels):
    return float(-logits[np.arange(len(labels)), labels].mean())


def _hinge_with_true_class(scores, labels):
    rows = np.arange(len(labels))
    margins = np.maximum(0.0, scores - scores[rows, labels][:, None] + 1.0)
    return float(margins.sum() / len(labels))


def _hinge_sum(scores, labels):
    return hinge_loss(scores, labels) * len(labels)


def _hinge_no_margin(scores, labels):
    rows = np.arange(len(labels))
    margins = np.maximum(0.0, scores - scores[rows, labels][:, None])
    return float(margins.sum() / len(labels))


def _hinge_over_classes_too(scores, labels):
    return hinge_loss(scores, labels) / scores.shape[1]  # torch.nn.MultiMarginLoss convention


def _hinge_max_not_sum(scores, labels):
    rows = np.arange(len(labels))
    margins = np.maximum(0.0, scores - scores[rows, labels][:, None] + 1.0)
    margins[rows, labels] = 0.0
    return float(margins.max(axis=1).mean())


def buggy_cross_entropy(logits, labels):   # the chapter's debug exercise: both bugs
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return float(-np.log(probs[:, labels]).mean())


def _ce_block_indexing(logits, labels):
    m = logits.max(axis=1, keepdims=True)
    log_probs = logits - m - np.log(np.exp(logits - m).sum(axis=1, keepdims=True))
    return float(-log_probs[:, labels].mean())


WRONG["losses.cross_entropy"] = {
    "the chapter's buggy cross-entropy": buggy_cross_entropy,
    "probs[:, labels], an N x N block": _ce_block_indexing,
    "naive softmax (overflows at 1000)": _naive_ce,
    "stable softmax, then log (log 0 at -1000)": _softmax_then_log,
    "sum instead of mean": _ce_sum,
    "mean over N*C entries": _ce_mean_over_all_entries,
    "no softmax: -s_y": _ce_no_softmax,
}
def buggy_hinge_loss(scores, labels):   # the chapter's debug exercise: both bugs
    margins = np.maximum(0.0, scores - scores[np.arange(len(labels)), labels][:, None] + 1.0)
    return float(margins.sum())


WRONG["losses.hinge_loss"] = {
    "the chapter's buggy hinge loss": buggy_hinge_loss,
    "includes the j = y_i term": _hinge_with_true_class,
    "sum instead of mean": _hinge_sum,
    "margin 0 instead of 1": _hinge_no_margin,
    "also divided by C": _hinge_over_classes_too,
    "max over j instead of sum": _hinge_max_not_sum,
}


def _naive_jacobian(z):
    y_hat = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    return y_hat[:, :, None] * np.eye(z.shape[1]) - y_hat[:, :, None] * y_hat[:, None, :]


def _jacobian_index_slip(z):
    y_hat = _stable_softmax(z)                                   # y_i (delta_ij - y_i)
    return y_hat[:, :, None] * (np.eye(z.shape[1]) - y_hat[:, :, None])


def _chain_through_the_jacobian(z, y):
    """Correct on paper, but -y / y_hat is 0 / 0 or -inf where y_hat underflows to 0."""
    return np.einsum("nij,ni->nj", softmax_jacobian(z), -y / _stable_softmax(z)) / z.shape[0]


WRONG["losses.softmax_jacobian"] = {
    "only the diagonal y_i (1 - y_i)": lambda z: softmax_jacobian(z) * np.eye(z.shape[1]),
    "no diagonal term: -y y^T": lambda z: softmax_jacobian(z) - _stable_softmax(z)[:, :, None]
    * np.eye(z.shape[1]),
    "sign flipped": lambda z: -softmax_jacobian(z),
    "y_i (delta_ij - y_i), index slip": _jacobian_index_slip,
    "naive softmax (overflows at 710)": _naive_jacobian,
    "one (K, K) matrix for the whole batch": lambda z: softmax_jacobian(z).mean(axis=0),
}
WRONG["losses.softmax_cross_entropy_backward"] = {
    "forgot the 1/N": lambda z, y: _stable_softmax(z) - y,
    "sign flipped (y - y_hat)": lambda z, y: (y - _stable_softmax(z)) / z.shape[0],
    "divided by N * K": lambda z, y: (_stable_softmax(z) - y) / z.size,
    "diagonal of the Jacobian only": lambda z, y: -y * (1 - _stable_softmax(z)) / z.shape[0],
    "chained numerically through the Jacobian": _chain_through_the_jacobian,
    "sigmoid instead of softmax": lambda z, y: (sigmoid(z) - y) / z.shape[0],
}


@pytest.mark.parametrize("name, fragment", [
    ("forgot the 1/N", "divide by N"),
    ("sign flipped (y - y_hat)", "sign is flipped"),
    ("divided by N * K", "not over the N * K entries"),
    ("diagonal of the Jacobian only", "only the true class gets a gradient"),
    ("chained numerically through the Jacobian", "nan or inf"),
])
def test_softmax_cross_entropy_backward_names_the_mistake(name, fragment):
    rejected("losses.softmax_cross_entropy_backward",
             WRONG["losses.softmax_cross_entropy_backward"][name], fragment)


@pytest.mark.parametrize("name, fragment", [
    ("the MSE gradient", "that is the gradient of MSE"),
    ("the 2 of the square missing", "the 2 from differentiating the square"),
    ("no 1/n", "the 1 / n of the mean is missing"),
    ("divided by rows, not entries", "n = N * D"),
    ("wrong sign (y - y_hat)", "the sign is flipped"),
])
def test_rmse_grad_names_the_mistake(name, fragment):
    rejected("losses.rmse_grad", WRONG["losses.rmse_grad"][name], fragment)


def test_rmse_grad_agrees_with_numerical_gradients_of_cn_rmse():
    rng = np.random.default_rng(4)
    for shape in ((1, 1), (5, 1), (3, 4)):
        p, t = rng.standard_normal(shape), rng.standard_normal(shape)
        numeric = nn.numerical_gradient(lambda q, t=t: nn.rmse(q, t), p.copy())
        assert nn.rel_error(rmse_grad(p, t), numeric) < 1e-7


def buggy_ce_backward(z, y):
    """The chapter's debug exercise: an unshifted softmax chained through its Jacobian,
    without the 1/N."""
    e = np.exp(z)
    y_hat = e / e.sum(axis=1, keepdims=True)
    jac = y_hat[:, :, None] * np.eye(z.shape[1]) - y_hat[:, :, None] * y_hat[:, None, :]
    return np.einsum("nij,ni->nj", jac, -y / y_hat)


WRONG["losses.softmax_cross_entropy_backward"]["the chapter's buggy backward"] = buggy_ce_backward


def test_buggy_backward_is_right_up_to_n_on_moderate_logits_and_named():
    rng = np.random.default_rng(2)
    z, y = rng.standard_normal((4, 3)), np.eye(3)[[0, 2, 1, 1]]
    np.testing.assert_allclose(buggy_ce_backward(z, y) / 4, softmax_cross_entropy_backward(z, y),
                               atol=1e-12)
    rejected("losses.softmax_cross_entropy_backward", buggy_ce_backward, "divide by N")
    rejected("losses.softmax_cross_entropy_backward",
             lambda z, y: buggy_ce_backward(z, y) / z.shape[0], "nan or inf")


@pytest.mark.parametrize("name, fragment", [
    ("the chapter's buggy hinge loss", "the j = y_i term is counted"),
    ("includes the j = y_i term", "set it to 0"),
    ("sum instead of mean", "the samples are summed; the loss is their mean"),
])
def test_hinge_loss_names_the_bugs(name, fragment):
    rejected("losses.hinge_loss", WRONG["losses.hinge_loss"][name], fragment)


def test_hinge_both_bugs_named_on_a_batch():
    from course_nn.lab.exercises import exercises

    ex = exercises()["losses.hinge_loss"]
    scores, labels = np.array([[1.0, 2.0, 3.0], [0.5, 0.5, 0.5]]), np.array([0, 1])
    expected = ex.reference(scores, labels)
    assert "summed, not averaged" in ex.compare(expected, buggy_hinge_loss(scores, labels))


@pytest.mark.parametrize("name, fragment", [
    ("the chapter's buggy cross-entropy", "an N x N block"),
    ("probs[:, labels], an N x N block", "an N x N block"),
])
def test_cross_entropy_names_the_bugs(name, fragment):
    rejected("losses.cross_entropy", WRONG["losses.cross_entropy"][name], fragment)


def test_cross_entropy_names_the_overflow_once_the_indexing_is_fixed():
    def indexing_fixed(logits, labels):
        probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        return float(-np.log(probs[np.arange(len(labels)), labels]).mean())

    rejected("losses.cross_entropy", indexing_fixed, "log-sum-exp form")


def test_softmax_jacobian_names_the_mistake():
    rejected("losses.softmax_jacobian", WRONG["losses.softmax_jacobian"]["only the diagonal "
             "y_i (1 - y_i)"], "off-diagonal entries are -y_hat_i y_hat_j")
    rejected("losses.softmax_jacobian", WRONG["losses.softmax_jacobian"]["sign flipped"],
             "sign is flipped")


def test_softmax_backward_solutions_agree_with_numerical_gradients():
    """The exercises' answers are gradients: check them by central differences too."""
    rng = np.random.default_rng(3)
    for n, k in ((1, 3), (4, 5)):
        z = 2.0 * rng.standard_normal((n, k))
        labels = rng.integers(0, k, size=n)
        y = np.eye(k)[labels]
        numeric = nn.numerical_gradient(lambda v, t=labels: nn.CrossEntropyLoss()(v, t),
                                        z.copy())
        assert nn.rel_error(softmax_cross_entropy_backward(z, y), numeric) < 1e-7
        jac = softmax_jacobian(z)
        for s, i in np.ndindex(n, k):   # row i of sample s's Jacobian: the gradient of y_hat_i
            numeric = nn.numerical_gradient(lambda v, i=i: float(_stable_softmax(v)[0, i]),
                                            z[s:s + 1].copy())
            assert nn.rel_error(jac[s, i], numeric[0]) < 1e-7
        np.testing.assert_allclose(jac.sum(axis=2), 0.0, atol=1e-15)   # rows sum to 0


def test_unstable_cross_entropy_fails_on_the_huge_logits():
    """The naive answer is right on ordinary logits; the +-1000 case is what exposes it."""
    result = evaluate("losses.cross_entropy", _naive_ce)
    assert "1000" in result.message


def test_strict_huber_threshold_is_accepted():
    """At |d| = delta both branches give delta^2 / 2, so '<' and '<=' are both correct."""
    def strict(p, t, d):
        r = np.abs(p - t)
        return float(np.mean(np.where(r < d, 0.5 * r**2, d * (r - 0.5 * d))))

    assert evaluate("losses.huber", strict).passed


def test_crashing_answer_reported():
    def crashes(scores, labels):
        return scores @ scores  # (N, C) @ (N, C): shapes do not align

    result = evaluate("losses.hinge_loss", crashes)
    assert not result.passed
    assert "raised ValueError" in result.message


# --- the numbers book/04_losses.ipynb prints, pinned independently -------------------------

def test_regression_example():
    y = np.array([[2.5], [0.0], [2.1], [7.8], [4.0]])
    p = np.array([[3.0], [-0.4], [2.0], [6.9], [4.5]])
    # residuals 0.5, -0.4, -0.1, -0.9, 0.5
    assert nn.MSELoss()(p, y) == pytest.approx((0.25 + 0.16 + 0.01 + 0.81 + 0.25) / 5)
    assert nn.L1Loss()(p, y) == pytest.approx((0.5 + 0.4 + 0.1 + 0.9 + 0.5) / 5)
    assert nn.rmse(p, y) == pytest.approx(math.sqrt(0.296))


def test_note_001_half_mse_values():
    def s(v):
        return 1.0 / (1.0 + math.exp(-v))

    o = 0.5 * s(0.1 * 0.5 + 0.2 * 0.8) + 0.6 * s(0.3 * 0.5 + 0.4 * 0.8)
    half = nn.MSELoss(half=True)
    assert half(np.array([[o]]), np.array([[1.0]])) == pytest.approx(0.5 * (1 - o) ** 2)
    assert half.backward().item() == pytest.approx(o - 1)
    assert round(0.5 * (1 - o) ** 2, 3) == 0.063  # note 001: L ~ 0.063
    assert round(o - 1, 3) == -0.355               # note 001: dL/do = -0.355


def test_huber_pieces_meet_at_delta():
    for delta in (0.5, 1.0, 3.0):
        loss = nn.HuberLoss(delta, reduction="sum")
        assert loss(np.array([[delta]]), np.zeros((1, 1))) == pytest.approx(0.5 * delta**2)
        assert loss.backward().item() == pytest.approx(delta)


def test_outlier_fits():
    y = lx.make_outlier_data(20.0)
    fits = lx.constant_fits(y, 1.0)
    assert fits["MSE"] == pytest.approx(y.mean(), abs=1e-6)
    assert fits["MAE"] == pytest.approx(np.median(y), abs=1e-6)
    # Huber: the outlier sits beyond delta and pulls with force delta = 1; if every clean point
    # is within delta of c, then sum_clean (c - y_i) = 1, so c = mean(clean) + 1/10.
    clean = y[:-1]
    assert np.all(np.abs(fits["Huber"] - clean) <= 1.0)
    assert fits["Huber"] == pytest.approx(clean.mean() + 0.1, abs=1e-6)
    # at the mean, the outlier supplies exactly half of the total |gradient|
    pull = fits["MSE"] - y
    assert abs(pull[-1]) / np.abs(pull).sum() == pytest.approx(0.5)


def test_softmax_cross_entropy_example():
    W = np.array([[0.4, -0.3, 1.0, 0.2], [-0.5, 0.8, 0.1, 0.6], [1.1, 0.2, -0.7, -0.4]])
    x = np.array([[0.8, -1.2, 0.5, 2.0]])
    s = x @ W.T
    np.testing.assert_allclose(s, [[1.58, -0.11, -0.51]])
    expected = 0.11 + math.log(math.exp(1.58) + math.exp(-0.11) + math.exp(-0.51))
    assert nn.CrossEntropyLoss()(s, np.array([1])) == pytest.approx(expected)


def test_cross_entropy_of_huge_logits():
    big = np.array([[1000.0, 0.0, -1000.0]])
    for label, expected in ((0, 0.0), (1, 1000.0), (2, 2000.0)):
        assert nn.CrossEntropyLoss()(big, np.array([label])) == pytest.approx(expected, abs=1e-9)


def test_bce_clamp_versus_logits():
    z, t = np.array([[40.0]]), np.array([[0.0]])
    assert sigmoid(40.0) == 1.0
    assert nn.BCELoss()(sigmoid(z), t) == pytest.approx(100.0)
    assert nn.BCEWithLogitsLoss()(z, t) == pytest.approx(40.0 + math.log1p(math.exp(-40.0)))


def test_hinge_and_cross_entropy_per_sample():
    S = np.array([[3.1, 1.4, -0.6], [2.2, 2.5, 1.9], [1.5, 3.8, -0.9]])
    hinge = [nn.MulticlassHingeLoss()(S[i:i + 1], np.array([i])) for i in range(3)]
    np.testing.assert_allclose(hinge, [0.0, 0.7 + 0.4, 3.4 + 5.7], atol=1e-12)
    assert nn.MulticlassHingeLoss()(S, np.array([0, 1, 2])) == pytest.approx(3.4)
    for i in range(3):
        expected = -S[i, i] + math.log(sum(math.exp(v) for v in S[i]))
        assert nn.CrossEntropyLoss()(S[i:i + 1], np.array([i])) == pytest.approx(expected)
        assert expected > 0
    row = np.array([[2.2, 3.0, 1.9]])
    assert nn.MulticlassHingeLoss()(row, np.array([1])) == pytest.approx(0.2)


def test_note_cross_entropy_formula_ranks_a_useless_model_first():
    t = np.array([[1.0], [0.0], [1.0], [0.0], [0.0], [1.0]])
    always_one = np.full((6, 1), 0.999)
    sensible = np.array([[0.9], [0.2], [0.8], [0.1], [0.3], [0.7]])
    note = [float(-np.sum(t * np.log(p))) for p in (always_one, sensible)]
    assert note[0] == pytest.approx(-3 * math.log(0.999))
    assert note[0] < note[1]
    bce = [nn.BCELoss()(p, t) for p in (always_one, sensible)]
    assert bce[0] == pytest.approx(-(3 * math.log(0.999) + 3 * math.log(0.001)) / 6)
    assert bce[0] > bce[1]


def test_regularized_hinge_is_smallest_where_margins_are_first_met():
    rng = np.random.default_rng(7)                 # the chapter's batch, first four samples
    X = rng.standard_normal((6, 4))[:4]
    labels = rng.integers(0, 3, size=6)[:4]
    W_sep = np.linalg.solve(X, 3.0 * (np.eye(3)[labels] - 0.5)).T  # score gaps of exactly 3
    hinge = nn.MulticlassHingeLoss()
    assert hinge(X @ (W_sep / 3).T, labels) == pytest.approx(0.0, abs=1e-9)
    assert hinge(X @ (0.9 * W_sep / 3).T, labels) > 0
    scales = np.linspace(0.02, 1.5, 297)
    total = [hinge(X @ (a * W_sep).T, labels) + 0.1 * np.sum((a * W_sep) ** 2) for a in scales]
    assert scales[int(np.argmin(total))] == pytest.approx(1 / 3, abs=0.01)
