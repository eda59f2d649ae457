"""Plans a file's chunks as byte ranges that start and end on record boundaries, exactly.

Each cut is the first record end at or after a mark (every `chunk_size` bytes). Whether a
line break ends a record depends on the quoted state there, which the bytes from the start
of the data decide; the plan proves that state for every cut, it never guesses:

- Marks are handled in order, and every cut is a proven point: right after it a new record
  starts, outside quotes. The start of the data is the first proven point.
- Right after a byte that is not a quote, the state is one of two: outside a quoted field
  (at a field start when that byte is a delimiter or line break) or inside one. A window
  around the mark is scanned under both. Most quotes can only be read one way (a quote in
  the middle of an unquoted value is a literal; a closing quote is followed by a delimiter),
  so the two readings soon meet and from there on agree: when they agree at the mark, or
  give the same cut, the cut is proven.
- A window without such a quote proves nothing: it could lie inside a quoted field of any
  length. Then the plan reads backwards from the window in growing blocks, summarizing each
  block by where each of the two states at its start leads at its end, until the readings
  meet inside a block or the last proven point is reached; the state at the window's start
  then follows, block by block.
- From a proven state it scans forward to the first record end after the mark, reading on
  when a quoted field runs past the window: a record longer than a chunk makes the chunk
  grow to hold it. A quoted field still open at the end of the file leaves no record end:
  the last chunk runs to the end and the process step rejects that one record.

Extra bytes are read only over stretches without a telling quote, and never behind the
previous cut, so the plan reads at worst about one pass over the data (a file without any
quote); with quoted values every few rows it reads one window per cut.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from handlers import csv_scan

LOOKBACK = 16 * 1024
LOOKAHEAD = 16 * 1024
BACK_BLOCK = 64 * 1024
MAX_BLOCK = 8 * 1024 * 1024
MARGIN = 64  # bytes read before a window to find a start that does not follow a quote

Reader = Callable[[int, int], bytes]


@dataclass
class ChunkPlan:
    chunk_size: int
    ranges: list[tuple[int, int]]
    bytes_read: int
    requests: int
    proven_by_window: int  # cuts proven from the window around their mark
    proven_by_reading_back: int  # cuts that needed bytes before the window

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
                back_block: int | None = None, max_block: int | None = None) -> ChunkPlan:
    """Window and block sizes default to the module constants (read at call time)."""
    span = size - data_offset
    source = _Source(read)
    if span <= 0:
        return ChunkPlan(chunk_size, [], 0, 0, 0, 0)
    size_per_chunk = effective_chunk_size(span, chunk_size, max_chunks)
    marks = [data_offset + k * size_per_chunk for k in range(1, math.ceil(span / size_per_chunk))]
    planner = _Planner(source, data_offset, size, ord(delimiter),
                       lookback=lookback or LOOKBACK, lookahead=lookahead or LOOKAHEAD,
                       back_block=back_block or BACK_BLOCK, max_block=max_block or MAX_BLOCK)
    cuts: list[int] = []
    for mark in marks:
        if cuts and cuts[-1] > mark:
            continue  # a record longer than a chunk: this mark is covered
        cuts.append(planner.cut_after(mark))
    return ChunkPlan(size_per_chunk, _ranges(data_offset, size, cuts), source.bytes_read,
                     source.requests, planner.by_window, planner.by_reading_back)


def _ranges(data_offset: int, size: int, cuts: list[int]) -> list[tuple[int, int]]:
    bounds = [data_offset] + [c for c in cuts if data_offset < c < size] + [size]
    return [(start, end) for start, end in itertools.pairwise(bounds) if end > start]


class _Source:
    """Ranged reads through one sliding buffer: overlapping requests (a window right after
    the previous one, a forward scan) fetch only the bytes not yet held."""

    def __init__(self, read: Reader) -> None:
        self._read = read
        self._low = 0
        self._data = b""
        self.bytes_read = 0
        self.requests = 0

    def __call__(self, start: int, end: int) -> bytes:
        high = self._low + len(self._data)
        if self._low <= start and end <= high:
            return self._data[start - self._low:end - self._low]
        if self._low <= start <= high < end:
            self._data = self._data[start - self._low:] + self._fetch(high, end)
        else:
            self._data = self._fetch(start, end)
        self._low = start
        return self._data[:end - start]

    def _fetch(self, start: int, end: int) -> bytes:
        data = self._read(start, end)
        self.bytes_read += len(data)
        self.requests += 1
        return data


@dataclass(frozen=True)
class _State:
    """The quoted state right after a byte that is not a quote (or at a proven point)."""

    position: int
    in_quote: bool
    at_field_start: bool  # when outside quotes


def _usable(buf: bytes, final: bool) -> int:
    """Length of a buffer that can be judged now: the meaning of a trailing quote or CR
    depends on the next byte, so those wait for the next read (unless the data ends)."""
    usable = len(buf)
    if not final:
        while usable > 0 and buf[usable - 1] in (csv_scan.QUOTE, csv_scan.CR):
            usable -= 1
    return usable


class _Planner:
    def __init__(self, source: _Source, data_offset: int, size: int, delimiter: int, *,
                 lookback: int, lookahead: int, back_block: int, max_block: int) -> None:
        self.source = source
        self.size = size
        self.delimiter = delimiter
        self.boundary = (delimiter, csv_scan.LF, csv_scan.CR)
        self.lookback, self.lookahead = lookback, lookahead
        self.back_block, self.max_block = back_block, max_block
        self.proven = _State(data_offset, in_quote=False, at_field_start=True)
        self.by_window = 0
        self.by_reading_back = 0

    # ----- one mark --------------------------------------------------------------------
    def cut_after(self, mark: int) -> int:
        """The first record end at or after `mark`, proven; becomes the new proven point."""
        low = max(self.proven.position, mark - self.lookback)
        high = min(self.size, mark + self.lookahead)
        self.source(max(self.proven.position, low - MARGIN), high)  # one request, usually
        start = self._clean_position(low)
        if start <= self.proven.position:
            cut = self._scan_forward(self.proven, mark, high)
            self.by_window += 1
        else:
            cut = self._cut_from_window(start, mark, high)
        self.proven = _State(cut, in_quote=False, at_field_start=True)
        return cut

    def _cut_from_window(self, start: int, mark: int, high: int) -> int:
        context = self.source(start - 1, start)[0]
        buf = self.source(start, high)
        final = high >= self.size
        arr = csv_scan.as_array(buf)[:_usable(buf, final)]
        readings = []
        for in_quote in (False, True):
            toggles = csv_scan.quote_toggles(
                arr, self.delimiter, in_quote=in_quote,
                at_field_start=context in self.boundary, final=final)
            ends = csv_scan.terminators(arr, toggles)
            readings.append((toggles, csv_scan.cut_after(arr, ends, mark - start)))
        (out_toggles, out_cut), (in_toggles, in_cut) = readings
        if out_cut is not None and out_cut == in_cut:
            self.by_window += 1
            return start + out_cut
        meet = self._clean_position(mark, floor=start)
        if start < meet <= start + arr.size and _inside(out_toggles, meet - start - 1) == \
                _inside(in_toggles, meet - start - 1):
            self.by_window += 1
            state = self._state_after(start, meet, _inside(out_toggles, meet - start - 1))
            return self._scan_forward(state, mark, high)
        self.by_reading_back += 1
        in_quote = self._state_by_reading_back(start)
        state = _State(start, in_quote, at_field_start=context in self.boundary)
        return self._scan_forward(state, mark, high)

    def _state_after(self, start: int, position: int, in_quote: bool) -> _State:
        previous = self.source(position - 1, position)[0]
        return _State(position, in_quote, at_field_start=previous in self.boundary)

    # ----- proving the state at a window's start ----------------------------------------
    def _state_by_reading_back(self, position: int) -> bool:
        """Whether `position` (right after a non-quote byte) is inside a quoted field."""
        summaries: list[tuple[bool, bool]] = []  # per block, nearest first: (from out, from in)
        end = position
        block = self.back_block
        while True:
            wanted = max(self.proven.position, end - block)
            self.source(max(self.proven.position, wanted - MARGIN), end)
            begin = self._clean_position(wanted)
            if begin >= end:  # nothing but quotes back to `begin`: take a larger block
                block *= 2
                continue
            buf = self.source(begin, end)
            if begin <= self.proven.position:
                state = self._leads_to(buf, self.proven.in_quote, self.proven.at_field_start)
                break
            context = self.source(begin - 1, begin)[0]
            from_out = self._leads_to(buf, False, context in self.boundary)
            from_in = self._leads_to(buf, True, False)
            if from_out == from_in:
                state = from_out
                break
            summaries.append((from_out, from_in))
            end = begin
            block = min(block * 2, self.max_block)
        for from_out, from_in in reversed(summaries):
            state = from_in if state else from_out
        return state

    def _leads_to(self, buf: bytes, in_quote: bool, at_field_start: bool) -> bool:
        """The state at the end of `buf` (which ends with a non-quote byte)."""
        if buf.find(b'"') < 0:
            return in_quote
        toggles = csv_scan.quote_toggles(csv_scan.as_array(buf), self.delimiter,
                                         in_quote=in_quote, at_field_start=at_field_start,
                                         final=False)
        return csv_scan.ends_in_quote(toggles)

    def _clean_position(self, position: int, floor: int | None = None) -> int:
        """The nearest position <= `position` right after a non-quote byte (never below
        `floor`, the proven point by default, which is clean by definition)."""
        floor = self.proven.position if floor is None else floor
        while position > floor:
            low = max(floor, position - MARGIN)
            piece = self.source(low, position)
            stripped = piece.rstrip(b'"')
            if stripped:
                return low + len(stripped)
            position = low
        return floor

    # ----- from a proven state to the cut -------------------------------------------------
    def _scan_forward(self, state: _State, mark: int, high: int) -> int:
        """First record end at or after `mark`, reading past `high` while there is none."""
        position, in_quote, at_field_start = state.position, state.in_quote, \
            state.at_field_start
        block = max(high - position, self.back_block)
        while True:
            end = min(self.size, position + block)
            buf = self.source(position, end)
            final = end >= self.size
            usable = _usable(buf, final)
            if usable == 0 and not final:  # nothing but quotes and CRs: read more at once
                block *= 2
                continue
            arr = csv_scan.as_array(buf)[:usable]
            toggles = csv_scan.quote_toggles(arr, self.delimiter, in_quote=in_quote,
                                             at_field_start=at_field_start, final=final)
            ends = csv_scan.terminators(arr, toggles)
            cut = csv_scan.cut_after(arr, ends, max(0, mark - position))
            if cut is not None:
                return position + cut
            if final:
                return self.size  # the last record (or an unterminated quote) runs to the end
            in_quote = csv_scan.ends_in_quote(toggles)
            at_field_start = buf[usable - 1] in self.boundary
            position += usable
            block = min(block * 2, self.max_block)


def _inside(toggles: np.ndarray, position: int) -> bool:
    """Is the byte at `position` inside a quoted field under these toggles?"""
    return bool(np.searchsorted(toggles, position, side="left") % 2)
