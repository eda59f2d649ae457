"""Check pipeline.yaml against its JSON Schema and word each error for a person.

jsonschema's own messages show regular expressions and Python reprs of whole mappings;
these say what is expected instead, and point at the key or value at fault.
"""

from __future__ import annotations

import datetime
import difflib
from typing import Any

from jsonschema import Draft202012Validator, ValidationError

from etlgen.config.problems import Path, Problem
from etlgen.config.schema import PATTERN_HINTS, pipeline_schema
from etlgen.config.yaml_source import YamlDocument
from handlers.formats import format_names

_VALIDATORS: dict[tuple[str, ...], Draft202012Validator] = {}

_EXPECTED = {
    "integer": "a whole number",
    "number": "a number",
    "string": "text",
    "boolean": "true or false",
    "object": "a mapping of keys",
    "array": "a list",
    "null": "nothing (null)",
}


def _validator() -> Draft202012Validator:
    """One validator per set of registered output formats (the only part of the schema
    read from elsewhere, `handlers.formats.FORMATS`)."""
    formats = format_names()
    if formats not in _VALIDATORS:
        _VALIDATORS[formats] = Draft202012Validator(pipeline_schema())
    return _VALIDATORS[formats]


def schema_problems(document: YamlDocument) -> list[Problem]:
    """Every schema violation of the document, located and worded."""
    errors = list(_validator().iter_errors(document.data))
    # A value of the wrong type also fails its enum, pattern or bounds: say only the type.
    mistyped = {tuple(error.absolute_path) for error in errors if error.validator == "type"}
    problems: list[Problem] = []
    for error in errors:
        path = tuple(error.absolute_path)
        if path in mistyped and error.validator != "type":
            continue
        if "propertyNames" in error.schema_path and not isinstance(error.instance, str):
            continue  # non-text keys are already reported where the YAML is parsed
        problems.extend(_describe(error, document))
    return problems


def _describe(error: ValidationError, document: YamlDocument) -> list[Problem]:
    path: Path = tuple(error.absolute_path)
    kind = error.validator
    if "propertyNames" in error.schema_path:
        return [_tag_key_problem(error, path, document)]
    if kind == "additionalProperties":
        schema: Any = error.schema  # the object schema holding the keyword
        instance: Any = error.instance  # the mapping at fault
        known = sorted(schema.get("properties", {}))
        return [
            Problem(document.key_position((*path, key)), (*path, key), _unknown_key(key, known))
            for key in instance
            if key not in known and isinstance(key, str)  # other keys: see yaml_source
        ]
    if kind == "required":
        return _missing_keys(error, path, document)
    if kind in ("oneOf", "anyOf"):
        return _alternatives(error, path, document)
    return [Problem(document.value_position(path), path, _value_message(error))]


_JSON_TYPES: dict[str, type | tuple[type, ...]] = {
    "string": str, "object": dict, "array": list, "boolean": bool, "null": type(None),
}


def _alternatives(error: ValidationError, path: Path, document: YamlDocument) -> list[Problem]:
    """A value that may take one of several shapes: say what is wrong with the shape it
    has (a mapping gets the mapping's errors), or which shapes it could have."""
    branches: Any = error.validator_value
    value: Any = error.instance
    shaped = [index for index, branch in enumerate(branches)
              if isinstance(value, _JSON_TYPES.get(branch.get("type"), ()))]
    if not shaped:
        return [Problem(document.value_position(path), path,
                        _type_message([branch["type"] for branch in branches], value))]
    if isinstance(value, str):
        choices = [str(item) for branch in branches for item in branch.get("enum", [])]
        mapping = [branch for branch in branches if branch.get("type") == "object"]
        keys = ", ".join(mapping[0].get("properties", {})) if mapping else ""
        also = f", or a mapping of {keys}" if keys else ""
        return [Problem(document.value_position(path), path,
                        f"{_shorten(value)} is not allowed: expected {' or '.join(choices)}"
                        f"{also}")]
    inner = [sub for sub in error.context or [] if sub.schema_path[0] in shaped]
    return [problem for sub in inner for problem in _describe(sub, document)]


def _missing_keys(error: ValidationError, path: Path, document: YamlDocument) -> list[Problem]:
    # jsonschema yields one error per missing key without naming it apart from the text:
    # report every missing key from each such error; render_all drops the repeats.
    required: Any = error.validator_value
    given: Any = error.instance
    return [
        Problem(document.value_position(path), (*path, key), "required key is missing")
        for key in required
        if key not in given
    ]


def _unknown_key(key: str, known: list[str]) -> str:
    guess = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
    if guess:
        return f"unknown key (did you mean {guess[0]}?)"
    return f"unknown key (expected one of: {', '.join(known)})"


def _tag_key_problem(error: ValidationError, path: Path, document: YamlDocument) -> Problem:
    key: Any = error.instance
    limit: Any = error.validator_value
    where = document.key_position((*path, key))
    if error.validator == "not":
        message = "tag keys starting with 'aws:' are reserved by AWS"
    elif error.validator == "maxLength":
        message = f"tag key is {len(key)} characters long, at most 128 are allowed"
    elif error.validator == "minLength":
        message = "tag key must not be empty"
    elif error.validator == "pattern":
        message = f"tag key {key!r}: {PATTERN_HINTS[limit]}"
    else:
        message = error.message
    return Problem(where, (*path, key), message)


def _value_message(error: ValidationError) -> str:
    kind = error.validator
    value: Any = error.instance  # the value at fault: any JSON
    limit: Any = error.validator_value  # the keyword's value in the schema
    shown = _shorten(value)
    if kind == "type":
        return _type_message(limit, value)
    if kind == "pattern":
        hint = PATTERN_HINTS.get(limit, f"expected text matching {limit}")
        return f"{shown} is not valid: {hint}"
    if kind == "enum":
        return f"{shown} is not allowed: expected one of {', '.join(map(str, limit))}"
    if kind == "maxLength":
        if limit == 1:
            return f"{shown} is {len(value)} characters long: expected a single character"
        return f"{shown} is {len(value)} characters long, at most {limit} are allowed"
    if kind == "minLength":
        return "must not be empty" if limit == 1 else f"must be at least {limit} characters"
    if kind == "maxProperties":
        return f"{len(value)} entries given, at most {limit} are allowed"
    return error.message


def _type_message(expected: str | list[str], value: Any) -> str:
    names = [expected] if isinstance(expected, str) else list(expected)
    wanted = " or ".join(_EXPECTED.get(name, name) for name in names)
    message = f"expected {wanted}, got {_describe_value(value)}"
    if "string" in names and isinstance(value, bool | int | float | datetime.date):
        message += " (quote it to keep it as text)"
    return message


def _describe_value(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, datetime.date):
        return f"the date {value.isoformat()}"
    if isinstance(value, str):
        return f"the text {_shorten(value)}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def _shorten(value: Any, limit: int = 40) -> str:
    """repr of the value, cut so a 300-character tag does not swamp the message."""
    text = repr(value)
    if len(text) <= limit:
        return text
    return text[: limit - 4] + "...'" if isinstance(value, str) else text[: limit - 3] + "..."
