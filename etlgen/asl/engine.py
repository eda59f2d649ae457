"""The contract between the engine's drivers (checker, interpreter, graph) and the state
types: what a state type declares (`StateType`), what one visit of a state sees (`Visit`)
and what the interpreter offers it (`Engine`).

A state type is data plus two functions per query language: the fields a state may hold
and how it runs; optionally how its own fields are checked. The drivers look types up in
`etlgen.asl.states.STATE_TYPES` and never branch on a type's name.
"""

from __future__ import annotations

import random as random_module
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from etlgen.asl.errors import StatesError

# Step Functions runs at most 40 inline Map iterations at once.
INLINE_MAP_LIMIT = 40

State = dict[str, Any]


@dataclass(frozen=True)
class TaskCall:
    """What an invoker knows about the Task it runs."""

    state: str
    execution_id: str
    attempt: int
    timeout_seconds: float | None = None


class TaskInvoker(Protocol):
    def __call__(self, resource: str, parameters: Any, call: TaskCall) -> Any: ...


def no_tasks(resource: str, parameters: Any, call: TaskCall) -> Any:
    raise StatesError("States.TaskFailed", f"no invoker for resource {resource!r}")


@dataclass
class Options:
    """Knobs of the engine that Step Functions does not have."""

    retry_scale: float = 1.0
    max_parallel: int = INLINE_MAP_LIMIT
    state_machine_name: str = "local"
    region: str = "local"
    account: str = "000000000000"
    role_arn: str = "arn:aws:iam::000000000000:role/local"
    sleep: Callable[[float], None] = time.sleep
    random: Callable[[], float] = random_module.random
    listener: Callable[[dict[str, Any]], None] | None = None


class MachineFailed(Exception):
    """A Fail state or an uncaught error ends the (sub-)machine."""

    def __init__(self, error: StatesError) -> None:
        super().__init__(str(error))
        self.error = error


class Engine(Protocol):
    """What the interpreter offers a state while it runs."""

    @property
    def options(self) -> Options: ...

    @property
    def invoker(self) -> TaskInvoker: ...

    def record(self, kind: str, name: str | None = None, **details: Any) -> None:
        """Append one history event."""

    def run_machine(self, machine: State, data: Any, context: dict[str, Any],
                    scope: tuple[Any, ...]) -> Any:
        """Run a nested machine (a Map's ItemProcessor); raises `MachineFailed`."""


@dataclass(frozen=True)
class Visit:
    """One run of one state: its name, definition, raw input, context object (with
    `State`), where it sits (Map iterations), and which attempt this is."""

    engine: Engine
    name: str
    state: State
    input: Any
    context: dict[str, Any]
    scope: tuple[Any, ...]
    attempt: int = 0


# A state's output and the next state's name (None: the machine ends here).
Outcome = tuple[Any, str | None]
Runner = Callable[[Visit], Outcome]


@dataclass(frozen=True)
class Site:
    """A state being checked: `where` prefixes every message (`state 'Name'`), `states`
    are its siblings (targets of Next), `check_machine` checks a nested machine."""

    where: str
    state: State
    states: dict[str, Any]
    check_machine: Callable[[Any, str], None]


Checker = Callable[[Site], None]


def no_checks(site: Site) -> None:
    """A type whose fields need nothing beyond the common checks."""


@dataclass(frozen=True)
class Mode:
    """A state type in one query language: the fields it may hold, how it runs, and the
    checks of its own fields (paths, payloads, Retry and Catch are checked for all)."""

    fields: frozenset[str]
    run: Runner
    check: Checker = no_checks


@dataclass(frozen=True)
class StateType:
    """One entry of the state-type table."""

    name: str
    jsonpath: Mode
    jsonata: Mode | None = None  # None: the type cannot opt into JSONata here
    transitions: bool = True  # needs exactly one of Next and End: true
    retries: bool = False  # Retry and Catch apply to its errors
    shape: tuple[str, str] = ("[", "]")  # Mermaid node brackets around the label
    graph_class: str | None = None  # Mermaid class (graph.py's classDefs: succeed, fail)

    def mode(self, language: str) -> Mode | None:
        return self.jsonata if language == "JSONata" else self.jsonpath


COMMON_FIELDS = frozenset({"Type", "Comment"})
IO_FIELDS = frozenset({"InputPath", "OutputPath"})
FLOW_FIELDS = frozenset({"Next", "End"})
