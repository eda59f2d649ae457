"""Keeps the process step's peak memory close to what it really holds.

glibc raises its mmap threshold after large blocks are freed, after which big temporaries
come from the heap and are not given back: a 50 MB chunk then peaks near 650 MB instead of
about 350 MB. Fixing the threshold (and letting Arrow allocate through malloc) returns
large temporaries to the system as soon as they are freed. The threshold is 4 MiB: the
process step's pieces are a few MiB each, so its column temporaries mostly reuse heap
memory instead of each being mapped and zero-faulted afresh (faster, and less munmap
contention between the piece threads) while the peak stays well under 400 MiB for a
50 MiB chunk.
"""

from __future__ import annotations

import contextlib
import ctypes

import pyarrow as pa

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
THRESHOLD = 4 * 1024 * 1024


def tune_allocator() -> bool:
    """Best effort: True when glibc accepted the settings (Linux, as in Lambda)."""
    with contextlib.suppress(pa.ArrowException, AttributeError):
        pa.set_memory_pool(pa.system_memory_pool())
    try:
        # The symbols the interpreter is linked with, libc's among them: looking libc up
        # by name (`ctypes.util.find_library`) runs `ldconfig` in a subprocess, milliseconds
        # of every cold start.
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    return bool(mallopt(M_MMAP_THRESHOLD, THRESHOLD)) and \
        bool(mallopt(M_TRIM_THRESHOLD, THRESHOLD))
