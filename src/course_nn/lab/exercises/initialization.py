"""Chapter 10 exercises: weight initialization.

initialization.xavier_uniform_bound  the bound a of Xavier/Glorot's U(-a, a) for a dense layer
initialization.he_std                the standard deviation of He/Kaiming's normal init
initialization.layer_output_std      std of z = sum_i w_i x_i for n_in zero-mean independent terms
initialization.he_normal             an He-normal initializer, judged statistically

The first three are formulas with fixed traps (n_in != n_out, n_in = 1, the 150528-input layer
of note 002). The last returns random numbers, so no two correct answers agree entry by
entry: its checker draws a large weight and tests its shape, mean, standard deviation,
tails (a normal distribution, not a uniform one with the same variance) and that no two
rows are equal (the symmetry trap).
"""

import math

import numpy as np

from ... import init
from . import Exercise, register


def _xavier_uniform_bound(n_in, n_out):
    return math.sqrt(6.0 / (n_in + n_out))   # U(-a, a) has variance a^2 / 3 = 2 / (n_in + n_out)


def _he_std(n_in):
    return math.sqrt(2.0 / n_in)


def _layer_output_std(n_in, w_std, x_std):
    return math.sqrt(n_in) * w_std * x_std   # Var(z) = n_in Var(w) Var(x)


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
        return (f"expected standard deviation sqrt(2 / fan_in) = {target:.4g} with fan_in = "
                f"{fan_in}, got {std:.4g}")
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
    id="initialization.he_std",
    kind="transcribe",
    reference=_he_std,
    fixed=[(256,), (1,), (2,), (64,), (150528,)],
    random=lambda rng: (int(rng.integers(1, 5000)),),
    arg_names=("n_in",),
))

register(Exercise(
    id="initialization.layer_output_std",
    kind="transcribe",
    reference=_layer_output_std,
    fixed=[(256, 0.01, 1.0), (1, 0.5, 2.0), (100, 0.1, 1.0), (400, 0.05, 0.3), (64, 1.0, 0.0)],
    random=lambda rng: (int(rng.integers(1, 3000)), float(rng.uniform(0.001, 1.0)),
                        float(rng.uniform(0.1, 3.0))),
    arg_names=("n_in", "w_std", "x_std"),
))

register(Exercise(
    id="initialization.he_normal",
    kind="transcribe",
    reference=_he_normal,
    random=_random_he_case,
    n_random=8,
    arg_names=("shape", "rng"),
    compare=compare_he_normal,
))
