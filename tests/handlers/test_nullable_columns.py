"""Nullable columns (`"type": [<type>, "null"]`): an empty field is a present null.

The verdicts are jsonschema's (Draft 2020-12, Decimal numbers) on rows whose empty fields
are null in nullable columns and absent elsewhere."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handlers.row_schema_keywords import row_schema_problems
from handlers.row_validator import RowValidator
from handlers.validation.registry import column_type
from tests.handlers.handler_oracle import Oracle
from tests.handlers.test_row_validator import (
    date_text,
    decimal_text,
    junk,
    mostly,
    one,
    rows_strategy,
    verdict_fields,
)

NULLABLE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "amount", "flag", "day", "tag"],
    "properties": {
        "id": {"type": "string", "pattern": "^[A-Z]{2}[0-9]{2}$"},
        "amount": {"type": ["number", "null"], "minimum": 0, "maximum": 1000,
                   "multipleOf": 0.01},
        "count": {"type": ["null", "integer"], "maximum": 10, "enum": [1, 2, 3, 20, None]},
        "flag": {"type": ["boolean", "null"]},
        "day": {"type": ["string", "null"], "format": "date"},
        "tag": {"type": ["string", "null"], "enum": ["a", "b", None], "minLength": 1},
        "code": {"type": "string", "minLength": 2},
        "score": {"type": ["number", "null"], "exclusiveMinimum": -5},
    },
}
CELLS = {
    "id": mostly(st.from_regex(r"[A-Z]{2}[0-9]{2}", fullmatch=True), junk, st.just("")),
    "amount": mostly(st.decimals(min_value=0, max_value=1000, places=2).map(str),
                     decimal_text, junk, st.just(""), st.just("")),
    "count": st.sampled_from(["", "", "1", "3", "20", "4", "x", "-1"]),
    "flag": st.sampled_from(["true", "false", "", "", "True", "0"]),
    "day": mostly(st.dates(min_value=dt.date(1, 1, 1)).map(
        lambda d: f"{d.year:04d}-{d.month:02d}-{d.day:02d}"), date_text, st.just("")),
    "tag": st.sampled_from(["a", "b", "", "", "c", "A"]),
    "code": st.sampled_from(["", "ab", "x", "abc"]),
    "score": mostly(decimal_text, st.just(""), st.sampled_from(["-5", "-4.99", "-5.0001"])),
}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=rows_strategy(CELLS))
def test_nullable_verdicts_match_jsonschema(rows: list[dict[str, str]]) -> None:
    oracle = Oracle(NULLABLE)
    assert verdict_fields(RowValidator(NULLABLE), rows, list(CELLS)) == \
        [oracle.failing_fields(row) for row in rows]


def test_an_empty_field_is_a_null_in_a_required_nullable_column() -> None:
    errors, typed = one(NULLABLE, id="AB12", amount="", flag="", day="", tag="", count="",
                        code="", score="")
    assert errors == []
    assert typed == {"id": "AB12", "amount": None, "count": None, "flag": None, "day": None,
                     "tag": None, "code": None, "score": None}
    schema = RowValidator(NULLABLE).output_schema
    assert schema.field("amount").type == pa.decimal128(6, 2)
    assert schema.field("day").type == pa.date32()
    assert all(field.nullable for field in schema)


def test_a_value_in_a_nullable_column_is_checked_as_before() -> None:
    errors, typed = one(NULLABLE, id="AB12", amount="12.5", flag="true", day="2024-02-29",
                        tag="b")
    assert errors == [] and typed["amount"] == Decimal("12.50") and typed["flag"] is True
    errors, _ = one(NULLABLE, id="AB12", amount="12.345", flag="maybe", day="2024-02-30",
                    tag="b")
    assert {e["field"] for e in errors} == {"amount", "flag", "day"}


def test_an_empty_field_stays_absent_in_a_plain_required_column() -> None:
    errors, _ = one(NULLABLE, id="", amount="", flag="", day="", tag="")
    assert errors == [{"field": "id", "kind": "required", "message": "a value is required"}]


@pytest.mark.parametrize(("kind", "expected"), [
    ("string", ("string", False)), (["string", "null"], ("string", True)),
    (["null", "integer"], ("integer", True)),
])
def test_column_type(kind: object, expected: tuple[str, bool]) -> None:
    assert column_type({"type": kind}) == expected


@pytest.mark.parametrize(("column", "words"), [
    ({"type": ["string", "integer"]}, "a type list must be one of"),
    ({"type": ["null"]}, "a type list must be one of"),
    ({"type": ["string"]}, "a type list must be one of"),
    ({"type": ["string", "null", "integer"]}, "a type list must be one of"),
    ({"type": ["object", "null"]}, "a type list must be one of"),
    ({"type": "null"}, "must be one of"),
    ({"type": ["string", "null"], "enum": ["a"]}, "add null to the enum"),
])
def test_other_type_lists_are_refused(column: dict, words: str) -> None:
    schema = {"type": "object", "properties": {"x": column}}
    problems = row_schema_problems(schema)
    assert len(problems) == 1 and problems[0][0].startswith("/properties/x/")
    assert words in problems[0][1]
