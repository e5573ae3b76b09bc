"""Statistical checks of the weight initializers.

Samples are large (>= 60,000 draws) so each tolerance below is about 5 standard errors of
the estimate: a correct initializer fails with probability < 1e-6 for ANY seed (the tests run
three seeds), while a wrong formula, such as fan_out for fan_in, the variance used as the
standard deviation, or sqrt(3/n) for sqrt(6/n), is off by 15 % or more and fails.

Standard errors for n draws: the sample std of a normal has relative error 1/sqrt(2n); the
sample variance of a uniform U(-a, a) has relative error sqrt(4/5 / n) (kurtosis 9/5).
"""

import math

import numpy as np
import pytest

from course_nn import init

SEEDS = [0, 1, 2]
DENSE = (200, 300)          # fan_in = 300, fan_out = 200, 60,000 draws
CONV = (128, 64, 3, 3)      # fan_in = 64*9 = 576, fan_out = 128*9 = 1152, 73,728 draws


@pytest.fixture(autouse=True)
def _restore_package_rng():
    saved = init._package_rng
    yield
    init._package_rng = saved


def uniform_var_rtol(n):
    return 5 * math.sqrt(0.8 / n)


def normal_std_rtol(n):
    return 5 / math.sqrt(2 * n)


def assert_centered(w, std):
    assert abs(w.mean()) < 5 * std / math.sqrt(w.size)


def assert_normal_shape(w, std):
    """About 68.27 % of a normal lies within one std (a uniform gives 57.7 %)."""
    frac = np.mean(np.abs(w) < std)
    assert abs(frac - 0.6827) < 5 * math.sqrt(0.6827 * 0.3173 / w.size)


def assert_uniform_on(w, bound):
    assert np.abs(w).max() <= bound
    # the extremes reach the bound: P(all |w| < 0.999 bound) = 0.999^n < e^-60
    assert np.abs(w).max() > 0.999 * bound
    # half the mass of U(-a, a) lies within a/2 (a normal of the same variance gives 65 %)
    frac = np.mean(np.abs(w) < bound / 2)
    assert abs(frac - 0.5) < 5 * math.sqrt(0.25 / w.size)


# ---------------------------------------------------------------------------------- fans

@pytest.mark.parametrize("shape,expected", [
    ((3, 4), (4, 3)),
    ((1, 1), (1, 1)),
    ((8, 3, 5, 5), (75, 200)),
    ((10, 20, 3), (60, 30)),
    ((128, 64, 3, 3), (576, 1152)),
])
def test_fan_in_and_fan_out(shape, expected):
    assert init.fan_in_and_fan_out(shape) == expected
    assert all(type(v) is int for v in init.fan_in_and_fan_out(shape))


# ---------------------------------------------------------------------------------- Xavier

@pytest.mark.parametrize("seed", SEEDS)
def test_xavier_uniform_bound_and_variance(seed):
    w = init.xavier_uniform(DENSE, np.random.default_rng(seed))
    assert w.shape == DENSE and w.dtype == np.float64
    fan_in, fan_out = 300, 200
    assert_uniform_on(w, math.sqrt(6 / (fan_in + fan_out)))
    var = 2 / (fan_in + fan_out)
    assert w.var() == pytest.approx(var, rel=uniform_var_rtol(w.size))
    assert_centered(w, math.sqrt(var))


@pytest.mark.parametrize("seed", SEEDS)
def test_xavier_uniform_gain_scales_the_bound(seed):
    w = init.xavier_uniform(DENSE, np.random.default_rng(seed), gain=math.sqrt(2))
    assert_uniform_on(w, math.sqrt(2) * math.sqrt(6 / 500))


@pytest.mark.parametrize("seed", SEEDS)
def test_xavier_normal_std(seed):
    w = init.xavier_normal(DENSE, np.random.default_rng(seed))
    std = math.sqrt(2 / 500)
    assert w.std() == pytest.approx(std, rel=normal_std_rtol(w.size))
    assert_normal_shape(w, std)
    assert_centered(w, std)
    w2 = init.xavier_normal(DENSE, np.random.default_rng(seed), gain=3.0)
    assert w2.std() == pytest.approx(3 * std, rel=normal_std_rtol(w2.size))


@pytest.mark.parametrize("seed", SEEDS)
def test_xavier_on_conv_shapes_uses_receptive_field(seed):
    w = init.xavier_normal(CONV, np.random.default_rng(seed))
    assert w.std() == pytest.approx(math.sqrt(2 / (576 + 1152)), rel=normal_std_rtol(w.size))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("n_in, n_out", [(400, 100), (256, 256), (100, 400)])
def test_xavier_is_a_compromise_between_forward_and_backward(seed, n_in, n_out):
    """Chapter 10 and the note 002 §7.3 erratum: through a Xavier layer the forward variance is
    multiplied by 2 n_in/(n_in+n_out) and the gradient's by 2 n_out/(n_in+n_out), both 1 only
    when n_in = n_out (400 -> 100: 1.6 and 0.4, not "方差一致")."""
    from course_nn import Linear

    rng = np.random.default_rng(seed)
    layer = Linear(n_in, n_out, rng=rng, init=init.xavier_normal)
    x = rng.standard_normal((2000, n_in))
    z = layer(x)
    g_out = rng.standard_normal(z.shape)
    g_in = layer.backward(g_out)
    assert z.var() / x.var() == pytest.approx(2 * n_in / (n_in + n_out), rel=0.05)
    assert g_in.var() / g_out.var() == pytest.approx(2 * n_out / (n_in + n_out), rel=0.05)
    if n_in != n_out:   # the two factors add up to 2, and neither is 1
        assert abs(z.var() / x.var() - 1) > 0.3 and abs(g_in.var() / g_out.var() - 1) > 0.3


# -------------------------------------------------------------------------------- He/Kaiming

@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape,fan_in", [(DENSE, 300), (CONV, 576)])
def test_he_normal_variance_is_two_over_fan_in(seed, shape, fan_in):
    w = init.he_normal(shape, np.random.default_rng(seed))
    assert w.shape == shape
    std = math.sqrt(2 / fan_in)
    # std within ~5 standard errors; so the variance within twice that
    assert w.std() == pytest.approx(std, rel=normal_std_rtol(w.size))
    assert w.var() == pytest.approx(2 / fan_in, rel=2 * normal_std_rtol(w.size))
    assert_normal_shape(w, std)
    assert_centered(w, std)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape,fan_in", [(DENSE, 300), (CONV, 576)])
def test_he_uniform_bound_is_sqrt_six_over_fan_in(seed, shape, fan_in):
    w = init.he_uniform(shape, np.random.default_rng(seed))
    assert_uniform_on(w, math.sqrt(6 / fan_in))
    assert w.var() == pytest.approx(2 / fan_in, rel=uniform_var_rtol(w.size))


def test_kaiming_aliases():
    assert init.kaiming_normal is init.he_normal
    assert init.kaiming_uniform is init.he_uniform


# ---------------------------------------------------------------------- small random, default

@pytest.mark.parametrize("seed", SEEDS)
def test_small_random_std(seed):
    w = init.small_random(DENSE, np.random.default_rng(seed))
    assert w.std() == pytest.approx(0.01, rel=normal_std_rtol(w.size))
    assert_normal_shape(w, 0.01)
    assert_centered(w, 0.01)
    w = init.small_random(DENSE, np.random.default_rng(seed), scale=0.5)
    assert w.std() == pytest.approx(0.5, rel=normal_std_rtol(w.size))


@pytest.mark.parametrize("seed", SEEDS)
def test_default_uniform_bound(seed):
    w = init.default_uniform(DENSE, np.random.default_rng(seed))
    assert_uniform_on(w, 1 / math.sqrt(300))
    b = init.default_uniform((60_000,), np.random.default_rng(seed), fan_in=25)
    assert_uniform_on(b, 1 / 5)


# --------------------------------------------------------------------------- deterministic

def test_zeros_and_constant():
    z = init.zeros((3, 4))
    assert z.shape == (3, 4) and z.dtype == np.float64 and not np.any(z)
    assert not np.any(init.zeros((2, 2), np.random.default_rng(0)))  # fits Linear's init=
    c = init.constant((2, 5), 0.1)
    assert c.shape == (2, 5) and np.all(c == 0.1)
    assert np.all(init.constant((3,), 7) == 7.0) and init.constant((3,), 7).dtype == np.float64


@pytest.mark.parametrize("fn", [init.xavier_uniform, init.xavier_normal, init.he_normal,
                                init.he_uniform, init.small_random, init.default_uniform])
def test_same_seed_same_weights(fn):
    a = fn((5, 7), np.random.default_rng(42))
    b = fn((5, 7), np.random.default_rng(42))
    c = fn((5, 7), np.random.default_rng(43))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("fn", [init.xavier_uniform, init.he_normal, init.small_random])
def test_rng_none_uses_the_package_generator(fn):
    init.manual_seed(5)
    a = fn((4, 6))
    init.manual_seed(5)
    np.testing.assert_array_equal(fn((4, 6)), a)
    np.testing.assert_array_equal(fn((4, 6), np.random.default_rng(5)), a)
