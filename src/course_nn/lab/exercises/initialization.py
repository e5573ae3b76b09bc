"""Chapter 10 exercises: weight initialization.

initialization.deep_std              predict, then run: the std of the pre-activations of the
                                     last layer of a deep ReLU (or linear) stack; judged against
                                     course_nn's own measurement, with a tolerance that grows
                                     with depth (a finite network's std drifts a few % per layer)
initialization.xavier_uniform_bound  transcribe: the bound a of Xavier/Glorot's U(-a, a)
initialization.he_normal             debug: the chapter's He-normal initializer reads fan_in
                                     from the wrong axis and uses the variance as the std; judged
                                     statistically, and the checker names the slip it sees

xavier_uniform_bound's fixed cases hold the traps (n_in != n_out, n_in = 1, the 150528-input
layer of note 002). he_normal returns random numbers, so no two correct answers agree entry
by entry: its checker draws a large weight and tests its shape, mean, standard deviation,
tails (a normal distribution, not a uniform one with the same variance) and that no two
rows are equal (the symmetry trap).
"""

import math

import numpy as np

from ... import init
from . import Exercise, _one_number, _show, register


def _xavier_uniform_bound(n_in, n_out):
    return math.sqrt(6.0 / (n_in + n_out))   # U(-a, a) has variance a^2 / 3 = 2 / (n_in + n_out)


def _he_normal(shape, rng):
    return init.he_normal(shape, rng)


class SeededGenerator(np.random.Generator):
    """A numpy Generator that prints as ``default_rng(seed)`` in a checker's message."""

    def __init__(self, seed):
        super().__init__(np.random.PCG64(seed))
        self.seed = seed

    def __repr__(self):
        return f"np.random.default_rng({self.seed})"


HE_SHAPES = [(128, 256), (300, 100), (64, 512), (40, 1000), (500, 64), (96, 784)]


def _random_he_case(rng):
    shape = HE_SHAPES[int(rng.integers(len(HE_SHAPES)))]
    return shape, SeededGenerator(int(rng.integers(1000)))


def _excess_kurtosis(w):
    c = w - w.mean()
    return float(np.mean(c**4) / np.mean(c**2) ** 2 - 3.0)


def compare_he_normal(expected, got):
    """Judge a random He-normal weight against the distribution, not against the reference's
    numbers: right shape; no two rows identical (the symmetry trap); mean ~ 0; std within 4%
    of sqrt(2 / fan_in); excess kurtosis near 0 (a normal distribution: a uniform one has
    -1.2)."""
    expected = np.asarray(expected)
    if not isinstance(got, np.ndarray):
        return f"expected a numpy array of shape {expected.shape}, got {type(got).__name__}"
    if got.shape != expected.shape:
        return f"expected shape {expected.shape} (out, in), got shape {got.shape}"
    got = got.astype(float)
    if not np.all(np.isfinite(got)):
        return "the weights contain NaN or inf"
    if len(np.unique(got, axis=0)) < got.shape[0]:
        return "some rows (neurons) are identical: they would stay identical in training"
    fan_in = int(np.prod(expected.shape[1:]))
    target = math.sqrt(2.0 / fan_in)
    std, mean = float(got.std()), float(got.mean())
    if abs(mean) > 0.05 * target:
        return f"the weights should have mean 0, got mean {mean:.4g} (std target {target:.4g})"
    if not abs(std / target - 1.0) < 0.04:
        reason = (f"expected standard deviation sqrt(2 / fan_in) = {target:.4g} with fan_in = "
                  f"{fan_in}, got {std:.4g}")
        fan_out = expected.shape[0]
        slips = [
            (2.0 / fan_out, "that is 2 / fan_out: shape[0] is the number of outputs (course_nn "
                            "stores a weight as (out, in)), and 2 / n is the variance, not the std"),
            (math.sqrt(2.0 / fan_out), "that is sqrt(2 / fan_out): shape[0] is the number of "
                                       "outputs; course_nn stores a weight as (out, in), so "
                                       "fan_in is shape[1]"),
            (2.0 / fan_in, "that is 2 / fan_in, the variance: rng.standard_normal is multiplied "
                           "by the standard deviation, its square root"),
            (math.sqrt(2.0 / (fan_in + fan_out)), "that is Xavier's std, sqrt(2 / (fan_in + "
                                                  "fan_out)); He's has no fan_out"),
        ]
        for value, why in slips:
            if not math.isclose(value, target, rel_tol=0.1) and abs(std / value - 1.0) < 0.04:
                return f"{reason}: {why}"
        return reason
    kurt = _excess_kurtosis(got)
    if abs(kurt) > 0.4:
        return (f"the right std, but not a normal distribution: excess kurtosis {kurt:.2f} "
                f"(normal: 0, uniform: -1.2)")
    return None


register(Exercise(
    id="initialization.xavier_uniform_bound",
    kind="transcribe",
    reference=_xavier_uniform_bound,
    fixed=[(256, 256), (400, 100), (1, 1), (150528, 4096), (3, 4)],
    random=lambda rng: (int(rng.integers(1, 2000)), int(rng.integers(1, 2000))),
    arg_names=("n_in", "n_out"),
))

register(Exercise(
    id="initialization.he_normal",
    kind="debug",
    reference=_he_normal,
    random=_random_he_case,
    n_random=8,
    arg_names=("shape", "rng"),
    compare=compare_he_normal,
))


# --- deep_std (predict, then run) ----------------------------------------------------------------

DEEP_SAMPLES = 128
"""Inputs the checker sends through the stack to measure the std (128 x width values)."""


def _stack_std(depth, width, w_std, activation, seed):
    """course_nn's measurement: the std of the last layer's pre-activations of
    ix.deep_network(depth, width, activation) with N(0, w_std^2) weights and zero biases, on
    DEEP_SAMPLES inputs x ~ N(0, 1), everything drawn from default_rng(seed)."""
    from ..explorers import initialization as ix

    rng = np.random.default_rng(seed)
    scheme = ix.Scheme(f"N(0, {w_std:.4g}^2)", lambda shape, r: w_std * r.standard_normal(shape),
                       lambda fan_in, fan_out: w_std)
    model = ix.deep_network(depth, width, activation, scheme, rng=rng)
    x = rng.standard_normal((DEEP_SAMPLES, width))
    pre, _ = ix.forward_layers(model, x)
    return float(pre[-1].std())


def deep_tolerance(depth, width):
    """How far (in log) a finite stack's measured std may lie from the ideal value: each layer's
    realized weights scale the variance by a random factor near 1 (a relative spread of order
    sqrt(5 / width) for ReLU); the log drifts like a random walk, as sqrt(depth - 1). About
    three standard deviations of that drift: it covers the largest drifts seen over many
    seeds (tests/test_exercises_initialization.py)."""
    return 0.05 + 3.5 * math.sqrt((depth - 1) / width)


class _Measured(float):
    """course_nn's measured std, carrying the tolerance (in log) and the slips' values."""

    tol = 0.0
    slips = ()


def _deep_std_reference(depth, width, w_std, activation):
    seed = (depth * 7919 + width * 31 + int(round(w_std * 1e6))) % (2**31)
    measured = _Measured(_stack_std(depth, width, w_std, activation, seed))
    measured.tol = deep_tolerance(depth, width)
    half = 0.5 if activation == "relu" else 1.0
    g1, g = math.sqrt(width) * w_std, math.sqrt(width * half) * w_std
    measured.slips = [
        (g1 * (math.sqrt(width) * w_std) ** (depth - 1) if depth > 1 else None,
         "ReLU passes on only half of the second moment: each layer after the first multiplies "
         "the variance by n Var(w) / 2, not n Var(w)") if activation == "relu" else (None, ""),
        (g ** depth if activation == "relu" else None,
         "the first layer receives x ~ N(0, 1) itself, not a ReLU output: no factor 1/2 there"),
        ((g1 * g ** (depth - 1)) ** 2, "that is the variance; the question asks for the standard "
                                       "deviation, its square root"),
        (g1, "that is the first layer's std; the factor repeats in every layer after it"),
        (g1 * g ** depth, f"that is {depth + 1} layers' worth of factors; the stack has {depth}"),
    ]
    return measured


def _compare_deep_std(expected, got):
    value = _one_number(got)
    if value is None:
        return f"expected one number (a standard deviation), got {_show(got)}"
    measured = float(expected)
    if not np.isfinite(value) or value <= 0:
        return f"expected a positive standard deviation, got {value:g}"
    if abs(math.log(value / measured)) <= expected.tol:
        return None
    reason = (f"course_nn measured {measured:.4g} on this stack, your prediction is {value:.4g} "
              f"(a factor {value / measured:.3g}; a finite stack may differ from the ideal value "
              f"by a factor up to {math.exp(expected.tol):.3g} at this depth)")
    for slip, why in expected.slips:
        if slip and slip > 0 and abs(math.log(value / slip)) < 1e-6 \
                and abs(math.log(slip / measured)) > expected.tol:
            return f"{reason}: {why}"
    return reason


def _random_deep_case(rng):
    width = 256
    depth = int(rng.integers(1, 11))
    gain = float(rng.uniform(0.6, 2.2))                   # std = gain / sqrt(width)
    return depth, width, round(gain / math.sqrt(width), 5), str(rng.choice(["relu", "identity"]))


register(Exercise(
    id="initialization.deep_std",
    kind="predict",
    reference=_deep_std_reference,
    fixed=[
        (10, 256, 0.01, "relu"),              # the recipe 0.01 * randn: the signal vanishes
        (10, 256, 0.0625, "relu"),            # Xavier normal at width 256: sqrt(1/2) per layer
        (10, 256, 0.0884, "relu"),            # He: sqrt(2 / 256), the std stays put
        (1, 256, 0.1, "relu"),                # one layer: no ReLU has acted yet
        (2, 256, 0.1, "relu"),                # the first ReLU halves the second moment
        (3, 256, 0.05, "identity"),           # no activation: n Var(w) per layer
    ],
    random=_random_deep_case,
    n_random=14,
    arg_names=("depth", "width", "w_std", "activation"),
    compare=_compare_deep_std,
))
