"""The reference verdict for one row: jsonschema on the row as a JSON object.

Cell text becomes a JSON value by the documented rules (empty = absent, or null when the
column's type list allows "null"; integer/number/boolean grammars); numbers are Decimal (so
multipleOf 0.01 is exact) and the date formats are checked strictly.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from decimal import Decimal, localcontext
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "schemas" / "transactions.schema.json"
INTEGER = re.compile(r"^[+-]?[0-9]+$")
NUMBER = re.compile(r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$")
DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
DATETIME = re.compile(r"^([0-9]{4}-[0-9]{2}-[0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})"
                      r"(\.[0-9]{1,6})?([Zz]|[+-]([0-9]{2}):([0-9]{2}))$")

checker = FormatChecker(formats=())


@checker.checks("date")
def _is_date(value: object) -> bool:
    if not isinstance(value, str) or not DATE.match(value):
        return not isinstance(value, str)
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


@checker.checks("date-time")
def _is_datetime(value: object) -> bool:
    if not isinstance(value, str):
        return True
    match = DATETIME.match(value)
    if not match:
        return False
    if not _is_date(match.group(1)):
        return False
    hour, minute, second = (int(match.group(i)) for i in (2, 3, 4))
    if hour > 23 or minute > 59 or second > 59:
        return False
    zone = match.group(7)
    return zone is None or (int(zone) <= 23 and int(match.group(8)) <= 59)


def load_schema(path: Path = SCHEMA_PATH) -> dict[str, Any]:
    return json.loads(path.read_text(), parse_float=Decimal)


def decimal_schema(value: Any) -> Any:
    """Floats become exact Decimals (0.01 stays 0.01)."""
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: decimal_schema(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decimal_schema(v) for v in value]
    return value


def base_type(spec: dict[str, Any]) -> Any:
    """A column's type without "null" (`["number", "null"]` -> `"number"`)."""
    kind = spec.get("type")
    if isinstance(kind, list):
        return next((k for k in kind if k != "null"), None)
    return kind


def instance(fields: dict[str, str], schema: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for name, text in fields.items():
        kind = schema["properties"].get(name, {}).get("type")
        nullable = isinstance(kind, list) and "null" in kind
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), None)
        if text == "":
            if nullable:
                row[name] = None
            continue
        if kind == "integer" and INTEGER.match(text) and -(2**63) <= int(text) < 2**63:
            row[name] = int(text)
        elif kind == "number" and NUMBER.match(text):
            row[name] = Decimal(text)
        elif kind == "boolean" and text in ("true", "false"):
            row[name] = text == "true"
        else:
            row[name] = text
    return row


def decimal_column_digits(spec: dict[str, Any]) -> tuple[int, int] | None:
    """(precision, scale) of the decimal column a number is stored in (docs/architecture.md:
    `multipleOf` 10^-k gives decimal128 with k places, bounds give the precision)."""
    spec = decimal_schema(spec)
    divisor = spec.get("multipleOf")
    if base_type(spec) != "number" or divisor is None:
        return None
    exponent = Decimal(divisor).normalize().as_tuple()
    if exponent.digits != (1,) or not -37 <= exponent.exponent <= 0:
        return None
    scale = -exponent.exponent
    lows = [spec[k] for k in ("minimum", "exclusiveMinimum") if k in spec]
    highs = [spec[k] for k in ("maximum", "exclusiveMaximum") if k in spec]
    if not lows or not highs:
        return 38, scale
    largest = max(abs(Decimal(v)) for v in lows + highs)
    digits = len(str(int(largest))) if largest >= 1 else 1
    return max(scale + 1, min(38, digits + scale)), scale


def beyond_the_column(spec: dict[str, Any], value: Any) -> bool:
    """The documented extra rule: a number the output column cannot hold (beyond the 64-bit
    float range, or too large for decimal(38, scale)) is rejected instead of changed."""
    if base_type(spec) != "number" or not isinstance(value, Decimal):
        return False
    digits = decimal_column_digits(spec)
    if digits is None:
        return math.isinf(float(value))
    precision, scale = digits
    return precision == 38 and value.copy_abs() >= Decimal(10) ** (38 - scale)


class Oracle:
    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = decimal_schema(schema)
        self.validator = Draft202012Validator(self.schema, format_checker=checker)

    def failing_fields(self, fields: dict[str, str]) -> set[str]:
        failing = set()
        with localcontext() as context:
            # exact `multipleOf` for exponents up to 5 digits (1E200 % 0.01 needs 203 digits)
            context.prec = 200_000
            row = instance(fields, self.schema)
            for error in self.validator.iter_errors(row):
                if error.validator == "required":
                    failing.add(error.message.split("'")[1])
                else:
                    failing.add(str(error.path[0]))
            for name, value in row.items():
                if beyond_the_column(self.schema["properties"].get(name, {}), value):
                    failing.add(name)
        return failing
