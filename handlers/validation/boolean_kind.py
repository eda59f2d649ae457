"""`"type": "boolean"`: `true` or `false`, output as bool; `enum` may narrow it."""

from __future__ import annotations

from typing import ClassVar

import pyarrow as pa

from handlers import arrow_compute as compute
from handlers.validation.kernels import enum_members, is_in, with_nulls_for_empty
from handlers.validation.keywords import BOOLEAN_KEYWORDS
from handlers.validation.kind import Checked, ColumnKind, Mask
from handlers.validation.messages import enum_message, worded

BOOLEAN_TEXTS = ("true", "false")


class BooleanKind(ColumnKind):
    name: ClassVar[str] = "boolean"
    json_type: ClassVar[str] = "boolean"
    keywords: ClassVar[frozenset[str]] = BOOLEAN_KEYWORDS
    repeats: ClassVar[bool] = True

    def arrow_type(self) -> pa.DataType:
        return pa.bool_()

    def check(self, values: pa.ChunkedArray, present: Mask) -> Checked:
        checked = Checked()
        ok = is_in(values, list(BOOLEAN_TEXTS))
        checked.fail(~ok, worded("is not true or false"), "type")
        members = enum_members(self.spec, lambda m: isinstance(m, bool))
        if members is not None:
            allowed = ["true" if m else "false" for m in members]
            checked.fail(ok & ~is_in(values, allowed, pa.string()),
                         enum_message(self.spec["enum"]), "enum")
        return checked

    def convert(self, values: pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
        return compute.equal(with_nulls_for_empty(values), "true")
