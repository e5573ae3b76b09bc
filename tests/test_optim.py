"""Optimizers: five steps equal PyTorch's to 1e-10, plus the rules' defining behaviour."""

from pathlib import Path

import numpy as np
import pytest
from optim_cases import CASES, STEPS, run_course_nn

import course_nn as cn
from course_nn.optim import SGD, AdaGrad, Adam, RMSProp

REFERENCE = np.load(Path(__file__).parent / "reference" / "optim_trajectories.npz")


@pytest.mark.parametrize("case", sorted(CASES))
def test_trajectory_matches_committed_pytorch_reference(case):
    name, kwargs = CASES[case]
    for step, values in enumerate(run_course_nn(name, kwargs)):
        for i, v in enumerate(values):
            np.testing.assert_allclose(v, REFERENCE[f"{case}/step{step}/param{i}"], rtol=0, atol=1e-10)
    assert step == STEPS - 1


@pytest.mark.parametrize("case", sorted(CASES))
def test_trajectory_matches_live_pytorch(case):
    pytest.importorskip("torch")
    from make_optim_reference import run_torch

    name, kwargs = CASES[case]
    ours, theirs = run_course_nn(name, kwargs), run_torch(name, kwargs)
    for a, b in zip(ours, theirs):
        for x, y in zip(a, b):
            np.testing.assert_allclose(x, y, rtol=0, atol=1e-10)


def _param(value):
    return cn.Parameter(np.array(value, dtype=float))


def test_plain_sgd_step_by_hand():
    p = _param([1.0, -2.0])
    p.grad[:] = [0.5, 0.25]
    SGD([p], lr=0.1).step()
    np.testing.assert_allclose(p.data, [0.95, -2.025], atol=1e-15)


def test_momentum_accumulates_a_constant_gradient():
    p = _param([0.0])
    opt = SGD([p], lr=1.0, momentum=0.5)
    for _ in range(3):
        p.grad[:] = 1.0
        opt.step()
    # velocities 1, 1.5, 1.75 -> position -(1 + 1.5 + 1.75)
    np.testing.assert_allclose(p.data, [-4.25], atol=1e-15)


def test_adam_first_step_is_lr_times_sign():
    p = _param([3.0, -3.0, 0.5])
    p.grad[:] = [10.0, -0.001, 2.0]
    Adam([p], lr=0.1, eps=1e-12).step()
    np.testing.assert_allclose(p.data, [2.9, -2.9, 0.4], atol=1e-9)


def test_adagrad_steps_shrink_under_a_constant_gradient():
    p = _param([0.0])
    opt = AdaGrad([p], lr=1.0)
    positions = []
    for _ in range(4):
        p.grad[:] = 2.0
        opt.step()
        positions.append(p.data[0])
    steps = -np.diff([0.0] + positions)
    np.testing.assert_allclose(steps, 1 / np.sqrt([1, 2, 3, 4]), rtol=1e-9)


def test_rmsprop_step_size_does_not_vanish():
    p = _param([0.0])
    opt = RMSProp([p], lr=0.01, alpha=0.9)
    for _ in range(200):
        p.grad[:] = 1.0
        before = p.data[0]
        opt.step()
    assert before - p.data[0] == pytest.approx(0.01, rel=1e-6)


def test_zero_grad_clears_every_parameter():
    a, b = _param([1.0]), _param([[2.0, 3.0]])
    a.grad[:] = 5
    b.grad[:] = 7
    SGD([a, b], lr=0.1).zero_grad()
    assert not a.grad.any() and not b.grad.any()


@pytest.mark.parametrize("make, message", [
    (lambda p: SGD(p, lr=0.0), r"lr: expected a value > 0, got 0.0"),
    (lambda p: SGD(p, lr=-0.1), r"lr: expected a value > 0, got -0.1"),
    (lambda p: SGD(p, lr=0.1, momentum=1.0), r"momentum: expected a value < 1"),
    (lambda p: SGD(p, lr=0.1, weight_decay=-1), r"weight_decay: expected a value >= 0"),
    (lambda p: RMSProp(p, alpha=1.5), r"alpha: expected a value < 1"),
    (lambda p: Adam(p, betas=(0.9,)), r"betas: expected a pair"),
    (lambda p: Adam(p, betas=(0.9, 1.0)), r"betas\[1\]: expected a value < 1"),
    (lambda p: AdaGrad(p, eps=0), r"eps: expected a value > 0"),
    (lambda p: Adam([], lr=0.1), r"expected a non-empty list of parameters"),
    (lambda p: SGD([np.zeros(3)], lr=0.1), r"parameter 0 must be a Parameter, got ndarray"),
])
def test_bad_hyperparameters_are_rejected(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make([_param([1.0])])


def test_nan_gradient_is_an_error_not_a_silent_update():
    p = _param([1.0])
    p.grad[:] = np.nan
    with pytest.raises(ValueError, match="NaN or inf"):
        SGD([p], lr=0.1).step()
