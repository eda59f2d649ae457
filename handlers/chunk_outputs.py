"""Writes a chunk's valid rows (in the configured output format, `handlers.formats`), one
file per partition value, and its rejected rows (JSON lines)."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable, Iterable
from typing import Any

import pyarrow as pa

from handlers.formats import TableWriter, output_format
from handlers.objects import ObjectStore
from handlers.partitions import PartitionBy


class ValidRowsFile:
    """The valid rows written into a temporary file piece by piece, in row order, so a
    piece (a Parquet row group) is encoded while later pieces are still being checked and no
    table of the whole chunk is ever built. The file becomes the object (`move_file`): a
    local store renames it into place, S3 takes it as a multipart upload.

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
        with contextlib.suppress(FileNotFoundError):  # moved into the store by `upload`
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

    def write_all(self, tables: Iterable[pa.Table]) -> None:
        for table in tables:
            self.write(table)

    def upload(self, objects: ObjectStore, key: str) -> None:
        if self._writer is None:  # no valid row: a file with the columns only
            self._writer = self._open()
            self._writer.write_table(self.schema.empty_table())
        self._close()
        objects.move_file(key, self.path, self.format.content_type)

    def _open(self) -> TableWriter:
        return self.format.open_writer(self.path, self.schema, self.dictionary_columns)

    def _close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class PartitionedRows:
    """The chunk's valid rows split by partition value (`PartitionBy.split`), one
    `ValidRowsFile` per value, in row order within each.

    With one partition per chunk (`ingest_date`, or dates of one month) rows stream into
    one file as pieces arrive. With many, a value's rows wait in memory until they reach
    `FLUSH_ROWS` (then its file is opened and written), so only the large partitions hold
    an open file and a chunk of rows over thousands of days does not open thousands of
    files; the others are written one by one at upload.
    """

    FLUSH_ROWS = 50_000

    def __init__(self, fmt: str, schema: pa.Schema, dictionary_columns: list[str],
                 partition_by: PartitionBy, ingest_day: str) -> None:
        self.format, self.schema, self.dictionary_columns = fmt, schema, dictionary_columns
        self.partition_by, self.ingest_day = partition_by, ingest_day
        self._files: dict[str, ValidRowsFile] = {}
        self._waiting: dict[str, list[pa.Table]] = {}
        self.rows = 0

    def __enter__(self) -> PartitionedRows:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.restart()

    def write(self, table: pa.Table) -> None:
        for value, rows in self.partition_by.split(table, self.ingest_day):
            self.rows += rows.num_rows
            if value in self._files:
                self._files[value].write(rows)
                continue
            waiting = self._waiting.setdefault(value, [])
            waiting.append(rows)
            if sum(piece.num_rows for piece in waiting) >= self.FLUSH_ROWS:
                self._open(value).write_all(self._waiting.pop(value))

    def restart(self) -> None:
        """Forget everything written so far (the chunk is being redone whole)."""
        for file in self._files.values():
            file.__exit__()
        self._files.clear()
        self._waiting.clear()
        self.rows = 0

    def upload(self, objects: ObjectStore, key_of: Callable[[str], str]) -> list[str]:
        """Upload one part per partition value (none without valid rows); the values, in
        order."""
        values = sorted({*self._files, *self._waiting})
        for value in values:
            file = self._files.pop(value, None) or self._open(value, keep=False)
            with file:
                file.write_all(self._waiting.pop(value, []))
                file.upload(objects, key_of(value))
        return values

    def _open(self, value: str, keep: bool = True) -> ValidRowsFile:
        file = ValidRowsFile(self.format, self.schema, self.dictionary_columns)
        if keep:
            self._files[value] = file
        return file


def reject_lines(rejects: Iterable[dict[str, Any]],
                 extra: dict[str, Any] | None = None) -> bytes:
    """JSON lines; `extra` (the lineage fields) is added to every reject."""
    more = extra or {}
    return "".join(json.dumps({**r, **more}, ensure_ascii=False) + "\n"
                   for r in rejects).encode("utf-8")


def write_rejects(objects: ObjectStore, key: str, rejects: list[dict[str, Any]],
                  extra: dict[str, Any] | None = None) -> None:
    objects.put_bytes(key, reject_lines(rejects, extra), "application/x-ndjson")
