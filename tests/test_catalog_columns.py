"""The table's column types are the types the handlers write, as Glue names them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from etlgen.catalog import columns
from etlgen.catalog.columns import glue_columns, glue_type, handler_output_types
from handlers.row_validator import compiled_validator

ROOT = Path(__file__).resolve().parent.parent
TRANSACTIONS = json.loads((ROOT / "schemas" / "transactions.schema.json").read_text())


def _schema(**properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False, "properties": properties}


def test_the_transactions_table() -> None:
    assert glue_columns(TRANSACTIONS) == [
        ("transaction_id", "string"),
        ("account_id", "string"),
        ("transaction_date", "date"),
        ("amount", "decimal(9,2)"),  # |1,000,000| has 7 digits, multipleOf 0.01 2 more
        ("currency", "string"),
        ("merchant", "string"),
        ("category", "string"),
    ]


@pytest.mark.parametrize(("column", "expected"), [
    ({"type": "string"}, "string"),
    ({"type": ["string", "null"], "format": "date"}, "date"),
    ({"type": "string", "format": "date-time"}, "timestamp"),
    ({"type": "integer", "minimum": 0}, "bigint"),
    ({"type": ["null", "integer"]}, "bigint"),
    ({"type": "number"}, "double"),
    ({"type": "number", "multipleOf": 0.5}, "double"),  # not a power of ten: a float
    ({"type": "number", "multipleOf": 0.1}, "decimal(38,1)"),
    ({"type": ["number", "null"], "multipleOf": 0.001, "minimum": -5, "maximum": 99999},
     "decimal(8,3)"),
    ({"type": "number", "multipleOf": 0.01, "exclusiveMaximum": 0.5, "minimum": 0},
     "decimal(3,2)"),
    ({"type": "number", "multipleOf": 0.01, "minimum": 0}, "decimal(38,2)"),  # no upper bound
    ({"type": "boolean"}, "boolean"),
    ({"type": ["boolean", "null"], "enum": [True, None]}, "boolean"),
])
def test_each_kind_of_column(column: dict[str, Any], expected: str) -> None:
    assert glue_columns(_schema(c=column)) == [("c", expected)]


def test_the_types_are_those_of_the_parquet_the_handlers_write() -> None:
    """What the adapter reports is the validator's output schema, column by column."""
    schema = _schema(a={"type": "integer"}, b={"type": ["number", "null"], "multipleOf": 0.01,
                                               "minimum": 0, "maximum": 10},
                     c={"type": "string", "format": "date-time"}, d={"type": "boolean"})
    written = compiled_validator(schema).output_schema
    assert handler_output_types(schema) == [(f.name, f.type) for f in written]
    assert [glue_type(f.type) for f in written] == ["bigint", "decimal(4,2)", "timestamp",
                                                    "boolean"]


def test_an_arrow_type_the_table_does_not_know_is_refused(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(columns, "handler_output_types",
                        lambda _schema: [("when", pa.time64("us"))])
    with pytest.raises(ValueError, match=r"column 'when': no Glue type for the Arrow type "
                                         r"time64\[us\]"):
        glue_columns(_schema(when={"type": "string"}))
