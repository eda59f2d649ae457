"""Arrow arrays from NumPy arrays, built on their buffers.

`pa.array(ndarray)` checks whether it was given a masked array, which makes NumPy import
`numpy.ma` (15-20 ms) the first time: once per cold start and per `etlgen run` worker, for
masks and row numbers that are never masked. `from_numpy` makes the same array without
asking; `tests/local/test_cold_start.py` checks that a Lambda init and a local run with
every kind of refused row never load `numpy.ma`.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa


def from_numpy(values: np.ndarray, type: pa.DataType | None = None,
               null: np.ndarray | None = None) -> pa.Array:
    """`pa.array(values, type, mask=null)` for a 1-d array of bools or numbers: the same
    values (cast to `type`'s NumPy dtype when given), null where `null` is true."""
    values = np.asarray(values)
    if values.ndim != 1:
        raise ValueError(f"from_numpy: a 1-d array expected, got {values.ndim} dimensions")
    if values.dtype == np.bool_ and (type is None or type == pa.bool_()):
        arrow_type, data = pa.bool_(), np.packbits(values, bitorder="little")
    else:
        arrow_type = type if type is not None else pa.from_numpy_dtype(values.dtype)
        data = np.ascontiguousarray(values, dtype=_storage_dtype(arrow_type))
    return pa.Array.from_buffers(arrow_type, len(values),
                                 [validity(null), pa.py_buffer(data)])


def validity(null: np.ndarray | None) -> pa.Buffer | None:
    """Arrow's validity bitmap for the rows not `null` (None when no row is null)."""
    if null is None or not null.any():
        return None
    return pa.py_buffer(np.packbits(~np.asarray(null, np.bool_), bitorder="little"))


def _storage_dtype(arrow_type: pa.DataType) -> np.dtype:
    """The NumPy dtype of a fixed-width type's values (a timestamp's or a date's integer)."""
    if pa.types.is_timestamp(arrow_type) or pa.types.is_duration(arrow_type):
        return np.dtype(np.int64)
    if pa.types.is_date32(arrow_type):
        return np.dtype(np.int32)
    if pa.types.is_date64(arrow_type):
        return np.dtype(np.int64)
    dtype: np.dtype = np.dtype(arrow_type.to_pandas_dtype())
    return dtype
