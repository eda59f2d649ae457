"""The Arrow compute functions the handlers use, called by name.

`import pyarrow.compute` builds a Python wrapper, with its docstring, for each of Arrow's
hundreds of compute functions: 40-60 ms of every cold start and of every `etlgen run`
worker's start, for the two dozen the handlers call. Each function here calls the same
kernel through `pyarrow._compute.call_function`, with the same options and defaults as its
namesake in `pyarrow.compute`. Several pyarrow methods (`Array.cast`, `filter`, `take`,
`Table.filter`, ...) import `pyarrow.compute` on their first call: use the functions here
instead (`tests/test_code_quality.py` holds the handlers to it).
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from pyarrow._compute import (
    CastOptions,
    ExtractRegexOptions,
    JoinOptions,
    MatchSubstringOptions,
    PadOptions,
    SetLookupOptions,
    SliceOptions,
    StructFieldOptions,
    TrimOptions,
    call_function,
)

Values = Any  # an Array, ChunkedArray, Scalar or Table, as the kernel accepts


def cast(values: Values, target_type: pa.DataType) -> Any:
    """A safe cast: values that do not fit the type raise, as `pyarrow.compute.cast`."""
    return call_function("cast", [values], CastOptions.safe(target_type))


def filter(values: Values, mask: Values) -> Any:
    """The rows where `mask` is true (a null mask value drops the row)."""
    return call_function("filter", [values, mask])


def take(values: Values, indices: Values) -> Any:
    return call_function("take", [values, indices])


def unique(values: Values) -> Any:
    return call_function("unique", [values])


def if_else(condition: Values, left: Values, right: Values) -> Any:
    return call_function("if_else", [condition, left, right])


def fill_null(values: Values, fill_value: Any) -> Any:
    """Nulls replaced by `fill_value` (a Python value, or an Arrow one cast to the type)."""
    if not isinstance(fill_value, pa.Array | pa.ChunkedArray | pa.Scalar):
        fill_value = pa.scalar(fill_value, type=values.type)
    elif fill_value.type != values.type:
        fill_value = pa.scalar(fill_value.as_py(), type=values.type)
    return call_function("coalesce", [values, fill_value])


def equal(left: Values, right: Values) -> Any:
    return call_function("equal", [left, right])


def not_equal(left: Values, right: Values) -> Any:
    return call_function("not_equal", [left, right])


def greater(left: Values, right: Values) -> Any:
    return call_function("greater", [left, right])


def is_valid(values: Values) -> Any:
    return call_function("is_valid", [values])


def utf8_length(values: Values) -> Any:
    return call_function("utf8_length", [values])


def binary_length(values: Values) -> Any:
    return call_function("binary_length", [values])


def all(values: Values) -> Any:
    """True unless a value is false (nulls skipped; null when there is no value)."""
    return call_function("all", [values])


def any(values: Values) -> Any:
    return call_function("any", [values])


def max(values: Values) -> Any:
    return call_function("max", [values])


def utf8_slice_codeunits(values: Values, start: int, stop: int | None = None) -> Any:
    return call_function("utf8_slice_codeunits", [values], SliceOptions(start, stop))


def utf8_ltrim(values: Values, characters: str) -> Any:
    return call_function("utf8_ltrim", [values], TrimOptions(characters))


def utf8_rpad(values: Values, width: int, padding: str) -> Any:
    return call_function("utf8_rpad", [values], PadOptions(width, padding))


def match_substring_regex(values: Values, pattern: str) -> Any:
    return call_function("match_substring_regex", [values], MatchSubstringOptions(pattern))


def extract_regex(values: Values, pattern: str) -> Any:
    return call_function("extract_regex", [values], ExtractRegexOptions(pattern))


def struct_field(values: Values, name: str) -> Any:
    return call_function("struct_field", [values], StructFieldOptions(name))


def is_in(values: Values, value_set: pa.Array) -> Any:
    return call_function("is_in", [values], SetLookupOptions(value_set))


def index_in(values: Values, value_set: pa.Array) -> Any:
    return call_function("index_in", [values], SetLookupOptions(value_set))


def replace_with_mask(values: Values, mask: Values, replacements: Values) -> Any:
    return call_function("replace_with_mask", [values, mask, replacements])


def binary_join_element_wise(*strings: Values, null_handling: str = "emit_null",
                             null_replacement: str = "") -> Any:
    """The strings joined row by row; the last argument is the separator."""
    return call_function("binary_join_element_wise", list(strings),
                         JoinOptions(null_handling, null_replacement))
