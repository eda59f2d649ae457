"""Structured logs: one JSON object per line, so CloudWatch Logs Insights can query fields."""

from __future__ import annotations

import json
import sys
import time
from typing import Any, TextIO


class JsonLogger:
    """Writes `{"level", "message", "timestamp", **fields}` lines."""

    def __init__(self, stream: TextIO | None = None, **context: Any) -> None:
        self._stream = stream
        self._context = context

    def bind(self, **context: Any) -> JsonLogger:
        """A logger that adds `context` to every line (for example the file id)."""
        return JsonLogger(self._stream, **{**self._context, **context})

    def _emit(self, level: str, message: str, fields: dict[str, Any]) -> None:
        record = {"level": level, "message": message,
                  "timestamp": round(time.time(), 3), **self._context, **fields}
        stream = self._stream or sys.stdout
        stream.write(json.dumps(record, default=str, ensure_ascii=False) + "\n")
        stream.flush()

    def info(self, message: str, **fields: Any) -> None:
        self._emit("INFO", message, fields)

    def warning(self, message: str, **fields: Any) -> None:
        self._emit("WARNING", message, fields)

    def error(self, message: str, **fields: Any) -> None:
        self._emit("ERROR", message, fields)


log = JsonLogger()
