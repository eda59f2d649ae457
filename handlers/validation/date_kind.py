"""`"type": "string", "format": "date"`: `YYYY-MM-DD`, a real calendar date, year
0001-9999, output as date32. The string keywords apply too."""

from __future__ import annotations

from typing import ClassVar

import pyarrow as pa

from handlers.validation.fixed_width import parse_dates
from handlers.validation.kernels import is_empty, typed_or_null
from handlers.validation.kind import Checked, Mask
from handlers.validation.messages import worded
from handlers.validation.string_kind import StringKind

DATE_RE = r"^(?P<y>[0-9]{4})-(?P<m>[0-9]{2})-(?P<d>[0-9]{2})$"


class DateKind(StringKind):
    name: ClassVar[str] = "date"
    format: ClassVar[str | None] = "date"

    def arrow_type(self) -> pa.DataType:
        return pa.date32()

    def check(self, values: pa.ChunkedArray, present: Mask) -> Checked:
        ok, days = parse_dates(values)
        checked = Checked(typed=typed_or_null(days, ~(ok & present), self.output_type))
        checked.fail(~ok, worded("is not a valid date (YYYY-MM-DD)"), "format")
        self.check_text(values, present, checked)
        return checked

    def convert(self, values: pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
        _, days = parse_dates(values)
        return typed_or_null(days, is_empty(values), self.output_type)
