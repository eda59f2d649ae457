"""A piece's rejected rows as JSON lines, in batches of at most `BATCH_ROWS` rows in offset
order, so what is held never grows with the number of rejected rows.

Each line is what `json.dumps({"offset", "raw", "errors", **lineage}, ensure_ascii=False)`
writes, byte for byte, assembled from Arrow columns (`handlers.reject_rows`): no Python per
row but for the one record whose quote never closes and for text that is not UTF-8 (the
records that do not decode come with their `errors` as JSON text, `handlers.undecodable`).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from handlers import arrow_compute as compute
from handlers.arrays import from_numpy
from handlers.chunk_parse import Data, ParsedChunk, raw_text, raw_texts
from handlers.json_text import TEXT, escaped, joined, text
from handlers.metrics import ReasonKey
from handlers.reject_rows import field_errors, record_error, record_errors
from handlers.row_validator import Failure, row_errors
from handlers.undecodable import NO_UNDECODABLE, UndecodableRows

BATCH_ROWS = 16_384
PYTHON_ROWS = 128
"""A piece rejecting at most this many rows (none of them undecodable) words them in
Python, one `json.dumps` each (`row_errors`): the column-wise build costs a few
milliseconds of fixed work (a hundred-odd Arrow calls), which a small chunk would pay for
a handful of rows. Both write the same bytes."""
Emit = Callable[[memoryview], None]


def lineage_suffix(extra: dict[str, Any] | None) -> str:
    """The lineage fields as they follow `errors` inside a line (`, "_source_key": ...`)."""
    if not extra:
        return ""
    return ", " + json.dumps(extra, ensure_ascii=False)[1:-1]


def line_bytes(reject: dict[str, Any], extra: dict[str, Any] | None = None) -> bytes:
    """One reject built in Python (the rare paths: an oversized record, an unclosed quote)."""
    return (json.dumps({**reject, **(extra or {})}, ensure_ascii=False) + "\n").encode()


@dataclass
class PieceRejects:
    """What a piece rejects: the parsed rows the verdict failed, the rows with the wrong
    number of fields, the records that do not decode, the record whose quote never
    closes."""

    data: Data
    parsed: ParsedChunk
    invalid: np.ndarray  # table rows the verdict rejects, in order
    failures: Sequence[Failure]
    expected_fields: int
    encoding: str
    base: int  # source offset of data[0]
    record_rule: str
    unclosed_message: str | None

    @property
    def count(self) -> int:
        return int(self.invalid.size + self.parsed.ragged_starts.size) + (
            1 if self.parsed.open_record is not None else 0) + self._undecodable.count

    @property
    def _undecodable(self) -> UndecodableRows:
        return self.parsed.undecodable or NO_UNDECODABLE

    def write(self, emit: Emit, extra: dict[str, Any] | None) -> Counter[ReasonKey]:
        """Emit the lines (with the lineage fields `extra`) in offset order, batch by
        batch; the rejected rows per reason."""
        suffix = lineage_suffix(extra)
        parsed = self.parsed
        verdict_starts = parsed.row_starts[self.invalid]
        ragged_starts = parsed.ragged_starts
        undecodable = self._undecodable
        kinds = [verdict_starts, ragged_starts, undecodable.starts]
        starts = np.concatenate(kinds)
        source = np.concatenate([np.full(k.size, n, np.int8) for n, k in enumerate(kinds)])
        index = np.concatenate([np.arange(k.size) for k in kinds])
        order = np.argsort(starts, kind="stable")
        reasons: Counter[ReasonKey] = Counter(undecodable.reasons)
        if ragged_starts.size:
            reasons[None, self.record_rule] += int(ragged_starts.size)
        unclosed = parsed.open_record
        tail = b""
        if unclosed is not None:
            reasons[None, self.record_rule] += 1
            tail = line_bytes({"offset": self.base + unclosed.start,
                               "raw": raw_text(self.data, unclosed.start, unclosed.stop,
                                               self.encoding),
                               "errors": [{"field": None, "kind": self.record_rule,
                                           "message": self.unclosed_message}]}, extra)
        if order.size <= PYTHON_ROWS and not undecodable.count:
            written, found = self._python_lines(source[order], index[order], extra)
            reasons.update(found)
            emit(memoryview(written))
        else:
            for first in range(0, order.size, BATCH_ROWS):
                batch = order[first: first + BATCH_ROWS]
                lines, found = self._lines(source[batch], index[batch], suffix)
                reasons.update(found)
                emit(_contiguous(lines))
        if tail:  # the open record runs to the end of the data: it comes last
            emit(memoryview(tail))
        return reasons

    def _python_lines(self, source: np.ndarray, index: np.ndarray,
                      extra: dict[str, Any] | None) -> tuple[bytes, Counter[ReasonKey]]:
        """The lines one `json.dumps` each (`source` 0: a row the verdict rejects, 1: a
        row with the wrong number of fields; `index` among those), in the given order."""
        parsed = self.parsed
        errors_of, reasons = row_errors(self.failures, parsed.table,
                                        self.invalid[index[source == 0]])
        lines = []
        for kind, k in zip(source.tolist(), index.tolist(), strict=True):
            if kind == 0:
                row = int(self.invalid[k])
                start, stop = int(parsed.row_starts[row]), int(parsed.row_stops[row])
                errors: list[dict[str, Any]] = list(errors_of[row])
            else:
                start, stop = int(parsed.ragged_starts[k]), int(parsed.ragged_stops[k])
                errors = [record_error(int(parsed.ragged_fields[k]), self.expected_fields,
                                       self.record_rule)]
            lines.append(line_bytes({"offset": self.base + start,
                                     "raw": raw_text(self.data, start, stop, self.encoding),
                                     "errors": errors}, extra))
        return b"".join(lines), reasons

    def _lines(self, source: np.ndarray, index: np.ndarray,
               suffix: str) -> tuple[pa.Array, Counter[ReasonKey]]:
        """The lines of one batch (`source` 0: a row the verdict rejects, 1: a row with
        the wrong number of fields, 2: a record that does not decode; `index` among
        those), in the batch's order."""
        parsed = self.parsed
        undecodable = self._undecodable
        parts: list[pa.Array] = []
        reasons: Counter[ReasonKey] = Counter()
        verdict, ragged_rows, undecodable_rows = (source == n for n in range(3))
        verdict_rows = self.invalid[index[verdict]]
        ragged = index[ragged_rows]
        bad = index[undecodable_rows]
        if verdict_rows.size:
            errors, reasons = field_errors(self.failures, parsed.table, verdict_rows)
            parts.append(errors)
        if ragged.size:
            parts.append(record_errors(parsed.ragged_fields[ragged], self.expected_fields,
                                       self.record_rule))
        if bad.size:
            parts.append(pa.array([undecodable.errors[k] for k in bad.tolist()], TEXT))
        if len(parts) == 1:
            errors = parts[0]
        else:  # back into the batch's order: each kind is in that order already
            position = np.empty(source.size, np.int64)
            position[verdict] = np.arange(verdict_rows.size)
            position[ragged_rows] = verdict_rows.size + np.arange(ragged.size)
            position[undecodable_rows] = verdict_rows.size + ragged.size + np.arange(bad.size)
            errors = compute.take(pa.concat_arrays(parts), from_numpy(position))
        starts = np.empty(source.size, np.int64)
        stops = np.empty(source.size, np.int64)
        starts[verdict], stops[verdict] = parsed.row_starts[verdict_rows], \
            parsed.row_stops[verdict_rows]
        starts[ragged_rows], stops[ragged_rows] = parsed.ragged_starts[ragged], \
            parsed.ragged_stops[ragged]
        starts[undecodable_rows], stops[undecodable_rows] = undecodable.starts[bad], \
            undecodable.stops[bad]
        return self._assembled(starts, stops, errors, suffix), reasons

    def _assembled(self, starts: np.ndarray, stops: np.ndarray, errors: pa.Array,
                   suffix: str) -> pa.Array:
        offsets = compute.cast(from_numpy(self.base + np.asarray(starts, np.int64)), TEXT)
        raw = escaped(raw_texts(self.data, starts, stops, self.encoding))
        return joined(text('{"offset": '), offsets, text(', "raw": "'), raw,
                      text('", "errors": ['), errors, text("]" + suffix + "}\n"))


def _contiguous(lines: pa.Array) -> memoryview:
    """The lines' bytes, one after another (a large_string array without nulls holds them
    so in its data buffer)."""
    if not len(lines):
        return memoryview(b"")
    offsets = np.frombuffer(lines.buffers()[1], np.int64)[lines.offset: lines.offset
                                                           + len(lines) + 1]
    data = lines.buffers()[2]
    return memoryview(data)[int(offsets[0]): int(offsets[-1])]
