"""Where a JSON pointer's value starts in a JSON text, as line and column.

`json` keeps no positions; the text was already parsed once, so this walk only skips
values with the standard decoder until it reaches the member the pointer names.
"""

from __future__ import annotations

import json

from etlgen.config.problems import Position

_WHITESPACE = " \t\n\r"
_DECODER = json.JSONDecoder()


def pointer_position(text: str, parts: list[str | int]) -> Position | None:
    """Line and column of the value at `parts` (None when the pointer is not in the text)."""
    index = _skip(text, 0)
    for part in parts:
        found = _member(text, index, part)
        if found is None:
            return None
        index = found
    line = text.count("\n", 0, index) + 1
    return Position(line, index - (text.rfind("\n", 0, index) + 1) + 1)


def _skip(text: str, index: int) -> int:
    while index < len(text) and text[index] in _WHITESPACE:
        index += 1
    return index


def _member(text: str, index: int, part: str | int) -> int | None:
    """Start of the member `part` of the object or array starting at `index`."""
    opening = text[index:index + 1]
    if opening not in ("{", "["):
        return None
    index = _skip(text, index + 1)
    position = 0
    while index < len(text) and text[index] not in "}]":
        if opening == "{":
            key, index = _DECODER.raw_decode(text, index)
            index = _skip(text, _skip(text, index) + 1)  # past the colon
            if key == str(part):
                return index
        elif position == part:
            return index
        _, index = _DECODER.raw_decode(text, index)
        index = _skip(text, index)
        if text[index:index + 1] == ",":
            index = _skip(text, index + 1)
        position += 1
    return None
