"""Exact decimal arithmetic on schema numbers and cell values, at any exponent."""

from __future__ import annotations

from decimal import Decimal


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
        return bool(m * 10 ** min(shift, n.bit_length()) % n == 0)
    if -shift > len(value_digits):
        return False
    return bool(m % (n * 10 ** -shift) == 0)


def decimal_places(value: Decimal) -> int | None:
    """k when value == 10**-k (k >= 0), else None."""
    if value <= 0:
        return None
    normal = value.normalize()
    _sign, digits, exponent = normal.as_tuple()
    if digits != (1,) or not isinstance(exponent, int) or exponent > 0:
        return None
    return -exponent
