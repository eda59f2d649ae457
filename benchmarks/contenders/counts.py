"""What every contender reports about one file, so its counts can be set beside etlgen's."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Counts:
    rows_in: int
    rows_valid: int | None  # None: the contender does not validate (parse only)
    rows_rejected: int | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
