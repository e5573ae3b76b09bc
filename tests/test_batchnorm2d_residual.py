"""BatchNorm2d and Residual: gradient checks, behaviour in training and evaluation, errors.

PyTorch parity (outputs, gradients, running statistics after several steps) is in
tests/test_torch_parity.py (cases batchnorm2d*, residual_*); every-layer properties in
tests/test_properties.py; state_dict in tests/test_serialization.py; failed calls in
tests/test_failed_calls_change_nothing.py.
"""

import re

import numpy as np
import pytest

import course_nn as cn

GRAD_TOL = 1e-7


def esc(text):
    return re.escape(text)


def bn2d(c=3, affine=True, training=True, seed=3, **kwargs):
    rng = np.random.default_rng(seed)
    bn = cn.BatchNorm2d(c, affine=affine, **kwargs)
    if affine:
        bn.weight.data = rng.uniform(0.5, 1.5, c)
        bn.bias.data = rng.standard_normal(c)
    bn.running_mean = rng.standard_normal(c)
    bn.running_var = rng.uniform(0.5, 2.0, c)
    return bn.train(training)


def images(shape=(3, 3, 4, 5), seed=0):
    rng = np.random.default_rng(seed)
    shift = rng.standard_normal(shape[1])[None, :, None, None]
    return rng.standard_normal(shape) * 2 + shift


# ----------------------------------------------------------------- BatchNorm2d gradients

@pytest.mark.parametrize("affine", [True, False], ids=["affine", "no_affine"])
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_batchnorm2d_gradient_check(training, affine):
    bn = bn2d(training=training, affine=affine)
    errors = cn.check_module_gradients(bn, images(), rng=np.random.default_rng(1))
    expected = {"input", "weight", "bias"} if affine else {"input"}
    assert set(errors) == expected
    assert max(errors.values()) < GRAD_TOL, errors


def test_batchnorm2d_gradient_check_one_pixel_per_image():
    """H = W = 1: the statistics come from the batch alone, as BatchNorm1d's."""
    bn = bn2d(c=2)
    errors = cn.check_module_gradients(bn, images((5, 2, 1, 1)), rng=np.random.default_rng(2))
    assert max(errors.values()) < GRAD_TOL, errors


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_batchnorm2d_is_batchnorm1d_on_pixels_as_rows(training):
    """Output, gradients and running statistics equal BatchNorm1d's on x moved to (N*H*W, C)."""
    x, g = images(), images(seed=5)
    rows = x.transpose(0, 2, 3, 1).reshape(-1, 3)
    two, one = bn2d(momentum=0.3), cn.BatchNorm1d(3, momentum=0.3)
    one.weight.data, one.bias.data = two.weight.data, two.bias.data
    one.running_mean, one.running_var = two.running_mean, two.running_var
    two.train(training)
    one.train(training)
    y2, y1 = two(x), one(rows)
    np.testing.assert_allclose(y2.transpose(0, 2, 3, 1).reshape(-1, 3), y1, rtol=0, atol=1e-13)
    dx2, dx1 = two.backward(g), one.backward(g.transpose(0, 2, 3, 1).reshape(-1, 3))
    np.testing.assert_allclose(dx2.transpose(0, 2, 3, 1).reshape(-1, 3), dx1, rtol=0, atol=1e-13)
    for a, b in [(two.weight.grad, one.weight.grad), (two.bias.grad, one.bias.grad),
                 (two.running_mean, one.running_mean), (two.running_var, one.running_var)]:
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-13)
    assert y2.flags.c_contiguous and dx2.flags.c_contiguous


# ----------------------------------------------------------------- BatchNorm2d behaviour

def test_batchnorm2d_normalizes_each_channel_over_batch_and_pixels():
    x = images((8, 3, 6, 7)) * np.array([1.0, 10.0, 100.0])[None, :, None, None]
    y = cn.BatchNorm2d(3)(x)
    assert y.shape == x.shape and y.dtype == np.float64
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=(0, 2, 3)), 1, atol=1e-4)  # var / (var + eps)


def test_batchnorm2d_running_statistics_follow_pytorchs_convention():
    """running = (1 - m) running + m batch, the variance unbiased over the N*H*W values of a
    channel; normalizing uses the biased one."""
    x = images((2, 3, 3, 2))
    bn = cn.BatchNorm2d(3, momentum=0.25)
    y = bn(x)
    m = x.shape[0] * x.shape[2] * x.shape[3]  # 12 values per channel
    mean, var = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3))
    np.testing.assert_allclose(bn.running_mean, 0.25 * mean, rtol=1e-14)
    np.testing.assert_allclose(bn.running_var, 0.75 + 0.25 * var * m / (m - 1), rtol=1e-14)
    expected = (x - mean[None, :, None, None]) / np.sqrt(var[None, :, None, None] + 1e-5)
    np.testing.assert_allclose(y, expected, rtol=1e-13, atol=1e-13)


def test_batchnorm2d_eval_uses_running_statistics_and_keeps_them():
    bn = bn2d(training=False)
    mean, var = bn.running_mean.copy(), bn.running_var.copy()
    x = images()
    y = bn(x)
    expected = (bn.weight.data[None, :, None, None] * (x - mean[None, :, None, None])
                / np.sqrt(var[None, :, None, None] + bn.eps) + bn.bias.data[None, :, None, None])
    np.testing.assert_allclose(y, expected, rtol=1e-13, atol=1e-13)
    np.testing.assert_array_equal(bn.running_mean, mean)
    np.testing.assert_array_equal(bn.running_var, var)
    # one image's output does not depend on the rest of its batch; a single pixel is fine
    np.testing.assert_allclose(bn(x[:1]), y[:1], rtol=1e-14, atol=1e-14)
    assert bn(x[:1, :, :1, :1]).shape == (1, 3, 1, 1)


def test_batchnorm2d_train_and_eval_differ_and_evaluation_mode_restores():
    x = images()
    bn = bn2d()
    with cn.module.evaluation_mode(bn):
        y_eval = bn(x)
        assert not bn.training
    assert bn.training
    y_train = bn(x)
    assert not np.allclose(y_eval, y_train)
    # training moved the running statistics; evaluation does not
    before = bn.running_mean.copy()
    bn.eval()
    bn(x)
    np.testing.assert_array_equal(bn.running_mean, before)


def test_batchnorm2d_momentum_extremes():
    x = images()
    frozen = cn.BatchNorm2d(3, momentum=0.0)
    frozen(x)
    np.testing.assert_array_equal(frozen.running_mean, np.zeros(3))
    np.testing.assert_array_equal(frozen.running_var, np.ones(3))
    latest = cn.BatchNorm2d(3, momentum=1.0)
    latest(x)
    np.testing.assert_allclose(latest.running_mean, x.mean(axis=(0, 2, 3)), rtol=1e-14)
    np.testing.assert_allclose(latest.running_var, x.var(axis=(0, 2, 3), ddof=1), rtol=1e-13)


def test_batchnorm2d_without_affine_has_no_parameters():
    bn = cn.BatchNorm2d(4, affine=False)
    assert bn.weight is None and bn.bias is None and bn.parameters() == []
    assert list(bn.state_dict()) == ["running_mean", "running_var"]
    assert repr(bn) == "BatchNorm2d(4, eps=1e-05, momentum=0.1, affine=False)"
    assert repr(cn.BatchNorm2d(4)) == "BatchNorm2d(4, eps=1e-05, momentum=0.1)"
    x = images((2, 4, 3, 3))
    y = bn(x)
    y[...] = 0.0  # the caller writes into the output: the cached x_hat must not change
    g = images((2, 4, 3, 3), seed=9)
    twin = cn.BatchNorm2d(4, affine=False)
    twin(x)
    np.testing.assert_array_equal(bn.backward(g), twin.backward(g))


def test_batchnorm2d_float32():
    bn = cn.BatchNorm2d(3, dtype=np.float32)
    x = images().astype(np.float32)
    y = bn(x)
    assert y.dtype == np.float32 and bn.running_var.dtype == np.float32
    assert bn.backward(np.ones_like(y)).dtype == np.float32
    assert bn.weight.grad.dtype == np.float32


def test_batchnorm2d_backward_params_accumulates_the_same_gradients():
    x, g = images(), images(seed=4)
    a, b = bn2d(), bn2d()
    a(x)
    b(x)
    a.backward(g)
    b.backward_params(g)
    np.testing.assert_array_equal(a.weight.grad, b.weight.grad)
    np.testing.assert_array_equal(a.bias.grad, b.bias.grad)


def test_batchnorm2d_state_dict_round_trip_keeps_running_statistics():
    bn = bn2d()
    bn(images())
    fresh = cn.BatchNorm2d(3)
    fresh.load_state_dict(bn.state_dict())
    assert list(fresh.state_dict()) == ["weight", "bias", "running_mean", "running_var"]
    bn.eval()
    fresh.eval()
    np.testing.assert_array_equal(fresh(images()), bn(images()))


# ------------------------------------------------------------------- BatchNorm2d errors

@pytest.mark.parametrize("build, error, message", [
    (lambda: cn.BatchNorm2d(0), ValueError, "BatchNorm2d num_features: expected a positive"),
    (lambda: cn.BatchNorm2d(2.5), ValueError, "BatchNorm2d num_features: expected a positive"),
    (lambda: cn.BatchNorm2d(3, eps=0), ValueError, "BatchNorm2d eps: expected a value > 0"),
    (lambda: cn.BatchNorm2d(3, eps=float("nan")), ValueError, "BatchNorm2d eps"),
    (lambda: cn.BatchNorm2d(3, momentum=1.5), ValueError,
     "BatchNorm2d momentum: expected a value <= 1"),
    (lambda: cn.BatchNorm2d(3, momentum=-0.1), ValueError, "BatchNorm2d momentum"),
    (lambda: cn.BatchNorm2d(3, momentum=None), TypeError, "BatchNorm2d momentum: expected a "),
    (lambda: cn.BatchNorm2d(3, affine="yes"), TypeError,
     "BatchNorm2d affine: expected True or False, got 'yes'"),
    (lambda: cn.BatchNorm2d(3, dtype=np.int64), TypeError, "BatchNorm2d dtype"),
    (lambda: cn.BatchNorm2d(10**12), ValueError, "BatchNorm2d"),
])
def test_batchnorm2d_rejects_bad_settings(build, error, message):
    with pytest.raises(error, match=esc(message)):
        build()


@pytest.mark.parametrize("x, error, message", [
    (np.ones((4, 2, 3, 3)), ValueError,
     "BatchNorm2d input: expected shape (N, 3, H, W), got (4, 2, 3, 3)"),
    (np.ones((4, 3)), ValueError, "BatchNorm2d input: expected shape (N, 3, H, W), got (4, 3)"),
    (np.ones((4, 3, 2)), ValueError, "expected shape (N, 3, H, W), got (4, 3, 2)"),
    (np.ones((1, 4, 3, 2, 2)), ValueError, "expected shape (N, 3, H, W), got (1, 4, 3, 2, 2)"),
    (np.ones((0, 3, 2, 2)), ValueError,
     "BatchNorm2d input: expected a non-empty array, got shape (0, 3, 2, 2)"),
    (np.ones((2, 3, 0, 2)), ValueError, "expected a non-empty array, got shape (2, 3, 0, 2)"),
    (np.ones((1, 3, 1, 1)), ValueError,
     "BatchNorm2d input: expected more than 1 value per channel in training (N*H*W > 1), "
     "got shape (1, 3, 1, 1)"),
    (np.ones((2, 3, 2, 2), dtype=np.int64), TypeError,
     "BatchNorm2d input: expected a float array (float32 or float64), got dtype int64"),
    (np.ones((2, 3, 2, 2), dtype=complex), TypeError, "BatchNorm2d input: expected a float"),
    ([[[[1.0, 2.0]]], [[[3.0]]]], ValueError, "BatchNorm2d input"),
    (None, TypeError, "BatchNorm2d input"),
])
def test_batchnorm2d_rejects_bad_input_and_changes_nothing(x, error, message):
    bn = bn2d()
    before = (bn.running_mean.copy(), bn.running_var.copy())
    with pytest.raises(error, match=esc(message)):
        bn(x)
    np.testing.assert_array_equal(bn.running_mean, before[0])
    np.testing.assert_array_equal(bn.running_var, before[1])
    with pytest.raises(RuntimeError, match="before forward"):
        bn.backward(np.ones((2, 3, 2, 2)))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_batchnorm2d_rejects_nan_and_inf(bad):
    x = images()
    x[1, 2, 3, 4] = bad
    bn = bn2d()
    before = bn.running_mean.copy()
    with pytest.raises(ValueError, match=esc("BatchNorm2d input: expected finite values, got 1 "
                                             "NaN or inf")):
        bn(x)
    np.testing.assert_array_equal(bn.running_mean, before)
    bn(images())
    g = np.ones((3, 3, 4, 5))
    g[0, 0, 0, 0] = bad
    with pytest.raises(ValueError, match=esc("BatchNorm2d grad_out: expected finite values")):
        bn.backward(g)
    assert bn.weight._grad is None
    bn.backward(np.ones((3, 3, 4, 5)))  # still armed for the good forward


def test_batchnorm2d_rejects_wrong_grad_out_and_a_second_backward():
    bn = bn2d()
    bn(images())
    with pytest.raises(ValueError, match=esc("BatchNorm2d grad_out: expected shape (3, 3, 4, 5), "
                                             "got (3, 3, 5, 4)")):
        bn.backward(np.ones((3, 3, 5, 4)))
    bn.backward(np.ones((3, 3, 4, 5)))
    with pytest.raises(RuntimeError, match="called twice"):
        bn.backward(np.ones((3, 3, 4, 5)))


def test_batchnorm2d_checks_hand_written_running_statistics():
    bn = bn2d(training=False)
    bn.running_var = np.array([1.0, -1.0, 1.0])
    with pytest.raises(ValueError, match="BatchNorm2d running_var: expected values >= 0, got "):
        bn(images())
    bn.running_var = np.array([1.0, np.nan, 1.0])
    with pytest.raises(ValueError, match="BatchNorm2d running_var: expected finite values"):
        bn(images())
    bn.running_var = np.ones(3)
    bn.running_mean = np.zeros(4)
    with pytest.raises(ValueError, match=esc("BatchNorm2d running_mean: expected shape (3), got "
                                             "(4,)")):
        bn(images())


def test_batchnorm2d_overflowing_variance_is_refused_naming_the_channel():
    x = np.zeros((2, 2, 2, 2))
    x[0, 1] = 1.5e308
    x[1, 1] = -1.5e308
    bn = cn.BatchNorm2d(2)
    with pytest.raises(ValueError, match="BatchNorm2d input: expected values whose per-channel "
                                         "variance is representable in float64, got channel 1"):
        bn(x)
    np.testing.assert_array_equal(bn.running_var, np.ones(2))


def test_batchnorm2d_huge_but_representable_values_give_finite_outputs():
    x = images() * 1e150  # the variance (1e300) is representable, the sum of squares is not
    bn = cn.BatchNorm2d(3)
    y = bn(x)
    assert np.all(np.isfinite(y))
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-12)


# ------------------------------------------------------------------------------ Residual

def residual_mlp(d=4, h=6, seed=0):
    rng = np.random.default_rng(seed)
    return cn.Residual(cn.Sequential(cn.Linear(d, h, rng=rng), cn.Tanh(), cn.Linear(h, d, rng=rng)))


def test_residual_gradient_check_around_linear_tanh_linear():
    model = residual_mlp()
    x = np.random.default_rng(1).standard_normal((5, 4))
    errors = cn.check_module_gradients(model, x, rng=np.random.default_rng(2))
    assert set(errors) == {"input", "block.0.weight", "block.0.bias", "block.2.weight",
                           "block.2.bias"}
    assert max(errors.values()) < GRAD_TOL, errors


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_residual_gradient_check_around_conv_batchnorm2d(training):
    rng = np.random.default_rng(3)
    block = cn.Sequential(cn.Conv2d(2, 2, 3, padding=1, bias=False, rng=rng), cn.BatchNorm2d(2),
                          cn.Tanh())
    block[1].running_var = np.array([0.5, 2.0])
    model = cn.Residual(block).train(training)
    errors = cn.check_module_gradients(model, images((2, 2, 4, 4)), rng=rng)
    assert max(errors.values()) < GRAD_TOL, errors


def test_residual_forward_and_backward_are_the_sum_of_the_two_paths():
    model, twin = residual_mlp(), residual_mlp()
    x = np.random.default_rng(1).standard_normal((5, 4))
    g = np.random.default_rng(2).standard_normal((5, 4))
    y = model(x)
    np.testing.assert_array_equal(y, x + twin.block(x))
    np.testing.assert_array_equal(model.backward(g), g + twin.block.backward(g))
    for p, q in zip(model.parameters(), twin.parameters()):
        np.testing.assert_array_equal(p.grad, q.grad)


def test_residual_of_a_zero_block_is_the_identity():
    block = cn.Linear.from_weights(np.zeros((3, 3)), np.zeros(3))
    model = cn.Residual(block)
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(model(x), x)
    g = np.ones((2, 3))
    np.testing.assert_array_equal(model.backward(g), g)  # the identity path carries g
    assert np.any(block.weight.grad != 0)  # while the block still learns


def test_residual_names_its_parameters_as_pytorch():
    model = cn.Sequential(cn.Linear(3, 4), residual_mlp(4, 5), cn.Linear(4, 2))
    assert [name for name, _ in model.named_parameters()] == [
        "0.weight", "0.bias", "1.block.0.weight", "1.block.0.bias", "1.block.2.weight",
        "1.block.2.bias", "2.weight", "2.bias"]
    assert list(model.state_dict())[2:6] == ["1.block.0.weight", "1.block.0.bias",
                                             "1.block.2.weight", "1.block.2.bias"]
    assert model[1].children() == [model[1].block]
    assert repr(model[1]).startswith("Residual(\n  (block): Sequential(")


def test_residual_backward_params_gives_the_blocks_gradients():
    a, b = residual_mlp(), residual_mlp()
    x = np.random.default_rng(1).standard_normal((5, 4))
    g = np.ones((5, 4))
    a(x)
    b(x)
    a.backward(g)
    assert b.backward_params(g) is None
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p.grad, q.grad)


def test_residual_trains_inside_a_sequential():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 4))
    y = np.sin(x)
    model = cn.Sequential(residual_mlp(4, 8), residual_mlp(4, 8, seed=1))
    loss_fn = cn.MSELoss()
    opt = cn.optim.Adam(model.parameters(), lr=1e-2)
    first = None
    for _ in range(50):
        loss = loss_fn(model(x), y)
        first = loss if first is None else first
        opt.zero_grad()
        model.backward(loss_fn.backward())
        opt.step()
    assert loss < 0.5 * first


def test_residual_train_and_eval_reach_the_block():
    model = cn.Residual(cn.Sequential(cn.Linear(3, 3), cn.Dropout(0.5)))
    model.eval()
    assert not model.block[1].training
    x = np.ones((2, 3))
    np.testing.assert_array_equal(model(x), x + model.block[0](x))


def test_residual_rejects_a_block_that_changes_the_shape_and_changes_nothing():
    model = cn.Residual(cn.Sequential(cn.Linear(4, 6), cn.Tanh(), cn.Linear(6, 3)))
    with pytest.raises(ValueError, match=esc(
            "Residual block: expected an output of the input's shape (5, 4) (x + block(x) needs "
            "both to have one shape), got (5, 3) from Sequential")):
        model(np.ones((5, 4)))
    with pytest.raises(RuntimeError, match="before forward"):  # nothing was armed
        model.backward(np.ones((5, 4)))
    assert model.block[0]._backward_ready is None


@pytest.mark.parametrize("block, message", [
    (None, "Residual block: expected a Module (e.g. a Sequential of layers that keeps the "
           "shape), got NoneType"),
    ([cn.Linear(2, 2)], "got list"),
    (np.eye(2), "got ndarray"),
])
def test_residual_rejects_a_block_that_is_not_a_module(block, message):
    with pytest.raises(TypeError, match=esc(message)):
        cn.Residual(block)


@pytest.mark.parametrize("x, error, message", [
    (np.ones((5, 4), dtype=np.int64), TypeError, "Residual input: expected a float array"),
    (np.full((5, 4), np.nan), ValueError, "Residual input: expected finite values, got 20"),
    (np.ones((0, 4)), ValueError, "Residual input: expected a non-empty array"),
    (np.ones((5, 3)), ValueError, "Linear input"),  # the block's own check names the shape
])
def test_residual_rejects_bad_input(x, error, message):
    model = residual_mlp()
    with pytest.raises(error, match=esc(message)):
        model(x)


def test_residual_rejects_bad_grad_out_and_keeps_the_blocks_gradients():
    model = residual_mlp()
    model(np.ones((5, 4)))
    with pytest.raises(ValueError, match=esc("Residual grad_out: expected shape (5, 4), got "
                                             "(5, 3)")):
        model.backward(np.ones((5, 3)))
    with pytest.raises(ValueError, match="Residual grad_out: expected finite values"):
        model.backward(np.full((5, 4), np.inf))
    assert all(p._grad is None for p in model.parameters())
    model.backward(np.ones((5, 4)))
    with pytest.raises(RuntimeError, match="called twice"):
        model.backward(np.ones((5, 4)))


def test_residual_block_cannot_also_be_a_sibling_layer():
    block = cn.Linear(3, 3)
    with pytest.raises(ValueError, match="is the same module as layer"):
        cn.Sequential(cn.Residual(block), block)


# ---------------------------------------------------------------------- package surface

def test_both_are_exported_with_shapes_in_their_docstrings():
    assert "BatchNorm2d" in cn.__all__ and "Residual" in cn.__all__
    assert "(N, C, H, W)" in cn.BatchNorm2d.__doc__
    assert "y = x + block(x)" in cn.Residual.__doc__ and "(N, D)" in cn.Residual.__doc__


@pytest.mark.parametrize("m", [1, 5, 128, 200, 25088])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_row_sums_add_in_a_fixed_order(m, dtype):
    # BatchNorm2d sums each channel's N*H*W values along a contiguous row; numpy's own row sum
    # is a pairwise sum whose float32 loop differs between numpy 1.26 and 2.x (the chapters'
    # printed digits then differ too). _row_sums adds in one fixed order, written out again
    # here with elementwise adds in that dtype: blocks of 128 one after another, then halves.
    from course_nn.batchnorm import _row_sums

    a = np.random.default_rng(m).standard_normal((3, m)).astype(dtype) * 100
    block = np.zeros((3, 128), dtype=dtype)
    padded = np.concatenate([a, np.zeros((3, -m % 128), dtype=dtype)], axis=1)
    for k in range(padded.shape[1] // 128):
        block = block + padded[:, 128 * k:128 * (k + 1)]
    while block.shape[1] > 1:
        block = block[:, :block.shape[1] // 2] + block[:, block.shape[1] // 2:]
    got = _row_sums(a)
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, block[:, 0])
    np.testing.assert_allclose(got, a.astype(np.float64).sum(axis=1),
                               rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-3)
