"""The allocator setting applied at import (course_nn._memory) is accepted where it applies."""

import sys

import pytest

from course_nn._memory import keep_freed_memory


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mallopt tuning applies to glibc Linux only")
def test_glibc_accepts_the_thresholds():
    try:
        import ctypes

        ctypes.CDLL("libc.so.6")
    except OSError:
        pytest.skip("not glibc: the allocator is left alone")
    assert keep_freed_memory() is True

