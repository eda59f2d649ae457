"""What an output format of the valid rows is, as the registry (`registry.FORMATS`) holds it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import pyarrow as pa


class TableWriter(Protocol):
    """Writes tables one after another into one file, in order, so a chunk's valid rows are
    encoded piece by piece and no table of the whole chunk is ever built."""

    def write_table(self, table: pa.Table) -> None: ...

    def close(self) -> None: ...


def stored_schema(schema: pa.Schema) -> pa.Schema:
    """The valid rows' columns as every format stores them and every reader reads them
    back: a dictionary column (an enum, a constant lineage column) holds its values'
    type."""
    import pyarrow as pa

    return pa.schema([field.with_type(field.type.value_type)
                      if pa.types.is_dictionary(field.type) else field for field in schema])


OpenWriter = Callable[[str, "pa.Schema", list[str]], TableWriter]
"""(file path, schema of the valid rows, columns likely to repeat) -> an open writer. The
columns are a hint a format may ignore (Parquet dictionary-encodes them)."""


@dataclass(frozen=True)
class OutputFormat:
    name: str  # `output.format` in pipeline.yaml, `OUTPUT_FORMAT` of the functions
    extension: str  # of every valid-rows part, without the dot
    content_type: str  # of the uploaded parts
    open_writer: OpenWriter
