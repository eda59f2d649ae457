"""`"type": "string"`: any text, checked by `enum`, `pattern`, `minLength`, `maxLength`.

A `pattern` of fixed width (`^TX[0-9]{10}$`) is checked on the column's bytes
(`fixed_width`); others by RE2, and a pattern beyond RE2 (look-arounds) by Python's `re`
once per distinct value. Lengths count characters (code points), as JSON Schema does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

import pyarrow as pa

from handlers.validation.fixed_width import fixed_shape, matches_shape
from handlers.validation.kernels import (
    enum_members,
    is_in,
    lengths,
    matches,
    python_bad,
    with_nulls_for_empty,
)
from handlers.validation.keywords import STRING_KEYWORDS
from handlers.validation.kind import Checked, ColumnKind, Mask
from handlers.validation.messages import enum_message, plural, worded


class StringKind(ColumnKind):
    name: ClassVar[str] = "string"
    json_type: ClassVar[str] = "string"
    keywords: ClassVar[frozenset[str]] = STRING_KEYWORDS

    def __init__(self, spec: Mapping[str, Any]) -> None:
        super().__init__(spec)
        pattern = spec.get("pattern")
        self.shape = fixed_shape(pattern) if isinstance(pattern, str) else None

    def arrow_type(self) -> pa.DataType:
        return pa.string()

    def check(self, values: pa.ChunkedArray, present: Mask) -> Checked:
        checked = Checked()
        self.check_text(values, present, checked)
        return checked

    def check_text(self, values: pa.ChunkedArray, present: Mask, checked: Checked) -> None:
        """The string keywords, for this kind and the kinds built on it (dates)."""
        spec = self.spec
        members = enum_members(spec, lambda m: isinstance(m, str))
        if members is not None:
            checked.fail(~is_in(values, members, pa.string()), enum_message(spec["enum"]),
                         "enum")
        if "pattern" in spec:
            pattern = spec["pattern"]
            checked.fail(~self._pattern_matches(values, present, pattern),
                         worded(f"does not match {pattern}"), "pattern")
        if "minLength" in spec or "maxLength" in spec:
            counts = lengths(values)
            if "minLength" in spec:
                low = int(spec["minLength"])
                checked.fail(counts < low,
                             worded(f"is shorter than {low} character{plural(low)}"),
                             "minLength")
            if "maxLength" in spec:
                high = int(spec["maxLength"])
                checked.fail(counts > high,
                             worded(f"is longer than {high} character{plural(high)}"),
                             "maxLength")

    def _pattern_matches(self, values: pa.ChunkedArray, present: Mask, pattern: str) -> Mask:
        if self.shape is not None:
            return matches_shape(values, self.shape)
        try:
            return matches(values, pattern)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            compiled = re.compile(pattern)  # beyond RE2: decide per distinct value
            return ~python_bad(values, present, lambda t: compiled.search(t) is None)

    def convert(self, values: pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
        return with_nulls_for_empty(values)
