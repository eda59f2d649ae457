"""`"type": "integer"`: `[+-]?digits` within the signed 64-bit range, output as int64;
checked by the bounds, `multipleOf` and `enum`, exactly."""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

import numpy as np
import pyarrow as pa

from handlers import arrow_compute as compute
from handlers.validation.decimal_text import written_with_places
from handlers.validation.decimals import is_multiple, to_decimal
from handlers.validation.kernels import (
    enum_members,
    lengths,
    python_bad,
    with_nulls_for_empty,
)
from handlers.validation.keywords import BOUND_KEYWORDS, NUMERIC_KEYWORDS
from handlers.validation.kind import Checked, ColumnKind, Mask
from handlers.validation.messages import bound_message, enum_message, multiple_message, worded
from handlers.validation.numeric import (
    INT64_MAX,
    INT64_MIN,
    as_int64,
    int_breaks_bound,
    is_json_number,
)

INTEGER_RE = r"^[+-]?[0-9]+$"  # what `written_with_places(values, 0)` tells from the bytes


class IntegerKind(ColumnKind):
    name: ClassVar[str] = "integer"
    json_type: ClassVar[str] = "integer"
    keywords: ClassVar[frozenset[str]] = NUMERIC_KEYWORDS

    def arrow_type(self) -> pa.DataType:
        return pa.int64()

    def check(self, values: pa.ChunkedArray, present: Mask) -> Checked:
        spec, checked = self.spec, Checked()
        syntax = written_with_places(values, 0)
        long = syntax & (lengths(values) > 18)
        overflow = python_bad(values, long, lambda t: not INT64_MIN <= int(t) <= INT64_MAX)
        ok = syntax & ~overflow
        checked.fail(~syntax, worded("is not an integer"), "type")
        checked.fail(overflow, worded("is outside the 64-bit integer range"), "range")
        rows = present & ok
        if not rows.any():
            return checked
        ints = as_int64(values, ok)
        for keyword in BOUND_KEYWORDS:
            if keyword in spec:
                bound = to_decimal(spec[keyword])
                checked.fail(rows & int_breaks_bound(ints, keyword, bound),
                             bound_message(keyword, bound), keyword)
        if "multipleOf" in spec:
            divisor = to_decimal(spec["multipleOf"])
            if divisor == divisor.to_integral_value() and divisor <= INT64_MAX:
                bad = rows & (ints % int(divisor) != 0)
            else:
                bad = python_bad(values, rows, lambda t: not is_multiple(Decimal(t), divisor))
            checked.fail(bad, multiple_message(divisor), "multipleOf")
        members = enum_members(spec, is_json_number)
        if members is not None:
            wanted = [int(m) for m in members
                      if to_decimal(m) == to_decimal(m).to_integral_value()
                      and INT64_MIN <= int(m) <= INT64_MAX]
            inside = np.isin(ints, np.asarray(wanted, np.int64)) if wanted else \
                np.zeros(len(ints), bool)
            checked.fail(rows & ~inside, enum_message(spec["enum"]), "enum")
        return checked

    def convert(self, values: pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
        return compute.cast(compute.utf8_ltrim(with_nulls_for_empty(values), "+"), pa.int64())
