"""An interpreter for the Amazon States Language subset the engine supports.

It mirrors Step Functions' data flow (InputPath -> Parameters -> task -> ResultSelector ->
ResultPath -> OutputPath), its Retry/Catch rules and its history event names, so that a run
here behaves like a run on AWS. What each state does comes from its type's entry in
`etlgen.asl.states.STATE_TYPES`. Task resources are handed to an injected invoker; Map
iterations run in threads, so an invoker that hands work to processes gets real parallelism.
"""

from __future__ import annotations

import copy
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from etlgen.asl.check import check_definition
from etlgen.asl.dataflow import check_size, result_path
from etlgen.asl.engine import (
    MachineFailed,
    Options,
    Outcome,
    Runner,
    State,
    TaskInvoker,
    Visit,
    no_tasks,
)
from etlgen.asl.errors import StatesError
from etlgen.asl.retry import first_match, retry_delay
from etlgen.asl.states import STATE_TYPES


@dataclass
class ExecutionResult:
    status: str  # SUCCEEDED | FAILED
    output: Any = None
    error: str | None = None
    cause: str | None = None
    history: list[dict[str, Any]] = field(default_factory=list)

    def states_entered(self) -> list[str]:
        return [event["name"] for event in self.history if event["type"].endswith("Entered")]


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Interpreter:
    """Runs one definition; thread-safe, so Map iterations may share it."""

    def __init__(self, definition: dict[str, Any], invoker: TaskInvoker = no_tasks,
                 options: Options | None = None) -> None:
        check_definition(definition)
        self.definition = definition
        self._invoker = invoker
        self._options = options or Options()
        self._history: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    @property
    def invoker(self) -> TaskInvoker:
        return self._invoker

    @property
    def options(self) -> Options:
        return self._options

    # history ---------------------------------------------------------------------------
    def record(self, kind: str, name: str | None = None, **details: Any) -> None:
        event = {"type": kind, "name": name, "timestamp": time.time(), **details}
        with self._lock:
            event["id"] = len(self._history) + 1
            self._history.append(event)
        if self.options.listener is not None:
            self.options.listener(event)

    # execution -------------------------------------------------------------------------
    def run(self, execution_input: Any, name: str = "local") -> ExecutionResult:
        self._history = []
        options = self.options
        machine_arn = (f"arn:aws:states:{options.region}:{options.account}:stateMachine:"
                       f"{options.state_machine_name}")
        execution_id = (f"arn:aws:states:{options.region}:{options.account}:execution:"
                        f"{options.state_machine_name}:{name}")
        context = {
            "Execution": {"Id": execution_id, "Input": copy.deepcopy(execution_input),
                          "Name": name, "RoleArn": options.role_arn, "StartTime": now_iso()},
            "StateMachine": {"Id": machine_arn, "Name": options.state_machine_name},
        }
        self.record("ExecutionStarted", input=execution_input)
        try:
            output = self.run_machine(self.definition, execution_input, context, scope=())
        except MachineFailed as failed:
            self.record("ExecutionFailed", error=failed.error.name, cause=failed.error.cause)
            return ExecutionResult("FAILED", None, failed.error.name, failed.error.cause,
                                   list(self._history))
        self.record("ExecutionSucceeded", output=output)
        return ExecutionResult("SUCCEEDED", output, history=list(self._history))

    def run_machine(self, machine: State, data: Any, context: dict[str, Any],
                    scope: tuple[Any, ...]) -> Any:
        name = machine["StartAt"]
        while True:
            state = machine["States"][name]
            try:
                data, next_name = self._run_state(name, state, data, context, scope)
            except StatesError as error:
                raise MachineFailed(error) from None
            if next_name is None:
                return data
            name = next_name

    def _run_state(self, name: str, state: State, raw: Any, base: dict[str, Any],
                   scope: tuple[Any, ...]) -> Outcome:
        kind = state["Type"]
        state_type = STATE_TYPES[kind]
        mode = state_type.mode(state.get("QueryLanguage", "JSONPath"))
        assert mode is not None, "check_definition refuses a mode the type lacks"
        context = {**base, "State": {"Name": name, "EnteredTime": now_iso(), "RetryCount": 0}}
        self.record(f"{kind}StateEntered", name, input=raw, scope=scope)
        visit = Visit(self, name, state, raw, context, scope)
        if state_type.retries:
            return self._with_retry(mode.run, visit)
        output, next_name = mode.run(visit)
        check_size(name, output)
        self.record(f"{kind}StateExited", name, output=output, scope=scope)
        return output, next_name

    # Retry and Catch -------------------------------------------------------------------
    def _with_retry(self, run: Runner, visit: Visit) -> Outcome:
        name, state, scope = visit.name, visit.state, visit.scope
        kind = state["Type"]
        retriers = state.get("Retry", [])
        retries_done = [0] * len(retriers)
        attempt = 0
        while True:
            visit.context["State"]["RetryCount"] = attempt
            try:
                output, next_name = run(replace(visit, attempt=attempt))
                break
            except StatesError as error:
                if error.terminal:
                    raise
                position = first_match(retriers, error.name)
                if position is not None and retries_done[position] < retriers[position].get(
                        "MaxAttempts", 3):
                    delay = retry_delay(retriers[position], retries_done[position],
                                        self.options.random)
                    retries_done[position] += 1
                    attempt += 1
                    self.record("RetryScheduled", name, error=error.name, cause=error.cause,
                                attempt=attempt, delay_seconds=delay, scope=scope)
                    self.options.sleep(delay * self.options.retry_scale)
                    continue
                catchers = state.get("Catch", [])
                position = first_match(catchers, error.name)
                if position is None:
                    raise
                catcher = catchers[position]
                output = result_path(catcher.get("ResultPath", "$"), visit.input,
                                     {"Error": error.name, "Cause": error.cause})
                check_size(name, output)
                self.record(f"{kind}StateExited", name, output=output, scope=scope,
                            caught=error.name)
                return output, catcher["Next"]
        check_size(name, output)
        self.record(f"{kind}StateExited", name, output=output, scope=scope)
        return output, next_name
