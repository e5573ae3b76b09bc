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


def _intermittent_run(make, lib):
    """Two parameters; ``a`` has a gradient at every step, ``b`` only at steps 0 and 3 (the
    other steps it takes no part in the loss: its gradient is unset). Returns b after each step."""
    grads_a = [np.array([0.5, -1.0]), np.array([0.2, 0.3]), np.array([-0.4, 0.1]),
               np.array([1.0, 1.0]), np.array([0.3, -0.2])]
    grads_b = {0: np.array([2.0, -0.5]), 3: np.array([-1.0, 0.25])}
    if lib == "torch":
        import torch
        a = torch.nn.Parameter(torch.tensor([1.0, 2.0], dtype=torch.float64))
        b = torch.nn.Parameter(torch.tensor([-1.0, 0.5], dtype=torch.float64))
    else:
        a, b = cn.Parameter(np.array([1.0, 2.0])), cn.Parameter(np.array([-1.0, 0.5]))
    opt = make(lib, [a, b])
    trace = []
    for step, g in enumerate(grads_a):
        opt.zero_grad()
        if lib == "torch":
            import torch
            a.grad = torch.tensor(g)
            if step in grads_b:
                b.grad = torch.tensor(grads_b[step])
            opt.step()
            trace.append(b.detach().numpy().copy())
        else:
            a.grad = g
            if step in grads_b:
                b.grad = grads_b[step]
            opt.step()
            trace.append(b.data.copy())
    return np.array(trace)


def _make(name):
    kwargs = {"sgd": dict(lr=0.1, momentum=0.9, weight_decay=0.01),
              "adam": dict(lr=0.1, weight_decay=0.01), "rmsprop": dict(lr=0.1, momentum=0.5),
              "adagrad": dict(lr=0.1)}[name]

    def make(lib, params):
        if lib == "torch":
            import torch
            cls = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam,
                   "rmsprop": torch.optim.RMSprop, "adagrad": torch.optim.Adagrad}[name]
        else:
            cls = {"sgd": SGD, "adam": Adam, "rmsprop": RMSProp, "adagrad": AdaGrad}[name]
        return cls(params, **kwargs)
    return make


@pytest.mark.parametrize("name", ["sgd", "adam", "rmsprop", "adagrad"])
def test_a_parameter_without_gradient_is_skipped(name):
    """As in PyTorch: no momentum, weight decay or state moves a parameter whose gradient is
    unset, and Adam's bias correction counts the steps that parameter took."""
    trace = _intermittent_run(_make(name), "course_nn")
    np.testing.assert_array_equal(trace[1], trace[0])  # steps 1, 2: b has no gradient
    np.testing.assert_array_equal(trace[2], trace[0])
    assert not np.array_equal(trace[3], trace[2])
    np.testing.assert_array_equal(trace[4], trace[3])


def test_adam_counts_steps_per_parameter():
    """b's second update is Adam's step t = 2 (its own), not t = 4 (the optimizer's)."""
    trace = _intermittent_run(_make("adam"), "course_nn")
    b, m, v = np.array([-1.0, 0.5]), 0.0, 0.0
    for t, g in enumerate([np.array([2.0, -0.5]), np.array([-1.0, 0.25])], start=1):
        g = g + 0.01 * b
        m, v = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g * g
        b = b - 0.1 * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
    np.testing.assert_allclose(trace[3], b, rtol=1e-13)


@pytest.mark.parametrize("name", ["sgd", "adam", "rmsprop", "adagrad"])
def test_a_parameter_without_gradient_matches_live_pytorch(name):
    pytest.importorskip("torch")
    np.testing.assert_allclose(_intermittent_run(_make(name), "course_nn"),
                               _intermittent_run(_make(name), "torch"), rtol=0, atol=1e-12)
