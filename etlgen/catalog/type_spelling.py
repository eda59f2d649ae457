"""Glue (Hive) column types spelled for another engine: one parser of `decimal(p,s)`,
`array<...>` and `struct<name:type,...>`, and a `Spelling` per engine (Athena's view
definitions, DuckDB), so each engine states only how it writes each form."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

_DECIMAL = re.compile(r"decimal\((\d+),\s*(\d+)\)")


@dataclass(frozen=True)
class Spelling:
    engine: str  # named in the error for a type it has no spelling of
    simple: Mapping[str, str]  # Glue's primitive type names -> the engine's
    decimal: Callable[[str, str], str]  # (precision, scale)
    array: Callable[[str], str]  # the element type, spelled
    struct: Callable[[list[tuple[str, str]]], str]  # (field name, spelled type)

    def of(self, glue: str) -> str:
        glue = glue.strip()
        if glue in self.simple:
            return self.simple[glue]
        decimal = _DECIMAL.fullmatch(glue)
        if decimal:
            return self.decimal(decimal[1], decimal[2])
        if glue.startswith("array<") and glue.endswith(">"):
            return self.array(self.of(glue[6:-1]))
        if glue.startswith("struct<") and glue.endswith(">"):
            fields = [field.split(":", 1) for field in _top_level(glue[7:-1])]
            return self.struct([(name, self.of(kind)) for name, kind in fields])
        raise ValueError(f"no {self.engine} type for the Glue type {glue!r}")


def _top_level(text: str) -> list[str]:
    """`a:string,b:array<x>` split on the commas outside angle brackets."""
    parts, depth, start = [], 0, 0
    for position, char in enumerate(text):
        depth += {"<": 1, ">": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(text[start:position])
            start = position + 1
    return [*parts, text[start:]]
