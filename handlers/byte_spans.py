"""Runs of one buffer's bytes, copied once by an Arrow take: the spans [starts[i], stops[i])
(each inside the buffer, in any order) as one large_binary array, or their bytes one after
another. The spans' bounds, one after another, are the offsets of a binary array over the
buffer whose even values are the spans (the odd ones, between a span's stop and the next
one's start, are never read): a take of the even values copies each span in one memcpy,
with no Python per span and no mask the size of the buffer."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from handlers import arrow_compute as compute
from handlers.arrays import from_numpy


def spans(data: object, starts: np.ndarray, stops: np.ndarray) -> pa.Array:
    """The bytes of each span, one value each (`data`: anything with the buffer protocol)."""
    count = int(starts.size)
    if count == 0:
        return pa.array([], pa.large_binary())
    bounds = np.empty(2 * count, np.int64)
    bounds[0::2], bounds[1::2] = starts, stops
    every = pa.Array.from_buffers(pa.large_binary(), 2 * count - 1,
                                  [None, pa.py_buffer(bounds), pa.py_buffer(data)])
    return compute.take(every, from_numpy(np.arange(0, 2 * count - 1, 2)))


def concatenated(data: object, starts: np.ndarray, stops: np.ndarray) -> memoryview:
    """The spans' bytes one after another."""
    runs = spans(data, starts, stops)
    if not len(runs):
        return memoryview(b"")
    end = int(np.frombuffer(runs.buffers()[1], np.int64)[len(runs)])
    return memoryview(runs.buffers()[2])[:end]  # a fresh take starts at offset 0
