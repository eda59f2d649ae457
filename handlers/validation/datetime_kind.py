"""`"type": "string", "format": "date-time"`: RFC 3339
`YYYY-MM-DDTHH:MM:SS[.ffffff](Z|+HH:MM|-HH:MM)`, seconds 00-59, at most 6 fractional
digits, output as a UTC timestamp at microsecond precision. The string keywords apply too.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pyarrow as pa

from handlers import arrow_compute as compute
from handlers.validation.calendar import days_from_civil, valid_dates
from handlers.validation.kernels import is_empty, mask_of, typed_or_null
from handlers.validation.kind import Checked, Mask
from handlers.validation.messages import worded
from handlers.validation.numeric import Int64s
from handlers.validation.string_kind import StringKind

DATETIME_RE = (r"^(?P<y>[0-9]{4})-(?P<m>[0-9]{2})-(?P<d>[0-9]{2})[Tt]"
               r"(?P<H>[0-9]{2}):(?P<M>[0-9]{2}):(?P<S>[0-9]{2})(?:\.(?P<f>[0-9]{1,6}))?"
               r"(?P<z>[Zz]|(?P<zs>[+-])(?P<zh>[0-9]{2}):(?P<zm>[0-9]{2}))$")


class DateTimeKind(StringKind):
    name: ClassVar[str] = "date-time"
    format: ClassVar[str | None] = "date-time"

    def arrow_type(self) -> pa.DataType:
        return pa.timestamp("us", tz="UTC")

    def check(self, values: pa.ChunkedArray, present: Mask) -> Checked:
        ok, micros = parse_datetimes(values)
        checked = Checked(typed=typed_or_null(micros, ~(ok & present), self.output_type))
        checked.fail(~ok, worded("is not a valid date-time "
                                 "(YYYY-MM-DDTHH:MM:SS[.ffffff] with Z or +HH:MM)"),
                     "format")
        self.check_text(values, present, checked)
        return checked

    def convert(self, values: pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
        _, micros = parse_datetimes(values)
        return typed_or_null(micros, is_empty(values), self.output_type)


def _int_field(parts: pa.StructArray | pa.ChunkedArray, name: str) -> Int64s:
    column = compute.fill_null(compute.struct_field(parts, name), "0")
    column = compute.if_else(compute.equal(column, ""), "0", column)
    return np.asarray(compute.cast(column, pa.int64()).to_numpy(), np.int64)


def parse_datetimes(values: pa.ChunkedArray) -> tuple[Mask, Int64s]:
    """(is a valid RFC 3339 date-time, microseconds since the epoch in UTC) per row."""
    parts = compute.extract_regex(values, DATETIME_RE)
    shaped = mask_of(compute.is_valid(parts))
    year, month, day, hour, minute, second, zone_h, zone_m = (
        _int_field(parts, k) for k in ("y", "m", "d", "H", "M", "S", "zh", "zm"))
    fraction = compute.fill_null(compute.struct_field(parts, "f"), "")
    padded = compute.utf8_rpad(fraction, 6, "0")
    micros = np.asarray(compute.cast(padded, pa.int64()).to_numpy(), np.int64)
    negative = mask_of(compute.equal(compute.fill_null(compute.struct_field(parts, "zs"), ""), "-"))
    ok = (shaped & valid_dates(year, month, day) & (hour <= 23) & (minute <= 59)
          & (second <= 59) & (zone_h <= 23) & (zone_m <= 59))
    days = days_from_civil(np.where(ok, year, 1970), np.where(ok, month, 1),
                           np.where(ok, day, 1))
    offset = (zone_h * 60 + zone_m) * np.where(negative, -1, 1)
    seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset * 60
    return ok, np.where(ok, seconds * 1_000_000 + micros, 0)
