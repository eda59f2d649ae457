"""The table of column kinds: the validator compiles every schema property through it, and
the row-schema checks (`handlers.row_schema_keywords`) derive from it which types, formats
and keywords a row schema may use. A new kind is one module and one line here.

Each line names the kind's JSON type, format and keywords, and where its class is: the
row-schema checks read the lines alone, so checking a config (`etlgen validate`, the
runner's config load) imports neither numpy nor pyarrow; only `kind_of` loads a kind's
module. `tests/handlers/test_kind_registry.py` checks each line against its class.

The functions read `KINDS` when called, so a kind added to the table is seen everywhere.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from handlers.validation.keywords import BOOLEAN_KEYWORDS, NUMERIC_KEYWORDS, STRING_KEYWORDS

if TYPE_CHECKING:
    from handlers.validation.kind import ColumnKind


@dataclass(frozen=True)
class KindEntry:
    """One kind as the table lists it: what recognises it (`json_type`, `format`; `format`
    None: the kind for that JSON type whatever its format), the keywords it enforces, and
    its class as `module:Class`, imported when first asked for."""

    json_type: str
    format: str | None
    keywords: frozenset[str]
    location: str

    @classmethod
    def of(cls, kind: type[ColumnKind]) -> KindEntry:
        """The line of a kind class already at hand."""
        return cls(kind.json_type, kind.format, kind.keywords,
                   f"{kind.__module__}:{kind.__qualname__}")

    def load(self) -> type[ColumnKind]:
        module, _, name = self.location.partition(":")
        return cast("type[ColumnKind]", getattr(importlib.import_module(module), name))


_KINDS = "handlers.validation."
KINDS: tuple[KindEntry, ...] = (
    KindEntry("string", None, STRING_KEYWORDS, _KINDS + "string_kind:StringKind"),
    KindEntry("string", "date", STRING_KEYWORDS, _KINDS + "date_kind:DateKind"),
    KindEntry("string", "date-time", STRING_KEYWORDS, _KINDS + "datetime_kind:DateTimeKind"),
    KindEntry("integer", None, NUMERIC_KEYWORDS, _KINDS + "integer_kind:IntegerKind"),
    KindEntry("number", None, NUMERIC_KEYWORDS, _KINDS + "number_kind:NumberKind"),
    KindEntry("boolean", None, BOOLEAN_KEYWORDS, _KINDS + "boolean_kind:BooleanKind"),
)
NULL = "null"
"""Beside one base type in a type list (`["number", "null"]`): the column is nullable."""
ANY_COLUMN_KEYWORDS = frozenset({"$comment", "title", "description", "examples", "type",
                                 "format"})
"""Annotations, and the keywords that pick the kind: allowed on every column."""


def column_type(column: Mapping[str, Any]) -> tuple[str, bool]:
    """(base JSON type, nullable) of a column the row-schema checks accepted.

    `"type": "string"`: an empty field is absent. `"type": ["string", "null"]` (either
    order): an empty field is a present null, so it is valid even for a required column."""
    kind = column["type"]
    if isinstance(kind, list):
        (base,) = [name for name in kind if name != NULL]
        return base, True
    return str(kind), False


def kind_of(column: Mapping[str, Any]) -> type[ColumnKind]:
    """The kind of an accepted column: the one for its type and `format`, else the one for
    its type alone (JSON Schema checks a format only on the type it is defined for)."""
    base, _ = column_type(column)
    by_format: dict[tuple[str, str | None], KindEntry] = {
        (kind.json_type, kind.format): kind for kind in KINDS}
    return (by_format.get((base, column.get("format"))) or by_format[(base, None)]).load()


def json_types() -> frozenset[str]:
    """The base types a column may have."""
    return frozenset(kind.json_type for kind in KINDS)


def formats() -> frozenset[str]:
    """The formats some kind recognises."""
    return frozenset(kind.format for kind in KINDS if kind.format is not None)


def column_keywords() -> frozenset[str]:
    """The keywords a column may use: JSON Schema ignores a keyword on a type it does not
    apply to (`pattern` on an integer), so every kind's keywords are allowed on any column."""
    return ANY_COLUMN_KEYWORDS.union(*(kind.keywords for kind in KINDS))
