"""Records holding bytes that do not decode in the file's encoding: each becomes one rejected
row, naming per field the first such byte, and every other record is parsed as usual.

Looked for only after pyarrow refused a buffer, so clean data pays nothing. The text is
decoded with `surrogateescape` (each byte that does not decode becomes one lone surrogate,
so they are found with one regular expression and placed by re-encoding the text between
them), and the bytes of those records are then overwritten with line feeds: to the parser
they are blank lines, which are no rows, and every other record keeps its offsets.
"""

from __future__ import annotations

import codecs
import json
import re
from collections import Counter
from dataclasses import dataclass

import numpy as np

from handlers import csv_scan
from handlers.metrics import ReasonKey

ENCODING_RULE = "encoding"
"""The `kind` of an error naming a byte that does not decode."""
_ESCAPED = re.compile("[\udc80-\udcff]")
_NAMES = {"utf-8": "UTF-8"}


@dataclass(frozen=True)
class UndecodableRows:
    """The records that do not decode, in order, each with its `errors` as JSON text."""

    starts: np.ndarray  # in the buffer
    stops: np.ndarray
    errors: list[str]  # per record: the JSON text inside its `errors` list
    reasons: Counter[ReasonKey]  # rows per (field, kind)

    @property
    def count(self) -> int:
        return int(self.starts.size)

    def blanked(self, arr: np.ndarray) -> np.ndarray:
        """A copy of the buffer with these records' bytes turned into line feeds."""
        return csv_scan.blanked(arr, self.starts, self.stops)


def undecodable_bytes(data: bytes | memoryview, encoding: str) -> np.ndarray:
    """Positions (in `data`) of every byte that does not decode."""
    text = codecs.decode(data, encoding, "surrogateescape")
    positions: list[int] = []
    done_chars = done_bytes = 0
    for match in _ESCAPED.finditer(text):
        at = match.start()
        done_bytes += len(text[done_chars:at].encode(encoding, "surrogateescape"))
        done_chars = at
        positions.append(done_bytes)
    return np.asarray(positions, np.int64)


def undecodable_rows(data: bytes | memoryview, arr: np.ndarray, starts: np.ndarray,
                     stops: np.ndarray, toggles: np.ndarray, delimiter: int,
                     header: list[str], encoding: str, base: int) -> UndecodableRows:
    """The records among (`starts`, `stops`) holding bytes that do not decode; `toggles`
    (the scan's quote toggles) tell which delimiters separate fields; `base` is the source
    offset of `data[0]`, for the messages."""
    bad = undecodable_bytes(data, encoding)
    record = np.searchsorted(starts, bad, side="right") - 1
    inside = (record >= 0) & (bad < stops[np.maximum(record, 0)])
    bad, record = bad[inside], record[inside]
    delimiters = csv_scan.positions_of(arr, delimiter)[0]
    if toggles.size:
        delimiters = delimiters[csv_scan.outside(delimiters, toggles)]
    field = np.searchsorted(delimiters, bad) - np.searchsorted(delimiters, starts[record])
    # the first byte per (record, field): positions are sorted, so first occurrences
    _, first = np.unique(record * (len(header) + 1) + np.minimum(field, len(header)),
                         return_index=True)
    name = _NAMES.get(codecs.lookup(encoding).name, codecs.lookup(encoding).name)
    errors: dict[int, list[str]] = {}
    reasons: Counter[ReasonKey] = Counter()
    for at, row, column in zip(bad[first].tolist(), record[first].tolist(),
                               field[first].tolist(), strict=True):
        column_name = header[column] if column < len(header) else None
        byte = int(arr[at])
        errors.setdefault(row, []).append(json.dumps(
            {"field": column_name, "kind": ENCODING_RULE,
             "message": f"invalid {name} at byte {base + at} of the file (0x{byte:02X})"},
            ensure_ascii=False))
        reasons[column_name, ENCODING_RULE] += 1
    rows = np.asarray(sorted(errors), np.int64)
    return UndecodableRows(starts=starts[rows], stops=stops[rows],
                           errors=[", ".join(errors[row]) for row in rows.tolist()],
                           reasons=reasons)


NO_UNDECODABLE = UndecodableRows(starts=np.empty(0, np.int64), stops=np.empty(0, np.int64),
                                 errors=[], reasons=Counter())
"""What a piece that decodes has: no such record."""
