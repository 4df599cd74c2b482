"""Keep freed memory in the process heap instead of returning it to the system at once.

The cost model works on arrays of shape (designs, contexts): a population of 10,000 designs
over 32 decode contexts makes temporaries of 2.5 MB, hundreds per evaluation. With glibc's
default policy each such block is mapped from the system and unmapped when freed (or the
heap top trimmed), so every evaluation faults in its pages again: measured on 10,000
designs, a third of the process time went to the kernel and an evaluation took about 1.6
times as long as with the blocks kept. Here large blocks (up to ``MMAP_THRESHOLD_BYTES``)
come from the heap and up to ``TRIM_THRESHOLD_BYTES`` of free heap is kept for reuse.

Only glibc is tuned (other C libraries keep their own policy), and only when the user has
set neither ``MALLOC_MMAP_THRESHOLD_`` nor ``MALLOC_TRIM_THRESHOLD_``. The figures do not
depend on it: it changes where memory comes from, never a result.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os

# glibc's mallopt parameters (malloc.h)
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 32 * 2**20  # glibc's largest allowed value on 64-bit systems
TRIM_THRESHOLD_BYTES = 256 * 2**20


@functools.lru_cache(maxsize=1)
def keep_freed_memory() -> bool:
    """Tune glibc's allocator once per process; True when it was tuned."""
    if any(k in os.environ for k in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")):
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        libc.gnu_get_libc_version  # noqa: B018 (present in glibc only)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
                and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES))


__all__ = ["keep_freed_memory"]
