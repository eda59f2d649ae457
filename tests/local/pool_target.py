"""Handler-shaped functions for the process pool tests (imported inside worker processes)."""

from __future__ import annotations

import os
from typing import Any


class CsvTrouble(Exception):
    """An error whose class name becomes the Step Functions error name."""


def handle(event: dict[str, Any], deps: Any) -> Any:
    if event.get("say"):
        print(event["say"])
    if event.get("fail"):
        raise CsvTrouble(f"bad input {event['fail']}")
    if event.get("unserializable"):
        return {"value": {1, 2}}
    return {"pid": os.getpid(), "echo": event, "pipeline": deps.settings.pipeline_name}


def write_a_partial_line_and_exit(code: int) -> None:
    """Output still in the buffer when the process ends, and an exit status of its own."""
    import sys

    sys.stdout.write("the last words, without a line break")
    raise SystemExit(code)
