"""The row schema compiled into column checks that run on whole pyarrow columns at once.

`compiled_validator(schema)` builds it once per container (cached by schema hash).
`RowValidator.validate(table)` takes the parsed chunk (every column a string column, the
empty text meaning "absent", or null in a nullable column) and gives, per row, whether it is
valid, the failing fields with a human reason each, and the valid rows coerced to typed
columns.

The verdict matches JSON Schema (draft 2020-12) applied to the row as an object whose values
are converted per `handlers.value_text`: a field fails when any keyword fails. Numeric
keywords use exact decimal arithmetic; rare cases that cannot be decided on floats (a value
equal to a bound after rounding, exponents, unusual `multipleOf`) are decided exactly in
Python on the distinct values only.
"""

from __future__ import annotations

import math
import os
import re
import sys
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from handlers.fixed_width import fixed_shape, matches_shape, parse_dates, single_array
from handlers.row_schema_keywords import column_kind
from handlers.schema_file import schema_sha256
from handlers.value_text import (
    BOOLEAN_TEXTS,
    DATE_RE,
    DATETIME_RE,
    INT64_MAX,
    INT64_MIN,
    INTEGER_RE,
    NUMBER_RE,
    days_from_civil,
    decimal_places,
    is_multiple,
    number_text,
    show,
    to_decimal,
    valid_dates,
)

Message = Callable[[str], str]
BOUND_KEYWORDS = ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum")


@dataclass
class Failure:
    """One check of one column: which rows fail it and how to word it."""

    column: str
    mask: np.ndarray
    message: Message


def _np(values: Any) -> np.ndarray:
    """A boolean pyarrow result as a numpy array (nulls count as False)."""
    if isinstance(values, (pa.ChunkedArray, pa.Array)):
        values = pc.fill_null(values, False)
        return np.asarray(values.to_numpy(zero_copy_only=False), dtype=bool)
    return np.asarray(values, dtype=bool)


def _matches(values: pa.ChunkedArray, pattern: str) -> np.ndarray:
    return _np(pc.match_substring_regex(values, pattern))


def _python_bad(values: pa.ChunkedArray, rows: np.ndarray,
                is_bad: Callable[[str], bool]) -> np.ndarray:
    """Decide `is_bad` once per distinct text among `rows` (exact, but not vectorized)."""
    if not rows.any():
        return np.zeros(len(values), bool)
    distinct = pc.unique(values.filter(pa.array(rows))).to_pylist()
    bad = [text for text in distinct if is_bad(text)]
    if not bad:
        return np.zeros(len(values), bool)
    return rows & _np(pc.is_in(values, value_set=pa.array(bad, pa.string())))


def _with_nulls_for_empty(values: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """"" becomes null. A validity bitmap laid over the same offsets and bytes: no copy of
    the text (a column without empty values comes back as it is)."""
    if isinstance(values, pa.ChunkedArray):
        return pa.chunked_array([_with_nulls_for_empty(chunk) for chunk in values.chunks],
                                values.type)
    if values.type not in (pa.string(), pa.large_string()) or values.null_count \
            or values.offset:
        return pc.if_else(pc.equal(values, ""), pa.scalar(None, values.type), values)
    present = pc.not_equal(pc.binary_length(values), 0)
    if pc.all(present).as_py() is not False:
        return values
    return pa.Array.from_buffers(values.type, len(values),
                                 [present.buffers()[1], *values.buffers()[1:]])


@dataclass
class ColumnRule:
    """One schema property, compiled."""

    name: str
    spec: dict[str, Any]
    required: bool
    output_type: pa.DataType = field(init=False)

    def __post_init__(self) -> None:
        self.kind, self.nullable = column_kind(self.spec)
        self.output_type = self._output_type()
        pattern = self.spec.get("pattern")
        self.shape = fixed_shape(pattern) if isinstance(pattern, str) else None

    # ----- output types -------------------------------------------------------------
    def _decimal_scale(self) -> int | None:
        if self.kind != "number" or "multipleOf" not in self.spec:
            return None
        places = decimal_places(to_decimal(self.spec["multipleOf"]))
        return places if places is not None and places <= 37 else None

    def _decimal_precision(self, scale: int) -> int:
        lows = [self.spec[k] for k in ("minimum", "exclusiveMinimum") if k in self.spec]
        highs = [self.spec[k] for k in ("maximum", "exclusiveMaximum") if k in self.spec]
        if not lows or not highs:
            return 38
        largest = max(abs(to_decimal(v)) for v in lows + highs)
        digits = len(str(int(largest))) if largest >= 1 else 1
        return max(scale + 1, min(38, digits + scale))

    def _output_type(self) -> pa.DataType:
        if self.kind == "integer":
            return pa.int64()
        if self.kind == "boolean":
            return pa.bool_()
        if self.kind == "number":
            scale = self._decimal_scale()
            if scale is None:
                return pa.float64()
            return pa.decimal128(self._decimal_precision(scale), scale)
        fmt = self.spec.get("format")
        if fmt == "date":
            return pa.date32()
        if fmt == "date-time":
            return pa.timestamp("us", tz="UTC")
        return pa.string()

    # ----- checks --------------------------------------------------------------------
    def check(self, values: pa.ChunkedArray,
              present: np.ndarray) -> tuple[list[Failure], pa.Array | None]:
        """The failures, and the typed column for every row when checking already made it."""
        failures: list[Failure] = []
        if self.required and not self.nullable:  # a nullable column's empty field is null
            failures.append(Failure(self.name, ~present, lambda _t: "a value is required"))
        checker = {"string": self._check_string, "integer": self._check_integer,
                   "number": self._check_number, "boolean": self._check_boolean}[self.kind]
        typed: dict[str, pa.Array] = {}
        for mask, message in checker(values, present, typed):
            failures.append(Failure(self.name, mask & present, message))
        return failures, typed.get("all_rows")

    def _enum_members(self, accept: Callable[[Any], bool]) -> list[Any] | None:
        if "enum" not in self.spec:
            return None
        return [m for m in self.spec["enum"] if accept(m)]

    def _enum_message(self) -> Message:
        listed = ", ".join(m if isinstance(m, str) else _json_text(m) for m in self.spec["enum"])
        return lambda t: f"{show(t)} is not one of {listed}"

    def _check_string(self, values: pa.ChunkedArray, present: np.ndarray,
                      typed: dict[str, pa.Array]) -> Iterable[tuple[np.ndarray, Message]]:
        fmt = self.spec.get("format")
        if fmt == "date":
            ok, days = parse_dates(values)
            typed["all_rows"] = _typed_or_null(days, ~(ok & present), pa.date32())
            yield ~ok, lambda t: f"{show(t)} is not a valid date (YYYY-MM-DD)"
        elif fmt == "date-time":
            ok, micros = parse_datetimes(values)
            typed["all_rows"] = _typed_or_null(micros, ~(ok & present), self.output_type)
            yield ~ok, lambda t: (f"{show(t)} is not a valid date-time "
                                  "(YYYY-MM-DDTHH:MM:SS[.ffffff] with Z or +HH:MM)")
        members = self._enum_members(lambda m: isinstance(m, str))
        if members is not None:
            inside = _np(pc.is_in(values, value_set=pa.array(members, pa.string())))
            yield ~inside, self._enum_message()
        if "pattern" in self.spec:
            pattern = self.spec["pattern"]
            yield ~self._pattern_matches(values, present, pattern), \
                lambda t: f"{show(t)} does not match {pattern}"
        if "minLength" in self.spec or "maxLength" in self.spec:
            lengths = np.asarray(pc.utf8_length(values).to_numpy(), dtype=np.int64)
            if "minLength" in self.spec:
                low = int(self.spec["minLength"])
                yield lengths < low, \
                    lambda t: f"{show(t)} is shorter than {low} character{_s(low)}"
            if "maxLength" in self.spec:
                high = int(self.spec["maxLength"])
                yield lengths > high, \
                    lambda t: f"{show(t)} is longer than {high} character{_s(high)}"

    def _pattern_matches(self, values: pa.ChunkedArray, present: np.ndarray,
                         pattern: str) -> np.ndarray:
        if self.shape is not None:
            return matches_shape(values, self.shape)
        try:
            return _matches(values, pattern)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            compiled = re.compile(pattern)  # beyond RE2: decide per distinct value
            return ~_python_bad(values, present, lambda t: compiled.search(t) is None)

    def _check_integer(self, values: pa.ChunkedArray, present: np.ndarray,
                       typed: dict[str, pa.Array]) -> Iterable[tuple[np.ndarray, Message]]:
        syntax = _matches(values, INTEGER_RE)
        long = syntax & (np.asarray(pc.utf8_length(values).to_numpy()) > 18)
        overflow = _python_bad(values, long, lambda t: not INT64_MIN <= int(t) <= INT64_MAX)
        ok = syntax & ~overflow
        yield ~syntax, lambda t: f"{show(t)} is not an integer"
        yield overflow, lambda t: f"{show(t)} is outside the 64-bit integer range"
        checked = present & ok
        if not checked.any():
            return
        ints = _as_int64(values, ok)
        for keyword in BOUND_KEYWORDS:
            if keyword in self.spec:
                bound = to_decimal(self.spec[keyword])
                yield checked & _int_breaks_bound(ints, keyword, bound), \
                    _bound_message(keyword, bound)
        if "multipleOf" in self.spec:
            divisor = to_decimal(self.spec["multipleOf"])
            if divisor == divisor.to_integral_value() and divisor <= INT64_MAX:
                bad = checked & (ints % int(divisor) != 0)
            else:
                bad = _python_bad(values, checked,
                                  lambda t: not is_multiple(Decimal(t), divisor))
            yield bad, _multiple_message(divisor)
        members = self._enum_members(_is_json_number)
        if members is not None:
            wanted = [int(m) for m in members
                      if to_decimal(m) == to_decimal(m).to_integral_value()
                      and INT64_MIN <= int(m) <= INT64_MAX]
            inside = np.isin(ints, np.asarray(wanted, np.int64)) if wanted else \
                np.zeros(len(ints), bool)
            yield checked & ~inside, self._enum_message()

    def _plain_number_pattern(self, places: int | None) -> str:
        """Plain decimals (no exponent) with at most `places` significant decimals."""
        if places is None:
            return r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$"
        fraction = rf"[0-9]{{0,{places}}}0*"
        leading_dot = rf"\.(?:[0-9]{{1,{places}}}0*|0+)" if places else r"\.0+"
        return rf"^[+-]?(?:[0-9]+(?:\.{fraction})?|{leading_dot})$"

    def _check_number(self, values: pa.ChunkedArray, present: np.ndarray,
                      typed: dict[str, pa.Array]) -> Iterable[tuple[np.ndarray, Message]]:
        divisor = to_decimal(self.spec["multipleOf"]) if "multipleOf" in self.spec else None
        places = decimal_places(divisor) if divisor is not None else None
        # One pass settles the common case; the other rows are looked at closely.
        plain = _matches(values, self._plain_number_pattern(places))
        rest = np.flatnonzero(present & ~plain)
        ok = plain.copy()
        not_multiple = np.zeros(len(values), bool)
        if rest.size:
            subset = values.take(pa.array(rest))
            subset_ok = _matches(subset, NUMBER_RE)
            ok[rest] = subset_ok
            if places is not None:
                not_multiple[rest] = _number_not_multiple(subset, subset_ok, divisor)
        if divisor is not None and places is None:
            not_multiple = _number_not_multiple(values, present & ok, divisor)
        yield ~ok, lambda t: f"{show(t)} is not a number"
        checked = present & ok
        if not checked.any():
            return
        floats = _as_float64(values, ok)
        decimals = _decimals_from_floats(floats, ~checked, self.output_type)
        if decimals is not None:
            typed["all_rows"] = decimals
        for keyword in BOUND_KEYWORDS:
            if keyword in self.spec:
                bound = to_decimal(self.spec[keyword])
                yield _number_breaks_bound(values, floats, checked, keyword, bound), \
                    _bound_message(keyword, bound)
        if divisor is not None:
            yield not_multiple, _multiple_message(divisor)
        members = self._enum_members(_is_json_number)
        if members is not None:
            allowed = {to_decimal(m) for m in members}
            yield _python_bad(values, checked, lambda t: Decimal(t) not in allowed), \
                self._enum_message()
        if self.output_type == pa.float64():
            yield checked & ~np.isfinite(floats), \
                lambda t: f"{show(t)} is beyond the range of a 64-bit float"
        if isinstance(self.output_type, pa.Decimal128Type) and self.output_type.precision == 38:
            limit = Decimal(10) ** (38 - self.output_type.scale)
            near = checked & (np.abs(floats) >= float(limit) * (1 - 1e-12))
            yield _python_bad(values, near, lambda t: Decimal(t).copy_abs() >= limit), \
                lambda t: f"{show(t)} does not fit a decimal(38, {self.output_type.scale})"

    def _check_boolean(self, values: pa.ChunkedArray, present: np.ndarray,
                       typed: dict[str, pa.Array]) -> Iterable[tuple[np.ndarray, Message]]:
        ok = _np(pc.is_in(values, value_set=pa.array(list(BOOLEAN_TEXTS))))
        yield ~ok, lambda t: f"{show(t)} is not true or false"
        members = self._enum_members(lambda m: isinstance(m, bool))
        if members is not None:
            allowed = ["true" if m else "false" for m in members]
            inside = _np(pc.is_in(values, value_set=pa.array(allowed, pa.string())))
            yield ok & ~inside, self._enum_message()

    # ----- typed output --------------------------------------------------------------
    def convert(self, values: pa.ChunkedArray) -> pa.ChunkedArray | pa.Array:
        """Typed column from valid texts ("" becomes null)."""
        texts = _with_nulls_for_empty(values)
        if self.kind == "integer":
            return pc.cast(pc.utf8_ltrim(texts, "+"), pa.int64())
        if self.kind == "number":
            return _to_number_column(texts, self.output_type)
        if self.kind == "boolean":
            return pc.equal(texts, "true")
        fmt = self.spec.get("format")
        if fmt == "date":
            _, days = parse_dates(values)
            return _typed_or_null(days, _np(pc.equal(values, "")), pa.date32())
        if fmt == "date-time":
            _, micros = parse_datetimes(values)
            return _typed_or_null(micros, _np(pc.equal(values, "")), self.output_type)
        return texts


def _to_number_column(texts: pa.ChunkedArray, output_type: pa.DataType) -> pa.Array:
    """Arrow refuses exponents it cannot fit a decimal's precision (`0e40`) and texts of
    more than 38 digits (`1.000...0`), and crashes on some huge exponents: those few valid
    values are converted exactly in Python (they fit the column, or they would not be valid)."""
    if not isinstance(output_type, pa.Decimal128Type):
        return pc.cast(texts, output_type)
    exponent = _matches(texts, "[eE]") | \
        (np.asarray(pc.fill_null(pc.utf8_length(texts), 0).to_numpy()) > 38)
    if not exponent.any():
        return pc.cast(texts, output_type)
    mask = pa.array(exponent)
    plain = pc.cast(single_array(pc.if_else(mask, "0", texts)), output_type)
    step = Decimal(1).scaleb(-output_type.scale)
    with localcontext() as context:
        context.prec = 100
        exact = [Decimal(text).quantize(step)
                 for text in single_array(texts).filter(mask).to_pylist()]
    return pc.replace_with_mask(plain, mask, pa.array(exact, output_type))


EXACT_FLOAT_LIMIT = 2.0 ** 50


def _decimals_from_floats(floats: np.ndarray, null: np.ndarray,
                          output_type: pa.DataType) -> pa.Array | None:
    """The decimal column straight from the floats already parsed, for the valid rows.

    Valid rows are multiples of 10^-scale, so value * 10^scale is a whole number; while it
    stays far below 2^53 the float's relative error (about 2^-52) cannot move it by 0.5, and
    rounding gives the exact unscaled integer. Larger values (or any doubt) return None, and
    the column is then cast from the text.
    """
    if not isinstance(output_type, pa.Decimal128Type) or output_type.scale > 15 \
            or sys.byteorder != "little":
        return None
    scaled = floats * float(10 ** output_type.scale)
    scaled[null] = 0.0
    if scaled.size and not float(np.max(np.abs(scaled))) < EXACT_FLOAT_LIMIT:
        return None
    if 10.0 ** output_type.precision <= EXACT_FLOAT_LIMIT and scaled.size and \
            float(np.max(np.abs(scaled))) >= 10.0 ** output_type.precision:
        return None
    low = np.rint(scaled).astype(np.int64)
    words = np.empty((low.size, 2), np.int64)  # little-endian 128-bit two's complement
    words[:, 0] = low
    words[:, 1] = low >> 63
    validity = pa.array(~null).buffers()[1] if null.any() else None
    return pa.Array.from_buffers(output_type, low.size, [validity, pa.py_buffer(words)])


def _typed_or_null(numbers: np.ndarray, null: np.ndarray,
                   output_type: pa.DataType) -> pa.Array:
    storage = pa.int32() if output_type == pa.date32() else pa.int64()
    array = pa.array(numbers.astype(storage.to_pandas_dtype()), type=storage, mask=null)
    return array.cast(output_type)


def _s(count: int) -> str:
    return "" if count == 1 else "s"


def _json_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, float):
        return number_text(to_decimal(value))
    return str(value)


def _is_json_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _as_int64(values: pa.ChunkedArray, ok: np.ndarray) -> np.ndarray:
    texts = pc.if_else(pa.array(ok), values, "0")
    return np.asarray(pc.cast(pc.utf8_ltrim(texts, "+"), pa.int64()).to_numpy(), np.int64)


def _as_float64(values: pa.ChunkedArray, ok: np.ndarray) -> np.ndarray:
    texts = pc.if_else(pa.array(ok), values, "0")
    return np.asarray(pc.cast(texts, pa.float64()).to_numpy(), np.float64)


def _int_breaks_bound(ints: np.ndarray, keyword: str, bound: Decimal) -> np.ndarray:
    """Exact for integers: compare with the bound rounded the right way."""
    floor, ceil = math.floor(bound), math.ceil(bound)
    if keyword == "minimum":
        low = ceil
        return ints < low if INT64_MIN < low <= INT64_MAX else np.full(ints.size, low > INT64_MAX)
    if keyword == "exclusiveMinimum":
        low = floor + 1
        return ints < low if INT64_MIN < low <= INT64_MAX else np.full(ints.size, low > INT64_MAX)
    if keyword == "maximum":
        high = floor
        return ints > high if INT64_MIN <= high < INT64_MAX else \
            np.full(ints.size, high < INT64_MIN)
    high = ceil - 1
    return ints > high if INT64_MIN <= high < INT64_MAX else np.full(ints.size, high < INT64_MIN)


_EXACT_BOUND: dict[str, Callable[[Decimal, Decimal], bool]] = {
    "minimum": lambda v, b: v < b,
    "exclusiveMinimum": lambda v, b: v <= b,
    "maximum": lambda v, b: v > b,
    "exclusiveMaximum": lambda v, b: v >= b,
}


def _number_breaks_bound(values: pa.ChunkedArray, floats: np.ndarray, checked: np.ndarray,
                         keyword: str, bound: Decimal) -> np.ndarray:
    """Floats decide every value that rounds away from the bound; ties are settled exactly."""
    limit = float(bound)
    bad = floats < limit if keyword in ("minimum", "exclusiveMinimum") else floats > limit
    tie = checked & (floats == limit)
    breaks = _EXACT_BOUND[keyword]
    exact = _python_bad(values, tie, lambda t: breaks(Decimal(t), bound))
    return (checked & bad) | exact


def _number_not_multiple(values: pa.ChunkedArray, checked: np.ndarray,
                         divisor: Decimal) -> np.ndarray:
    places = decimal_places(divisor)
    if places is None:
        return _python_bad(values, checked, lambda t: not is_multiple(Decimal(t), divisor))
    exponent = checked & _matches(values, "[eE]")
    plain = checked & ~exponent
    has_dot = _matches(values, r"\.")
    fraction_ok = _matches(values, rf"\.[0-9]{{0,{places}}}0*$")
    bad = plain & has_dot & ~fraction_ok
    return bad | _python_bad(values, exponent, lambda t: not is_multiple(Decimal(t), divisor))


def _bound_message(keyword: str, bound: Decimal) -> Message:
    text = number_text(bound)
    wording = {"minimum": f"is less than the minimum {text}",
               "exclusiveMinimum": f"is not greater than {text}",
               "maximum": f"is greater than the maximum {text}",
               "exclusiveMaximum": f"is not less than {text}"}[keyword]
    return lambda t: f"{show(t)} {wording}"


def _multiple_message(divisor: Decimal) -> Message:
    places = decimal_places(divisor)
    if places == 0:
        return lambda t: f"{show(t)} is not a whole number"
    if places is not None:
        return lambda t: f"{show(t)} has more than {places} decimal{_s(places)}"
    text = number_text(divisor)
    return lambda t: f"{show(t)} is not a multiple of {text}"


def _int_field(parts: pa.StructArray | pa.ChunkedArray, name: str) -> np.ndarray:
    column = pc.fill_null(pc.struct_field(parts, name), "0")
    column = pc.if_else(pc.equal(column, ""), "0", column)
    return np.asarray(pc.cast(column, pa.int64()).to_numpy(), np.int64)


def parse_datetimes(values: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """(is a valid RFC 3339 date-time, microseconds since the epoch in UTC) per row."""
    parts = pc.extract_regex(values, DATETIME_RE)
    shaped = _np(pc.is_valid(parts))
    year, month, day, hour, minute, second, zone_h, zone_m = (
        _int_field(parts, k) for k in ("y", "m", "d", "H", "M", "S", "zh", "zm"))
    fraction = pc.fill_null(pc.struct_field(parts, "f"), "")
    micros = np.asarray(pc.cast(pc.utf8_rpad(fraction, 6, "0"), pa.int64()).to_numpy(), np.int64)
    negative = _np(pc.equal(pc.fill_null(pc.struct_field(parts, "zs"), ""), "-"))
    ok = (shaped & valid_dates(year, month, day) & (hour <= 23) & (minute <= 59)
          & (second <= 59) & (zone_h <= 23) & (zone_m <= 59))
    days = days_from_civil(np.where(ok, year, 1970), np.where(ok, month, 1),
                           np.where(ok, day, 1))
    offset = (zone_h * 60 + zone_m) * np.where(negative, -1, 1)
    seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset * 60
    return ok, np.where(ok, seconds * 1_000_000 + micros, 0)


@dataclass
class Verdict:
    """The outcome for one parsed chunk."""

    valid: np.ndarray
    failures: list[Failure]
    typed: pa.Table

    @property
    def rows_valid(self) -> int:
        return int(self.valid.sum())

    def reasons(self, table: pa.Table) -> list[tuple[int, list[dict[str, str]]]]:
        """(row index, [{"field", "message"}]) for every invalid row, in row order."""
        rows = np.flatnonzero(~self.valid)
        if rows.size == 0:
            return []
        found: dict[int, dict[str, list[str]]] = {int(r): {} for r in rows}
        taken: dict[str, list[str]] = {}
        for failure in self.failures:
            hits = failure.mask[rows]
            if not hits.any():
                continue
            if failure.column not in taken:
                taken[failure.column] = table.column(failure.column).take(
                    pa.array(rows)).to_pylist()
            texts = taken[failure.column]
            for position in np.flatnonzero(hits).tolist():
                messages = found[int(rows[position])].setdefault(failure.column, [])
                messages.append(failure.message(texts[position]))
        return [(row, [{"field": name, "message": "; ".join(messages)}
                       for name, messages in fields.items()])
                for row, fields in found.items()]


class RowValidator:
    """The row schema, compiled."""

    def __init__(self, schema: dict[str, Any]) -> None:
        required = set(schema.get("required", []))
        self.schema = schema
        self.rules = [ColumnRule(name, spec, name in required)
                      for name, spec in schema["properties"].items()]
        # every output column is nullable: an empty field is absent (or null) in any column
        self.output_schema = pa.schema([pa.field(r.name, r.output_type, nullable=True)
                                        for r in self.rules])

    @property
    def columns(self) -> list[str]:
        return [rule.name for rule in self.rules]

    @property
    def dictionary_columns(self) -> list[str]:
        """Columns whose values repeat by design (enums, booleans)."""
        return [rule.name for rule in self.rules
                if "enum" in rule.spec or rule.kind == "boolean"]

    @property
    def required(self) -> list[str]:
        return [rule.name for rule in self.rules if rule.required]

    def validate(self, table: pa.Table, *, parallel: bool = True) -> Verdict:
        """`parallel=False` when the caller already runs pieces side by side."""
        rows = table.num_rows
        failures: list[Failure] = []
        typed_all: dict[str, pa.Array] = {}

        def check(rule: ColumnRule) -> tuple[list[Failure], pa.Array | None]:
            values = table.column(rule.name)
            return rule.check(values, ~_np(pc.equal(values, "")))

        present_rules = [rule for rule in self.rules if rule.name in table.column_names]
        # pyarrow kernels release the GIL: columns are checked side by side
        side_by_side = parallel and rows > 50_000
        results = list(_POOL.map(check, present_rules)) if side_by_side else \
            [check(rule) for rule in present_rules]
        for rule, (found, typed) in zip(present_rules, results, strict=True):
            failures.extend(found)
            if typed is not None:
                typed_all[rule.name] = typed
        for rule in self.rules:
            if rule.name not in table.column_names and rule.required:
                failures.append(Failure(rule.name, np.ones(rows, bool),
                                        lambda _t: "a value is required"))
        invalid = np.zeros(rows, bool)
        for failure in failures:
            invalid |= failure.mask
        valid = ~invalid
        return Verdict(valid=valid, failures=failures,
                       typed=self._typed(table, valid, typed_all))

    def _typed(self, table: pa.Table, valid: np.ndarray,
               typed_all: dict[str, pa.Array]) -> pa.Table:
        keep = pa.array(valid)
        everything = bool(valid.all())
        columns = []
        for rule in self.rules:  # one column at a time: a smaller peak of memory
            if rule.name in typed_all:
                column = typed_all[rule.name]
                column = column if everything else column.filter(keep)
            elif rule.name in table.column_names:
                texts = table.column(rule.name)
                column = rule.convert(texts if everything else texts.filter(keep))
            else:
                column = pa.nulls(int(valid.sum()), rule.output_type)
            columns.append(column)
        return pa.Table.from_arrays(columns, schema=self.output_schema)


_CACHE: dict[str, RowValidator] = {}
_POOL = ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2),
                           thread_name_prefix="column-check")


def compiled_validator(schema: dict[str, Any]) -> RowValidator:
    """One compiled validator per distinct schema per container."""
    key = schema_sha256(schema)
    validator = _CACHE.get(key)
    if validator is None:
        validator = _CACHE[key] = RowValidator(schema)
    return validator


def warm_up() -> None:
    """The first pyarrow string kernel call in a process is slow: pay it at init."""
    sample = pa.chunked_array([["TX0000000001", "2024-01-31", "12.30", ""]])
    pc.match_substring_regex(sample, r"^TX[0-9]{10}$")
    pc.extract_regex(sample, DATE_RE)
    pc.utf8_length(sample)
    pc.is_in(sample, value_set=pa.array(["USD"]))
    pc.cast(pc.if_else(pc.equal(sample, ""), "0", "1"), pa.float64())
