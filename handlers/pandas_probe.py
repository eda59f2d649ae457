"""pyarrow without its first-conversion import of pandas.

The first time pyarrow converts any value (`pa.array` of a list or of a NumPy array, a
Python scalar given to a compute function), it imports pandas to tell pandas objects from
others: 0.2 s or more of imports, paid by the first chunk of every cold start and of every
local worker, for objects the handlers never pass it. Its Python side tries once; so does
its C++ side in recent pyarrow (26), while pyarrow 18 (the Lambda layer's) tries again at
each conversion, so that there the first chunk still imports pandas.
`answer_without_pandas` makes that probe answer "no pandas" without importing it. pyarrow
still imports pandas whenever a pandas conversion is asked for (`to_pandas`,
`from_pandas`), and then recognises pandas objects as before; pandas values inside Python
lists (`pd.NA`) are not recognised in such a process.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Sequence
from types import ModuleType

import pyarrow as pa


class _NoPandas(importlib.abc.MetaPathFinder):
    """Refuses to find pandas, for the moment of the probe only."""

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if fullname == "pandas":
            raise ModuleNotFoundError("pandas is not probed for here", name=fullname)
        return None


def answer_without_pandas() -> None:
    """Have pyarrow's pandas probe run now, finding no pandas (a no-op once pandas is
    imported: pyarrow then uses it)."""
    if "pandas" in sys.modules:
        return
    finder = _NoPandas()
    sys.meta_path.insert(0, finder)
    try:
        pa.array([], pa.int64())  # the Python side's probe
        pa.scalar(0)  # the C++ side's, made when it infers a type from Python values
    finally:
        sys.meta_path.remove(finder)
