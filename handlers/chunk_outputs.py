"""Writes a chunk's valid rows (Parquet or CSV) and its rejected rows (JSON lines)."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from typing import Any

import pyarrow as pa
import pyarrow.csv as pv
import pyarrow.parquet as pq

from handlers.objects import ObjectStore

CONTENT_TYPES = {"parquet": "application/vnd.apache.parquet", "csv": "text/csv"}


class ValidRowsFile:
    """The valid rows written into a temporary file piece by piece, in row order, so a
    piece's Parquet row group is encoded while later pieces are still being checked and no
    table of the whole chunk is ever built. Uploaded through the file so large outputs go
    up as a multipart upload.

    Dictionary encoding only for the columns likely to repeat (enums): trying it on ids
    costs time for nothing.
    """

    def __init__(self, fmt: str, schema: pa.Schema,
                 dictionary_columns: list[str] | None = None) -> None:
        self.fmt = fmt
        self.schema = schema
        self.dictionary_columns = dictionary_columns or False
        handle, self.path = tempfile.mkstemp(suffix=f".{fmt}")
        os.close(handle)
        self._writer: pq.ParquetWriter | pv.CSVWriter | None = None
        self.rows = 0

    def __enter__(self) -> ValidRowsFile:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._close()
        os.unlink(self.path)

    def write(self, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        if self._writer is None:
            self._writer = self._open()
        self._writer.write_table(table)
        self.rows += table.num_rows

    def restart(self) -> None:
        """Forget everything written so far (the chunk is being redone whole)."""
        self._close()
        self.rows = 0

    def upload(self, objects: ObjectStore, key: str) -> None:
        if self._writer is None:  # no valid row: a file with the columns only
            self._writer = self._open()
            self._writer.write_table(self.schema.empty_table())
        self._close()
        objects.put_file(key, self.path, CONTENT_TYPES[self.fmt])

    def _open(self) -> pq.ParquetWriter | pv.CSVWriter:
        if self.fmt == "csv":
            return pv.CSVWriter(self.path, self.schema)
        return pq.ParquetWriter(self.path, self.schema, compression="snappy",
                                use_dictionary=self.dictionary_columns)

    def _close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def reject_lines(rejects: Iterable[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rejects).encode("utf-8")


def write_rejects(objects: ObjectStore, key: str, rejects: list[dict[str, Any]]) -> None:
    objects.put_bytes(key, reject_lines(rejects), "application/x-ndjson")
