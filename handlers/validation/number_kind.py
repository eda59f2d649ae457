"""`"type": "number"`: `[+-]?(digits[.digits*] | .digits)` with an optional exponent
`[eE][+-]?digits` of any length, so every JSON number is a number (`0e10000`, `1E-400`),
plus three extras JSON does not have and that are kept on purpose: a leading `+` (`+5`), a
leading or trailing dot (`.5`, `5.`) and leading zeros (`007`). The value is the exact
decimal the text spells; checks on it are exact for any exponent.

Output: decimal128 when `multipleOf` is 10^-k (k <= 37), its precision from the bounds
(38 without both), else float64. A value the column cannot hold is rejected, not changed:
beyond the 64-bit float range for a float column, 10^(38-scale) or more for a
decimal(38, scale) column.
"""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

import numpy as np
import pyarrow as pa

from handlers.validation.decimal_text import written_with_places
from handlers.validation.decimals import decimal_places, to_decimal
from handlers.validation.kernels import (
    enum_members,
    matches,
    python_bad,
    rows_taken,
    with_nulls_for_empty,
)
from handlers.validation.keywords import BOUND_KEYWORDS, NUMERIC_KEYWORDS
from handlers.validation.kind import Checked, ColumnKind, Mask
from handlers.validation.messages import bound_message, enum_message, multiple_message, worded
from handlers.validation.numeric import (
    as_float64,
    decimals_from_floats,
    is_json_number,
    number_breaks_bound,
    number_not_multiple,
    to_number_column,
)

NUMBER_RE = r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$"


def plain_number_pattern(places: int | None) -> str:
    """Plain decimals (no exponent) with at most `places` significant decimals."""
    if places is None:
        return r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$"
    fraction = rf"[0-9]{{0,{places}}}0*"
    leading_dot = rf"\.(?:[0-9]{{1,{places}}}0*|0+)" if places else r"\.0+"
    return rf"^[+-]?(?:[0-9]+(?:\.{fraction})?|{leading_dot})$"


def plain_numbers(values: pa.ChunkedArray, places: int | None) -> Mask:
    """Per row: `plain_number_pattern(places)` matches. The values written the usual way,
    with exactly `places` decimals, are told from the bytes (`written_with_places`); only
    the others go through the regex."""
    pattern = plain_number_pattern(places)
    if places is None:
        return matches(values, pattern)
    found = written_with_places(values, places)
    rest = np.flatnonzero(~found)
    if rest.size:
        found[rest] = matches(rows_taken(values, rest), pattern)
    return found


class NumberKind(ColumnKind):
    name: ClassVar[str] = "number"
    json_type: ClassVar[str] = "number"
    keywords: ClassVar[frozenset[str]] = NUMERIC_KEYWORDS

    def arrow_type(self) -> pa.DataType:
        scale = self._decimal_scale()
        if scale is None:
            return pa.float64()
        return pa.decimal128(self._decimal_precision(scale), scale)

    def _decimal_scale(self) -> int | None:
        if "multipleOf" not in self.spec:
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

    def check(self, values: pa.ChunkedArray, present: Mask) -> Checked:
        spec, checked, output_type = self.spec, Checked(), self.output_type
        divisor = to_decimal(spec["multipleOf"]) if "multipleOf" in spec else None
        places = decimal_places(divisor) if divisor is not None else None
        # One pass settles the common case; the other rows are looked at closely.
        plain = plain_numbers(values, places)
        rest = np.flatnonzero(present & ~plain)
        ok = plain.copy()
        not_multiple = np.zeros(len(values), bool)
        if rest.size:
            subset = rows_taken(values, rest)
            subset_ok = matches(subset, NUMBER_RE)
            ok[rest] = subset_ok
            if divisor is not None and places is not None:
                not_multiple[rest] = number_not_multiple(subset, subset_ok, divisor)
        if divisor is not None and places is None:
            not_multiple = number_not_multiple(values, present & ok, divisor)
        checked.fail(~ok, worded("is not a number"), "type")
        rows = present & ok
        if not rows.any():
            return checked
        floats = as_float64(values, ok)
        within = rows.copy()
        for keyword in BOUND_KEYWORDS:
            if keyword in spec:
                bound = to_decimal(spec[keyword])
                breaks = number_breaks_bound(values, floats, rows, keyword, bound)
                checked.fail(breaks, bound_message(keyword, bound), keyword)
                within &= ~breaks
        # from the rows within the bounds only: a value far out of them (rejected anyway)
        # would otherwise send the whole column down the slower cast from text
        checked.typed = decimals_from_floats(floats, ~within, output_type)
        if divisor is not None:
            checked.fail(not_multiple, multiple_message(divisor), "multipleOf")
        members = enum_members(spec, is_json_number)
        if members is not None:
            allowed = {to_decimal(m) for m in members}
            checked.fail(python_bad(values, rows, lambda t: Decimal(t) not in allowed),
                         enum_message(spec["enum"]), "enum")
        if output_type == pa.float64():
            checked.fail(rows & ~np.isfinite(floats),
                         worded("is beyond the range of a 64-bit float"), "range")
        if isinstance(output_type, pa.Decimal128Type) and output_type.precision == 38:
            limit = Decimal(10) ** (38 - output_type.scale)
            near = rows & (np.abs(floats) >= float(limit) * (1 - 1e-12))
            checked.fail(python_bad(values, near, lambda t: Decimal(t).copy_abs() >= limit),
                         worded(f"does not fit a decimal(38, {output_type.scale})"), "range")
        return checked

    def convert(self, values: pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
        return to_number_column(with_nulls_for_empty(values), self.output_type)
