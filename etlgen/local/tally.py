"""Chunk and row counts read off the interpreter's history events.

The live progress line and the final run report count the same events, so they can
never disagree about how many chunks ran or how many rows they saw.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from handlers.events import ROW_COUNTS


@dataclass
class ChunkTally:
    chunks: int = 0
    chunks_done: int = 0
    retries: int = 0
    rows_in: int = 0
    rows_valid: int = 0
    rows_rejected: int = 0

    def add(self, event: dict[str, Any]) -> bool:
        """Count one history event; False when it says nothing about chunks or rows."""
        kind = event["type"]
        if kind == "MapStateStarted":
            self.chunks += event["length"]
        elif kind == "MapIterationSucceeded":
            self.chunks_done += 1
        elif kind == "RetryScheduled":
            self.retries += 1
        elif kind == "TaskSucceeded" and event.get("scope") and isinstance(
                event.get("output"), dict):  # the process step's `ChunkCounts`
            for name in ROW_COUNTS:
                value = event["output"].get(name)
                if isinstance(value, int):
                    setattr(self, name, getattr(self, name) + value)
        else:
            return False
        return True
