"""The one-line summaries chapters print for multi-run claims and round-off comparisons:
multiseed.spread ("median [min, max]"), multiseed.value_range ("min to max") and
gradcheck.verdict ("< 1e-12  (equal)" or the size of a real difference)."""

import numpy as np
import pytest

from course_nn.gradcheck import verdict
from course_nn.lab.multiseed import spread, value_range


def test_spread_is_median_min_max():
    assert spread([0.3, 0.1, 0.2]) == "0.2000 [0.1000, 0.3000]"
    assert spread(np.array([0.91, 0.95]), ".1%") == "93.0% [91.0%, 95.0%]"   # even count: mean of the two
    assert spread([[1.0, 5.0], [3.0, 2.0]], ".1f") == "2.5 [1.0, 5.0]"       # any shape, flattened


def test_value_range_is_min_to_max():
    assert value_range([0.934, 0.912, 0.92], ".1%") == "91.2% to 93.4%"
    assert value_range([2], ".0f") == "2 to 2"
    assert value_range([12, 7, 9], "d") == "7 to 12"                       # counts stay integers
    assert value_range(np.array([3, 5], dtype=np.int32), "d") == "3 to 5"


@pytest.mark.parametrize("fn", [spread, value_range])
@pytest.mark.parametrize("bad, error, words", [
    ([], ValueError, "at least one"),
    ([0.5, np.nan], ValueError, "finite"),
    ([1.0, np.inf], ValueError, "finite"),
    (["a", "b"], TypeError, "numbers"),
    ([[1.0], [2.0, 3.0]], TypeError, "numbers"),
    ([True, False], TypeError, "numbers"),
    ([1 + 2j], TypeError, "numbers"),
])
def test_bad_values_are_named(fn, bad, error, words):
    with pytest.raises(error, match=f"{fn.__name__} values: .*{words}"):
        fn(bad)


def test_verdict_prints_round_off_as_a_verdict_and_a_difference_by_size():
    assert verdict(3e-16) == "< 1e-12  (equal)"
    assert verdict(0.0) == "< 1e-12  (equal)"
    assert verdict(2e-10, tol=1e-8) == "< 1e-08  (equal)"
    assert verdict(1e-12) == "= 1.00e-12  (differs)"     # at the tolerance: not below it
    assert verdict(0.25, fmt=".4f") == "= 0.2500  (differs)"


@pytest.mark.parametrize("kwargs, error, words", [
    (dict(diff=-1.0), ValueError, "diff"),
    (dict(diff=np.nan), ValueError, "diff"),
    (dict(diff="0"), TypeError, "diff"),
    (dict(diff=1.0, tol=0.0), ValueError, "tol"),
    (dict(diff=1.0, fmt=3), TypeError, "fmt"),
])
def test_verdict_rejects_bad_arguments(kwargs, error, words):
    with pytest.raises(error, match=words):
        verdict(**kwargs)
