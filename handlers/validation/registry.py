"""The table of column kinds: the validator compiles every schema property through it, and
the row-schema checks (`handlers.row_schema_keywords`) derive from it which types, formats
and keywords a row schema may use. A new kind is one module and one line here.

The functions read `KINDS` when called, so a kind added to the table is seen everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from handlers.validation.boolean_kind import BooleanKind
from handlers.validation.date_kind import DateKind
from handlers.validation.datetime_kind import DateTimeKind
from handlers.validation.integer_kind import IntegerKind
from handlers.validation.kind import ColumnKind
from handlers.validation.number_kind import NumberKind
from handlers.validation.string_kind import StringKind

KINDS: tuple[type[ColumnKind], ...] = (
    StringKind,
    DateKind,
    DateTimeKind,
    IntegerKind,
    NumberKind,
    BooleanKind,
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
    by_format: dict[tuple[str, str | None], type[ColumnKind]] = {
        (kind.json_type, kind.format): kind for kind in KINDS}
    return by_format.get((base, column.get("format"))) or by_format[(base, None)]


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
