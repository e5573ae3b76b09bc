"""Self-checking exercises.

A learner writes a function in a notebook cell and calls ``check("chapter.name", fn)``. The
checker runs ``fn`` on fixed inputs (including edge cases), then on random inputs from a
seeded generator, and compares every result with a reference computed by ``course_nn``.
It prints one line on success, or the first failing input with what was expected and what
came back. ``evaluate`` returns the same verdict as a ``CheckResult`` for tests.

The checker never crashes and never hangs on what a learner's function does:

- it runs on copies of each input and must leave them as they were (a function that changes
  its input in place fails, naming the input), except the arguments an exercise lists in
  ``updates_in_place`` (an optimizer step may update its parameter and state, as torch.optim
  does);
- it runs under a time limit (``Exercise.time_limit`` seconds per call, 5 by default): an
  infinite loop fails the check instead of hanging the notebook;
- an exception it raises is reported with its type, message and the lines of the learner's
  own code it came through; ``NotImplementedError`` means "not attempted yet";
- a result of the wrong kind (None, text, a bool, a complex number, an object array, a ragged
  list, an int too large for a float, ...) is explained, before any comparison of values.

Each chapter's exercises live in a module of this package and are registered with
``register(Exercise(...))``.
"""

import copy
import difflib
import math
import numbers
import os
import signal
import sysconfig
import threading
import traceback
import types
from dataclasses import dataclass, field
from importlib import import_module

import numpy as np

from ..._validate import check_number
from ...module import Parameter

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
    "fashion",
)

KINDS = {
    "derive": "derive a formula or a backward pass that the chapter has not written out in its "
              "final form, and implement it",
    "predict": "predict a result before running anything, write the prediction as a function, "
               "then run the code that shows the answer",
    "debug": "the exercise hands over a broken backward pass, training loop or helper; find "
             "what is wrong and fix it",
    "experiment": "measure something by running code (a threshold, a setting chosen on "
                  "validation data, ...) and return the finding",
    "train": "train a model to a target with the learner's own loop",
    "transcribe": "implement a formula or recipe the chapter shows just above (or the task "
                  "states)",
}
"""What an exercise asks of the learner, by ``Exercise.kind``. At most a quarter of all
exercises may be "transcribe", and every chapter has exercises of at least two of the other
kinds (tests/test_exercise_kinds.py; the tally is in CONTRIBUTING.md)."""

DEFAULT_TIME_LIMIT = 5.0
"""Seconds a learner's function may run on one input before the check fails."""


@dataclass
class Exercise:
    """One exercise.

    id:        "chapter.name", what the learner passes to ``check``.
    reference: the correct function (built from course_nn).
    fixed:     argument tuples always tried first (edge cases a wrong answer gets wrong).
    random:    ``rng -> argument tuple``, called ``n_random`` times with a seeded generator.
    compare:   ``(expected, got) -> None or str``: the reason the answer is wrong, if it is.
    arg_names: names used when printing a failing input.
    time_limit: seconds the learner's function may take on one input (None: no limit).
    updates_in_place: names of the arguments the learner's function may change in place (the
               parameter and state of an optimizer step); every other input must stay as it was.
    kind:      what the exercise asks of the learner, one of ``KINDS`` ("derive", "predict",
               "debug", "experiment", "train", "transcribe"); ``register`` requires it.
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
    time_limit: float = DEFAULT_TIME_LIMIT
    updates_in_place: tuple = ()
    kind: str = None

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
    """Add ``exercise`` (an Exercise) to the registry that ``check`` looks ids up in."""
    if not isinstance(exercise, Exercise):
        raise TypeError(f"register: expected an Exercise, got {type(exercise).__name__}")
    if not isinstance(exercise.kind, str) or exercise.kind not in KINDS:
        raise ValueError(f"register {exercise.id!r}: kind expected one of "
                         f"{', '.join(repr(k) for k in KINDS)}, got {_safe_repr(exercise.kind)}")
    if exercise.id in _REGISTRY:
        raise ValueError(f"exercise {exercise.id!r} is registered twice")
    _REGISTRY[exercise.id] = exercise
    return exercise


def exercises():
    """All registered exercises, by id."""
    for name in CHAPTER_MODULES:
        import_module(f"{__name__}.{name}")
    return dict(_REGISTRY)


# ---------------------------------------------------------------------------------------------
# Showing values in messages
# ---------------------------------------------------------------------------------------------

def _short(text, limit=200):
    """``text`` cut to at most ``limit`` characters."""
    return text if len(text) <= limit else text[:limit - 4] + " ..."


def _safe_repr(value):
    """repr(value), or a plain description if the object's own repr fails."""
    try:
        return repr(value)
    except Exception:  # a learner's object with a broken __repr__, an int of 5000 digits
        return f"<{type(value).__name__} object>"


def _format(value):
    """A value for a message: arrays rounded to 4 digits (summarised beyond 12 entries)."""
    if isinstance(value, np.generic) and value.dtype.kind in "biuf":
        value = value.item()
    if isinstance(value, np.ndarray):
        if value.size > 12:
            flat = np.array2string(value.reshape(-1)[:6], precision=4, separator=", ")
            return f"array of shape {value.shape}, first entries {flat[:-1]}, ...]"
        return np.array2string(value, precision=4, separator=", ").replace("\n", "")
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**30:
        return f"an integer of {_digits(value)} digits"
    if type(value) in (list, tuple) and any(isinstance(v, np.ndarray) for v in value):
        inner = ", ".join(_format(v) for v in value)
        return f"[{inner}]" if isinstance(value, list) else f"({inner})"
    return _safe_repr(value)


def _plain(value):
    """True for numbers, text, None, arrays and lists or tuples of these: shown by value."""
    if value is None or isinstance(value, (numbers.Number, np.generic, np.ndarray, str, bytes)):
        return True
    return type(value) in (list, tuple) and all(_plain(v) for v in value)


def _show(value, limit=200):
    """A learner's result for a message, on one line: by value if it is plain data (cut to
    ``limit`` characters), else described (an object's repr may hold its memory address)."""
    if not _plain(value):
        return _describe(value)
    return _short(" ".join(_format(value).split()), limit)


def _digits(n):
    """Number of decimal digits of the int ``n`` (without building its decimal text)."""
    bits = abs(n).bit_length()
    return max(1, int(bits * math.log10(2)) + 1)


def _describe(value):
    """What a value is, in words: "None", "the string '0.5'", "a complex array of shape (3,)"."""
    if value is None:
        return "None"
    if isinstance(value, (bool, np.bool_)):
        return repr(bool(value))
    if isinstance(value, str):
        return f"the string {_short(_safe_repr(value), 60)}"
    if isinstance(value, (bytes, bytearray)):
        return f"the bytes {_short(_safe_repr(value), 60)}"
    if isinstance(value, (complex, np.complexfloating)):
        return f"the complex number {_format(complex(value))}"
    if isinstance(value, int) and abs(value) >= 10**30:
        return f"an integer of {_digits(value)} digits (too large for a float)"
    if isinstance(value, (numbers.Real, np.number)):
        return _format(value)
    if isinstance(value, np.ndarray):
        return f"{_dtype_words(value.dtype)} of shape {value.shape}"
    if isinstance(value, (list, tuple)):
        n = len(value)
        return f"a {type(value).__name__} of {n} item{'s' if n != 1 else ''}"
    if isinstance(value, types.GeneratorType):
        return "a generator (did you write `yield` instead of `return`?)"
    if isinstance(value, dict):
        return "a dict"
    if isinstance(value, (set, frozenset)):
        return "a set"
    return f"an object of type {type(value).__name__}"


def _dtype_words(dtype):
    kind = dtype.kind
    words = {"b": "a bool array", "i": "an integer array", "u": "an integer array",
             "f": "a float array", "c": "a complex array", "O": "an object array",
             "U": "an array of strings", "S": "an array of bytes"}
    return words.get(kind, f"an array of dtype {dtype}")


# ---------------------------------------------------------------------------------------------
# Results of the wrong kind
# ---------------------------------------------------------------------------------------------

def _is_real(expected):
    """True for a real number (not a bool) or an integer or float array: what the default
    comparison judges by value."""
    if isinstance(expected, np.ndarray):
        return expected.dtype.kind in "iuf"
    if isinstance(expected, (bool, np.bool_)):
        return False
    return isinstance(expected, (numbers.Real, np.integer, np.floating))


def _is_whole(expected):
    return isinstance(expected, (int, np.integer)) and not isinstance(expected, (bool, np.bool_))


def _want(expected):
    """What a real ``expected`` is, in words, for "expected ..., got ..."."""
    if isinstance(expected, np.ndarray):
        kind = "an integer" if expected.dtype.kind in "iu" else "a float"
        return f"{kind} array of shape {expected.shape}"
    return "a whole number" if _is_whole(expected) else "a real number"


def _odd_array(arr, from_list):
    """(what came, hint) if ``arr`` (numpy's reading of the result) holds no real numbers."""
    kind = arr.dtype.kind
    what = "a list" if from_list else _dtype_words(arr.dtype)
    if kind == "b":
        return (f"{what} of bools" if from_list else what), "return numbers, not bools (e.g. .astype(float))"
    if kind == "c":
        return (f"{what} of complex numbers" if from_list else what), "return real numbers"
    if kind in "US":
        return (f"{what} of strings" if from_list else what), "return numbers, not text"
    if kind == "O":
        for item in arr.reshape(-1):
            if isinstance(item, int) and not isinstance(item, bool) and abs(item) >= 2**1023:
                return f"{what} holding an integer of {_digits(item)} digits", "too large for a float"
            if not isinstance(item, (numbers.Real, np.number)) or isinstance(item, (bool, np.bool_)):
                return (f"{what} holding {_describe(item)}" if from_list else
                        f"an object array holding {_describe(item)}"), "return a float array"
        if from_list:  # Python ints beyond int64 (numpy keeps them as objects): still numbers
            return None
        return "an object array", "return a float array (np.asarray(result, dtype=float))"
    if kind not in "iuf":
        return f"an array of dtype {arr.dtype}", "return numbers"
    return None


def _odd_number(expected, got):
    """Why ``got`` cannot stand for the real number or array ``expected``, or None."""
    want = _want(expected)

    def bad(what, hint=None):
        return f"expected {want}, got {what}" + (f": {hint}" if hint else "")

    scalar = not isinstance(expected, np.ndarray)
    if got is None:
        return bad("None", "did your function forget to `return` its result?")
    if isinstance(got, (bool, np.bool_)):
        return bad(repr(bool(got)), "return a number, not a bool")
    if isinstance(got, str):
        return bad(_describe(got), "return a number, not text")
    if isinstance(got, (bytes, bytearray)):
        return bad(_describe(got), "return a number, not bytes")
    if isinstance(got, (complex, np.complexfloating)):
        return bad(_describe(got), "return a real number")
    if isinstance(got, int) and not _is_whole(expected) and abs(got) >= 2**1023:
        try:
            float(got)
        except OverflowError:
            return bad(_describe(got))
    if isinstance(got, (numbers.Real, np.integer, np.floating)):
        return None
    if isinstance(got, tuple):
        one = "one number" if scalar else "one array"
        return bad(_describe(got), f"return {one}, not a tuple")
    if isinstance(got, (list, np.ndarray)) or hasattr(got, "__array__"):
        try:
            arr = np.asarray(got)
        except ValueError as err:
            if "inhomogeneous" in str(err) or "sequence" in str(err):
                return bad("a ragged list (its rows have different lengths)",
                           "return a rectangular array")
            return bad(f"{_describe(got)} that numpy cannot read ({type(err).__name__}: {err})")
        except (TypeError, OverflowError) as err:
            return bad(f"{_describe(got)} that numpy cannot read ({type(err).__name__}: {err})")
        odd = _odd_array(arr, isinstance(got, list))
        if odd:
            return bad(*odd)
        if scalar and arr.ndim > 0:
            return bad(f"{_describe(got)}" if isinstance(got, list) else _describe(arr),
                       "return a single number")
        return None
    return bad(_describe(got))


def _odd_result(expected, got, where=""):
    """Why ``got`` is of the wrong kind to be compared with ``expected``, or None.

    Walks tuples and lists of results in parallel with the expected ones; judges kinds only
    (None, text, bools, complex, object arrays, ragged lists, ints too large for a float, a
    tuple where one array belongs), and leaves values, shapes and lengths to the comparison.
    """
    prefix = f"{where}: " if where else ""
    if isinstance(expected, (tuple, list)):
        if got is None:
            return f"{prefix}got None: did your function forget to `return` its result?"
        if isinstance(got, (str, bytes, bytearray)):
            return f"{prefix}got {_describe(got)}: return the results, not text"
        if isinstance(got, (tuple, list)) and len(got) == len(expected):
            label = "result" if isinstance(expected, tuple) else "item"
            for i, (e, g) in enumerate(zip(expected, got)):
                reason = _odd_result(e, g, f"{where}[{i}]" if where else f"{label} {i}")
                if reason:
                    return reason
        return None
    if _is_real(expected):
        reason = _odd_number(expected, got)
        return prefix + reason if reason else None
    return None


def _whole_number(value):
    """``value`` as an int if it is a whole number (an int, or a float or 0-d array holding a
    whole number), else None. Bools, text and arrays of more than one number are not."""
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, np.ndarray):
        if value.ndim != 0 or value.dtype.kind not in "iuf":
            return None
        value = value.item()
    if isinstance(value, (numbers.Integral, np.integer)):
        return int(value)
    if isinstance(value, (numbers.Real, np.floating)):
        try:
            v = float(value)
        except (OverflowError, ValueError, TypeError):
            return None
        return int(v) if math.isfinite(v) and v.is_integer() else None
    return None


def _one_number(value):
    """``value`` as a float if it is one real number (a Python or numpy number, or an array
    holding exactly one), else None. Bools and text are not numbers here."""
    if isinstance(value, (bool, np.bool_, str, bytes)) or np.size(value) != 1:
        return None
    try:
        return float(np.asarray(value, dtype=np.float64).reshape(-1)[0])
    except (TypeError, ValueError):
        return None


def _slip_hint(reason, got, want, slips, rtol=1e-6, atol=1e-9, equal_nan=False):
    """``reason`` (why ``got`` is wrong, or None) with the hint of the first known slip that
    ``got`` matches: ``slips`` holds (wrong answer, hint) pairs; a slip that happens to equal
    the right answer (``want``) on this input says nothing and is skipped."""
    if reason is None:
        return None
    try:
        mine = np.asarray(got, dtype=float)
    except (TypeError, ValueError, OverflowError):
        return reason
    for wrong, why in slips:
        if (mine.shape == wrong.shape
                and (wrong.shape != want.shape
                     or not np.allclose(wrong, want, rtol=rtol, atol=atol, equal_nan=equal_nan))
                and np.allclose(mine, wrong, rtol=rtol, atol=atol, equal_nan=equal_nan)):
            return f"{reason}\n  hint: {why}"
    return reason


def _default_compare(expected, got, rtol, atol):
    """The reason ``got`` differs from ``expected``, or None if it matches.

    expected: a number, an array, or a tuple of these (compared item by item, "result i").
    Ints are compared exactly; everything else with np.allclose(rtol, atol) after checking
    the shape. A result of the wrong kind (None, text, complex, a ragged list, ...) is
    explained rather than raising.
    """
    if isinstance(expected, tuple):
        if not isinstance(got, tuple) or len(got) != len(expected):
            return f"expected a tuple of {len(expected)} results, got {_show(got)}"
        for i, (e, g) in enumerate(zip(expected, got)):
            reason = _default_compare(e, g, rtol, atol)
            if reason:
                return f"result {i}: {reason}"
        return None
    odd = _odd_result(expected, got)
    if odd:
        return odd
    if _is_whole(expected):
        whole = isinstance(got, (int, np.integer)) or (
            isinstance(got, np.ndarray) and got.ndim == 0 and got.dtype.kind in "iu")
        if whole and int(got) == int(expected):
            return None
        if not whole and _whole_number(got) == int(expected):
            return f"expected the integer {expected}, got the float {float(got)!r}: return an int"
        return f"expected {expected}, got {_show(got)}"
    expected = np.asarray(expected, dtype=float)
    try:
        got_arr = np.asarray(got, dtype=float)
    except (TypeError, ValueError, OverflowError):
        return f"expected {_want(expected)}, got {_describe(got)}"
    if got_arr.shape != expected.shape:
        return f"expected shape {expected.shape}, got shape {got_arr.shape}"
    with np.errstate(all="ignore"):
        close = np.allclose(got_arr, expected, rtol=rtol, atol=atol)
    if not close:
        shown_expected, shown_got = _format(expected), _format(got_arr)
        reason = f"expected {shown_expected}, got {shown_got}"
        if np.any(~np.isfinite(got_arr) & np.isfinite(expected)):
            reason += " (your result holds nan or inf)"
        elif shown_expected == shown_got:  # equal to 4 digits: say how far apart they are
            with np.errstate(all="ignore"):
                error = np.abs(got_arr - expected) - rtol * np.abs(expected)
            where = np.unravel_index(int(np.argmax(error)), error.shape)
            reason += (f" (they differ in later digits: {_format(float(got_arr[where]))} for "
                       f"{_format(float(expected[where]))}")
            dtype = getattr(got, "dtype", None)
            if dtype is not None and dtype.kind == "f" and dtype.itemsize < 8:
                reason += f"; your result is {dtype}, compute in float64"
            reason += ")"
        return reason
    return None


# ---------------------------------------------------------------------------------------------
# Inputs changed in place
# ---------------------------------------------------------------------------------------------

def _array_change(before, after, path, holder):
    """(what changed, "array") between two arrays, or None. A new shape means the array was
    replaced in its container (``holder``) or reshaped."""
    if before.shape != after.shape:
        return f"{path} had shape {before.shape}, now {after.shape}", holder
    if before.dtype != after.dtype:
        return f"{path} had dtype {before.dtype}, now {after.dtype}", "array"
    if before.dtype.kind == "O":
        for index in np.ndindex(before.shape):
            change = _first_change(before[index], after[index], f"{path}{list(index)}", set(), "array")
            if change:
                return change
        return None
    if before.dtype.kind in "fc":
        differ = ~((before == after) | (np.isnan(before) & np.isnan(after)))
    elif before.dtype.kind in "biuUSmM":
        differ = before != after
    else:
        return None if np.array_equal(before, after) else (f"{path} changed", "array")
    if not np.any(differ):
        return None
    index = tuple(int(i) for i in np.argwhere(differ)[0])
    where = f"{path}[{', '.join(str(i) for i in index)}]" if index else path
    return f"{where} was {_format(before[index])}, is now {_format(after[index])}", "array"


def _same_value(before, after):
    try:
        if before is after or bool(before == after):
            return True
        return bool(before != before) and bool(after != after)  # nan stays nan
    except Exception:  # an object whose comparison fails: nothing to judge
        return True


def _first_change(before, after, path, seen, holder="object"):
    """(what changed, where: "array", "list", "dict" or "object") in ``after``, the learner's
    copy of an input, compared with ``before``, a pristine copy; None if nothing changed.

    Walks arrays, lists, tuples, dicts, sets, course_nn Parameters (data and grad) and the
    attributes of other objects; ``holder`` is the kind of container ``before`` sits in.
    """
    if before is after or isinstance(before, (np.random.Generator, np.random.BitGenerator)):
        return None            # one shared object, or a generator (drawing from it is its use)
    if (id(before), id(after)) in seen:
        return None
    seen.add((id(before), id(after)))
    if type(before) is not type(after):
        return f"{path} was {_describe(before)}, is now {_describe(after)}", holder
    if isinstance(before, np.ndarray):
        return _array_change(before, after, path, holder)
    if isinstance(before, (list, tuple)):
        if len(before) != len(after):
            return f"{path} had {len(before)} items, now {len(after)}", "list"
        for i, (b, a) in enumerate(zip(before, after)):
            change = _first_change(b, a, f"{path}[{i}]", seen, "list")
            if change:
                return change
        return _attribute_change(before, after, path, seen)
    if isinstance(before, dict):
        if set(before) != set(after):
            added = [k for k in after if k not in before]
            removed = [k for k in before if k not in after]
            return f"{path} lost the keys {removed} and gained {added}", "dict"
        for key in before:
            change = _first_change(before[key], after[key], f"{path}[{key!r}]", seen, "dict")
            if change:
                return change
        return _attribute_change(before, after, path, seen)
    if isinstance(before, Parameter):
        change = _first_change(before.data, after.data, f"{path}.data", seen)
        return change or _first_change(_grad_of(before), _grad_of(after), f"{path}.grad", seen)
    if isinstance(before, (set, frozenset, numbers.Number, str, bytes, type, types.FunctionType,
                           types.BuiltinFunctionType, types.MethodType)):
        if _same_value(before, after):
            return None
        return f"{path} was {_short(_format(before))}, is now {_short(_format(after))}", holder
    return _attribute_change(before, after, path, seen)


def _grad_of(param):
    """A Parameter's gradient without creating it: a gradient not yet read is zero."""
    state = vars(param)
    grad = state["_grad"] if "_grad" in state else param.grad
    return np.zeros_like(param.data) if grad is None else grad


def _attribute_change(before, after, path, seen):
    """(what changed, "object") among the instance attributes of two objects, or None."""
    b_attrs = getattr(before, "__dict__", None)
    a_attrs = getattr(after, "__dict__", None)
    if b_attrs is None or a_attrs is None:
        return None if _same_value(before, after) else (f"{path} changed", "object")
    if set(b_attrs) != set(a_attrs):
        return f"the attributes of {path} changed", "object"
    for name in b_attrs:
        change = _first_change(b_attrs[name], a_attrs[name], f"{path}.{name}", seen)
        if change:
            return change
    return None


def _changed_input(args, copies, names, may_change):
    """(argument name, what changed, a remedy) for the first input that the learner's function
    changed in place, or None. Arguments named in ``may_change`` are not judged."""
    remedies = {"array": "compute into a new array", "list": "build a new list",
                "dict": "build a new dict", "object": "work on a copy"}
    for name, before, after in zip(names, args, copies):
        if name in may_change:
            continue
        change = _first_change(before, after, name, set())
        if change:
            what, holder = change
            return name, what, remedies[holder]
    return None


# ---------------------------------------------------------------------------------------------
# The time limit
# ---------------------------------------------------------------------------------------------

class CheckTimeout(BaseException):
    """Raised inside a learner's function that runs past the exercise's time limit.

    A BaseException, like KeyboardInterrupt, so ``except Exception:`` in the learner's code
    cannot swallow it; and the alarm repeats every 50 ms until the function gives up.
    """


_ALARM_REPEAT = 0.05


def _limited_call(call):
    """The frame the alarm handler looks for on the stack: the learner's code runs below it,
    the checker's own bookkeeping never does."""
    return call()


def _call_with_alarm(call, seconds):
    """call() in this (main) thread with SIGALRM raising CheckTimeout after ``seconds``.

    The previous SIGALRM handler is restored afterwards. A late alarm outside the learner's
    code is ignored; a timeout the learner's code swallowed still counts.
    """
    fired = []

    def on_alarm(signum, frame):
        while frame is not None:
            if frame.f_code is _limited_call.__code__:
                fired.append(True)
                raise CheckTimeout
            frame = frame.f_back

    try:
        previous = signal.signal(signal.SIGALRM, on_alarm)
    except ValueError:  # signals belong to the main interpreter only
        return _call_in_thread(call, seconds)
    try:
        signal.setitimer(signal.ITIMER_REAL, seconds, _ALARM_REPEAT)
        try:
            result = _limited_call(call)
        except BaseException as err:
            if fired and not isinstance(err, KeyboardInterrupt):
                raise CheckTimeout from None
            raise
        if fired:  # caught the timeout and went on: it still did not finish in time
            raise CheckTimeout
        return result
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _call_in_thread(call, seconds):
    """call() in a worker thread, waiting at most ``seconds``: where signals cannot be used
    (not the main thread, Windows, or a SIGALRM timer already running). On a timeout the
    worker is asked to stop (CPython raises CheckTimeout in it at its next Python
    instruction) and CheckTimeout is raised here."""
    box = {}
    lock = threading.Lock()

    def run():
        try:
            try:
                box["value"] = call()
            except BaseException as err:
                box["error"] = err
            with lock:
                box["done"] = True
        except BaseException:  # a CheckTimeout sent just as the call finished
            pass

    worker = threading.Thread(target=run, name="course_nn exercise check", daemon=True)
    worker.start()
    worker.join(seconds)
    with lock:
        if not box.get("done"):
            _stop_thread(worker)
            raise CheckTimeout
    if "error" in box:
        raise box["error"]
    return box["value"]


def _stop_thread(thread):
    """Raise CheckTimeout in ``thread`` at its next Python instruction (CPython only; a
    thread blocked inside a C call stops when that call returns)."""
    try:
        import ctypes

        set_async_exc = ctypes.pythonapi.PyThreadState_SetAsyncExc
    except (ImportError, AttributeError):
        return
    set_async_exc(ctypes.c_ulong(thread.ident), ctypes.py_object(CheckTimeout))


def _alarm_available():
    return (hasattr(signal, "setitimer") and hasattr(signal, "SIGALRM")
            and threading.current_thread() is threading.main_thread()
            and signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0))


def _call_with_limit(call, seconds):
    """call(), raising CheckTimeout if it runs longer than ``seconds`` (None: no limit).

    ``seconds`` is clamped to [1 us, 10^6 s]: the timers' resolution and range.
    """
    if seconds is None:
        return call()
    seconds = min(max(seconds, 1e-6), 1e6)
    if _alarm_available():
        return _call_with_alarm(call, seconds)
    return _call_in_thread(call, seconds)


# ---------------------------------------------------------------------------------------------
# The learner's exceptions
# ---------------------------------------------------------------------------------------------

def _library_dirs():
    """Folders whose frames are not the learner's: course_nn, numpy, the standard library and
    the installed packages."""
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    dirs = {here, os.path.dirname(os.path.abspath(np.__file__))}
    paths = sysconfig.get_paths()
    dirs |= {paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in paths}
    dirs |= {os.path.realpath(d) for d in dirs}
    return tuple(os.path.join(os.path.normcase(d), "") for d in dirs)


_LIBRARY_DIRS = _library_dirs()


def _is_learner_frame(filename):
    if filename.startswith("<frozen"):
        return False
    return not os.path.normcase(os.path.abspath(filename)).startswith(_LIBRARY_DIRS)


def _learner_traceback(err, keep=3):
    """The lines of the learner's own code the exception came through, innermost last."""
    frames = [f for f in traceback.extract_tb(err.__traceback__) if _is_learner_frame(f.filename)]
    lines = [f"  in {f.name}, line {f.lineno}" + (f": {f.line.strip()}" if f.line else "")
             for f in frames[-keep:]]
    if len(frames) > keep:
        lines.insert(0, f"  ... ({len(frames) - keep} earlier calls of your code)")
    return "".join("\n" + _short(line, 160) for line in lines)


def _error_text(err):
    try:
        text = str(err)
    except Exception:
        text = "(its message could not be shown)"
    return _short(f"{type(err).__name__}: {text}" if text else type(err).__name__, 500)


# ---------------------------------------------------------------------------------------------
# Checking
# ---------------------------------------------------------------------------------------------

def _judge(ex, expected, got):
    """The reason ``got`` is wrong, or None: kinds first, then the exercise's comparison."""
    with np.errstate(all="ignore"):
        odd = _odd_result(expected, got)
        if odd:
            return odd
        if ex.compare is not None:
            return ex.compare(expected, got)
        return _default_compare(expected, got, ex.rtol, ex.atol)


def _time_limit(value, name):
    """A time limit in seconds: None (no limit) or a finite number > 0."""
    if value is None:
        return None
    try:
        return check_number(value, name, low=0, low_open=True)
    except OverflowError:  # an int too large for a float
        raise ValueError(f"{name}: expected a finite number, got an integer of "
                         f"{_digits(value)} digits") from None


def evaluate(exercise_id, fn, time_limit=None):
    """Run ``fn`` against the exercise and return a CheckResult (no printing).

    time_limit: seconds ``fn`` may take on one input; None uses the exercise's own limit.
    """
    if not isinstance(exercise_id, str):
        raise TypeError(f"evaluate exercise_id: expected a string such as 'neurons.dot', "
                        f"got {_describe(exercise_id)}")
    table = exercises()
    if exercise_id not in table:
        close = difflib.get_close_matches(exercise_id, table, n=3)
        hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
        raise KeyError(f"no exercise {exercise_id!r}; {hint}known: {', '.join(sorted(table))}")
    return _evaluate(table[exercise_id], fn, time_limit)


class _Shown:
    """The inputs of a case as "x = ..., w = ...", formatted only when a message needs them."""

    def __init__(self, names, args):
        self.names, self.args = names, args

    def __str__(self):
        return ", ".join(f"{name} = {_format(a)}" for name, a in zip(self.names, self.args))


def _evaluate(ex, fn, time_limit=None):
    """``evaluate`` for an Exercise object (registered or not)."""
    exercise_id = ex.id
    if time_limit is None:
        limit = _time_limit(ex.time_limit, f"{exercise_id} time_limit")
    else:
        limit = _time_limit(time_limit, "evaluate time_limit")
    if not callable(fn):
        return CheckResult(False, f"{exercise_id}: expected a function, got {type(fn).__name__}")
    n = 0
    for args in ex.cases():
        n += 1
        names = tuple(ex.arg_names[i] if i < len(ex.arg_names) else f"argument {i + 1}"
                      for i in range(len(args)))
        shown = _Shown(names, args)
        # deep copies: neither side can alter the other's inputs (nor the stored cases), and
        # a Generator argument gives the reference and the learner the same random stream
        expected = ex.reference(*copy.deepcopy(args))
        copies = copy.deepcopy(args)

        def call(copies=copies):
            with np.errstate(all="ignore"):  # an overflow is judged by the result, not a warning
                return fn(*copies)

        try:
            got = _call_with_limit(call, limit)
        except NotImplementedError:
            return CheckResult(False, f"{exercise_id}: not attempted yet. Replace `raise "
                                      f"NotImplementedError` with your code and run the cell again.", n)
        except CheckTimeout:
            return CheckResult(False, f"{exercise_id}: your function did not return within "
                                      f"{limit:g} s (likely an infinite loop)\n  on input: {shown}", n)
        except (Exception, SystemExit) as err:  # a learner's bug: report it, do not crash the notebook
            return CheckResult(False, f"{exercise_id}: your function raised {_error_text(err)}\n"
                                      f"  on input: {shown}{_learner_traceback(err)}", n)
        try:
            reason = _call_with_limit(lambda got=got, expected=expected: _judge(ex, expected, got),
                                      limit)
        except CheckTimeout:
            reason = f"checking your result took more than {limit:g} s; it is {_describe(got)}"
        except Exception as err:  # a result no comparison foresaw: explain, do not crash
            reason = f"your result ({_describe(got)}) could not be checked: {_error_text(err)}"
        if reason:
            return CheckResult(False, f"{exercise_id}: wrong answer\n  on input: {shown}\n  {reason}", n)
        changed = _changed_input(args, copies, names, ex.updates_in_place)
        if changed:
            name, what, remedy = changed
            return CheckResult(False, f"{exercise_id}: your function changed its input `{name}` in "
                                      f"place; {remedy}\n  on input: {shown}\n  {what}", n)
    return CheckResult(True, f"{exercise_id}: passed all {n} checks.", n)


def check(exercise_id, fn, time_limit=None):
    """Check a learner's function and print the verdict."""
    print(evaluate(exercise_id, fn, time_limit).message)
