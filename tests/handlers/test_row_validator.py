"""The vectorized validator against jsonschema, row by row and field by field."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handlers.row_validator import RowValidator, compiled_validator
from tests.handlers.handler_oracle import SCHEMA_PATH, Oracle

TRANSACTIONS = json.loads(SCHEMA_PATH.read_text())
KITCHEN_SINK = {
    "type": "object",
    "additionalProperties": False,
    "required": ["count", "ratio"],
    "properties": {
        "count": {"type": "integer", "minimum": -5, "exclusiveMaximum": 1000, "multipleOf": 3},
        "level": {"type": "integer", "enum": [1, 2, 3, 10]},
        "ratio": {"type": "number", "exclusiveMinimum": 0, "maximum": 2.5, "multipleOf": 0.05},
        "score": {"type": "number", "minimum": -1e3},
        "flag": {"type": "boolean"},
        "when": {"type": "string", "format": "date-time"},
        "code": {"type": "string", "pattern": "^[A-Z]{2}-[0-9]+$", "minLength": 4,
                 "maxLength": 8},
        "tag": {"type": "string", "enum": ["a", "b", "c"]},
    },
}


def digits(min_size: int, max_size: int) -> st.SearchStrategy[str]:
    return st.text(alphabet="0123456789", min_size=min_size, max_size=max_size)


junk = st.text(alphabet="0123456789.-+eE aZ,é", max_size=8)
decimal_text = st.builds(
    lambda sign, whole, frac, exp: f"{sign}{whole}{frac}{exp}",
    st.sampled_from(["", "-", "+"]), digits(0, 8),
    st.one_of(st.just(""), st.builds(lambda d: "." + d, digits(0, 5))),
    st.one_of(st.just(""), st.builds(lambda s, d: f"e{s}{d}", st.sampled_from(["", "-", "+"]),
                                     st.one_of(digits(1, 2), digits(3, 5)))))
date_text = st.one_of(
    st.dates(min_value=dt.date(1, 1, 1)).map(lambda d: f"{d.year:04d}-{d.month:02d}-{d.day:02d}"),
    st.builds(lambda y, m, d: f"{y}-{m}-{d}", digits(1, 4), digits(1, 2), digits(1, 2)),
    junk)
time_text = st.builds(
    lambda d, h, m, s, f, z: f"{d}T{h}:{m}:{s}{f}{z}", date_text, digits(2, 2), digits(2, 2),
    digits(2, 2), st.sampled_from(["", ".5", ".123456", ".1234567"]),
    st.sampled_from(["Z", "z", "+01:00", "-23:59", "+24:00", "", "+1:00"]))



def mostly(valid: st.SearchStrategy[str], *other: st.SearchStrategy[str]) -> st.SearchStrategy:
    """Valid-looking text most of the time, so whole rows are often valid."""
    return st.one_of(valid, valid, valid, valid, valid, valid, *other)


good_date = st.dates(min_value=dt.date(1, 1, 1)).map(
    lambda d: f"{d.year:04d}-{d.month:02d}-{d.day:02d}")
good_amount = st.decimals(min_value=-1_000_000, max_value=1_000_000, places=2,
                          allow_nan=False, allow_infinity=False).map(str)

TRANSACTION_CELLS = {
    "transaction_id": mostly(st.from_regex(r"TX[0-9]{10}", fullmatch=True),
                             st.text(alphabet="TX0123456789 ", max_size=13)),
    "account_id": mostly(st.from_regex(r"AC[0-9]{8}", fullmatch=True), junk, st.just("")),
    "transaction_date": mostly(good_date, date_text, st.just("")),
    "amount": mostly(good_amount, decimal_text, junk, st.just(""), st.sampled_from(
        ["0.07", "1000000", "1000000.00", "1000000.001", "-1000000.01", "1e6", "1.000",
         "12.345", "0.1e-1", "1E-3", "-0", ".5", "5.", "0e10000", "1e-10000", "5E+00002",
         "1e99999", "0.00e-99999", "1" + "0" * 45 + "e-45"])),
    "currency": mostly(st.sampled_from(["USD", "EUR", "JPY"]),
                       st.sampled_from(["XYZ", "usd", "", "EUR "]), junk),
    "merchant": mostly(st.text(max_size=5), st.text(min_size=99, max_size=102),
                       st.just("multi\nline")),
    "category": mostly(st.sampled_from(["dining", "travel", ""]),
                       st.sampled_from(["Dining", "x"]), junk),
}
SINK_CELLS = {
    "count": mostly(st.integers(-5, 999).map(lambda n: str(n - n % 3)),
                    st.integers(-10, 1010).map(str), junk, st.just(""),
                    st.sampled_from(["+3", "003", "9" * 19, "-" + "9" * 19, "1.0"])),
    "level": mostly(st.sampled_from(["1", "2", "3", "10", ""]),
                    st.integers(-1, 11).map(str), junk),
    "ratio": mostly(st.integers(1, 50).map(lambda n: str(Decimal(n) / 20)),
                    decimal_text, st.sampled_from(["0", "0.05", "2.5", "2.55", "0.10",
                                                   "1e-1", "2.50e0", "0.051"]), st.just("")),
    "score": mostly(decimal_text, st.sampled_from(["-1000", "-1000.0000001", "-1e3"]), junk),
    "flag": st.sampled_from(["true", "false", "true", "false", "", "True", "1"]),
    "when": mostly(st.datetimes(min_value=dt.datetime(1, 1, 2)).map(
        lambda d: d.isoformat(timespec="microseconds") + "Z"), time_text, st.just("")),
    "code": mostly(st.from_regex(r"[A-Z]{2}-[0-9]{1,5}", fullmatch=True),
                   st.from_regex(r"[A-Z]{2}-[0-9]{6,7}", fullmatch=True), junk, st.just("")),
    "tag": st.sampled_from(["a", "b", "c", "", "", "d", "A"]),
}


def verdict_fields(validator: RowValidator, rows: list[dict[str, str]],
                   columns: list[str]) -> list[set[str]]:
    table = pa.table({c: pa.array([r[c] for r in rows], pa.string()) for c in columns})
    verdict = validator.validate(table)
    found = [set() for _ in rows]
    for row, errors in verdict.reasons(table):
        found[row] = {e["field"] for e in errors}
    assert [not f for f in found] == verdict.valid.tolist()
    assert verdict.typed.num_rows == sum(not f for f in found)
    return found


def rows_strategy(cells: dict) -> st.SearchStrategy[list[dict[str, str]]]:
    return st.lists(st.fixed_dictionaries(cells), min_size=1, max_size=25)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=rows_strategy(TRANSACTION_CELLS))
def test_transactions_verdict_matches_jsonschema(rows: list[dict[str, str]]) -> None:
    oracle = Oracle(TRANSACTIONS)
    columns = list(TRANSACTION_CELLS)
    assert verdict_fields(RowValidator(TRANSACTIONS), rows, columns) == \
        [oracle.failing_fields(r) for r in rows]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=rows_strategy(SINK_CELLS))
def test_every_keyword_matches_jsonschema(rows: list[dict[str, str]]) -> None:
    oracle = Oracle(KITCHEN_SINK)
    columns = list(SINK_CELLS)
    assert verdict_fields(RowValidator(KITCHEN_SINK), rows, columns) == \
        [oracle.failing_fields(r) for r in rows]


def one(schema: dict, **cells: str) -> tuple[list[dict], dict]:
    validator = RowValidator(schema)
    table = pa.table({k: pa.array([v], pa.string()) for k, v in cells.items()})
    verdict = validator.validate(table)
    reasons = verdict.reasons(table)
    typed = verdict.typed.to_pylist()
    return (reasons[0][1] if reasons else []), (typed[0] if typed else {})


BASE = {"transaction_id": "TX0000000001", "account_id": "AC00000001",
        "transaction_date": "2024-03-05", "amount": "12.30", "currency": "EUR",
        "merchant": "Shop", "category": ""}


@pytest.mark.parametrize(("field", "text", "message"), [
    ("amount", "12.345", '"12.345" has more than 2 decimals'),
    ("amount", "-1000000.01", '"-1000000.01" is less than the minimum -1000000'),
    ("amount", "12,5", '"12,5" is not a number'),
    ("currency", "XYZ", '"XYZ" is not one of USD, EUR, GBP, JPY, CHF, CAD, AUD'),
    ("transaction_date", "2024-3-5", '"2024-3-5" is not a valid date (YYYY-MM-DD)'),
    ("transaction_date", "2024-02-30", '"2024-02-30" is not a valid date (YYYY-MM-DD)'),
    ("transaction_date", "0000-01-01", '"0000-01-01" is not a valid date (YYYY-MM-DD)'),
    ("transaction_id", "TX1", '"TX1" does not match ^TX[0-9]{10}$'),
    ("transaction_id", "TX0000000001\n", '"TX0000000001\\n" does not match ^TX[0-9]{10}$'),
    ("merchant", "x" * 101, "is longer than 100 characters"),
    ("currency", "", "a value is required"),
])
def test_reasons_name_the_value_and_the_rule(field: str, text: str, message: str) -> None:
    errors, _ = one(TRANSACTIONS, **{**BASE, field: text})
    assert len(errors) == 1 and errors[0]["field"] == field
    assert message in errors[0]["message"]


def test_valid_rows_are_coerced_to_typed_columns() -> None:
    errors, typed = one(TRANSACTIONS, **{**BASE, "amount": "0.07"})
    assert errors == []
    assert typed["amount"] == Decimal("0.07") and typed["category"] is None
    assert typed["transaction_date"] == dt.date(2024, 3, 5)
    schema = RowValidator(TRANSACTIONS).output_schema
    assert schema.field("amount").type == pa.decimal128(9, 2)
    assert schema.field("transaction_date").type == pa.date32()


def test_sink_types() -> None:
    errors, typed = one(KITCHEN_SINK, count="+6", ratio="2.50e0", flag="false",
                        when="2024-02-29T23:59:59.5+01:00", score="-1e3", level="10")
    assert errors == []
    assert typed["count"] == 6 and typed["level"] == 10 and typed["flag"] is False
    assert typed["ratio"] == 2.5 and typed["score"] == -1000.0
    assert typed["when"] == dt.datetime(2024, 2, 29, 22, 59, 59, 500000, tzinfo=dt.UTC)


def test_the_compiled_validator_is_cached_per_schema() -> None:
    assert compiled_validator(TRANSACTIONS) is compiled_validator(dict(TRANSACTIONS))
    assert compiled_validator(TRANSACTIONS) is not compiled_validator(KITCHEN_SINK)


def test_patterns_beyond_re2_still_work() -> None:
    schema = {"type": "object", "properties": {"x": {"type": "string",
                                                     "pattern": "^(?!bad)[a-z]+$"}}}
    assert one(schema, x="good")[0] == []
    assert one(schema, x="badly")[0][0]["field"] == "x"


amount_text = st.one_of(
    st.decimals(min_value=-1_000_000, max_value=1_000_000, places=2,
                allow_nan=False, allow_infinity=False).map(str),
    st.builds(lambda sign, whole, cents, zeros: f"{sign}{whole}.{cents}{'0' * zeros}",
              st.sampled_from(["", "+", "-"]), digits(1, 7), digits(0, 2),
              st.integers(0, 3)),
    st.sampled_from(["-0.00", "1e6", "-1E+6", "1.5e-1", "0.07", "999999.99", ".5", "7.",
                     "000012.340", "0.29", ""]),
)


@settings(max_examples=150, deadline=None)
@given(texts=st.lists(amount_text, min_size=1, max_size=30))
def test_valid_amounts_keep_their_exact_decimal_value(texts: list[str]) -> None:
    validator = RowValidator(TRANSACTIONS)
    rows = [{**BASE, "amount": text} for text in texts]
    table = pa.table({name: pa.array([r[name] for r in rows], pa.string()) for name in BASE})
    verdict = validator.validate(table)
    kept = [text for text, ok in zip(texts, verdict.valid.tolist(), strict=True) if ok]
    expected = [Decimal(text).quantize(Decimal("0.01")) if text.strip() else None
                for text in kept]
    assert verdict.typed.column("amount").to_pylist() == expected
