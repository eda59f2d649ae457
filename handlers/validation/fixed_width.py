"""Checks on values of one fixed width, done on the bytes of a whole string column at once.

Ids and dates have a fixed shape (`^TX[0-9]{10}$`, `YYYY-MM-DD`). Seen as an (rows, width)
byte matrix, which is a free view of the column's data when every value has that width,
such a check is a few numpy comparisons instead of a regex run per value.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pyarrow as pa

from handlers import arrow_compute as compute
from handlers.arrays import from_numpy
from handlers.validation.calendar import days_from_civil

MAX_WIDTH = 64
Ranges = tuple[tuple[int, int], ...]
_DIGITS: Ranges = ((0x30, 0x39),)
_LITERAL = re.compile(r"[A-Za-z0-9_ ,:;/@#%&=<>'\"~!-]")
_ESCAPED = re.compile(r"\\[-.+*?()\[\]{}|^$/\\]")


def single_array(values: pa.ChunkedArray | pa.Array) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        return values.combine_chunks() if values.num_chunks != 1 else values.chunk(0)
    return values


def byte_matrix(values: pa.ChunkedArray | pa.Array,
                width: int) -> tuple[np.ndarray, np.ndarray]:
    """(value has exactly `width` bytes, (those rows, width) uint8 matrix of their bytes,
    in row order): a free view of the column's data when every value has that width, else
    a view of the data of those rows filtered by Arrow (no per-row gather in numpy)."""
    array = single_array(values)
    has_width, matrix = _matrix(array, width)
    if has_width.all():
        return has_width, matrix
    if not has_width.any():
        return has_width, np.zeros((0, width), np.uint8)
    kept = compute.filter(array, from_numpy(has_width))
    kept_width, kept_matrix = _matrix(kept, width)
    if kept_width.all():
        return has_width, kept_matrix
    starts = np.asarray(text_offsets(array)[:-1], np.int64)[has_width]  # odd null slots
    windows = np.lib.stride_tricks.sliding_window_view(text_bytes(array), width)
    return has_width, windows[starts]


def _matrix(array: pa.Array, width: int) -> tuple[np.ndarray, np.ndarray]:
    """(value has `width` bytes, the (rows, width) view of the data when all have it; an
    empty matrix otherwise)."""
    offsets = text_offsets(array)
    count = len(array)
    has_width = np.diff(offsets) == width
    if count and has_width.all():
        first = int(offsets[0])
        return has_width, text_bytes(array)[first: first + count * width].reshape(count, width)
    return has_width, np.zeros((0, width), np.uint8)


def text_offsets(array: pa.Array) -> np.ndarray:
    count = len(array)
    if not count:
        return np.zeros(1, np.int64)
    offset_type = np.int64 if array.type == pa.large_string() else np.int32
    if array.type not in (pa.string(), pa.large_string()):
        array = compute.cast(array, pa.string())
    return np.frombuffer(array.buffers()[1], offset_type)[array.offset: array.offset + count + 1]


def text_bytes(array: pa.Array) -> np.ndarray:
    if array.type not in (pa.string(), pa.large_string()):
        array = compute.cast(array, pa.string())
    data = array.buffers()[2]
    return np.frombuffer(data, np.uint8) if data is not None else np.zeros(0, np.uint8)


def _scattered(has_width: np.ndarray, found: np.ndarray, fill: Any = 0) -> np.ndarray:
    """`found` (one value per row of the width) spread back over every row."""
    if has_width.all():
        return found
    full = np.full(has_width.size, fill, found.dtype)
    full[has_width] = found
    return full


def _in_ranges(column: np.ndarray, ranges: Ranges) -> np.ndarray:
    low, high = ranges[0]
    inside = (column - np.uint8(low)) <= np.uint8(high - low)
    for low, high in ranges[1:]:
        inside |= (column - np.uint8(low)) <= np.uint8(high - low)
    return inside


def _calendar() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per year 0-9999: leap flag and days from 1970-01-01 to its January 1st; per (leap,
    month): days in the month and days before it."""
    years = np.arange(10000, dtype=np.int64)
    leap = (((years % 4 == 0) & (years % 100 != 0)) | (years % 400 == 0)).astype(np.intp)
    year_start = days_from_civil(np.maximum(years, 1), np.ones_like(years), np.ones_like(years))
    lengths = np.array([[0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31],
                        [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]], np.int64)
    before = np.zeros_like(lengths)
    before[:, 1:] = np.cumsum(lengths, axis=1)[:, :-1]
    return leap, year_start, lengths, before


_LEAP, _YEAR_START, _MONTH_DAYS, _DAYS_BEFORE = _calendar()


def array_pieces(values: pa.ChunkedArray | pa.Array) -> list[pa.Array]:
    """Arrow chunks one by one: each is contiguous, no need to combine them first."""
    if isinstance(values, pa.ChunkedArray):
        return list(values.chunks) if values.num_chunks else [pa.array([], values.type)]
    return [values]


def parse_dates(values: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(is a real YYYY-MM-DD date, days since 1970-01-01) per row, straight from the bytes."""
    parts = [_parse_dates(piece) for piece in array_pieces(values)]
    return (np.concatenate([ok for ok, _ in parts]),
            np.concatenate([days for _, days in parts]))


def _parse_dates(values: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    has_width, matrix = byte_matrix(values, 10)
    ok, days = _dates_of(matrix)
    return _scattered(has_width, ok, False), _scattered(has_width, days)


def _dates_of(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Position by position on a transposed copy: each position's bytes contiguous, not
    every tenth byte of the matrix."""
    columns = np.ascontiguousarray(matrix.T)
    digits = columns - np.uint8(0x30)
    ok = np.all(digits[[0, 1, 2, 3, 5, 6, 8, 9]] < 10, axis=0)
    ok &= (columns[4] == 0x2D) & (columns[7] == 0x2D)
    d = digits.astype(np.int32)
    year = d[0] * 1000 + d[1] * 100 + d[2] * 10 + d[3]
    month = d[5] * 10 + d[6]
    day = d[8] * 10 + d[9]
    ok &= (year >= 1) & (month >= 1) & (month <= 12) & (day >= 1)
    year = np.where(ok, year, 1970)
    month = np.where(ok, month, 1)
    leap = _LEAP[year]
    ok &= day <= _MONTH_DAYS[leap, month]
    days = _YEAR_START[year] + _DAYS_BEFORE[leap, month] + day - 1
    return ok, np.where(ok, days, 0)


def fixed_shape(pattern: str) -> list[Ranges] | None:
    """The allowed ASCII byte ranges at each position when `pattern` is an anchored sequence
    of literals, `\\d` and simple classes (`[0-9]`, `[A-Z0-9]`) with optional `{n}` counts;
    None for anything else (the caller falls back to a regex engine)."""
    if len(pattern) < 2 or pattern[0] != "^" or pattern[-1] != "$" or pattern.endswith("\\$"):
        return None
    body, position, shape = pattern[1:-1], 0, []
    while position < len(body):
        atom, position = _atom(body, position)
        if atom is None:
            return None
        repeat = re.compile(r"\{([0-9]{1,2})\}").match(body, position)
        count = 1
        if repeat:
            count, position = int(repeat.group(1)), repeat.end()
        shape.extend([atom] * count)
        if len(shape) > MAX_WIDTH:
            return None
    return shape or None


def _atom(body: str, position: int) -> tuple[Ranges | None, int]:
    char = body[position]
    if char == "[":
        close = body.find("]", position + 1)
        if close < 0:
            return None, position
        return _class_ranges(body[position + 1: close]), close + 1
    if body.startswith("\\d", position):
        return _DIGITS, position + 2
    escaped = _ESCAPED.match(body, position)
    if escaped:
        code = ord(escaped.group(0)[1])
        return ((code, code),), escaped.end()
    if _LITERAL.fullmatch(char):
        return ((ord(char), ord(char)),), position + 1
    return None, position


def _class_ranges(inside: str) -> Ranges | None:
    """`0-9A-F_` style classes only: no negation, escapes or edge hyphens."""
    if not inside or inside[0] in "^-" or inside[-1] == "-":
        return None
    ranges: list[tuple[int, int]] = []
    position = 0
    while position < len(inside):
        low = inside[position]
        if not (low.isascii() and (low.isalnum() or low in "_ ")):
            return None
        if position + 2 < len(inside) and inside[position + 1] == "-":
            high = inside[position + 2]
            if not (high.isascii() and high.isalnum()) or high < low:
                return None
            ranges.append((ord(low), ord(high)))
            position += 3
        else:
            ranges.append((ord(low), ord(low)))
            position += 1
    return tuple(sorted(set(ranges)))


def matches_shape(values: pa.ChunkedArray | pa.Array, shape: list[Ranges]) -> np.ndarray:
    """Per row: the value is exactly `len(shape)` bytes, each within its position's ranges."""
    return np.concatenate([_matches_shape(piece, shape) for piece in array_pieces(values)])


def _matches_shape(values: pa.Array, shape: list[Ranges]) -> np.ndarray:
    has_width, matrix = byte_matrix(values, len(shape))
    ok = np.ones(matrix.shape[0], bool)
    for k, ranges in enumerate(shape):
        ok &= _in_ranges(matrix[:, k], ranges)
    return _scattered(has_width, ok, False)
