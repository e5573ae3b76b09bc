"""Reuse of freed memory for the large temporary arrays of every training step (glibc Linux).

A training step allocates and frees arrays of the same sizes again and again (im2col matrices,
gradients, activations). By default glibc hands blocks above its mmap threshold back to the
operating system on free, so the next step pays page faults to get the memory back: about a
quarter of a convolution step. Raising the thresholds keeps freed blocks for reuse, as
PyTorch's CPU caching allocator does. Applied once at import; it changes nothing but speed.
"""

import ctypes
import sys

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # mallopt parameter numbers from <malloc.h>


def keep_freed_memory(mmap_threshold=32 * 2**20, trim_threshold=128 * 2**20):
    """Serve blocks below ``mmap_threshold`` bytes from the reusable heap and keep up to
    ``trim_threshold`` bytes of freed heap. Returns True when glibc accepted both settings."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc (e.g. musl): leave the allocator alone
        return False
    return bool(libc.mallopt(M_MMAP_THRESHOLD, mmap_threshold)
                and libc.mallopt(M_TRIM_THRESHOLD, trim_threshold))
