"""The exercise checker never fails silently, never crashes and never hangs (issue 11).

Run over every registered exercise where it makes sense: the reference answer in a wrong
form (complex, text, bools, object arrays, ragged lists, ints too large for a float, nan,
a tuple where one array belongs) is rejected with a message that says what was expected and
what came; a function that changes its inputs in place is rejected, naming the input; a
function that never returns is stopped within the time limit; an exception in the learner's
code is reported with the lines of that code. The lines a chapter prints for a correct
solution and for an unattempted stub do not change (nbval compares them).
"""

import copy
import itertools
import json
import re
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import course_nn as nn
from course_nn.lab.exercises import (
    CheckTimeout,
    Exercise,
    _default_compare,
    _evaluate,
    evaluate,
    exercises,
    register,
)

ALL = exercises()
IDS = sorted(ALL)
BOOK = Path(__file__).resolve().parent.parent / "book"
SHORT = 0.02  # seconds: the time limit of the tests that loop forever


class Transformed:
    """A learner's function returning the reference answer with each number or array passed
    through ``f`` (``f`` returns None where it does not apply). ``changed`` records whether
    any answer was altered: if none was, the function is a correct answer and must pass."""

    def __init__(self, exercise_id, f):
        self.reference = ALL[exercise_id].reference
        self.f = f
        self.changed = False

    def __call__(self, *args):
        return self._map(self.reference(*copy.deepcopy(args)))

    def _map(self, value):
        if isinstance(value, tuple):
            return tuple(self._map(v) for v in value)
        if isinstance(value, list):
            return [self._map(v) for v in value]
        if isinstance(value, (bool, np.bool_, str)):
            return value
        if isinstance(value, (int, float, np.number, np.ndarray)):
            new = self.f(value)
            if new is not None:
                self.changed = True
                return new
        return value


def assert_verdict(exercise_id, fn, *fragments):
    """Rejected with every fragment in the message if ``fn`` altered an answer, else passed."""
    result = evaluate(exercise_id, fn)
    if fn.changed:
        assert not result.passed, f"{exercise_id} accepted {result.message}"
        assert "wrong answer" in result.message and "on input" in result.message, result.message
        for fragment in fragments:
            assert fragment in result.message, result.message
    else:
        assert result.passed, result.message
    return result


def _numbers_only(value):
    return not isinstance(value, np.ndarray) or value.dtype.kind in "iuf"


# --- 1. answers of the wrong kind --------------------------------------------------------------

@pytest.mark.parametrize("exercise_id", IDS)
def test_reference_plus_a_complex_part_is_rejected(exercise_id):
    assert_verdict(exercise_id, Transformed(exercise_id, lambda v: v + 0.5j), "complex")


@pytest.mark.parametrize("exercise_id", IDS)
def test_reference_as_text_is_rejected(exercise_id):
    assert_verdict(exercise_id, Transformed(exercise_id, lambda v: str(v)), "not text")
    assert_verdict(exercise_id, Transformed(exercise_id, lambda v: np.asarray(v).astype(str)), "text")
    result = evaluate(exercise_id, lambda *a: str(ALL[exercise_id].reference(*copy.deepcopy(a))))
    assert not result.passed and "text" in result.message, result.message


@pytest.mark.parametrize("exercise_id", IDS)
def test_bools_for_zeros_and_ones_are_rejected(exercise_id):
    def as_bool(v):
        if np.all((np.asarray(v) == 0) | (np.asarray(v) == 1)):
            return np.asarray(v).astype(bool) if isinstance(v, np.ndarray) else bool(v)
        return None

    assert_verdict(exercise_id, Transformed(exercise_id, as_bool), "bool")


@pytest.mark.parametrize("exercise_id", IDS)
def test_none_is_rejected_with_a_hint(exercise_id):
    result = evaluate(exercise_id, lambda *a: None)
    assert not result.passed and "got None" in result.message and "return" in result.message


@pytest.mark.parametrize("exercise_id", IDS)
def test_object_arrays_are_rejected(exercise_id):
    assert_verdict(exercise_id, Transformed(exercise_id, lambda v: np.asarray(v, dtype=object)),
                   "object array")


@pytest.mark.parametrize("exercise_id", IDS)
def test_ragged_lists_are_rejected(exercise_id):
    def ragged(v):
        if isinstance(v, np.ndarray) and v.ndim == 2 and min(v.shape) >= 2:
            rows = [list(row) for row in v]
            return rows[:-1] + [rows[-1][:-1]]
        return None

    fn = Transformed(exercise_id, ragged)
    result = evaluate(exercise_id, fn)
    if fn.changed:
        assert not result.passed
        assert "ragged" in result.message or "1-D index arrays" in result.message, result.message
    result = evaluate(exercise_id, lambda *a: [[1.0, 2.0], [3.0]])
    assert not result.passed and "wrong answer" in result.message


@pytest.mark.parametrize("exercise_id", IDS)
def test_an_int_too_large_for_a_float_fails_cleanly(exercise_id):
    result = evaluate(exercise_id, lambda *a: 10**400)
    assert not result.passed and "wrong answer" in result.message and len(result.message) < 1500
    fn = Transformed(exercise_id, lambda v: 10**400)
    result = assert_verdict(exercise_id, fn)
    assert len(result.message) < 1500, result.message


@pytest.mark.parametrize("exercise_id", IDS)
def test_nan_and_inf_answers_are_rejected(exercise_id):
    assert_verdict(exercise_id, Transformed(exercise_id, lambda v: np.asarray(v) * np.nan))
    assert_verdict(exercise_id, Transformed(exercise_id,
                                            lambda v: np.full(np.shape(v), np.inf) if np.size(v) else None))


@pytest.mark.parametrize("exercise_id", IDS)
def test_a_tuple_where_the_reference_returns_none_and_the_reverse(exercise_id):
    reference = ALL[exercise_id].reference

    def wrong_container(*args):
        answer = reference(*copy.deepcopy(args))
        if isinstance(answer, tuple):
            return answer[0]
        return answer, answer

    result = evaluate(exercise_id, wrong_container)
    assert not result.passed and "wrong answer" in result.message, result.message


ODD = {
    "dict": lambda *a: {"a": 1},
    "set": lambda *a: {1, 2},
    "generator": lambda *a: (i for i in range(3)),
    "endless iterator": lambda *a: itertools.count(),
    "object": lambda *a: object(),
    "bytes": lambda *a: b"0.5",
    "datetime array": lambda *a: np.array(["2020-01-01"], dtype="datetime64[D]"),
    "list of None": lambda *a: [None, None],
    "complex zero": lambda *a: 0j,
}


@pytest.mark.parametrize("exercise_id", IDS)
def test_odd_results_fail_with_a_message_not_a_crash(exercise_id):
    for kind, fn in ODD.items():
        result = evaluate(exercise_id, fn, time_limit=1.0)
        assert not result.passed and "wrong answer" in result.message, (kind, result.message)
        assert " at 0x" not in result.message, kind  # no object address: readable messages


def test_object_with_broken_conversions_fails_cleanly():
    class Broken:
        def __array__(self, *args, **kwargs):
            raise RuntimeError("no array here")

        def __repr__(self):
            raise RuntimeError("no repr either")

    for exercise_id in ("neurons.dot", "cnn.receptive_field", "backprop.dense_backward"):
        result = evaluate(exercise_id, lambda *a: Broken())
        assert not result.passed and "wrong answer" in result.message, result.message


def test_messages_say_what_was_expected_and_what_came():
    half = Exercise(id="demo.half", reference=lambda: 0.5, fixed=[()], arg_names=())
    assert "expected a real number, got the string '0.5': return a number, not text" in \
        _evaluate(half, lambda: "0.5").message
    # cnn.receptive_field of the empty stack is 1: True is not accepted for it
    message = evaluate("cnn.receptive_field", lambda layers: True).message
    assert "got True: return a number, not a bool" in message
    message = evaluate("activations.softmax",
                       lambda x: np.exp(x) / np.exp(x).sum(1, keepdims=True) + 0j).message
    assert "expected a float array of shape (2, 3), got a complex array" in message
    message = evaluate("activations.sigmoid", lambda x: 10**400).message
    assert "too large for a float" in message
    message = evaluate("neurons.dense_forward", lambda x, W, b: [[1.0, 2.0], [3.0]]).message
    assert "ragged list" in message
    message = evaluate("neurons.dense_forward", lambda x, W, b: (x @ W.T + b, None)).message
    assert "got a tuple of 2 items: return one array, not a tuple" in message


def test_default_compare_never_raises():
    odd = [None, "1", b"1", True, 1j, 10**400, [[1], [2, 3]], [None], {}, object(),
           np.array([1, None], dtype=object), (i for i in range(2)), np.array(["a"])]
    for expected in (1, 1.5, np.zeros(2), np.zeros((2, 2), dtype=int), (1.0, np.ones(2))):
        for got in odd:
            reason = _default_compare(expected, got, 1e-6, 1e-9)
            assert isinstance(reason, str) and " at 0x" not in reason, (expected, got, reason)


# --- 2. inputs changed in place ---------------------------------------------------------------

def _first_case(exercise_id):
    return next(iter(ALL[exercise_id].cases()))


def _mutable_args():
    """(exercise id, index, argument name) for every array, list or dict argument."""
    for exercise_id in IDS:
        exercise = ALL[exercise_id]
        for i, arg in enumerate(_first_case(exercise_id)):
            if isinstance(arg, (np.ndarray, list, dict)):
                yield pytest.param(exercise_id, i, exercise.arg_names[i],
                                   id=f"{exercise_id}:{exercise.arg_names[i]}")


def _mutate(arg):
    if isinstance(arg, np.ndarray):
        if arg.dtype == bool:
            arg ^= True
        else:
            arg += 1
    elif isinstance(arg, list):
        arg.append(arg[-1] if arg else 0)
    else:
        arg["added by the learner"] = []


@pytest.mark.parametrize("exercise_id,index,name", list(_mutable_args()))
def test_changing_an_input_in_place_is_rejected(exercise_id, index, name):
    exercise = ALL[exercise_id]

    def right_answer_but_mutates(*args):
        answer = exercise.reference(*copy.deepcopy(args))
        _mutate(args[index])
        return answer

    result = evaluate(exercise_id, right_answer_but_mutates)
    if name in exercise.updates_in_place:  # an optimizer step may update w and its state
        assert result.passed, result.message
    else:
        assert not result.passed
        assert f"your function changed its input `{name}` in place" in result.message
        assert "on input" in result.message


def _list_of_arrays_first(exercise_id):
    """Whether the exercise's first argument is a non-empty list starting with an array."""
    args = _first_case(exercise_id)
    return bool(args) and isinstance(args[0], list) and bool(args[0]) \
        and isinstance(args[0][0], np.ndarray)


@pytest.mark.parametrize("exercise_id", [i for i in IDS if _list_of_arrays_first(i)])
def test_changing_an_array_inside_a_list_input_is_rejected(exercise_id):
    exercise = ALL[exercise_id]

    def mutates_first_array(*args):
        answer = exercise.reference(*copy.deepcopy(args))
        args[0][0][...] = 7.0
        return answer

    result = evaluate(exercise_id, mutates_first_array)
    name = exercise.arg_names[0]
    assert not result.passed and f"changed its input `{name}` in place" in result.message
    assert f"{name}[0][" in result.message and "compute into a new array" in result.message


def test_in_place_backward_names_the_input_and_the_entry():
    def dense_backward(x, W, b, grad_out):
        grads = (grad_out @ W, grad_out.T @ x, grad_out.sum(axis=0))
        grad_out[...] = 0.0               # right values, but the caller's gradient is gone
        return grads

    message = evaluate("backprop.dense_backward", dense_backward).message
    assert "your function changed its input `grad_out` in place; compute into a new array" in message
    assert "grad_out[0, 0] was -0.211, is now 0" in message


def test_optimizer_steps_may_update_parameters_but_not_gradients():
    def scales_the_gradient(w, v, grad, lr, beta):
        grad *= lr
        v_new = beta * v + grad / lr
        return w - lr * v_new, v_new

    assert "changed its input `grad`" in evaluate("optimizers.momentum_step",
                                                  scales_the_gradient).message

    def in_place(w, v, grad, lr, beta):
        v *= beta
        v += grad
        w -= lr * v
        return w, v

    assert evaluate("optimizers.momentum_step", in_place).passed


def test_objects_and_nested_inputs_are_compared_deeply():
    def param_case():
        return (nn.Parameter(np.array([1.0, 2.0])),)

    param = Exercise(id="demo.param", reference=lambda p: float(p.data.sum()), fixed=[param_case()],
                     arg_names=("p",))
    assert _evaluate(param, lambda p: float(p.data.sum())).passed
    assert _evaluate(param, lambda p: float(p.data.sum() + p.grad.sum())).passed  # reading grad

    def changes_data(p):
        p.data[0] = 5.0
        return 3.0

    message = _evaluate(param, changes_data).message
    assert "changed its input `p`" in message and "p.data[0] was 1, is now 5" in message

    def touches_grad(p):
        p.grad += 1.0
        return 3.0

    assert "p.grad[0] was 0, is now 1" in _evaluate(param, touches_grad).message

    nested = Exercise(id="demo.nested", reference=lambda d: len(d["a"]),
                      fixed=[({"a": [1.0, np.array([1.0, np.nan])]},)], arg_names=("d",))
    assert _evaluate(nested, lambda d: len(d["a"])).passed      # nan stays nan: no change

    def changes_nested(d):
        d["a"][1][0] = 2.0
        return 2

    message = _evaluate(nested, changes_nested).message
    assert "changed its input `d`" in message and "d['a'][1][0] was 1, is now 2" in message

    def changes_attribute(dz, W, z, g):
        g.name = "renamed"
        return (W.T @ dz) * g(z)

    message = evaluate("backprop_matrix.layer_backward", changes_attribute).message
    assert "changed its input `activation_grad`" in message and "activation_grad.name" in message


# --- 3. the time limit ------------------------------------------------------------------------

@pytest.mark.parametrize("exercise_id", IDS)
def test_a_function_that_never_returns_is_stopped(exercise_id):
    start = time.perf_counter()
    result = evaluate(exercise_id, lambda *a: time.sleep(1000), time_limit=SHORT)
    assert time.perf_counter() - start < 1.0
    assert not result.passed
    assert f"did not return within {SHORT:g} s (likely an infinite loop)" in result.message
    assert "on input" in result.message


def _busy(*args):
    while True:
        pass


def _swallows_exception(*args):
    while True:
        try:
            while True:
                pass
        except Exception:  # the learner's broad except
            pass


def _swallows_once_then_loops(*args):
    try:
        while True:
            pass
    except BaseException:
        pass
    while True:
        pass


def _swallows_and_returns(a, b):
    try:
        while True:
            pass
    except BaseException:
        pass
    return float(np.dot(a, b))


def _converts_to_value_error(*args):
    try:
        while True:
            pass
    except BaseException as err:
        raise ValueError("something else") from err


@pytest.mark.parametrize("fn", [_busy, _swallows_exception, _swallows_once_then_loops,
                                _swallows_and_returns, _converts_to_value_error])
def test_the_timeout_cannot_be_swallowed(fn):
    start = time.perf_counter()
    result = evaluate("neurons.dot", fn, time_limit=SHORT)
    assert time.perf_counter() - start < 1.0
    assert "did not return within" in result.message, result.message


def test_the_previous_alarm_handler_is_restored_and_a_running_timer_is_left_alone():
    if not hasattr(signal, "setitimer"):
        pytest.skip("no SIGALRM on this platform")
    calls = []

    def handler(signum, frame):
        calls.append(signum)

    previous = signal.signal(signal.SIGALRM, handler)
    try:
        assert "did not return" in evaluate("neurons.dot", _busy, time_limit=SHORT).message
        assert signal.getsignal(signal.SIGALRM) is handler
        assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
        # someone else's timer is running: the checker uses a watchdog thread instead
        signal.setitimer(signal.ITIMER_REAL, 30.0)
        assert "did not return" in evaluate("neurons.dot", _busy, time_limit=SHORT).message
        assert evaluate("neurons.dot", lambda a, b: float(a @ b)).passed
        remaining, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 25.0 < remaining <= 30.0 and signal.getsignal(signal.SIGALRM) is handler
        assert calls == []
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_time_limit_outside_the_main_thread():
    results = {}

    def worker():
        start = time.perf_counter()
        results["busy"] = evaluate("neurons.dot", _busy, time_limit=SHORT)
        results["sleep"] = evaluate("neurons.dot", lambda a, b: time.sleep(1000), time_limit=SHORT)
        results["elapsed"] = time.perf_counter() - start
        results["right"] = evaluate("neurons.dot", lambda a, b: float(a @ b))
        results["raises"] = evaluate("neurons.dot", lambda a, b: a[10])
        results["todo"] = evaluate("neurons.dot", _not_written)

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join(30)
    assert results["elapsed"] < 2.0
    assert "did not return within" in results["busy"].message
    assert "did not return within" in results["sleep"].message
    assert results["right"].passed
    assert "your function raised IndexError" in results["raises"].message
    assert "not attempted yet" in results["todo"].message


def test_the_limit_is_per_exercise_and_can_be_lifted():
    slow = Exercise(id="demo.slow", reference=lambda: 1.0, fixed=[()], arg_names=(), time_limit=SHORT)

    def takes_a_while():
        time.sleep(0.2)
        return 1.0

    assert "did not return within" in _evaluate(slow, takes_a_while).message
    assert _evaluate(slow, takes_a_while, time_limit=2.0).passed
    assert _evaluate(Exercise(id="demo.unlimited", reference=lambda: 1.0, fixed=[()], arg_names=(),
                              time_limit=None), takes_a_while).passed
    assert all(ex.time_limit is not None and ex.time_limit >= 1.0 for ex in ALL.values())
    with pytest.raises(ValueError, match="time_limit"):
        evaluate("neurons.dot", abs, time_limit=0)
    with pytest.raises(TypeError, match="time_limit"):
        evaluate("neurons.dot", abs, time_limit="5")


def test_bad_arguments_to_evaluate_and_register():
    with pytest.raises(TypeError, match="exercise_id: expected a string such as 'neurons.dot', got None"):
        evaluate(None, abs)
    with pytest.raises(TypeError, match="got a list of 1 item"):
        evaluate(["neurons.dot"], abs)
    with pytest.raises(KeyError, match="did you mean 'neurons.dot'"):
        evaluate("neurons.dott", abs)
    with pytest.raises(ValueError, match="time_limit: expected a finite number"):
        evaluate("neurons.dot", abs, time_limit=10**400)
    with pytest.raises(ValueError, match="time_limit: expected a finite number"):
        evaluate("neurons.dot", abs, time_limit=float("nan"))
    with pytest.raises(TypeError, match="time_limit: expected a real number, got True"):
        evaluate("neurons.dot", abs, time_limit=True)
    assert evaluate("neurons.dot", lambda a, b: float(a @ b), time_limit=1e300).passed  # clamped
    bad_limit = Exercise(id="demo.bad_limit", reference=lambda: 1.0, fixed=[()], arg_names=(),
                         time_limit=-1)
    with pytest.raises(ValueError, match="demo.bad_limit time_limit: expected a value > 0"):
        _evaluate(bad_limit, lambda: 1.0)
    with pytest.raises(TypeError, match="register: expected an Exercise, got dict"):
        register({"id": "demo.dict"})


def test_the_function_runs_once_per_case_even_when_it_raises():
    calls = []

    def counted(a, b):
        calls.append(1)
        return float(a @ b)

    assert evaluate("neurons.dot", counted).cases == len(calls)

    def raises_about_signals(a, b):
        calls.append(1)
        raise ValueError("signal only works in main thread")

    calls.clear()
    assert "raised ValueError" in evaluate("neurons.dot", raises_about_signals).message
    assert len(calls) == 1


def test_check_timeout_is_not_an_exception():
    assert issubclass(CheckTimeout, BaseException) and not issubclass(CheckTimeout, Exception)


# --- 4. the learner's exceptions --------------------------------------------------------------

def _not_written(*args):
    raise NotImplementedError


def _helper(a):
    return a[10]


def _dot_with_a_bug(a, b):
    total = _helper(a)
    return total


def test_exception_shows_the_learners_lines_only():
    message = evaluate("neurons.dot", _dot_with_a_bug).message
    assert "your function raised IndexError: index 10 is out of bounds" in message
    assert "in _dot_with_a_bug, line" in message and "total = _helper(a)" in message
    assert "in _helper, line" in message and "return a[10]" in message
    assert message.index("_dot_with_a_bug, line") < message.index("_helper, line")  # innermost last
    assert "exercises" not in message and "_call_with" not in message and "File" not in message


def test_exception_inside_numpy_shows_the_learners_call():
    def inverse_sum(H):
        return 2.0 / np.linalg.inv(H - H).sum()   # singular: LinAlgError from numpy's code

    message = evaluate("losses.softmax_jacobian", inverse_sum).message
    assert "your function raised LinAlgError" in message
    assert "in inverse_sum, line" in message and "np.linalg.inv(H - H)" in message
    assert "linalg.py" not in message and "_linalg" not in message


def test_deep_recursion_is_summarised():
    def recurse(a, b):
        return recurse(a, b)

    message = evaluate("neurons.dot", recurse).message
    assert "RecursionError" in message and "earlier calls of your code" in message
    assert message.count("in recurse, line") == 3


def test_not_implemented_in_a_helper_still_means_not_attempted():
    def helper():
        raise NotImplementedError

    result = evaluate("neurons.dot", lambda a, b: helper())
    assert "not attempted yet" in result.message


def test_odd_exceptions_are_reported_and_keyboard_interrupt_is_not_swallowed():
    class Unprintable(Exception):
        def __str__(self):
            raise RuntimeError("no")

    def raises_unprintable(a, b):
        raise Unprintable

    assert "your function raised Unprintable" in evaluate("neurons.dot", raises_unprintable).message

    def exits(a, b):
        raise SystemExit(3)

    assert "your function raised SystemExit: 3" in evaluate("neurons.dot", exits).message

    def interrupted(a, b):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        evaluate("neurons.dot", interrupted)


# --- 5. what the chapters print does not change -----------------------------------------------

def _printed_verdicts():
    """(exercise id, line) for every verdict line saved in the chapters' outputs."""
    for notebook in sorted(BOOK.glob("[0-9][0-9]_*.ipynb")):
        for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]:
            for output in cell.get("outputs", []):
                for line in "".join(output.get("text", "")).splitlines():
                    match = re.match(r"([\w.]+): (passed all \d+ checks\.|not attempted yet\. .*)$", line)
                    if match and match.group(1) in ALL:
                        yield match.group(1), line


VERDICTS = sorted(set(_printed_verdicts()))


def test_the_chapters_print_verdicts():
    assert len(VERDICTS) >= 2 * len(ALL) - 10


@pytest.mark.parametrize("exercise_id,line", VERDICTS, ids=[f"{i}:{ln.split(': ')[1][:12]}"
                                                            for i, ln in VERDICTS])
def test_printed_verdict_lines_are_unchanged(exercise_id, line):
    fn = _not_written if "not attempted" in line else ALL[exercise_id].reference
    assert evaluate(exercise_id, fn).message == line
