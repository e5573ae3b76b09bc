"""Chapter 6 exercises: gradient descent.

gradient_descent.gd_step            one update w - lr * grad (returns the new w)
gradient_descent.steps_per_epoch    how many updates one epoch of n samples takes (drop_last or not)
gradient_descent.minibatch_indices  shuffle 0..n-1 with rng and cut it into batches; checked by
                                    properties (a partition of 0..n-1, the right batch sizes,
                                    shuffled), since any permutation is a correct answer
gradient_descent.max_stable_lr      2 / lam_max(H): the largest learning rate for which gradient
                                    descent converges on the quadratic 1/2 w^T H w

References are course_nn's: optim.SGD driving a Parameter, data.iterate_minibatches, and
surfaces.Quadratic. Fixed cases hold the traps (a last batch that is not full, a batch larger
than the data set, a non-diagonal H whose largest diagonal entry is not its largest eigenvalue).
"""

import numbers

import numpy as np

from ..data import iterate_minibatches
from ..module import Parameter
from ..optim import SGD
from ..surfaces import Quadratic
from . import Exercise, _describe, _show, _whole_number, register


class _SeededGenerator(np.random.Generator):
    """A Generator that prints as the call that made it (a failing input is shown to learners)."""

    def __init__(self, seed):
        super().__init__(np.random.PCG64(seed))
        self._seed = seed

    def __repr__(self):
        return f"np.random.default_rng({self._seed})"


# --- gd_step --------------------------------------------------------------------------------

def _gd_step(w, grad, lr):
    p = Parameter(np.array(w, dtype=np.float64))
    p.grad[...] = grad
    SGD([p], lr=lr).step()
    return p.data


def _random_gd_step(rng):
    shape = tuple(int(s) for s in rng.integers(1, 5, size=int(rng.integers(1, 3))))
    return rng.standard_normal(shape), rng.standard_normal(shape), float(rng.choice([0.01, 0.1, 0.5, 2.0]))


register(Exercise(
    id="gradient_descent.gd_step",
    kind="transcribe",
    reference=_gd_step,
    fixed=[
        (np.array([1.0]), np.array([4.0]), 0.1),                       # 1 - 0.1 * 4 = 0.6
        (np.array([0.5, -0.3]), np.array([0.2, -0.1]), 0.5),
        (np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[0.0, 1.0], [-1.0, 0.0]]), 1.5),
        (np.array([2.0, -2.0, 0.0]), np.zeros(3), 0.3),                 # zero gradient: no move
    ],
    random=_random_gd_step,
    arg_names=("w", "grad", "lr"),
    updates_in_place=("w",),          # w -= lr * grad, as optimizer.step() does
))


# --- steps_per_epoch ------------------------------------------------------------------------

def _steps_per_epoch(n, batch_size, drop_last):
    dummy = np.zeros((n, 1))
    return sum(1 for _ in iterate_minibatches(dummy, dummy, batch_size, shuffle=False,
                                              drop_last=drop_last))


def _compare_count(expected, got):
    """Accept an int or a whole-valued float (np.ceil returns one) equal to ``expected``."""
    if _whole_number(got) == expected:
        return None
    if isinstance(got, (bool, np.bool_)) or not isinstance(got, (numbers.Real, np.number, np.ndarray)):
        return f"expected an integer, got {_describe(got)}"
    return f"expected {expected}, got {_show(got)}"


def _random_steps(rng):
    return int(rng.integers(1, 2000)), int(rng.integers(1, 300)), bool(rng.integers(0, 2))


register(Exercise(
    id="gradient_descent.steps_per_epoch",
    kind="transcribe",
    reference=_steps_per_epoch,
    fixed=[
        (1000, 32, False),    # 31 full batches and one of 8
        (1000, 32, True),     # the batch of 8 is dropped
        (1024, 32, False),    # divides exactly
        (1024, 32, True),
        (10, 64, False),      # one batch smaller than batch_size
        (10, 64, True),       # no full batch at all: 0 updates
        (7, 1, False),        # pure SGD: one update per sample
    ],
    random=_random_steps,
    arg_names=("n", "batch_size", "drop_last"),
    compare=_compare_count,
))


# --- minibatch_indices ----------------------------------------------------------------------

def _minibatch_indices(n, batch_size, rng):
    idx = np.arange(n)
    return [batch for batch, _ in iterate_minibatches(idx, idx, batch_size, rng=rng)]


def _compare_batches(expected, got):
    if not isinstance(got, (list, tuple, np.ndarray)):
        return f"expected a list of index arrays, got {_describe(got)}"
    try:
        batches = [np.asarray(b) for b in got]
    except (TypeError, ValueError):
        return "expected a list of 1-D index arrays, got a batch numpy cannot read as one array"
    sizes = [len(b) for b in expected]
    n = sum(sizes)
    got_sizes = [b.size for b in batches]
    if got_sizes != sizes:
        return (f"expected {len(sizes)} batches of sizes {_show(sizes)}, got {len(got_sizes)} "
                f"of sizes {_show(got_sizes)}")
    if any(b.ndim != 1 or not np.issubdtype(b.dtype, np.integer) for b in batches):
        return "expected every batch to be a 1-D array of integer indices"
    order = np.concatenate(batches)
    if not np.array_equal(np.sort(order), np.arange(n)):
        return (f"expected every index 0..{n - 1} exactly once; got "
                f"{n - np.unique(order).size} repeats and indices in [{order.min()}, {order.max()}]")
    if n >= 8 and np.array_equal(order, np.arange(n)):
        return "the indices come in order 0, 1, 2, ...: shuffle them with rng first"
    return None


def _random_batches(rng):
    return int(rng.integers(1, 300)), int(rng.integers(1, 64)), _SeededGenerator(int(rng.integers(1000)))


register(Exercise(
    id="gradient_descent.minibatch_indices",
    kind="transcribe",
    reference=_minibatch_indices,
    fixed=[
        (10, 3, _SeededGenerator(0)),     # 3 + 3 + 3 + 1
        (12, 4, _SeededGenerator(1)),     # divides exactly
        (5, 8, _SeededGenerator(2)),      # one batch holding everything
        (100, 1, _SeededGenerator(3)),    # pure SGD
        (1000, 32, _SeededGenerator(4)),
    ],
    random=_random_batches,
    arg_names=("n", "batch_size", "rng"),
    compare=_compare_batches,
))


# --- max_stable_lr --------------------------------------------------------------------------

def _max_stable_lr(H):
    return Quadratic(H).max_stable_lr()


def _rotated(lam, angle):
    c, s = np.cos(angle), np.sin(angle)
    R = np.array([[c, -s], [s, c]])
    H = R @ np.diag(lam) @ R.T
    return (H + H.T) / 2


def _random_spd(rng):
    d = int(rng.integers(1, 6))
    A = rng.standard_normal((d, d))
    H = A @ A.T + 0.1 * np.eye(d)
    return ((H + H.T) / 2,)


register(Exercise(
    id="gradient_descent.max_stable_lr",
    kind="transcribe",
    reference=_max_stable_lr,
    fixed=[
        (np.array([[4.0]]),),                                  # 1-D: 2 / 4
        (np.diag([1.0, 20.0]),),                               # axis-aligned valley
        (_rotated([1.0, 20.0], np.pi / 6),),                   # largest diagonal entry 15.25, not 20
        (np.array([[2.0, 1.0, 0.0], [1.0, 2.0, 1.0], [0.0, 1.0, 2.0]]),),
        (np.array([[1.0, 0.99], [0.99, 1.0]]),),               # eigenvalues 0.01 and 1.99
    ],
    random=_random_spd,
    arg_names=("H",),
))

