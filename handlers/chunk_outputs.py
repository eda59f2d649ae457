"""Writes a chunk's valid rows (in the configured output format, `handlers.formats`) and its
rejected rows (JSON lines)."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from typing import Any

import pyarrow as pa

from handlers.formats import TableWriter, output_format
from handlers.objects import ObjectStore


class ValidRowsFile:
    """The valid rows written into a temporary file piece by piece, in row order, so a
    piece (a Parquet row group) is encoded while later pieces are still being checked and no
    table of the whole chunk is ever built. Uploaded through the file so large outputs go
    up as a multipart upload.

    `fmt` names an entry of `handlers.formats.FORMATS`; `dictionary_columns` are the
    columns likely to repeat (enums), a hint the format may use.
    """

    def __init__(self, fmt: str, schema: pa.Schema,
                 dictionary_columns: list[str] | None = None) -> None:
        self.format = output_format(fmt)
        self.schema = schema
        self.dictionary_columns = dictionary_columns or []
        handle, self.path = tempfile.mkstemp(suffix=f".{self.format.extension}")
        os.close(handle)
        self._writer: TableWriter | None = None
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
        objects.put_file(key, self.path, self.format.content_type)

    def _open(self) -> TableWriter:
        return self.format.open_writer(self.path, self.schema, self.dictionary_columns)

    def _close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def reject_lines(rejects: Iterable[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rejects).encode("utf-8")


def write_rejects(objects: ObjectStore, key: str, rejects: list[dict[str, Any]]) -> None:
    objects.put_bytes(key, reject_lines(rejects), "application/x-ndjson")
