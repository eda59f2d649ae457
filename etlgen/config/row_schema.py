"""Load the CSV row schema named by pipeline.yaml and refuse what the handlers cannot enforce.

Problems are reported at the `schema:` line of pipeline.yaml and also name the schema
file and the JSON pointer (or line) inside it, so both files can be opened at the spot.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path as FilePath
from typing import Any

from jsonschema import Draft202012Validator

from etlgen.config.json_positions import pointer_position
from etlgen.config.problems import Position, Problem
from handlers.row_schema_keywords import row_schema_problems

_FIELD = ("schema",)
_SUPPORTED_DIALECT = "https://json-schema.org/draft/2020-12/schema"
_META_VALIDATOR = Draft202012Validator(
    Draft202012Validator.META_SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER
)


Locator = Callable[[list[str | int], str], Problem]
"""A problem inside the row schema, at `schema:` in pipeline.yaml: `file:line:col: /pointer:
message` (what `load_row_schema` returns for later checks of the columns)."""


def load_row_schema(
    value: str, config_file: FilePath, shown_config: str, position: Position
) -> tuple[FilePath, dict[str, Any] | None, list[Problem], Locator]:
    """Return (absolute path, parsed schema or None, problems, locator of problems in it)."""
    path = (config_file.parent / value).resolve()
    shown = os.path.normpath(os.path.join(os.path.dirname(shown_config), value))
    text = ""

    def located(parts: list[str | int], message: str) -> Problem:
        """`file:line:col: /pointer: message`, the line and column of the value in the file."""
        where = pointer_position(text, parts) if text else None
        place = f"{shown}:{where.line}:{where.column}" if where else shown
        return Problem(position, _FIELD, f"{place}: {_pointer(parts)}: {message}")

    def problem(message: str) -> Problem:
        return Problem(position, _FIELD, f"{shown}: {message}")

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return path, None, [problem("file not found")], located
    except IsADirectoryError:
        return path, None, [problem("is a directory, expected a JSON file")], located
    except UnicodeDecodeError:
        return path, None, [problem("is not UTF-8 text")], located
    except OSError as error:
        return path, None, [problem(f"cannot be read: {error.strerror or error}")], located
    try:
        schema = json.loads(text)
    except json.JSONDecodeError as error:
        return path, None, [Problem(position, _FIELD,
                                    f"{shown}:{error.lineno}:{error.colno}: invalid JSON: "
                                    f"{error.msg}")], located
    problems = [
        located(list(error.absolute_path), f"not a valid JSON Schema: {error.message}")
        for error in _META_VALIDATOR.iter_errors(schema)
    ]
    if isinstance(schema, dict) and schema.get("$schema", _SUPPORTED_DIALECT) != (
        _SUPPORTED_DIALECT
    ):
        problems.append(located(["$schema"], f"only {_SUPPORTED_DIALECT} is supported"))
    problems.extend(located(_parts(pointer), message)
                    for pointer, message in row_schema_problems(schema))
    return path, schema if isinstance(schema, dict) else None, problems, located


def _parts(pointer: str) -> list[str | int]:
    """'/properties/a~1b' -> ['properties', 'a/b'] (object keys only in these pointers)."""
    if not pointer:
        return []
    return [part.replace("~1", "/").replace("~0", "~") for part in pointer[1:].split("/")]


def _pointer(parts: list[str | int]) -> str:
    """RFC 6901 pointer; the document itself is shown as '(root)'."""
    if not parts:
        return "(root)"
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in parts)
