"""Numeric kernels shared by the integer and number kinds: parsing whole columns, bounds
and `multipleOf` decided on floats or integers where that is exact, and exactly in Python
on the distinct values where it is not (a value equal to a bound after rounding,
exponents, unusual divisors)."""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from decimal import Decimal, localcontext
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from handlers import arrow_compute as compute
from handlers.arrays import from_numpy, validity
from handlers.validation.decimals import decimal_places, is_multiple
from handlers.validation.fixed_width import single_array
from handlers.validation.kernels import matches, python_bad
from handlers.validation.kind import Mask

Int64s = npt.NDArray[np.int64]
Float64s = npt.NDArray[np.float64]
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
EXACT_FLOAT_LIMIT = 2.0 ** 50


def is_json_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def as_int64(values: pa.ChunkedArray, ok: Mask) -> Int64s:
    """The integers of the `ok` rows (0 elsewhere)."""
    texts = compute.if_else(from_numpy(ok), values, "0")
    return np.asarray(compute.cast(compute.utf8_ltrim(texts, "+"), pa.int64()).to_numpy(), np.int64)


def as_float64(values: pa.ChunkedArray, ok: Mask) -> Float64s:
    """The nearest floats of the `ok` rows (0.0 elsewhere)."""
    texts = compute.if_else(from_numpy(ok), values, "0")
    return np.asarray(compute.cast(texts, pa.float64()).to_numpy(), np.float64)


def int_breaks_bound(ints: Int64s, keyword: str, bound: Decimal) -> Mask:
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


def number_breaks_bound(values: pa.ChunkedArray, floats: Float64s, checked: Mask,
                        keyword: str, bound: Decimal) -> Mask:
    """Floats decide every value that rounds away from the bound; ties are settled exactly."""
    limit = float(bound)
    bad = floats < limit if keyword in ("minimum", "exclusiveMinimum") else floats > limit
    tie = checked & (floats == limit)
    breaks = _EXACT_BOUND[keyword]
    exact = python_bad(values, tie, lambda t: breaks(Decimal(t), bound))
    return (checked & bad) | exact


def number_not_multiple(values: pa.ChunkedArray, checked: Mask, divisor: Decimal) -> Mask:
    """Per checked row: the number is not a multiple of `divisor` (exact)."""
    places = decimal_places(divisor)
    if places is None:
        return python_bad(values, checked, lambda t: not is_multiple(Decimal(t), divisor))
    exponent = checked & matches(values, "[eE]")
    plain = checked & ~exponent
    has_dot = matches(values, r"\.")
    fraction_ok = matches(values, rf"\.[0-9]{{0,{places}}}0*$")
    bad = plain & has_dot & ~fraction_ok
    return bad | python_bad(values, exponent, lambda t: not is_multiple(Decimal(t), divisor))


def decimals_from_floats(floats: Float64s, null: Mask,
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
    return pa.Array.from_buffers(output_type, low.size, [validity(null), pa.py_buffer(words)])


def to_number_column(texts: pa.ChunkedArray | pa.Array,
                     output_type: pa.DataType) -> pa.Array | pa.ChunkedArray:
    """Arrow refuses exponents it cannot fit a decimal's precision (`0e40`) and texts of
    more than 38 digits (`1.000...0`), and crashes on some huge exponents: those few valid
    values are converted exactly in Python (they fit the column, or they would not be valid)."""
    if not isinstance(output_type, pa.Decimal128Type):
        return compute.cast(texts, output_type)
    exponent = matches(texts, "[eE]") | \
        (np.asarray(compute.fill_null(compute.utf8_length(texts), 0).to_numpy()) > 38)
    if not exponent.any():
        return compute.cast(texts, output_type)
    mask = from_numpy(exponent)
    plain = compute.cast(single_array(compute.if_else(mask, "0", texts)), output_type)
    step = Decimal(1).scaleb(-output_type.scale)
    with localcontext() as context:
        context.prec = 100
        exact = [Decimal(text).quantize(step)
                 for text in compute.filter(single_array(texts), mask).to_pylist()]
    return compute.replace_with_mask(plain, mask, pa.array(exact, output_type))
