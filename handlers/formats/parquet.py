"""Parquet (snappy), one row group per piece the process step writes.

Dictionary columns (enums, the constant lineage columns) are written dictionary-encoded as
they come; no Arrow schema is stored, so every reader, pyarrow included, reads them as
the plain strings the Parquet logical types say (no type here needs the Arrow schema to
read back as written)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from handlers.formats.format import OutputFormat, TableWriter

if TYPE_CHECKING:
    import pyarrow as pa


def open_writer(path: str, schema: pa.Schema, dictionary_columns: list[str]) -> TableWriter:
    """Dictionary encoding only for the columns likely to repeat (the hint) and those that
    come as dictionaries: trying it on ids costs time for nothing."""
    import pyarrow as pa
    import pyarrow.parquet as pq  # here, so reading the registry does not load pyarrow

    coded = [field.name for field in schema if pa.types.is_dictionary(field.type)]
    columns = list(dict.fromkeys([*dictionary_columns, *coded]))
    writer: TableWriter = pq.ParquetWriter(path, schema, compression="snappy",
                                           use_dictionary=columns or False,
                                           store_schema=False)
    return writer


PARQUET = OutputFormat(name="parquet", extension="parquet",
                       content_type="application/vnd.apache.parquet", open_writer=open_writer)
