"""`from_numpy` builds the same Arrow arrays `pa.array` makes of NumPy arrays."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from handlers.arrays import from_numpy

DTYPES = [np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8]


@settings(max_examples=200, deadline=None)
@given(data=st.data(), dtype=st.sampled_from(DTYPES), step=st.integers(1, 3),
       with_nulls=st.booleans())
def test_the_same_array_as_pa_array(data: st.DataObject, dtype: type, step: int,
                                    with_nulls: bool) -> None:
    """Every length (bits of a last partial byte), strided views, with and without nulls."""
    values = data.draw(hnp.arrays(dtype, st.integers(0, 70)))[::step]
    null = data.draw(hnp.arrays(np.bool_, values.size)) if with_nulls else None
    made = from_numpy(values, null=null)
    made.validate(full=True)
    assert made.equals(pa.array(values, mask=null))


@pytest.mark.parametrize(("arrow_type", "numbers"), [
    (pa.int64(), np.array([1, -2, 3], np.int32)),
    (pa.int32(), np.array([7, 0, -9], np.int64)),
    (pa.date32(), np.array([0, 19723, -1], np.int64)),
    (pa.timestamp("us", tz="UTC"), np.array([0, 1_700_000_000_000_000], np.int64)),
])
def test_numbers_made_into_the_type_asked_for(arrow_type: pa.DataType,
                                              numbers: np.ndarray) -> None:
    null = np.zeros(numbers.size, bool)
    null[-1] = True
    made = from_numpy(numbers, arrow_type, null=null)
    made.validate(full=True)
    expected = pa.array(numbers.astype(np.int32 if arrow_type == pa.date32() else np.int64),
                        mask=null).cast(arrow_type)
    assert made.type == arrow_type
    assert made.equals(expected)


def test_only_one_dimension() -> None:
    with pytest.raises(ValueError, match="1-d"):
        from_numpy(np.zeros((2, 2), np.int64))
