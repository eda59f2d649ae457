"""Parquet (snappy), one row group per piece the process step writes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from handlers.formats.format import OutputFormat, TableWriter

if TYPE_CHECKING:
    import pyarrow as pa


def open_writer(path: str, schema: pa.Schema, dictionary_columns: list[str]) -> TableWriter:
    """Dictionary encoding only for the columns likely to repeat (enums): trying it on ids
    costs time for nothing."""
    import pyarrow.parquet as pq  # here, so reading the registry does not load pyarrow

    writer: TableWriter = pq.ParquetWriter(path, schema, compression="snappy",
                                           use_dictionary=dictionary_columns or False)
    return writer


PARQUET = OutputFormat(name="parquet", extension="parquet",
                       content_type="application/vnd.apache.parquet", open_writer=open_writer)
