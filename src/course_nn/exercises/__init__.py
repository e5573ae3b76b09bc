"""Self-checking exercises.

A learner writes a function in a notebook cell and calls ``check("chapter.name", fn)``. The
checker runs ``fn`` on fixed inputs (including edge cases), then on random inputs from a
seeded generator, and compares every result with a reference computed by ``course_nn``.
It prints one line on success, or the first failing input with what was expected and what
came back. ``evaluate`` returns the same verdict as a ``CheckResult`` for tests.

Each chapter's exercises live in a module of this package and are registered with
``register(Exercise(...))``.
"""

import copy
from dataclasses import dataclass, field
from importlib import import_module

import numpy as np

CHAPTER_MODULES = (
    "neurons",
    "activations",
    "losses",
    "backprop",
    "gradient_descent",
    "optimizers",
    "backprop_matrix",
    "autograd",
    "initialization",
    "training",
    "regularization",
    "cnn",
    "rnn",
    "playground",
)


@dataclass
class Exercise:
    """One exercise.

    id:        "chapter.name", what the learner passes to ``check``.
    reference: the correct function (built from course_nn).
    fixed:     argument tuples always tried first (edge cases a wrong answer gets wrong).
    random:    ``rng -> argument tuple``, called ``n_random`` times with a seeded generator.
    compare:   ``(expected, got) -> None or str``: the reason the answer is wrong, if it is.
    arg_names: names used when printing a failing input.
    """

    id: str
    reference: object
    fixed: list = field(default_factory=list)
    random: object = None
    n_random: int = 20
    arg_names: tuple = ("x",)
    rtol: float = 1e-6
    atol: float = 1e-9
    compare: object = None

    def cases(self):
        yield from self.fixed
        if self.random is not None:
            rng = np.random.default_rng(0)
            for _ in range(self.n_random):
                yield self.random(rng)


@dataclass
class CheckResult:
    passed: bool
    message: str
    cases: int = 0

    def __bool__(self):
        return self.passed


_REGISTRY = {}


def register(exercise):
    if exercise.id in _REGISTRY:
        raise ValueError(f"exercise {exercise.id!r} is registered twice")
    _REGISTRY[exercise.id] = exercise
    return exercise


def exercises():
    """All registered exercises, by id."""
    for name in CHAPTER_MODULES:
        import_module(f"{__name__}.{name}")
    return dict(_REGISTRY)


def _format(value):
    if isinstance(value, np.ndarray):
        if value.size > 12:
            flat = np.array2string(value.reshape(-1)[:6], precision=4, separator=", ")
            return f"array of shape {value.shape}, first entries {flat[:-1]}, ...]"
        return np.array2string(value, precision=4, separator=", ").replace("\n", "")
    if isinstance(value, float):
        return f"{value:.6g}"
    if type(value) in (list, tuple) and any(isinstance(v, np.ndarray) for v in value):
        inner = ", ".join(_format(v) for v in value)
        return f"[{inner}]" if isinstance(value, list) else f"({inner})"
    return repr(value)


def _default_compare(expected, got, rtol, atol):
    if isinstance(expected, tuple):
        if not isinstance(got, tuple) or len(got) != len(expected):
            return f"expected a tuple of {len(expected)} results, got {_format(got)}"
        for i, (e, g) in enumerate(zip(expected, got)):
            reason = _default_compare(e, g, rtol, atol)
            if reason:
                return f"result {i}: {reason}"
        return None
    if isinstance(expected, (int, np.integer)) and not isinstance(expected, bool):
        if not isinstance(got, (int, np.integer)) or int(got) != int(expected):
            return f"expected {expected}, got {_format(got)}"
        return None
    expected = np.asarray(expected, dtype=float)
    try:
        got_arr = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        return f"expected a number or array, got {type(got).__name__}"
    if got_arr.shape != expected.shape:
        return f"expected shape {expected.shape}, got shape {got_arr.shape}"
    if not np.allclose(got_arr, expected, rtol=rtol, atol=atol):
        return f"expected {_format(expected)}, got {_format(got_arr)}"
    return None


def evaluate(exercise_id, fn):
    """Run ``fn`` against the exercise and return a CheckResult (no printing)."""
    table = exercises()
    if exercise_id not in table:
        raise KeyError(f"no exercise {exercise_id!r}; known: {', '.join(sorted(table))}")
    ex = table[exercise_id]
    if not callable(fn):
        return CheckResult(False, f"{exercise_id}: expected a function, got {type(fn).__name__}")
    n = 0
    for args in ex.cases():
        n += 1
        shown = ", ".join(f"{name} = {_format(a)}" for name, a in zip(ex.arg_names, args))
        # deep copies: neither side can alter the other's inputs, and a Generator argument
        # gives the reference and the learner the same random stream
        expected = ex.reference(*copy.deepcopy(args))
        copies = copy.deepcopy(args)
        try:
            with np.errstate(all="ignore"):  # an overflow is judged by the result, not a warning
                got = fn(*copies)
        except NotImplementedError:
            return CheckResult(False, f"{exercise_id}: not attempted yet. Replace `raise "
                                      f"NotImplementedError` with your code and run the cell again.", n)
        except Exception as err:  # a learner's bug: report it, do not crash the notebook
            return CheckResult(False, f"{exercise_id}: your function raised "
                                      f"{type(err).__name__}: {err}\n  on input: {shown}", n)
        if ex.compare is not None:
            reason = ex.compare(expected, got)
        else:
            reason = _default_compare(expected, got, ex.rtol, ex.atol)
        if reason:
            return CheckResult(False, f"{exercise_id}: wrong answer\n  on input: {shown}\n  {reason}", n)
    return CheckResult(True, f"{exercise_id}: passed all {n} checks.", n)


def check(exercise_id, fn):
    """Check a learner's function and print the verdict."""
    print(evaluate(exercise_id, fn).message)
