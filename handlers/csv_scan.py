"""Quote-aware scanning of CSV bytes with numpy: where records end, how many fields each has.

The rules mirror pyarrow's CSV parser exactly (RFC 4180 with pyarrow's choices), because the
record list found here is matched row by row against what pyarrow parses:
- a quote opens a quoted field only at the start of a field (after a delimiter, a line
  break, or at the start of the data); anywhere else outside quotes it is a literal;
- inside quotes, `""` is a literal quote and any other quote closes the field;
- outside quotes, LF, CR and CRLF end a record; an empty record (blank line) is no row.

Fast path: treat every quote as a toggle (quote parity) and check, vectorized, that no quote
breaks the rules above; if one does, a sequential pass over the quote positions only decides
which quotes really toggle.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from handlers import byte_spans

QUOTE = 0x22
LF = 0x0A
CR = 0x0D


SLICE = 1 << 20


def as_array(data: bytes | bytearray | memoryview) -> np.ndarray:
    return np.frombuffer(data, dtype=np.uint8)


def positions_of(arr: np.ndarray, *values: int) -> list[np.ndarray]:
    """Sorted positions of each byte value, one cache-sized slice at a time.

    Slicing keeps temporaries at 1 MiB instead of one fresh array the size of the chunk
    per comparison (faster, and a smaller peak memory).
    """
    found: list[list[np.ndarray]] = [[] for _ in values]
    if arr.size == 0:
        return [np.empty(0, np.int64) for _ in values]
    scratch = np.empty(min(SLICE, arr.size), bool)
    for start in range(0, arr.size, SLICE):
        piece = arr[start:start + SLICE]
        hits = scratch[:piece.size]
        for k, value in enumerate(values):
            np.equal(piece, value, out=hits)
            where = np.flatnonzero(hits)
            if where.size:
                found[k].append(where + start)
    return [np.concatenate(parts) if parts else np.empty(0, np.int64) for parts in found]


def _equal_slices(arr: np.ndarray, value: int) -> Iterator[np.ndarray]:
    """Per cache-sized slice of `arr`, in order: which of its bytes equal `value` (one
    scratch mask reused, so no temporary the size of the data)."""
    scratch = np.empty(min(SLICE, arr.size), bool)
    for start in range(0, arr.size, SLICE):
        piece = arr[start:start + SLICE]
        hits = scratch[:piece.size]
        np.equal(piece, value, out=hits)
        yield hits


def contains(arr: np.ndarray, value: int) -> bool:
    """Whether any byte equals `value`, stopping at the first slice that has one (several
    times faster than a regex search for a byte)."""
    return any(hits.any() for hits in _equal_slices(arr, value))


def count_of(arr: np.ndarray, value: int) -> int:
    """How many bytes equal `value` (a few times faster than `bytes.count`)."""
    return sum(int(np.count_nonzero(hits)) for hits in _equal_slices(arr, value))


def _is_boundary(values: np.ndarray, delimiter: int) -> np.ndarray:
    boundary: np.ndarray = (values == delimiter) | (values == LF) | (values == CR)
    return boundary


def quote_toggles(arr: np.ndarray, delimiter: int, *, in_quote: bool = False,
                  at_field_start: bool = True, final: bool = True,
                  quotes: np.ndarray | None = None) -> np.ndarray:
    """Sorted positions where the quoted state flips; -1 first when `in_quote` at the start.

    A byte at position p is inside a quoted field iff an odd number of toggles are < p.
    `at_field_start` says whether position 0 starts a field (when not `in_quote`).
    A non-final buffer must not end with a quote (the next byte decides its meaning).
    """
    if quotes is None:
        quotes = positions_of(arr, QUOTE)[0]
    if not final and quotes.size and quotes[-1] == arr.size - 1:
        raise ValueError("a non-final buffer must not end with a quote")
    if quotes.size == 0:
        return np.array([-1], np.int64) if in_quote else np.empty(0, np.int64)
    toggles = np.concatenate(([-1], quotes)) if in_quote else quotes.astype(np.int64)
    if _parity_is_exact(arr, toggles, delimiter, at_field_start):
        return toggles
    return _sequential_toggles(arr, quotes, delimiter, in_quote, at_field_start)


def _parity_is_exact(arr: np.ndarray, toggles: np.ndarray, delimiter: int,
                     at_field_start: bool) -> bool:
    """True when every quote toggles under the rules, so parity equals the parser's state."""
    opens = toggles[0::2]
    closes = toggles[1::2]
    n = arr.size
    # An opening quote must start a field, or directly follow a closing one (a `""` pair).
    real_opens = opens[opens >= 0]
    previous_close = np.full(real_opens.size, -2, np.int64)
    first_real = 1 if opens[0] < 0 else 0
    # opens[k] is preceded in toggles by closes[k-1]
    pair_index = np.arange(first_real, opens.size) - 1
    has_previous = pair_index >= 0
    previous_close[has_previous] = closes[pair_index[has_previous]]
    before = real_opens - 1
    at_start = np.empty(real_opens.size, bool)
    inner = before >= 0
    at_start[~inner] = at_field_start
    at_start[inner] = _is_boundary(arr[before[inner]], delimiter)
    if not np.all(at_start | (previous_close == before)):
        return False
    # A closing quote must end a field, end the data, or start a `""` pair.
    after = closes + 1
    next_open = np.full(closes.size, -2, np.int64)
    following = np.arange(closes.size) + 1
    has_next = following < opens.size
    next_open[has_next] = opens[following[has_next]]
    at_end = after >= n
    ends_field = np.zeros(closes.size, bool)
    ends_field[~at_end] = _is_boundary(arr[after[~at_end]], delimiter)
    return bool(np.all(at_end | ends_field | (next_open == after)))


def _sequential_toggles(arr: np.ndarray, quotes: np.ndarray, delimiter: int, in_quote: bool,
                        at_field_start: bool) -> np.ndarray:
    """The parser's state machine, stepping from quote to quote."""
    data = arr.tobytes() if arr.size < 1 << 16 else memoryview(arr.data)
    n = arr.size
    boundary = {delimiter, LF, CR}
    toggles: list[int] = [-1] if in_quote else []
    positions = quotes.tolist()
    i = 0
    count = len(positions)
    while i < count:
        q = positions[i]
        if in_quote:
            if q + 1 < n and data[q + 1] == QUOTE:
                i += 2  # `""`: a literal quote, still inside
                continue
            toggles.append(q)
            in_quote = False
        elif (at_field_start if q == 0 else data[q - 1] in boundary):
            toggles.append(q)
            in_quote = True
        i += 1
    return np.asarray(toggles, dtype=np.int64)


def ends_in_quote(toggles: np.ndarray) -> bool:
    return toggles.size % 2 == 1


def outside(positions: np.ndarray, toggles: np.ndarray) -> np.ndarray:
    """Mask of the (sorted) positions that are outside quoted fields: an even number of
    toggles before them.

    Toggles are usually fewer than the line breaks asked about, and their quoted spans
    usually hold none: each toggle is placed among the positions (a binary search per
    toggle, not per position), and when every span opens and closes between the same two
    positions, none is inside."""
    if toggles.size == 0:
        return np.ones(positions.size, bool)
    if toggles.size > positions.size:
        before: np.ndarray = np.searchsorted(toggles, positions, side="left")
        return np.asarray(before % 2 == 0)
    first_after = np.searchsorted(positions, toggles, side="right")
    opens, closes = first_after[0::2], first_after[1::2]
    if opens.size == closes.size and np.array_equal(opens, closes):
        return np.ones(positions.size, bool)
    flips = np.bincount(first_after, minlength=positions.size + 1)[:positions.size]
    return np.asarray(np.cumsum(flips) % 2 == 0)


def terminators(arr: np.ndarray, toggles: np.ndarray, lf: np.ndarray | None = None,
                cr: np.ndarray | None = None) -> np.ndarray:
    """Positions of the last byte of each record terminator (LF, lone CR, the LF of CRLF)."""
    if lf is None or cr is None:
        lf, cr = positions_of(arr, LF, CR)
    if cr.size:
        nxt = cr + 1
        lone = np.ones(cr.size, bool)
        inside = nxt < arr.size
        lone[inside] = arr[nxt[inside]] != LF
        ends = np.union1d(lf, cr[lone])
    else:
        ends = lf
    if not toggles.size:
        return ends
    kept = outside(ends, toggles)
    return ends if kept.all() else ends[kept]


def record_bounds(arr: np.ndarray, ends: np.ndarray, *,
                  has_cr: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(starts, stops) of the non-empty records; `stops` excludes the terminator bytes.
    `has_cr=False` (the data holds no CR) skips looking for CRLF terminators."""
    n = arr.size
    starts = np.empty(ends.size + 1, np.int64)
    starts[0] = 0
    np.add(ends, 1, out=starts[1:])
    stops = np.empty(ends.size + 1, np.int64)
    stops[:-1] = ends
    stops[-1] = n
    if has_cr:  # CRLF: the CR belongs to the terminator
        crlf = np.zeros(stops.size, bool)
        body = stops[:-1]
        has_before = body > starts[:-1]
        crlf[:-1][has_before] = (arr[body[has_before]] == LF) & \
            (arr[body[has_before] - 1] == CR)
        stops -= crlf
    keep = stops > starts
    if keep.all():
        return starts, stops
    return starts[keep], stops[keep]


def blanked(arr: np.ndarray, starts: np.ndarray, stops: np.ndarray) -> np.ndarray:
    """A copy of the bytes with the records [starts, stops) made line feeds: blank lines,
    which are no rows. Records are in order and apart, so the bytes alternate between
    kept and blanked runs."""
    clean = arr.copy()
    if starts.size:
        bounds = np.empty(2 * starts.size + 2, np.int64)
        bounds[0], bounds[-1] = 0, arr.size
        bounds[1:-1:2], bounds[2:-1:2] = starts, stops
        clean[np.repeat(np.arange(bounds.size - 1) % 2 == 1, np.diff(bounds))] = LF
    return clean


def without(data: bytes | memoryview, starts: np.ndarray, stops: np.ndarray) -> memoryview:
    """The bytes with the records [starts, stops) cut out, in one copy of the others. Their
    terminators stay, so each leaves a blank line (no row) and every other record keeps
    its bytes and its order; positions after the first cut move."""
    if not starts.size:
        return memoryview(data)
    kept_starts = np.concatenate([[0], stops]).astype(np.int64)
    kept_stops = np.concatenate([starts, [len(data)]]).astype(np.int64)
    return byte_spans.concatenated(data, kept_starts, kept_stops)


def field_counts(arr: np.ndarray, delimiter: int, toggles: np.ndarray, starts: np.ndarray,
                 stops: np.ndarray) -> np.ndarray:
    """Number of fields of each record (delimiters outside quotes + 1).

    Counts all delimiters per record, then takes back those inside quoted values, counted
    per quoted span (spans are few next to delimiters).
    """
    if starts.size == 0:
        return np.zeros(0, np.int64)
    delimiters = positions_of(arr, delimiter)[0]
    counts = np.searchsorted(delimiters, stops) - np.searchsorted(delimiters, starts)
    if toggles.size:
        if toggles.size % 2 or toggles[0] < 0:
            raise ValueError("field counts need whole quoted spans inside the buffer")
        opens, closes = toggles[0::2], toggles[1::2]
        inside = np.searchsorted(delimiters, closes) - np.searchsorted(delimiters, opens)
        record = np.searchsorted(starts, opens, side="right") - 1
        keep = (record >= 0) & (inside > 0)
        counts -= np.bincount(record[keep], weights=inside[keep],
                              minlength=starts.size).astype(np.int64)
    return counts + 1


def cut_after(arr: np.ndarray, ends: np.ndarray, mark: int) -> int | None:
    """Offset just past the first terminator at or after `mark` (None if there is none)."""
    k = int(np.searchsorted(ends, mark, side="left"))
    if k >= ends.size:
        return None
    end = int(ends[k])
    return end + 1
