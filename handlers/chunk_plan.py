"""Plans a file's chunks as byte ranges that start and end on record boundaries.

Fast plan: for each cut mark (every `chunk_size` bytes) read a small window around it and
find the first record end at or after the mark. The quoted state at the window's start is
unknown, so the window is scanned under both hypotheses (outside / inside a quoted field);
when both give the same cut, that cut is certain. When they differ:
- if the window has no quote for a long stretch at its start, being inside a quoted field
  there would need one quoted value longer than that stretch: the outside reading is taken,
  and the process step re-checks every range (a range that ends inside a quoted field fails
  with ChunkPlanError instead of cutting a row in two);
- otherwise the whole plan is redone exactly: one streaming pass over the file tracking the
  quoted state from the first data byte.
An unterminated quoted field found by the exact pass raises ChunkPlanError.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from handlers import csv_scan
from handlers.errors import ChunkPlanError

LOOKBACK = 48 * 1024
LOOKAHEAD = 16 * 1024
MAX_LOOKAHEAD = 1024 * 1024
EXACT_BLOCK = 8 * 1024 * 1024

Reader = Callable[[int, int], bytes]


class CountingReader:
    """Wraps a ranged read and counts the bytes it returns."""

    def __init__(self, read: Reader) -> None:
        self._read = read
        self.bytes_read = 0
        self.requests = 0

    def __call__(self, start: int, end: int) -> bytes:
        data = self._read(start, end)
        self.bytes_read += len(data)
        self.requests += 1
        return data


@dataclass
class ChunkPlan:
    chunk_size: int
    ranges: list[tuple[int, int]]
    exact: bool
    bytes_read: int
    assumed_cuts: int

    def as_result(self) -> dict:
        return {
            "chunk_count": len(self.ranges),
            "chunk_size": self.chunk_size,
            "chunks": [{"index": i, "start": s, "end": e}
                       for i, (s, e) in enumerate(self.ranges)],
        }


def effective_chunk_size(span: int, chunk_size: int, max_chunks: int) -> int:
    """Grow the chunk size when the file would need more than `max_chunks` chunks."""
    if span > 0 and math.ceil(span / chunk_size) > max_chunks:
        return math.ceil(span / max_chunks)
    return chunk_size


def plan_chunks(read: Reader, data_offset: int, size: int, chunk_size: int, max_chunks: int,
                delimiter: str, *, lookback: int | None = None, lookahead: int | None = None,
                exact_block: int | None = None, force_exact: bool = False) -> ChunkPlan:
    """Window sizes default to the module constants (read at call time)."""
    lookback = lookback or LOOKBACK
    lookahead = lookahead or LOOKAHEAD
    exact_block = exact_block or EXACT_BLOCK
    reader = CountingReader(read)
    span = size - data_offset
    if span <= 0:
        return ChunkPlan(chunk_size, [], False, 0, 0)
    size_per_chunk = effective_chunk_size(span, chunk_size, max_chunks)
    marks = [data_offset + k * size_per_chunk for k in range(1, math.ceil(span / size_per_chunk))]
    delim = ord(delimiter)
    cuts: list[int] | None = None
    assumed = 0
    if not force_exact and len(marks) * (lookback + lookahead) < span:
        cuts = []
        for mark in marks:
            if cuts and cuts[-1] > mark:
                cuts.append(cuts[-1])  # a record longer than a chunk: this mark is covered
                continue
            found = _fast_cut(reader, mark, data_offset, size, delim, lookback, lookahead)
            if found is None:
                cuts = None
                break
            cut, was_assumed = found
            assumed += was_assumed
            cuts.append(cut)
    exact = cuts is None
    if cuts is None:
        cuts = _exact_cuts(reader, marks, data_offset, size, delim, exact_block)
        assumed = 0
    return ChunkPlan(size_per_chunk, _ranges(data_offset, size, cuts), exact,
                     reader.bytes_read, assumed)


def _ranges(data_offset: int, size: int, cuts: list[int]) -> list[tuple[int, int]]:
    bounds = [data_offset] + [c for c in cuts if data_offset < c < size] + [size]
    ranges = []
    for start, end in itertools.pairwise(bounds):
        if end > start:
            ranges.append((start, end))
    return ranges


def _trim_open_tail(buf: bytes) -> int:
    """Usable length of a non-final buffer: the meaning of a trailing quote or CR depends on
    the next byte, so those are left for the next read."""
    usable = len(buf)
    while usable > 0 and buf[usable - 1] in (csv_scan.QUOTE, csv_scan.CR):
        usable -= 1
    return usable


def _cut_under(arr: np.ndarray, delim: int, mark: int, *, in_quote: bool,
               at_field_start: bool, final: bool) -> int | None:
    toggles = csv_scan.quote_toggles(arr, delim, in_quote=in_quote,
                                     at_field_start=at_field_start, final=final)
    ends = csv_scan.terminators(arr, toggles)
    return csv_scan.cut_after(arr, ends, mark)


def _fast_cut(reader: CountingReader, mark: int, data_offset: int, size: int, delim: int,
              lookback: int, lookahead: int) -> tuple[int, bool] | None:
    """(cut, assumed) for one mark, or None when only an exact pass can tell."""
    low = max(data_offset, mark - lookback)
    high = min(size, mark + lookahead)
    head = b""
    tail = b""
    while True:
        if not head:
            head = reader(low - 1 if low > data_offset else low, mark)
        tail += reader(mark + len(tail), high)
        window = head + tail
        known_start = low == data_offset
        context = None if known_start else window[0]
        buf = window if known_start else window[1:]
        base = low
        # never start right after a quote: it may be the first half of a `""` pair
        skip = 0
        while context == csv_scan.QUOTE and skip < len(buf):
            context = buf[skip]
            skip += 1
        buf = buf[skip:]
        base += skip
        final = high >= size
        usable = len(buf) if final else _trim_open_tail(buf)
        arr = csv_scan.as_array(buf)[:usable]
        relative_mark = mark - base
        if relative_mark < 0:
            return None
        boundary = context is None or context in (delim, csv_scan.LF, csv_scan.CR)
        outside = _cut_under(arr, delim, relative_mark, in_quote=False,
                             at_field_start=boundary, final=final)
        if outside is None and not final:
            if high - mark >= MAX_LOOKAHEAD:
                return None
            high = min(size, high + lookahead)
            continue
        if known_start:
            return (size if outside is None else base + outside), False
        inside = _cut_under(arr, delim, relative_mark, in_quote=True, at_field_start=False,
                            final=final)
        if inside == outside:
            return (size if outside is None else base + outside), False
        if outside is None:
            return None
        quotes = np.flatnonzero(arr[:outside] == csv_scan.QUOTE)
        first_quote = int(quotes[0]) if quotes.size else outside
        if first_quote >= lookback // 2:
            return base + outside, True
        return None


def _exact_cuts(reader: CountingReader, marks: list[int], data_offset: int, size: int,
                delim: int, block: int) -> list[int]:
    """One pass over the data, tracking the quoted state; first record end after each mark."""
    cuts: list[int] = []
    pending = list(marks)
    position = data_offset
    in_quote = False
    at_field_start = True
    last_open = -1
    while position < size and pending:
        end = min(size, position + block)
        buf = reader(position, end)
        final = end >= size
        usable = len(buf) if final else _trim_open_tail(buf)
        while usable == 0 and not final:  # a block of nothing but quotes and CRs
            end = min(size, end + block)
            buf = reader(position, end)
            final = end >= size
            usable = len(buf) if final else _trim_open_tail(buf)
        arr = csv_scan.as_array(buf)[:usable]
        toggles = csv_scan.quote_toggles(arr, delim, in_quote=in_quote,
                                         at_field_start=at_field_start, final=final)
        ends = csv_scan.terminators(arr, toggles) + position
        while pending:
            k = int(np.searchsorted(ends, pending[0], side="left"))
            if k >= ends.size:
                break
            cuts.append(int(ends[k]) + 1)
            pending.pop(0)
            while pending and pending[0] < cuts[-1]:
                pending.pop(0)
        if toggles.size:
            last = int(toggles[-1])
            if csv_scan.ends_in_quote(toggles) and last >= 0:
                last_open = position + last
        in_quote = csv_scan.ends_in_quote(toggles)
        if not in_quote and usable:
            at_field_start = buf[usable - 1] in (delim, csv_scan.LF, csv_scan.CR)
        position += usable
    if pending and in_quote:
        raise ChunkPlanError(
            f"the quoted field opened at byte {last_open} is never closed "
            "(an unterminated quote): the file cannot be cut into chunks")
    return cuts
