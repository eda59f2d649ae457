"""Handler-shaped functions for the process pool tests (imported inside worker processes)."""

from __future__ import annotations

import os
from typing import Any


class CsvTrouble(Exception):
    """An error whose class name becomes the Step Functions error name."""


def handle(event: dict[str, Any], deps: Any) -> Any:
    if event.get("fail"):
        raise CsvTrouble(f"bad input {event['fail']}")
    if event.get("unserializable"):
        return {"value": {1, 2}}
    return {"pid": os.getpid(), "echo": event, "pipeline": deps.settings.pipeline_name}
