"""Fault injection for tests of the local runner: a JSON plan, named by the environment
variable `ETLGEN_FAULT_PLAN`, read by the task dispatcher in each worker process (never by
the handlers). Each fault matches a Task state and, optionally, fields of its event:

    {"faults": [{"state": "ProcessChunk", "match": {"chunk.index": 1}, "times": 1,
                 "action": "raise", "error": "InjectedFault", "message": "disk hiccup"}]}

`action` is `raise` (before the handler runs), `exit` (the worker process dies before the
handler runs) or `exit_after` (the handler does its work, then the process dies before
returning, so its result is lost), `exit_before_write` / `exit_after_write` (the process
dies right before / right after the handler writes an object whose key contains the
fault's `key_contains`, e.g. `"/_commits/"`: a crash inside finalize between two of its
steps; the handler's object store is wrapped, the handler itself is unchanged). `times`
counts firings across all processes (files created atomically next to the plan); without
it the fault fires on every call.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

PLAN_VARIABLE = "ETLGEN_FAULT_PLAN"
EXIT_STATUS = 86


def plan_path() -> str | None:
    return os.environ.get(PLAN_VARIABLE) or None


def load_plan(path: str | None) -> list[dict[str, Any]]:
    if not path:
        return []
    return list(json.loads(Path(path).read_text(encoding="utf-8")).get("faults", []))


def _field(event: Any, dotted: str) -> Any:
    value = event
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _claim(path: str, number: int, times: int | None) -> bool:
    """Take one of the fault's `times` firings, atomically across processes."""
    if times is None:
        return True
    folder = Path(path + ".fired")
    folder.mkdir(parents=True, exist_ok=True)
    for slot in range(times):
        try:
            descriptor = os.open(folder / f"{number}-{slot}", os.O_CREAT | os.O_EXCL)
        except FileExistsError:
            continue
        os.close(descriptor)
        return True
    return False


def matching_fault(path: str | None, state: str, event: Any) -> dict[str, Any] | None:
    """The first fault for this call that still has firings left (and claim it)."""
    for number, fault in enumerate(load_plan(path)):
        if fault.get("state") not in (None, state):
            continue
        if any(_field(event, key) != value for key, value in fault.get("match", {}).items()):
            continue
        assert path is not None
        if _claim(path, number, fault.get("times")):
            return fault
    return None


def injected_error(fault: dict[str, Any]) -> Exception:
    """An exception whose class name is the fault's error name (the Step Functions name)."""
    name = str(fault.get("error", "InjectedFault"))
    error: Exception = type(name, (Exception,), {})(
        fault.get("message", "fault injected by the plan"))
    return error


WRITE_ACTIONS = ("exit_before_write", "exit_after_write")


class CrashingObjects:
    """An object store that kills its process around the write of a matching key."""

    def __init__(self, inner: Any, fault: dict[str, Any]) -> None:
        self.inner, self.fault = inner, fault

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def _matches(self, key: str) -> bool:
        return str(self.fault.get("key_contains", "")) in key

    def put_bytes(self, key: str, data: bytes, content_type: str = "application/octet-stream"
                  ) -> None:
        crash = self._matches(key)
        if crash and self.fault.get("action") == "exit_before_write":
            os._exit(EXIT_STATUS)
        self.inner.put_bytes(key, data, content_type)
        if crash and self.fault.get("action") == "exit_after_write":
            os._exit(EXIT_STATUS)
