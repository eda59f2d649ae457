"""One located problem in pipeline.yaml, and how it is printed.

Every check (YAML, JSON Schema, cross-field, row schema) returns these, so the loader can
report all of them at once, sorted by position, in one format.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

Path = tuple[str | int, ...]


@dataclass(frozen=True, order=True)
class Position:
    """1-based line and column, as editors show them."""

    line: int
    column: int


@dataclass(frozen=True)
class Problem:
    position: Position | None
    field: Path
    message: str

    def render(self, file: str) -> str:
        where = file if self.position is None else (
            f"{file}:{self.position.line}:{self.position.column}"
        )
        if self.field:
            return f"{where}: {dotted(self.field)}: {self.message}"
        return f"{where}: {self.message}"


def dotted(path: Sequence[str | int]) -> str:
    """('processing', 'max_chunks') -> 'processing.max_chunks'; list items as [i]."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def render_all(file: str, problems: Sequence[Problem]) -> str:
    """All problems, one per line, in file order (unlocated ones first)."""
    def order(problem: Problem) -> tuple[int, int, str, str]:
        position = problem.position or Position(0, 0)
        return (position.line, position.column, dotted(problem.field), problem.message)

    lines = [problem.render(file) for problem in sorted(problems, key=order)]
    return "\n".join(dict.fromkeys(lines))
