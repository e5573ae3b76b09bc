"""Dropout, BatchNorm1d and the weight penalties: gradients, PyTorch parity, behaviour."""

from pathlib import Path

import numpy as np
import pytest

import course_nn as cn
from course_nn.batchnorm import BatchNorm1d
from course_nn.dropout import Dropout
from course_nn.regularization import ElasticNet, L1Penalty, L2Penalty, weights_only

REFERENCE = Path(__file__).parent / "reference" / "batchnorm.npz"


def batchnorm_case():
    """Three training batches then one evaluation batch, with fixed gamma/beta and grad_out."""
    rng = np.random.default_rng(7)
    batches = [rng.standard_normal((6, 4)) * 2 + 1 for _ in range(3)]
    grads = [rng.standard_normal((6, 4)) for _ in range(3)]
    gamma, beta = rng.standard_normal(4), rng.standard_normal(4)
    return batches, grads, gamma, beta, rng.standard_normal((3, 4))


def run_batchnorm():
    batches, grads, gamma, beta, x_eval = batchnorm_case()
    bn = BatchNorm1d(4, momentum=0.2)
    bn.weight.data[:], bn.bias.data[:] = gamma, beta
    out = {}
    for i, (x, g) in enumerate(zip(batches, grads)):
        out[f"y{i}"] = bn(x)
        bn.zero_grad()
        out[f"dx{i}"] = bn.backward(g)
        out[f"dgamma{i}"], out[f"dbeta{i}"] = bn.weight.grad.copy(), bn.bias.grad.copy()
    out["running_mean"], out["running_var"] = bn.running_mean, bn.running_var
    bn.eval()
    out["y_eval"] = bn(x_eval)
    return out


def run_batchnorm_torch():
    import torch

    batches, grads, gamma, beta, x_eval = batchnorm_case()
    bn = torch.nn.BatchNorm1d(4, momentum=0.2).double()
    with torch.no_grad():
        bn.weight[:], bn.bias[:] = torch.tensor(gamma), torch.tensor(beta)
    out = {}
    for i, (x, g) in enumerate(zip(batches, grads)):
        xt = torch.tensor(x, requires_grad=True)
        y = bn(xt)
        bn.zero_grad()
        y.backward(torch.tensor(g))
        out[f"y{i}"], out[f"dx{i}"] = y.detach().numpy(), xt.grad.numpy()
        out[f"dgamma{i}"], out[f"dbeta{i}"] = bn.weight.grad.numpy().copy(), bn.bias.grad.numpy().copy()
    out["running_mean"], out["running_var"] = bn.running_mean.numpy(), bn.running_var.numpy()
    bn.eval()
    out["y_eval"] = bn(torch.tensor(x_eval)).detach().numpy()
    return out


def test_batchnorm_matches_committed_pytorch_reference():
    ours, ref = run_batchnorm(), np.load(REFERENCE)
    assert set(ours) == set(ref.files)
    for key, value in ours.items():
        np.testing.assert_allclose(value, ref[key], rtol=0, atol=1e-10, err_msg=key)


def test_batchnorm_matches_live_pytorch():
    pytest.importorskip("torch")
    ours, theirs = run_batchnorm(), run_batchnorm_torch()
    for key, value in ours.items():
        np.testing.assert_allclose(value, theirs[key], rtol=0, atol=1e-10, err_msg=key)


@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_gradients(training):
    rng = np.random.default_rng(3)
    bn = BatchNorm1d(5)
    bn.weight.data[:] = rng.standard_normal(5)
    bn.bias.data[:] = rng.standard_normal(5)
    bn.running_mean[:], bn.running_var[:] = rng.standard_normal(5), rng.uniform(0.5, 2, 5)
    bn.train(training)
    errors = cn.check_module_gradients(bn, rng.standard_normal((8, 5)) * 3, rng=rng)
    assert max(errors.values()) < 1e-7, errors


def test_batchnorm_normalizes_each_feature_in_training():
    rng = np.random.default_rng(0)
    y = BatchNorm1d(3)(rng.standard_normal((500, 3)) * [1, 10, 100] + [5, -5, 50])
    np.testing.assert_allclose(y.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(y.std(axis=0), 1, atol=1e-3)


def test_batchnorm_rejects_single_sample_batches_and_bad_settings():
    with pytest.raises(ValueError, match=r"more than 1 sample per batch in training, got shape \(1, 3\)"):
        BatchNorm1d(3)(np.ones((1, 3)))
    with pytest.raises(ValueError, match=r"expected shape \(N, 3\), got \(4, 2\)"):
        BatchNorm1d(3)(np.ones((4, 2)))
    with pytest.raises(ValueError, match="momentum: expected a value <= 1"):
        BatchNorm1d(3, momentum=1.5)
    with pytest.raises(ValueError, match="eps: expected a value > 0"):
        BatchNorm1d(3, eps=0)


def test_dropout_scales_survivors_and_keeps_the_mean():
    drop = Dropout(0.25, rng=np.random.default_rng(0))
    x = np.ones((400, 250))
    y = drop(x)
    assert set(np.unique(y)) == {0.0, 1 / 0.75}
    assert abs((y == 0).mean() - 0.25) < 0.005
    assert abs(y.mean() - 1.0) < 0.01
    grad = drop.backward(np.full_like(x, 2.0))
    np.testing.assert_array_equal(grad, 2.0 * y)  # the same mask routes the gradient


def test_dropout_is_identity_in_eval_mode_and_seeded_in_training():
    x = np.random.default_rng(1).standard_normal((5, 6))
    drop = Dropout(0.5).eval()
    np.testing.assert_array_equal(drop(x), x)
    np.testing.assert_array_equal(drop.backward(np.ones_like(x)), np.ones_like(x))
    a = Dropout(0.5, rng=np.random.default_rng(9))(x)
    b = Dropout(0.5, rng=np.random.default_rng(9))(x)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(Dropout(1.0)(x), np.zeros_like(x))
    with pytest.raises(ValueError, match="p: expected a value <= 1, got 1.5"):
        Dropout(1.5)


def test_dropout_in_eval_mode_passes_the_gradient_check():
    x = np.random.default_rng(2).standard_normal((4, 3))
    assert cn.check_module_gradients(Dropout(0.5).eval(), x)["input"] < 1e-7


def test_penalties_values_and_gradients():
    w = cn.Parameter(np.array([[1.5, -2.0], [0.5, -0.25]]))
    net = ElasticNet(l1=0.1, l2=0.01)
    assert net([w]) == pytest.approx(0.1 * 4.25 + 0.01 * 6.5625, abs=1e-15)
    numeric = cn.numerical_gradient(lambda z: net([cn.Parameter(z)]), w.data.copy())
    w.zero_grad()
    net.backward([w])
    assert cn.rel_error(w.grad, numeric) < 1e-7
    assert L1Penalty(0.1)([w]) == pytest.approx(0.425)
    assert L2Penalty(0.01)([w]) == pytest.approx(0.065625)


def test_l2_step_multiplies_weights_by_one_minus_two_eta_lambda():
    """Note 002's update rule: with a zero data gradient, w <- (1 - 2 eta lambda) w."""
    w = cn.Parameter(np.array([[0.8, -1.2, 3.0]]))
    lr, lam = 0.1, 0.05
    L2Penalty(lam).backward([w])
    cn.optim.SGD([w], lr=lr).step()
    np.testing.assert_allclose(w.data, (1 - 2 * lr * lam) * np.array([[0.8, -1.2, 3.0]]), atol=1e-15)


def test_weights_only_skips_biases():
    model = cn.Sequential(cn.Linear(3, 4), cn.ReLU(), cn.Linear(4, 2))
    assert [p.shape for p in weights_only(model)] == [(4, 3), (2, 4)]


def test_penalty_rejects_negative_strength():
    with pytest.raises(ValueError, match="lam: expected a value >= 0, got -0.1"):
        L2Penalty(-0.1)
