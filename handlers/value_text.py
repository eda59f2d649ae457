"""How a CSV cell's text maps to a JSON value, shared by the validator and its messages.

Every field arrives as text; the empty text means "absent". The grammars below are anchored
and ASCII-only on purpose (no locale digits, no surrounding spaces, no `1_000`):
- integer: `[+-]?digits`, within the signed 64-bit range;
- number: `[+-]?(digits[.digits*] | .digits)` with an optional exponent `[eE][+-]?digits` of
  any length, so every JSON number is a number (`0e10000`, `1E-400`), plus three extras JSON
  does not have and that are kept on purpose: a leading `+` (`+5`), a leading or trailing dot
  (`.5`, `5.`) and leading zeros (`007`). The value is the exact decimal the text spells;
  checks on it are exact for any exponent (a 64-bit float column refuses a value beyond the
  float range instead of storing infinity);
- boolean: `true` or `false`;
- date: `YYYY-MM-DD`, a real calendar date, year 0001-9999;
- date-time: RFC 3339 `YYYY-MM-DDTHH:MM:SS[.ffffff](Z|+HH:MM|-HH:MM)`, seconds 00-59,
  at most 6 fractional digits (stored at microsecond precision).
"""

from __future__ import annotations

import json
from decimal import Decimal

import numpy as np

INTEGER_RE = r"^[+-]?[0-9]+$"
NUMBER_RE = r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$"
DATE_RE = r"^(?P<y>[0-9]{4})-(?P<m>[0-9]{2})-(?P<d>[0-9]{2})$"
DATETIME_RE = (r"^(?P<y>[0-9]{4})-(?P<m>[0-9]{2})-(?P<d>[0-9]{2})[Tt]"
               r"(?P<H>[0-9]{2}):(?P<M>[0-9]{2}):(?P<S>[0-9]{2})(?:\.(?P<f>[0-9]{1,6}))?"
               r"(?P<z>[Zz]|(?P<zs>[+-])(?P<zh>[0-9]{2}):(?P<zm>[0-9]{2}))$")
BOOLEAN_TEXTS = ("true", "false")
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


def show(value: str, limit: int = 60) -> str:
    """A value quoted for a message, cut when long."""
    if len(value) > limit:
        value = value[: limit - 3] + "..."
    return json.dumps(value, ensure_ascii=False)


def to_decimal(value: int | float | str | Decimal) -> Decimal:
    """Schema numbers arrive as int or float (JSON): use the float's shortest repr."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(value)


def number_text(value: Decimal) -> str:
    """A schema number for a message: 0.01, not 1E-2."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def is_multiple(value: Decimal, divisor: Decimal) -> bool:
    """Exact: 0.07 is a multiple of 0.01, and so is 1e999999999, without ever building
    10**999999999. With value = m * 10**a and divisor = n * 10**b (m, n whole), value /
    divisor = m / n * 10**(a - b): a large positive a - b only adds factors 2 and 5, which
    stop mattering once there are more of them than n has; a large negative one makes the
    quotient smaller than 1 (so not whole) once 10**(b - a) exceeds m."""
    if divisor == 0 or not value.is_finite() or not divisor.is_finite():
        return False
    if value == 0:
        return True
    _, value_digits, value_exponent = value.as_tuple()
    _, divisor_digits, divisor_exponent = divisor.as_tuple()
    m = int("".join(map(str, value_digits)))
    n = int("".join(map(str, divisor_digits)))
    shift = int(value_exponent) - int(divisor_exponent)
    if shift >= 0:
        return m * 10 ** min(shift, n.bit_length()) % n == 0
    if -shift > len(value_digits):
        return False
    return m % (n * 10 ** -shift) == 0


def decimal_places(value: Decimal) -> int | None:
    """k when value == 10**-k (k >= 0), else None."""
    if value <= 0:
        return None
    normal = value.normalize()
    _sign, digits, exponent = normal.as_tuple()
    if digits != (1,) or not isinstance(exponent, int) or exponent > 0:
        return None
    return -exponent


def days_in_month(year: np.ndarray, month: np.ndarray) -> np.ndarray:
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    table = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], np.int64)
    safe_month = np.clip(month, 0, 12)
    return table[safe_month] + ((safe_month == 2) & leap)


def valid_dates(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    return ((year >= 1) & (month >= 1) & (month <= 12) & (day >= 1)
            & (day <= days_in_month(year, month)))


def days_from_civil(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of valid proleptic Gregorian dates (vectorized)."""
    y = year.astype(np.int64) - (month <= 2)
    era = np.floor_divide(y, 400)
    yoe = y - era * 400
    m = month.astype(np.int64)
    doy = (153 * (m + np.where(m > 2, -3, 9)) + 2) // 5 + day.astype(np.int64) - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468
