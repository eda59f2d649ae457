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
- With a process limit (the largest chunk the process function can hold), a range that
  grew past it is cut at the start of the record that made it grow: the start of the
  record holding the mark is right after the last record end before the mark. The scans
  that found the cut usually saw it (a record end between a proven state and the mark);
  otherwise it is read backwards from a proven state, block by block, each block under the
  state its end is known to have. Before it a normal chunk, then that one record, flagged
  `oversized` when it alone is larger than the limit (the process step rejects it without
  loading it).

Extra bytes are read only over stretches without a telling quote, and never behind the
previous cut, so the plan reads at worst about one pass over the data (a file without any
quote); with quoted values every few rows it reads one window per cut. Finding where an
oversized record starts reads at most back to the previous cut.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from handlers import csv_scan
from handlers.events import ChunkRange, Event, PlanResult
from handlers.objects import Reader

LOOKBACK = 16 * 1024
LOOKAHEAD = 16 * 1024
BACK_BLOCK = 64 * 1024
MAX_BLOCK = 8 * 1024 * 1024
MARGIN = 64  # bytes read before a window to find a start that does not follow a quote


@dataclass
class ChunkPlan:
    chunk_size: int
    ranges: list[tuple[int, int]]
    bytes_read: int
    requests: int
    proven_by_window: int  # cuts proven from the window around their mark
    proven_by_reading_back: int  # cuts that needed bytes before the window
    oversized: tuple[int, ...] = ()  # indexes of one-record ranges larger than the limit

    def result(self) -> PlanResult:
        """The split step's result; the Map passes each chunk item to the process step as
        it is."""
        flagged = set(self.oversized)
        return PlanResult(chunk_size=self.chunk_size, chunks=tuple(
            ChunkRange(index=i, start=s, end=e, oversized=i in flagged)
            for i, (s, e) in enumerate(self.ranges)))

    def as_result(self) -> Event:
        """`result()` as the step returns it."""
        return self.result().to_event()


def effective_chunk_size(span: int, chunk_size: int, max_chunks: int) -> int:
    """Grow the chunk size when the file would need more than `max_chunks` chunks."""
    if span > 0 and math.ceil(span / chunk_size) > max_chunks:
        return math.ceil(span / max_chunks)
    return chunk_size


def plan_chunks(read: Reader, data_offset: int, size: int, chunk_size: int, max_chunks: int,
                delimiter: str, *, process_limit: int | None = None,
                lookback: int | None = None, lookahead: int | None = None,
                back_block: int | None = None, max_block: int | None = None) -> ChunkPlan:
    """`process_limit`: the largest range the process step can hold (None: no limit); a
    range grown past it is cut at the start of its long record (see the module docstring).
    Window and block sizes default to the module constants (read at call time)."""
    span = size - data_offset
    source = _Source(read)
    if span <= 0:
        return ChunkPlan(chunk_size, [], 0, 0, 0, 0)
    size_per_chunk = effective_chunk_size(span, chunk_size, max_chunks)
    marks = [data_offset + k * size_per_chunk for k in range(1, math.ceil(span / size_per_chunk))]
    planner = _Planner(source, data_offset, size, ord(delimiter),
                       lookback=lookback or LOOKBACK, lookahead=lookahead or LOOKAHEAD,
                       back_block=back_block or BACK_BLOCK, max_block=max_block or MAX_BLOCK)
    ranges: list[tuple[int, int]] = []
    oversized: list[int] = []
    position = data_offset
    for mark in marks:
        if position > mark:
            continue  # a record longer than a chunk: this mark is covered
        cut = planner.cut_after(mark)
        if process_limit is not None and cut - position > process_limit:
            record = planner.record_start()
            if record > position:
                ranges.append((position, record))
            if cut - record > process_limit:
                oversized.append(len(ranges))
            position = record
        ranges.append((position, cut))
        position = cut
    if position < size:
        ranges.append((position, size))
    return ChunkPlan(size_per_chunk, ranges, source.bytes_read, source.requests,
                     planner.by_window, planner.by_reading_back, tuple(oversized))


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


@dataclass(frozen=True)
class _Reading:
    """A buffer read from one assumed state at its start."""

    from_quote: bool  # the state assumed at the start
    toggles: np.ndarray
    ends: np.ndarray  # record ends (last byte of each terminator), in the buffer

    @property
    def to_quote(self) -> bool:
        """The state at the end of the buffer."""
        return csv_scan.ends_in_quote(self.toggles)

    def last_end_before(self, position: int) -> int | None:
        k = int(np.searchsorted(self.ends, position, side="left"))
        return int(self.ends[k - 1]) if k else None


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
        self._record_start: Callable[[], int] = lambda: data_offset

    # ----- one mark --------------------------------------------------------------------
    def cut_after(self, mark: int) -> int:
        """The first record end at or after `mark`, proven; becomes the new proven point."""
        previous = self.proven
        low = max(previous.position, mark - self.lookback)
        high = min(self.size, mark + self.lookahead)
        self.source(max(previous.position, low - MARGIN), high)  # one request, usually
        start = self._clean_position(low)
        if start <= previous.position:
            cut, last_end = self._scan_forward(previous, mark, high)
            self.by_window += 1
            self._record_start = lambda: previous.position if last_end is None else last_end + 1
        else:
            cut = self._cut_from_window(start, mark, high, previous)
        self.proven = _State(cut, in_quote=False, at_field_start=True)
        return cut

    def record_start(self) -> int:
        """Where the record ending at the last cut starts: right after the last record end
        before its mark, or the previous cut. Exact; reads bytes only when the scans that
        found the cut did not see a record end between a proven state and the mark."""
        return self._record_start()

    def _cut_from_window(self, start: int, mark: int, high: int, previous: _State) -> int:
        context = self.source(start - 1, start)[0]
        buf = self.source(start, high)
        final = high >= self.size
        arr = csv_scan.as_array(buf)[:_usable(buf, final)]
        out, inside = (self._read(arr, in_quote, context in self.boundary, final)
                       for in_quote in (False, True))
        out_cut = csv_scan.cut_after(arr, out.ends, mark - start)
        if out_cut is not None and out_cut == csv_scan.cut_after(arr, inside.ends,
                                                                 mark - start):
            self.by_window += 1
            self._record_start = lambda: self._record_start_in_window(
                start, mark - start, out, inside, previous)
            return start + out_cut
        meet = self._clean_position(mark, floor=start)
        if start < meet <= start + arr.size and _inside(out.toggles, meet - start - 1) == \
                _inside(inside.toggles, meet - start - 1):
            self.by_window += 1
            state = self._state_after(start, meet, _inside(out.toggles, meet - start - 1))
        else:
            self.by_reading_back += 1
            in_quote = self._state_by_reading_back(start, previous)
            state = _State(start, in_quote, at_field_start=context in self.boundary)
        cut, last_end = self._scan_forward(state, mark, high)
        self._record_start = lambda: self._record_start_before(
            state.position, state.in_quote, previous) if last_end is None else last_end + 1
        return cut

    def _read(self, arr: np.ndarray, in_quote: bool, at_field_start: bool,
              final: bool) -> _Reading:
        """`arr` read from `in_quote` at its start (`at_field_start` when outside)."""
        toggles = csv_scan.quote_toggles(arr, self.delimiter, in_quote=in_quote,
                                         at_field_start=at_field_start, final=final)
        return _Reading(in_quote, toggles, csv_scan.terminators(arr, toggles))

    def _state_after(self, start: int, position: int, in_quote: bool) -> _State:
        previous = self.source(position - 1, position)[0]
        return _State(position, in_quote, at_field_start=previous in self.boundary)

    # ----- proving the state at a window's start ----------------------------------------
    def _state_by_reading_back(self, position: int, floor: _State) -> bool:
        """Whether `position` (right after a non-quote byte) is inside a quoted field;
        `floor` is the proven point it reads back to at most."""
        summaries: list[tuple[bool, bool]] = []  # per block, nearest first: (from out, from in)
        end = position
        block = self.back_block
        while True:
            wanted = max(floor.position, end - block)
            self.source(max(floor.position, wanted - MARGIN), end)
            begin = self._clean_position(wanted, floor=floor.position)
            if begin >= end:  # nothing but quotes back to `begin`: take a larger block
                block *= 2
                continue
            buf = self.source(begin, end)
            if begin <= floor.position:
                state = self._leads_to(buf, floor.in_quote, floor.at_field_start)
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

    # ----- where the record holding a mark starts --------------------------------------
    def _record_start_in_window(self, start: int, mark: int, out: _Reading,
                                inside: _Reading, previous: _State) -> int:
        """The window's two readings agreed on the cut; `mark` is relative to `start`."""
        out_last, in_last = out.last_end_before(mark), inside.last_end_before(mark)
        if out_last is not None and out_last == in_last:  # both readings: a true record end
            return start + out_last + 1
        in_quote = self._state_by_reading_back(start, previous)
        last = (inside if in_quote else out).last_end_before(mark)
        if last is not None:
            return start + last + 1
        return self._record_start_before(start, in_quote, previous)

    def _record_start_before(self, position: int, in_quote: bool, floor: _State) -> int:
        """Right after the last record end before `position` (right after a non-quote byte,
        inside a quoted field iff `in_quote`), or `floor` (a proven point) when there is
        none after it. Reads backwards in growing blocks; each block is read from both
        states at its start, and the state known at its end tells which reading is true
        (when both end alike and disagree, the state at its start is proven by reading
        back)."""
        end, at_end = position, in_quote
        block = self.back_block
        while end > floor.position:
            wanted = max(floor.position, end - block)
            self.source(max(floor.position, wanted - MARGIN), end + 1)
            begin = self._clean_position(wanted, floor=floor.position)  # < end
            buf = self.source(begin, end + 1)  # one byte more: a CR there may be a CRLF's
            arr = csv_scan.as_array(buf)[:-1]
            crlf = buf[-2] == csv_scan.CR and buf[-1] == csv_scan.LF
            if begin <= floor.position:
                true = self._read(arr, floor.in_quote, floor.at_field_start, final=False)
            else:
                context = self.source(begin - 1, begin)[0]
                out, inside = (self._read(arr, state, context in self.boundary, final=False)
                               for state in (False, True))
                limit = arr.size - 1 if crlf else arr.size  # that CR ends no record
                out_last, in_last = out.last_end_before(limit), inside.last_end_before(limit)
                if out.to_quote != inside.to_quote:
                    true = inside if inside.to_quote == at_end else out
                elif out_last is not None and out_last == in_last:
                    return begin + out_last + 1
                else:
                    true = inside if self._state_by_reading_back(begin, floor) else out
            last = true.last_end_before(arr.size - 1 if crlf else arr.size)
            if last is not None:
                return begin + last + 1
            end, at_end = begin, true.from_quote
            block = min(block * 2, self.max_block)
        return floor.position

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
    def _scan_forward(self, state: _State, mark: int, high: int) -> tuple[int, int | None]:
        """First record end at or after `mark`, reading past `high` while there is none;
        and the last record end before `mark` after `state` (None if none)."""
        position, in_quote, at_field_start = state.position, state.in_quote, \
            state.at_field_start
        last_end: int | None = None
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
            before = int(np.searchsorted(ends, mark - position, side="left"))
            if before:
                last_end = position + int(ends[before - 1])
            cut = csv_scan.cut_after(arr, ends, max(0, mark - position))
            if cut is not None:
                return position + cut, last_end
            if final:  # the last record (or an unterminated quote) runs to the end
                return self.size, last_end
            in_quote = csv_scan.ends_in_quote(toggles)
            at_field_start = buf[usable - 1] in self.boundary
            position += usable
            block = min(block * 2, self.max_block)


def _inside(toggles: np.ndarray, position: int) -> bool:
    """Is the byte at `position` inside a quoted field under these toggles?"""
    return bool(np.searchsorted(toggles, position, side="left") % 2)
