"""JSON string escaping of whole Arrow string columns, exactly as `json.dumps(text,
ensure_ascii=False)` writes the inside of a string: a backslash and a quote escaped, the
control characters below U+0020 as `\\n`, `\\r`, `\\t`, `\\b`, `\\f` or `\\u00xx`, every
other character as it is. Done on the column's UTF-8 bytes (bytes of multi-byte characters
are all 0x80 or above, so they are never touched): numpy finds the bytes to escape, one
Arrow take copies the runs between them and their escapes, and the escapes' running length
moves the offsets."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa

from handlers import arrow_compute as compute
from handlers import byte_spans

TEXT = pa.large_string()


def escaped_text(value: str, times: int = 1) -> str:
    """A constant escaped as `escaped` does a column."""
    for _ in range(times):
        value = json.dumps(value, ensure_ascii=False)[1:-1]
    return value


class Escapes:
    """Per byte value, what it becomes inside a JSON string, applied `times` times over
    (twice: a message's quoted value, itself inside the line's JSON string): the escapes
    laid out one after another in `table`, byte `code`'s at `at[code]`, `length[code]`
    long."""

    def __init__(self, times: int) -> None:
        texts = [escaped_text(chr(code), times).encode() if code < 0x80 else bytes([code])
                 for code in range(256)]
        self.length = np.array([len(t) for t in texts], np.int64)
        self.at = np.concatenate([[0], np.cumsum(self.length)[:-1]]).astype(np.int64)
        self.table = np.frombuffer(b"".join(texts), np.uint8)


ONCE, TWICE = Escapes(1), Escapes(2)


def text(value: str) -> pa.Scalar:
    return pa.scalar(value, TEXT)


def escaped(values: pa.Array, escapes: Escapes = ONCE) -> pa.Array:
    """The JSON text inside the quotes, per value (a large_string array; nulls stay
    null). The bytes are copied once, run by run (an Arrow take over spans of the bytes
    and of the escapes' table after them): each run of bytes up to a byte to escape, then
    that byte's escape."""
    values = _as_text(values)
    count = len(values)
    if not count:
        return values
    if values.null_count:
        valid = compute.is_valid(values)
        return compute.if_else(valid, escaped(compute.fill_null(values, ""), escapes),
                          pa.nulls(1, TEXT)[0])
    offsets = np.frombuffer(values.buffers()[1], np.int64)[values.offset:
                                                          values.offset + count + 1]
    first, last = int(offsets[0]), int(offsets[-1])
    data = values.buffers()[2]
    raw = np.frombuffer(data, np.uint8)[first:last] if data is not None else \
        np.zeros(0, np.uint8)
    # the bytes JSON escapes: control characters, `"` and `\\` (comparisons beat a table)
    special = np.flatnonzero((raw < 0x20) | (raw == 0x22) | (raw == 0x5C))
    if not special.size:
        return values
    codes = raw[special]
    # spans of the bytes and of the escapes' table after them, in turn: the run up to
    # each byte to escape, that byte's escape, ..., the run after the last one
    escape_at = raw.size + escapes.at[codes]
    starts = np.empty(2 * special.size + 1, np.int64)
    stops = np.empty(2 * special.size + 1, np.int64)
    starts[0], starts[1::2], starts[2::2] = 0, escape_at, special + 1
    stops[0:-1:2], stops[1::2], stops[-1] = special, escape_at + escapes.length[codes], \
        raw.size
    out = byte_spans.concatenated(np.concatenate([raw, escapes.table]), starts, stops)
    grown = np.zeros(special.size + 1, np.int64)
    np.cumsum(escapes.length[codes] - 1, out=grown[1:])
    moved = (offsets - first) + grown[np.searchsorted(special, offsets - first, side="left")]
    return pa.Array.from_buffers(TEXT, count, [None, pa.py_buffer(moved), pa.py_buffer(out)])


def _as_text(values: pa.Array) -> pa.Array:
    return values if values.type == TEXT else compute.cast(values, TEXT)


def joined(*parts: pa.Array | pa.Scalar) -> pa.Array:
    """Element-wise concatenation (a null part makes the row null)."""
    return compute.binary_join_element_wise(
        *[part if isinstance(part, pa.Scalar) else _as_text(part) for part in parts],
        text(""))


def joined_present(parts: list[pa.Array], separator: str) -> pa.Array:
    """Per row, its non-null parts joined by `separator` (every row has one at least).
    Not Arrow's `null_handling="skip"`, which drops the rows where every part is null."""
    if len(parts) == 1:
        return parts[0]
    led = [joined(text(separator), part) for part in parts]
    whole = compute.binary_join_element_wise(*led, text(""), null_handling="replace",
                                        null_replacement="")
    return compute.utf8_slice_codeunits(whole, len(separator))


def quoted_json(value: object) -> str:
    """One value as JSON text, for the constant parts of a line."""
    return json.dumps(value, ensure_ascii=False)
