"""Errors of the engine: runtime errors inside an execution, and unusable definitions."""

from __future__ import annotations

# Errors Step Functions never retries or catches: they always fail the execution.
TERMINAL_ERRORS = frozenset({"States.Runtime", "States.DataLimitExceeded"})


class StatesError(Exception):
    """An error raised inside an execution, named as Step Functions would name it."""

    def __init__(self, name: str, cause: str = "") -> None:
        super().__init__(f"{name}: {cause}" if cause else name)
        self.name = name
        self.cause = cause

    @property
    def terminal(self) -> bool:
        return self.name in TERMINAL_ERRORS


def runtime_error(cause: str) -> StatesError:
    """A `States.Runtime` error: bad paths or payloads; never retried or caught."""
    return StatesError("States.Runtime", cause)


class DefinitionError(ValueError):
    """The definition uses something the engine does not support, or is malformed;
    `str(error)` names the state and field."""
