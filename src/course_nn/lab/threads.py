"""Run numpy's BLAS on one thread.

The course's matrices are small: a pool of BLAS threads mostly waits on itself (much worse
when other processes share the CPU), and one thread also makes the rounding, hence every
printed digit, independent of the machine's core count.
"""

from contextlib import nullcontext


def one_blas_thread():
    """A context in which numpy's BLAS uses one thread. Calling it applies the limit at once;
    used in a ``with`` block, it restores the previous setting on exit."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - installed with scikit-learn
        return nullcontext()
    return threadpool_limits(limits=1, user_api="blas")
