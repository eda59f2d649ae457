"""The JSONPath subset the Amazon States Language uses in paths: `$`, `$$`, `.name`,
`['name']`, `[index]`.

Kept small on purpose: reference paths in ASL may not use wildcards or filters in the places
the generator emits them, and a tiny evaluator gives exact, well-worded errors.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from etlgen.asl.errors import runtime_error

Segment = str | int

_NAME = re.compile(r"\.([^.\[\]'\"]+)")
_QUOTED = re.compile(r"\[\s*(['\"])((?:\\.|(?!\1).)*)\1\s*\]")
_INDEX = re.compile(r"\[\s*(-?\d+)\s*\]")


class PathSyntaxError(ValueError):
    """The text is not a path of the supported subset."""


@dataclass(frozen=True)
class Path:
    """A parsed path: `context` is True for `$$` (the context object)."""

    text: str
    context: bool
    segments: tuple[Segment, ...]


@lru_cache(maxsize=4096)
def parse(text: str) -> Path:
    if not isinstance(text, str) or not text.startswith("$"):
        raise PathSyntaxError(f"path {text!r} must start with '$'")
    context = text.startswith("$$")
    rest = text[2:] if context else text[1:]
    segments: list[Segment] = []
    position = 0
    while position < len(rest):
        for pattern in (_NAME, _QUOTED, _INDEX):
            match = pattern.match(rest, position)
            if match:
                break
        else:
            raise PathSyntaxError(
                f"path {text!r}: unsupported syntax at {rest[position:]!r} "
                "(supported: .name, ['name'], [index])"
            )
        if pattern is _NAME:
            segments.append(match.group(1))
        elif pattern is _QUOTED:
            segments.append(re.sub(r"\\(.)", r"\1", match.group(2)))
        else:
            segments.append(int(match.group(1)))
        position = match.end()
    return Path(text, context, tuple(segments))


_MISSING = object()


def _step(value: Any, segment: Segment) -> Any:
    if isinstance(segment, int):
        if isinstance(value, list) and -len(value) <= segment < len(value):
            return value[segment]
        return _MISSING
    if isinstance(value, dict) and segment in value:
        return value[segment]
    return _MISSING


def lookup(path: str, data: Any, context: Any = None) -> tuple[bool, Any]:
    """(found, value) of a path in the data (or in the context object for `$$`)."""
    parsed = parse(path)
    value = context if parsed.context else data
    for segment in parsed.segments:
        value = _step(value, segment)
        if value is _MISSING:
            return False, None
    return True, value


def read(path: str, data: Any, context: Any = None, *, what: str = "path") -> Any:
    """The value at a path; a missing one is a `States.Runtime` error, as in Step Functions."""
    found, value = lookup(path, data, context)
    if not found:
        source = "the context object" if parse(path).context else "the input"
        raise runtime_error(f"The JSONPath '{path}' specified for the {what} could not be "
                            f"found in {source}")
    return value


def write(path: str, data: Any, value: Any) -> Any:
    """A copy of data with value placed at path (ResultPath), creating missing objects."""
    parsed = parse(path)
    if parsed.context:
        raise runtime_error(f"ResultPath '{path}' cannot point into the context object")
    if not parsed.segments:
        return value
    if not isinstance(data, dict):
        raise runtime_error(f"Unable to apply ResultPath '{path}': the state input is not "
                            "a JSON object")
    result = copy.copy(data)
    target: Any = result
    for position, segment in enumerate(parsed.segments):
        last = position == len(parsed.segments) - 1
        if isinstance(segment, int):
            raise runtime_error(f"ResultPath '{path}' may not contain array indexes")
        if last:
            target[segment] = value
            break
        child = target.get(segment, _MISSING)
        if child is _MISSING:
            child = {}
        elif isinstance(child, dict):
            child = copy.copy(child)
        else:
            raise runtime_error(f"Unable to apply ResultPath '{path}': '{segment}' is not "
                                "a JSON object")
        target[segment] = child
        target = child
    return result
