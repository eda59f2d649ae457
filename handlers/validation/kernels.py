"""Column-at-a-time building blocks shared by the kinds: masks from pyarrow results, regex
matches, exact decisions on the distinct values only, enums, typed columns."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from handlers import arrow_compute as compute
from handlers.arrays import from_numpy
from handlers.validation.kind import Mask

Strings: TypeAlias = "pa.ChunkedArray | pa.Array"


def mask_of(values: Any) -> Mask:
    """A boolean pyarrow result as a numpy array (nulls count as False)."""
    if isinstance(values, pa.ChunkedArray):
        if values.num_chunks == 1:
            return _unpacked(values.chunk(0))
        return np.concatenate([_unpacked(chunk) for chunk in values.chunks]
                              or [np.zeros(0, bool)])
    if isinstance(values, pa.Array):
        return _unpacked(values)
    return np.asarray(values, dtype=bool)


def _unpacked(values: pa.Array) -> Mask:
    """A boolean array's bits, one byte each: unpacked by numpy from the data buffer
    (pyarrow's `to_numpy` goes through its pandas conversion, several times slower)."""
    if values.null_count:
        values = compute.fill_null(values, False)
    count = len(values)
    data = values.buffers()[1]
    if not count or data is None:
        return np.zeros(count, bool)
    bits = np.unpackbits(np.frombuffer(data, np.uint8), count=values.offset + count,
                         bitorder="little")
    mask: Mask = bits[values.offset:].view(bool)
    return mask


def is_empty(values: Strings) -> Mask:
    """Per row: the field is empty (the value is absent, or null in a nullable column)."""
    return mask_of(compute.equal(values, ""))


def matches(values: Strings, pattern: str) -> Mask:
    """Per row: `pattern` (RE2 syntax) matches somewhere in the text."""
    return mask_of(compute.match_substring_regex(values, pattern))


def is_in(values: Strings, members: list[Any], type_: pa.DataType | None = None) -> Mask:
    """Per row: the text is one of `members`."""
    return mask_of(compute.is_in(values, value_set=pa.array(members, type_)))


def lengths(values: Strings) -> npt.NDArray[np.int64]:
    """Characters per row of a column without nulls."""
    return np.asarray(compute.utf8_length(values).to_numpy(), dtype=np.int64)


def rows_taken(values: Strings, rows: npt.NDArray[np.integer]) -> pa.Array:
    """The values of `rows` (row numbers in ascending order) as one array. A chunked
    column's `take` first concatenates every chunk, a copy of the whole column for a few
    rows: here each chunk gives its own rows and only those are put together."""
    if isinstance(values, pa.Array):
        return compute.take(values, from_numpy(rows, pa.int64()))
    if values.num_chunks == 1:
        return compute.take(values.chunk(0), from_numpy(rows, pa.int64()))
    if values.num_chunks == 0 or not rows.size:
        return pa.array([], values.type)
    bounds = np.cumsum([0] + [len(chunk) for chunk in values.chunks])
    cuts = np.searchsorted(rows, bounds).tolist()
    parts = [compute.take(chunk, from_numpy(rows[cuts[i]: cuts[i + 1]] - bounds[i], pa.int64()))
             for i, chunk in enumerate(values.chunks) if cuts[i + 1] > cuts[i]]
    return parts[0] if len(parts) == 1 else pa.concat_arrays(parts)


def python_bad(values: pa.ChunkedArray, rows: Mask, is_bad: Callable[[str], bool]) -> Mask:
    """Decide `is_bad` once per distinct text among `rows` (exact, but not vectorized)."""
    if not rows.any():
        return np.zeros(len(values), bool)
    distinct = compute.unique(compute.filter(values, from_numpy(rows))).to_pylist()
    bad = [text for text in distinct if is_bad(text)]
    if not bad:
        return np.zeros(len(values), bool)
    return rows & is_in(values, bad, pa.string())


def enum_members(spec: Mapping[str, Any], accept: Callable[[Any], bool]) -> list[Any] | None:
    """The enum members a value of this kind could equal; None without an enum."""
    if "enum" not in spec:
        return None
    return [member for member in spec["enum"] if accept(member)]


def with_nulls_for_empty(values: Strings) -> Strings:
    """"" becomes null. A validity bitmap laid over the same offsets and bytes: no copy of
    the text (a column without empty values comes back as it is)."""
    if isinstance(values, pa.ChunkedArray):
        return pa.chunked_array([with_nulls_for_empty(chunk) for chunk in values.chunks],
                                values.type)
    if values.type not in (pa.string(), pa.large_string()) or values.null_count \
            or values.offset:
        return compute.if_else(compute.equal(values, ""), pa.scalar(None, values.type), values)
    present = compute.not_equal(compute.binary_length(values), 0)
    if compute.all(present).as_py() is not False:
        return values
    return pa.Array.from_buffers(values.type, len(values),
                                 [present.buffers()[1], *values.buffers()[1:]])


def typed_or_null(numbers: npt.NDArray[np.integer], null: Mask,
                  output_type: pa.DataType) -> pa.Array:
    """A date or timestamp column from its integer storage, null where `null`."""
    return from_numpy(numbers, output_type, null=null)
