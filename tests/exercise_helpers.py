"""Helpers shared by the exercise tests (tests/test_exercises*.py)."""

from course_nn.lab.exercises import evaluate


def rejected(exercise_id, fn, *fragments):
    """Assert that the exercise's checker rejects ``fn`` with each fragment in its message.

    Returns the CheckResult, for a test that asserts more about the message.
    """
    result = evaluate(exercise_id, fn)
    assert not result.passed, f"{exercise_id} accepted a wrong answer"
    for fragment in fragments:
        assert fragment in result.message, result.message
    return result
