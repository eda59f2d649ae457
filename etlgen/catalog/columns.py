"""Glue (Hive) column types of the row schema, derived from the Arrow types the handlers
write, so the table always describes the Parquet files as they are.

`handler_output_types` is the one place that asks the handlers for their output types;
`glue_type` maps an Arrow type to the Glue type Athena reads it as (`ARROW_TO_GLUE`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow as pa

from handlers.row_validator import RowValidator


def handler_output_types(row_schema: dict[str, Any]) -> list[tuple[str, pa.DataType]]:
    """(column, Arrow type) the handlers write for each row-schema column, in schema order."""
    return [(field.name, field.type) for field in RowValidator(row_schema).output_schema]


def _decimal(kind: pa.DataType) -> str:
    return f"decimal({kind.precision},{kind.scale})"


# (is this Arrow type, its Glue type), tried in order. Parquet keeps these logical types;
# Athena reads date32 as date, timestamp[us, tz=UTC] as timestamp, decimal128 as decimal.
ARROW_TO_GLUE: tuple[tuple[Callable[[pa.DataType], bool], Callable[[pa.DataType], str]], ...] = (
    (pa.types.is_string, lambda _kind: "string"),
    (pa.types.is_large_string, lambda _kind: "string"),
    (pa.types.is_int64, lambda _kind: "bigint"),
    (pa.types.is_float64, lambda _kind: "double"),
    (pa.types.is_boolean, lambda _kind: "boolean"),
    (pa.types.is_date32, lambda _kind: "date"),
    (pa.types.is_timestamp, lambda _kind: "timestamp"),
    (pa.types.is_decimal, _decimal),
)


def glue_type(kind: pa.DataType) -> str | None:
    """The Glue type Athena reads an Arrow type as; None when the table has none. A
    dictionary column is its values' type in Parquet."""
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    for matches, name in ARROW_TO_GLUE:
        if matches(kind):
            return name(kind)
    return None


def glue_columns(row_schema: dict[str, Any]) -> list[tuple[str, str]]:
    """(column, Glue type) of every row-schema column, in schema order."""
    columns = []
    for name, kind in handler_output_types(row_schema):
        glue = glue_type(kind)
        if glue is None:  # the handlers gained an output type the table does not know
            raise ValueError(f"column {name!r}: no Glue type for the Arrow type {kind} the "
                             "handlers write: add it to etlgen.catalog.columns.ARROW_TO_GLUE")
        columns.append((name, glue))
    return columns
