"""`"type": "string"`: any text, checked by `enum`, `pattern`, `minLength`, `maxLength`.

A `pattern` of fixed width (`^TX[0-9]{10}$`) is checked on the column's bytes
(`fixed_width`); others by RE2, and a pattern beyond RE2 (look-arounds) by Python's `re`
once per distinct value. Lengths count characters (code points), as JSON Schema does.

A column with an `enum` of texts comes out dictionary-encoded, its members the dictionary:
the enum check's `index_in` is each valid row's index already, so the Parquet writer needs
no hashing of its own and takes its statistics from the few members.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

import pyarrow as pa

from handlers import arrow_compute as compute
from handlers.validation.fixed_width import fixed_shape, matches_shape
from handlers.validation.kernels import (
    enum_members,
    is_in,
    lengths,
    mask_of,
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
        self.coded = _coded_members(spec)  # before the base class asks for arrow_type
        super().__init__(spec)
        pattern = spec.get("pattern")
        self.shape = fixed_shape(pattern) if isinstance(pattern, str) else None

    def arrow_type(self) -> pa.DataType:
        return ENUM_TYPE if self.coded is not None else pa.string()

    def check(self, values: pa.ChunkedArray, present: Mask) -> Checked:
        checked = Checked()
        coded = self.coded
        if coded is not None:
            index = compute.index_in(values, value_set=coded)
            checked.fail(~mask_of(compute.is_valid(index)), enum_message(self.spec["enum"]),
                         "enum")
            checked.typed = _dictionary(index, coded)
        self.check_text(values, present, checked, enum=coded is None)
        return checked

    def check_text(self, values: pa.ChunkedArray, present: Mask, checked: Checked, *,
                   enum: bool = True) -> None:
        """The string keywords, for this kind and the kinds built on it (dates); `enum`
        False when the caller checked it."""
        spec = self.spec
        members = enum_members(spec, lambda m: isinstance(m, str))
        if members is not None and enum:
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
        if self.coded is not None:
            return _dictionary(compute.index_in(values, value_set=self.coded), self.coded)
        return with_nulls_for_empty(values)


ENUM_TYPE = pa.dictionary(pa.int32(), pa.string())


def _coded_members(spec: Mapping[str, Any]) -> pa.Array | None:
    """The dictionary of an enum column, its text members once each; None when the output
    is plain text (no enum, or "" a member: an empty field is null, not "")."""
    members = enum_members(spec, lambda m: isinstance(m, str))
    if members is None or "" in members:
        return None
    return pa.array(list(dict.fromkeys(members)), pa.string())


def _dictionary(index: pa.ChunkedArray | pa.Array,
                members: pa.Array) -> pa.ChunkedArray | pa.Array:
    """Indices into `members` (null: no member) as a dictionary column, chunk by chunk."""
    if isinstance(index, pa.ChunkedArray):
        return pa.chunked_array([pa.DictionaryArray.from_arrays(chunk, members)
                                 for chunk in index.chunks], ENUM_TYPE)
    return pa.DictionaryArray.from_arrays(index, members)
