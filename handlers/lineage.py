"""Lineage: where each output row came from, so any value in the table leads back to its
exact bytes (`output.lineage`, `LINEAGE`).

Valid rows get four columns after the row schema's: `_source_key`, `_source_version` (null
when the bucket gives no version), `_source_offset` (the byte offset of the row's first byte
in the source object) and `_ingested_at` (the start of the file's ingest, UTC,
microseconds). Rejected rows carry the same fields but `_source_offset`: their own `offset`
already says it. The columns are built once per piece from numpy arrays, never per row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa

from handlers.arrays import from_numpy

SOURCE_KEY, SOURCE_VERSION, SOURCE_OFFSET, INGESTED_AT = (
    "_source_key", "_source_version", "_source_offset", "_ingested_at")
# The columns holding one value per file are dictionaries of that one value (index 0 on
# every row): Parquet writes them as they are, its statistics taken from the one value.
CONSTANT_TYPE = pa.dictionary(pa.int32(), pa.string())
LINEAGE_FIELDS = (
    pa.field(SOURCE_KEY, CONSTANT_TYPE),
    pa.field(SOURCE_VERSION, CONSTANT_TYPE),
    pa.field(SOURCE_OFFSET, pa.int64()),
    pa.field(INGESTED_AT, pa.timestamp("us", tz="UTC")),
)
LINEAGE_NAMES = tuple(field.name for field in LINEAGE_FIELDS)


def parse_instant(text: str) -> datetime:
    """`2024-05-01T12:30:00.123456Z` -> an aware UTC datetime."""
    return datetime.fromisoformat(text).astimezone(UTC)


def instant_text(moment: datetime) -> str:
    """The form `FileRecord.ingested_at` carries: ISO 8601 UTC with microseconds."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def output_schema(row_schema: pa.Schema, lineage: bool) -> pa.Schema:
    """The valid rows' columns: the row schema's, then (with lineage) the lineage columns."""
    return pa.schema([*row_schema, *LINEAGE_FIELDS]) if lineage else row_schema


@dataclass(frozen=True)
class Lineage:
    """The lineage of one source object version in one ingest."""

    source_key: str
    source_version: str | None
    ingested_at: datetime

    @classmethod
    def of(cls, key: str, version_id: str | None, ingested_at: str) -> Lineage:
        return cls(key, version_id, parse_instant(ingested_at))

    @property
    def _micros(self) -> int:
        delta = self.ingested_at - datetime(1970, 1, 1, tzinfo=UTC)
        return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds

    def add_columns(self, table: pa.Table, offsets: np.ndarray) -> pa.Table:
        """`table` with the lineage columns appended; `offsets[i]` is the source offset of
        row i."""
        rows = table.num_rows
        columns = [
            _constant(self.source_key, rows),
            _constant(self.source_version, rows),
            from_numpy(np.asarray(offsets, np.int64)),
            from_numpy(np.full(rows, self._micros, np.int64), LINEAGE_FIELDS[3].type),
        ]
        for field, column in zip(LINEAGE_FIELDS, columns, strict=True):
            table = table.append_column(field, column)
        return table

    def reject_fields(self) -> dict[str, Any]:
        """The lineage of a rejected row (JSON lines). `_ingested_at` in the form Hive's
        and the OpenX JSON SerDe's timestamp parsing read (`yyyy-mm-dd hh:mm:ss.ffffff`)."""
        return {SOURCE_KEY: self.source_key, SOURCE_VERSION: self.source_version,
                INGESTED_AT: self.ingested_at.strftime("%Y-%m-%d %H:%M:%S.%f")}


def _constant(value: str | None, rows: int) -> pa.DictionaryArray:
    """`value` on every row (null when None) as a dictionary column."""
    if value is None:
        return pa.DictionaryArray.from_arrays(pa.nulls(rows, pa.int32()),
                                              pa.array([], pa.string()))
    return pa.DictionaryArray.from_arrays(from_numpy(np.zeros(rows, np.int32)),
                                          pa.array([value], pa.string()))
