"""Chapter 10 (weight initialization): every exercise checker accepts a plain-numpy solution and
rejects the wrong answers a learner is likely to write (a variance for a standard deviation,
fan_out for fan_in, a uniform distribution for a normal one, a ReLU stack without its factor
1/2, ...); the last tests pin, with large samples and by arithmetic, the numbers and claims the
chapter prints.

IDS, SOLUTIONS and WRONG feed the checks every exercise gets, in tests/test_exercises.py
(registered, reference and solutions pass, each wrong answer rejected).
"""

import math

import numpy as np
import pytest

import course_nn as nn
from course_nn import init
from course_nn.activations import relu
from course_nn.lab.exercises import evaluate
from course_nn.lab.exercises.initialization import SeededGenerator, compare_he_normal

IDS = ("initialization.xavier_uniform_bound", "initialization.deep_std",
       "initialization.he_normal")


def deep_std(depth, width, w_std, activation):
    """The std of layer `depth`'s pre-activations: sqrt(n) w for the first layer, then
    sqrt(n / 2) w (ReLU) or sqrt(n) w (identity) per further layer."""
    half = 0.5 if activation == "relu" else 1.0
    return math.sqrt(width) * w_std * math.sqrt(width * half * w_std**2) ** (depth - 1)


def deep_std_loop(depth, width, w_std, activation):
    var = width * w_std**2                       # Var(z_1), inputs of variance 1
    for _ in range(depth - 1):
        second_moment = var / 2 if activation == "relu" else var
        var = width * w_std**2 * second_moment
    return math.sqrt(var)


SOLUTIONS = {
    "initialization.xavier_uniform_bound": lambda n_in, n_out: math.sqrt(6.0 / (n_in + n_out)),
    "initialization.deep_std": [deep_std, deep_std_loop],
    "initialization.he_normal": lambda shape, rng: math.sqrt(2.0 / shape[1]) * rng.standard_normal(shape),
}


def test_other_correct_he_normal_answers_pass():
    """Any correct sampler passes: rng.normal with scale, or a numpy array in float32."""
    assert evaluate("initialization.he_normal",
                    lambda s, rng: rng.normal(0.0, math.sqrt(2 / s[1]), size=s)).passed
    assert evaluate("initialization.he_normal",
                    lambda s, rng: (math.sqrt(2 / s[1]) * rng.standard_normal(s)).astype(np.float32)).passed


WRONG = {
    "initialization.xavier_uniform_bound": {
        "the std sqrt(2/(n_in+n_out))": lambda a, b: math.sqrt(2.0 / (a + b)),
        "the variance 2/(n_in+n_out)": lambda a, b: 2.0 / (a + b),
        "only fan_in: sqrt(6/n_in)": lambda a, b: math.sqrt(6.0 / a),
        "no square root": lambda a, b: 6.0 / (a + b),
        "sqrt(3/(n_in+n_out))": lambda a, b: math.sqrt(3.0 / (a + b)),
        "product instead of sum": lambda a, b: math.sqrt(6.0 / (a * b)),
    },
    "initialization.deep_std": {
        "no factor 1/2 for ReLU": lambda d, n, w, a: deep_std(d, n, w, "identity"),
        "1/2 at the first layer too": lambda d, n, w, a: (
            math.sqrt(n / 2) * w * math.sqrt(n / 2 * w**2) ** (d - 1) if a == "relu"
            else deep_std(d, n, w, a) * 2),
        "the variance": lambda d, n, w, a: deep_std(d, n, w, a) ** 2,
        "one layer only": lambda d, n, w, a: math.sqrt(n) * w * (1.5 if d == 1 else 1.0),
        "one layer too many": lambda d, n, w, a: deep_std(d + 1, n, w, a),
        "n w instead of sqrt(n) w": lambda d, n, w, a: n * w * (n / 2 * w) ** (d - 1),
    },
    "initialization.he_normal": {
        "std 2/n_in (a variance)": lambda s, r: (2.0 / s[1]) * r.standard_normal(s),
        "fan_out instead of fan_in": lambda s, r: math.sqrt(2.0 / s[0]) * r.standard_normal(s),
        "uniform with the same variance":
            lambda s, r: r.uniform(-math.sqrt(6 / s[1]), math.sqrt(6 / s[1]), s),
        "Xavier normal": lambda s, r: math.sqrt(2.0 / (s[0] + s[1])) * r.standard_normal(s),
        "0.01 * randn": lambda s, r: 0.01 * r.standard_normal(s),
        "every row the same": lambda s, r: np.tile(math.sqrt(2 / s[1]) * r.standard_normal(s[1]), (s[0], 1)),
        "transposed shape (in, out)": lambda s, r: math.sqrt(2.0 / s[1]) * r.standard_normal(s[::-1]),
        "mean 0.1 * std": lambda s, r: math.sqrt(2.0 / s[1]) * (r.standard_normal(s) + 0.1),
        "a list, not an array": lambda s, r: (math.sqrt(2.0 / s[1]) * r.standard_normal(s)).tolist(),
        "all zeros": lambda s, r: np.zeros(s),
    },
}


def he_normal_broken(shape, rng):
    """The chapter's handed-over version: fan_in read from shape[0], the variance used as std."""
    n_in = shape[0]
    return 2.0 / n_in * rng.standard_normal(shape)


@pytest.mark.parametrize("fn,words", [
    (he_normal_broken, "2 / fan_out"),
    (lambda s, r: math.sqrt(2.0 / s[0]) * r.standard_normal(s), "fan_in is shape[1]"),
    (lambda s, r: 2.0 / s[1] * r.standard_normal(s), "the variance"),
])
def test_he_normal_slips_are_named(fn, words):
    result = evaluate("initialization.he_normal", fn)
    assert not result.passed and words in result.message, result.message


@pytest.mark.parametrize("fn,words", [
    (WRONG["initialization.deep_std"]["no factor 1/2 for ReLU"], "half of the second moment"),
    (WRONG["initialization.deep_std"]["1/2 at the first layer too"], "first layer receives"),
    (WRONG["initialization.deep_std"]["the variance"], "the variance"),
])
def test_deep_std_slips_are_named(fn, words):
    result = evaluate("initialization.deep_std", fn)
    assert not result.passed and words in result.message, result.message


def test_deep_std_tolerance_is_honest():
    """The ideal value lies within the checker's tolerance of course_nn's measurement on other
    seeds too (a finite stack's std drifts from it, more with depth)."""
    from course_nn.lab.exercises.initialization import _stack_std, deep_tolerance

    for depth, width, w_std, act in [(10, 128, 0.13, "relu"), (10, 256, 0.0884, "relu"),
                                     (8, 128, 0.09, "identity"), (3, 128, 0.15, "relu"),
                                     (2, 256, 0.1, "relu"), (5, 256, 0.05, "identity")]:
        tol = deep_tolerance(depth, width)
        worst = max(abs(math.log(deep_std(depth, width, w_std, act)
                                 / _stack_std(depth, width, w_std, act, 1000 + seed)))
                    for seed in range(20))
        assert worst < 0.9 * tol, (depth, width, worst, tol)


def test_he_normal_messages_name_the_problem():
    r = SeededGenerator(0)
    shape = (128, 256)
    assert "excess kurtosis" in compare_he_normal(
        np.zeros(shape), r.uniform(-math.sqrt(6 / 256), math.sqrt(6 / 256), shape))
    assert "rows" in compare_he_normal(np.zeros(shape), np.tile(r.standard_normal(256) / 11.3, (128, 1)))
    assert "mean 0" in compare_he_normal(np.zeros(shape), 0.09 * r.standard_normal(shape) + 0.02)
    assert "sqrt(2 / fan_in)" in compare_he_normal(np.zeros(shape), 0.01 * r.standard_normal(shape))
    assert repr(r) == "np.random.default_rng(0)"


def test_seeded_generator_is_a_generator():
    a, b = SeededGenerator(5), np.random.default_rng(5)
    assert isinstance(a, np.random.Generator)
    np.testing.assert_array_equal(a.standard_normal(4), b.standard_normal(4))


# --- the chapter's numbers, pinned independently -------------------------------------------

def test_variance_of_a_layer_output():
    rng = np.random.default_rng(0)
    n_in, w_std = 256, 0.05
    W = w_std * rng.standard_normal((10000, n_in))       # many independent units
    x = rng.uniform(0.0, 1.0, (500, n_in))
    z = x @ W.T
    assert z.var() == pytest.approx(n_in * w_std**2 / 3, rel=0.04)     # E[x^2] = 1/3
    assert z.var() > 2 * n_in * w_std**2 / 12                         # not Var(x) = 1/12
    x = 0.7 * rng.standard_normal((500, n_in))
    assert (x @ W.T).var() == pytest.approx(n_in * w_std**2 * 0.49, rel=0.04)


def test_relu_halves_the_second_moment_and_he_restores_it():
    rng = np.random.default_rng(1)
    z = 1.3 * rng.standard_normal(1_000_000)
    assert np.mean(relu(z) == 0) == pytest.approx(0.5, abs=0.002)
    assert np.mean(relu(z) ** 2) == pytest.approx(z.var() / 2, rel=0.01)
    layer = nn.Linear(512, 512, rng=rng, init=init.he_normal)
    z_prev = rng.standard_normal((4000, 512))
    assert layer(relu(z_prev)).var() == pytest.approx(z_prev.var(), rel=0.05)


def test_xavier_forward_and_backward_ratios():
    rng = np.random.default_rng(2)
    layer = nn.Linear(400, 100, rng=rng, init=init.xavier_normal)
    x = rng.standard_normal((4000, 400))
    z = layer(x)
    g = rng.standard_normal(z.shape)
    assert z.var() / x.var() == pytest.approx(2 * 400 / 500, rel=0.03)
    assert layer.backward(g).var() / g.var() == pytest.approx(2 * 100 / 500, rel=0.03)


def test_uniform_bound_and_variance():
    w = init.xavier_uniform((500, 300), np.random.default_rng(3))
    bound = math.sqrt(6 / 800)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.999 * bound
    assert w.var() == pytest.approx(2 / 800, rel=0.02)
    assert bound**2 / 3 == pytest.approx(2 / 800)


def test_note_002_notation_readings():
    n = 256
    assert math.sqrt(2 / n) == pytest.approx(0.0884, abs=1e-4)        # std, the correct reading
    assert (2 / n) ** 0.25 == pytest.approx(0.2973, abs=1e-4)         # if sqrt(2/n) were a variance
    assert (n / 2) ** 0.25 == pytest.approx(3.364, abs=1e-3)          # growth per ReLU layer then
    assert math.sqrt(0.01) == 0.1                                     # N(0, 0.01) read as a variance


def test_note_002_image_layer_numbers():
    n_in = 224 * 224 * 3
    assert n_in == 150528
    assert n_in * 4096 == 616_562_688
    assert math.sqrt(2 / n_in) == pytest.approx(0.003645, abs=1e-6)


def test_symmetric_start_stays_symmetric():
    from course_nn.data import make_moons

    X, y = make_moons(200, noise=0.1, rng=np.random.default_rng(0))
    for value in (0.0, 0.5):
        r = np.random.default_rng(1)
        fill = lambda shape, rng=None, v=value: init.constant(shape, v)  # noqa: E731
        model = nn.Sequential(nn.Linear(2, 16, rng=r, init=fill), nn.Tanh(),
                              nn.Linear(16, 2, rng=r, init=fill))
        loss_fn, opt = nn.CrossEntropyLoss(), nn.optim.SGD(model.parameters(), lr=0.5)
        for _ in range(100):
            opt.zero_grad()
            loss_fn(model(X), y)
            model.backward(loss_fn.backward())
            opt.step()
        W1 = model[0].weight.data
        assert np.abs(W1 - W1[:1]).max() == 0.0
        assert np.abs(model[2].weight.data - model[2].weight.data[:, :1]).max() == 0.0
    assert loss_fn(model(X), y) < math.log(2)  # the 0.5 start learns, as one unit
