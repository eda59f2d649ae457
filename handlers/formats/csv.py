"""CSV with a header line, written by Arrow (strings re-quoted, typed values printed)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from handlers.formats.format import OutputFormat, TableWriter

if TYPE_CHECKING:
    import pyarrow as pa


def open_writer(path: str, schema: pa.Schema, dictionary_columns: list[str]) -> TableWriter:
    import pyarrow.csv as pv  # here, so reading the registry does not load pyarrow

    writer: TableWriter = pv.CSVWriter(path, schema)
    return writer


CSV = OutputFormat(name="csv", extension="csv", content_type="text/csv", open_writer=open_writer)
