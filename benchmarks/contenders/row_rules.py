"""The row schema as engine-neutral checks, for the contenders that redo etlgen's
validation in another engine (DuckDB SQL, polars expressions).

Each engine turns every `Check` into its own expression through a table keyed by
`Check.kind`, so "the same validation" is one list built from the schema, not two
hand-written copies. The semantics are etlgen's (`handlers/value_text.py`): an empty field
is absent (an error only when the column is required, and then no other check runs), a
pattern is searched (not anchored unless it says so), a date is `YYYY-MM-DD` and a real
calendar date in years 0001-9999, a number is plain decimal text with an optional exponent,
`multipleOf` 10^-k means at most k decimals, bounds compare the number's value. Exponent
forms are decided on 64-bit floats here (etlgen decides them exactly; the benchmark's files
hold none).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from handlers.formats.format import stored_schema
from handlers.row_validator import RowValidator
from handlers.validation.date_kind import DATE_RE
from handlers.validation.decimals import decimal_places, to_decimal
from handlers.validation.integer_kind import INTEGER_RE
from handlers.validation.number_kind import NUMBER_RE
from handlers.validation.registry import column_type

BOUND_KINDS = ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum")
# The keywords checked on a present value of each type, in the order etlgen reports them;
# like etlgen, a keyword of the other type (a pattern on a number) is no check.
KEYWORD_CHECKS = {"string": ("format", "enum", "pattern", "minLength", "maxLength"),
                  "number": (*BOUND_KINDS, "multipleOf", "enum"),
                  "integer": (*BOUND_KINDS, "multipleOf", "enum")}
KNOWN = frozenset({"$comment", "title", "description", "examples", "type"}
                  | {k for keywords in KEYWORD_CHECKS.values() for k in keywords})
SYNTAX = {"number": NUMBER_RE, "integer": INTEGER_RE}


class UnsupportedRule(ValueError):
    """A schema construct the contenders do not redo (they would not do the same work)."""


@dataclass(frozen=True)
class Check:
    """Rows whose `column` fails this are invalid, for `reason`."""

    column: str
    kind: str  # required, syntax, date, enum, pattern, minLength, maxLength, a bound, decimals
    argument: Any
    reason: str
    needs_syntax: bool = False  # only decided on values that are numbers


@dataclass(frozen=True)
class Column:
    name: str
    output_type: pa.DataType  # what a valid value is stored as (etlgen's, as stored)
    checks: tuple[Check, ...]


def compile_rules(schema: dict[str, Any]) -> list[Column]:
    """One `Column` per schema property, in the schema's order."""
    required = set(schema.get("required", []))
    output = stored_schema(RowValidator(schema).output_schema)
    return [Column(name, output.field(name).type, tuple(_checks(name, spec, name in required)))
            for name, spec in schema["properties"].items()]


def _checks(name: str, spec: dict[str, Any], required: bool) -> list[Check]:
    kind, nullable = column_type(spec)
    unknown = set(spec) - KNOWN
    if nullable or kind == "boolean" or unknown or spec.get("format", "date") != "date":
        raise UnsupportedRule(f"column {name!r}: the contenders support string, number and "
                              "integer columns with format date, enum, pattern, lengths, "
                              f"bounds and multipleOf, not {sorted(unknown) or spec}")
    checks = [Check(name, "required", None, f"{name}: a value is required")] if required \
        else []
    if kind in SYNTAX:
        checks.append(Check(name, "syntax", SYNTAX[kind], f"{name}: is not a {kind}"))
    for keyword in KEYWORD_CHECKS[kind]:
        if keyword in spec:
            checks.append(_keyword_check(name, keyword, spec[keyword], kind))
    return checks


def _keyword_check(name: str, keyword: str, value: Any, kind: str) -> Check:
    if keyword == "format":
        return Check(name, "date", DATE_RE, f"{name}: is not a valid date (YYYY-MM-DD)")
    if keyword == "enum":
        if not all(isinstance(member, str) for member in value) or kind != "string":
            raise UnsupportedRule(f"column {name!r}: only enums of strings are supported")
        return Check(name, "enum", list(value), f"{name}: is not one of {', '.join(value)}")
    if keyword == "pattern":
        return Check(name, "pattern", value, f"{name}: does not match {value}")
    if keyword in ("minLength", "maxLength"):
        return Check(name, keyword, int(value), f"{name}: {keyword} {value}")
    if keyword in BOUND_KINDS:
        bound = to_decimal(value)
        return Check(name, keyword, float(bound), f"{name}: {keyword} {bound}",
                     needs_syntax=True)
    places = decimal_places(to_decimal(value))
    if places is None:
        raise UnsupportedRule(f"column {name!r}: multipleOf must be 1, 0.1, 0.01, ...")
    return Check(name, "decimals", places, f"{name}: has more than {places} decimals",
                 needs_syntax=True)
