"""Which JSON Schema keywords the row validator enforces.

The generator refuses, at render time, a CSV row schema that uses anything else, so a
keyword is never silently ignored at run time. Both sides import this one module. The
column types, formats and keywords come from the table of column kinds
(`handlers.validation.registry`).
"""

from __future__ import annotations

from typing import Any

from handlers.validation import registry
from handlers.validation.registry import NULL, column_type

ROOT_KEYWORDS = frozenset(
    {"$schema", "$id", "$comment", "title", "description", "type", "properties", "required",
     "additionalProperties"}
)


def _type_problem(column: dict[str, Any]) -> str | None:
    types = registry.json_types()
    kind = column.get("type")
    if isinstance(kind, str) and kind in types:
        return None
    if isinstance(kind, list):
        bases = [name for name in kind if name != NULL]
        if len(kind) == 2 and NULL in kind and len(bases) == 1 and bases[0] in types:
            return None
        return (f"a type list must be one of {sorted(types)} plus 'null' "
                f"(e.g. [\"string\", \"null\"]), got {kind}")
    return f"must be one of {sorted(types)}, or one of them and 'null' in a list"


def row_schema_problems(schema: Any) -> list[tuple[str, str]]:
    """Return (json_pointer, message) for every construct the handlers cannot enforce."""
    if not isinstance(schema, dict):
        return [("", "the row schema must be a JSON object")]
    problems: list[tuple[str, str]] = []
    for key in sorted(set(schema) - ROOT_KEYWORDS):
        problems.append((f"/{key}", f"keyword {key!r} is not supported at the top level"))
    if schema.get("type", "object") != "object":
        problems.append(("/type", "the row schema must have type 'object'"))
    if schema.get("additionalProperties", False) is not False:
        problems.append(("/additionalProperties", "must be false: unknown columns are rejected"))
    keywords, formats = registry.column_keywords(), registry.formats()
    properties = schema.get("properties")
    if not isinstance(properties, dict) or not properties:
        problems.append(("/properties", "must name at least one column"))
        return problems
    for name, column in properties.items():
        where = f"/properties/{name}"
        if not isinstance(column, dict):
            problems.append((where, "must be an object"))
            continue
        for key in sorted(set(column) - keywords):
            problems.append((f"{where}/{key}", f"keyword {key!r} is not supported for a column"))
        type_problem = _type_problem(column)
        if type_problem:
            problems.append((f"{where}/type", type_problem))
        elif column_type(column)[1] and isinstance(column.get("enum"), list) \
                and None not in column["enum"]:
            problems.append((f"{where}/enum", "the type allows null but the enum does not "
                             "list it, so an empty field would be rejected: add null to the "
                             "enum or drop 'null' from the type"))
        if "format" in column and column["format"] not in formats:
            problems.append((f"{where}/format", f"must be one of {sorted(formats)}"))
        if "enum" in column and not (isinstance(column["enum"], list) and column["enum"]):
            problems.append((f"{where}/enum", "must be a non-empty list"))
    required = schema.get("required", [])
    if not isinstance(required, list):
        problems.append(("/required", "must be a list of column names"))
    else:
        for name in required:
            if name not in properties:
                problems.append(("/required", f"names {name!r}, which is not a column"))
    return problems
