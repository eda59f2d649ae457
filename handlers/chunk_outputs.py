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


def write_valid_rows(objects: ObjectStore, key: str, table: pa.Table, fmt: str,
                     dictionary_columns: list[str] | None = None) -> None:
    """Write through a temporary file so large outputs go up as a multipart upload.

    Dictionary encoding only for the columns likely to repeat (enums): trying it on ids
    costs time for nothing.
    """
    handle, path = tempfile.mkstemp(suffix=f".{fmt}")
    os.close(handle)
    try:
        if fmt == "csv":
            pv.write_csv(table, path)
        else:
            pq.write_table(table, path, compression="snappy",
                           use_dictionary=dictionary_columns or False)
        objects.put_file(key, path, CONTENT_TYPES[fmt])
    finally:
        os.unlink(path)


def reject_lines(rejects: Iterable[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rejects).encode("utf-8")


def write_rejects(objects: ObjectStore, key: str, rejects: list[dict[str, Any]]) -> None:
    objects.put_bytes(key, reject_lines(rejects), "application/x-ndjson")
