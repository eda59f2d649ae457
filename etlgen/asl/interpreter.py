"""An interpreter for the Amazon States Language subset the generator emits.

It mirrors Step Functions' data flow (InputPath -> Parameters -> task -> ResultSelector ->
ResultPath -> OutputPath), its Retry/Catch rules and its history event names, so that a run
here behaves like a run on AWS. Task resources are handed to an injected invoker; Map
iterations run in threads, so an invoker that hands work to processes gets real parallelism.
"""

from __future__ import annotations

import copy
import json
import random as random_module
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from etlgen.asl import choice, jsonata, jsonpath, payload
from etlgen.asl.check import check_definition
from etlgen.asl.errors import StatesError, runtime_error
from etlgen.asl.retry import first_match, retry_delay

# Step Functions' limit on a state's input or output.
PAYLOAD_LIMIT_BYTES = 262_144
# Step Functions runs at most 40 inline Map iterations at once.
INLINE_MAP_LIMIT = 40


@dataclass(frozen=True)
class TaskCall:
    """What an invoker knows about the Task it runs."""

    state: str
    execution_id: str
    attempt: int
    timeout_seconds: float | None = None


class TaskInvoker(Protocol):
    def __call__(self, resource: str, parameters: Any, call: TaskCall) -> Any: ...


def _no_tasks(resource: str, parameters: Any, call: TaskCall) -> Any:
    raise StatesError("States.TaskFailed", f"no invoker for resource {resource!r}")


@dataclass
class Options:
    """Knobs of the local engine that Step Functions does not have."""

    retry_scale: float = 1.0
    max_parallel: int = INLINE_MAP_LIMIT
    state_machine_name: str = "local"
    region: str = "local"
    account: str = "000000000000"
    role_arn: str = "arn:aws:iam::000000000000:role/local"
    sleep: Callable[[float], None] = time.sleep
    random: Callable[[], float] = random_module.random
    listener: Callable[[dict[str, Any]], None] | None = None


@dataclass
class ExecutionResult:
    status: str  # SUCCEEDED | FAILED
    output: Any = None
    error: str | None = None
    cause: str | None = None
    history: list[dict[str, Any]] = field(default_factory=list)

    def states_entered(self) -> list[str]:
        return [event["name"] for event in self.history if event["type"].endswith("Entered")]


class _Failed(Exception):
    """A Fail state or an uncaught error ends the (sub-)machine."""

    def __init__(self, error: StatesError) -> None:
        super().__init__(str(error))
        self.error = error


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Interpreter:
    """Runs one definition; thread-safe, so Map iterations may share it."""

    def __init__(self, definition: dict[str, Any], invoker: TaskInvoker = _no_tasks,
                 options: Options | None = None) -> None:
        check_definition(definition)
        self.definition = definition
        self.invoker = invoker
        self.options = options or Options()
        self._history: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    # history ---------------------------------------------------------------------------
    def _record(self, kind: str, name: str | None = None, **details: Any) -> None:
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
        self._record("ExecutionStarted", input=execution_input)
        try:
            output = self._run_machine(self.definition, execution_input, context, scope=())
        except _Failed as failed:
            self._record("ExecutionFailed", error=failed.error.name, cause=failed.error.cause)
            return ExecutionResult("FAILED", None, failed.error.name, failed.error.cause,
                                   list(self._history))
        self._record("ExecutionSucceeded", output=output)
        return ExecutionResult("SUCCEEDED", output, history=list(self._history))

    def _run_machine(self, machine: dict[str, Any], data: Any, context: dict[str, Any],
                     scope: tuple[Any, ...]) -> Any:
        name = machine["StartAt"]
        while True:
            state = machine["States"][name]
            try:
                data, name = self._run_state(name, state, data, context, scope)
            except StatesError as error:
                raise _Failed(error) from None
            if name is None:
                return data

    def _run_state(self, name: str, state: dict[str, Any], raw: Any, base: dict[str, Any],
                   scope: tuple[Any, ...]) -> tuple[Any, str | None]:
        kind = state["Type"]
        context = {**base, "State": {"Name": name, "EnteredTime": now_iso(), "RetryCount": 0}}
        self._record(f"{kind}StateEntered", name, input=raw, scope=scope)
        if kind == "Fail":
            error = self._fail_error(state, raw, context)
            raise _Failed(error)
        if kind in ("Task", "Map"):
            return self._run_with_retry(name, state, raw, context, scope)
        output, next_name = self._simple_state(name, state, raw, context)
        output = self._checked_output(name, output)
        self._record(f"{kind}StateExited", name, output=output, scope=scope)
        return output, next_name

    def _simple_state(self, name: str, state: dict[str, Any], raw: Any,
                      context: dict[str, Any]) -> tuple[Any, str | None]:
        kind = state["Type"]
        if state.get("QueryLanguage") == "JSONata":  # only Pass, see check.JSONATA_FIELDS
            output = jsonata.render(state.get("Output", "{% $states.input %}"), raw, context)
            return output, _next(state)
        effective = _input_path(state, raw, context)
        if kind == "Pass":
            result = effective
            if "Parameters" in state:
                result = payload.resolve(state["Parameters"], effective, context)
            if "Result" in state:
                result = copy.deepcopy(state["Result"])
            output = _result_path(state.get("ResultPath", "$"), raw, result)
            return _output_path(state, output, context), _next(state)
        if kind == "Choice":
            for rule in state["Choices"]:
                if choice.evaluate(rule, effective, context):
                    return _output_path(state, effective, context), rule["Next"]
            if "Default" not in state:
                raise StatesError("States.NoChoiceMatched",
                                  f"No Choice rule matched and no Default in state '{name}'")
            return _output_path(state, effective, context), state["Default"]
        if kind == "Succeed":
            return _output_path(state, effective, context), None
        if kind == "Wait":
            seconds = state.get("Seconds")
            if "SecondsPath" in state:
                seconds = jsonpath.read(state["SecondsPath"], effective, context,
                                        what="SecondsPath")
            if not isinstance(seconds, int | float) or isinstance(seconds, bool):
                raise runtime_error(f"Wait state '{name}': seconds must be a number")
            self.options.sleep(float(seconds) * self.options.retry_scale)
            return _output_path(state, raw, context), _next(state)
        raise runtime_error(f"state '{name}': type {kind} is not supported")  # pragma: no cover

    def _fail_error(self, state: dict[str, Any], raw: Any, context: dict[str, Any]) -> StatesError:
        error = state.get("Error")
        cause = state.get("Cause")
        if "ErrorPath" in state:
            error = payload.dynamic_value("ErrorPath", state["ErrorPath"], raw, context)
        if "CausePath" in state:
            cause = payload.dynamic_value("CausePath", state["CausePath"], raw, context)
        return StatesError(error if error is not None else "", cause if cause is not None else "")

    @staticmethod
    def _checked_output(name: str, output: Any) -> Any:
        _check_size(name, output)
        return output

    # Task and Map: Retry and Catch ---------------------------------------------------
    def _run_with_retry(self, name: str, state: dict[str, Any], raw: Any,
                        context: dict[str, Any], scope: tuple[Any, ...]) -> tuple[Any, str | None]:
        kind = state["Type"]
        retriers = state.get("Retry", [])
        retries_done = [0] * len(retriers)
        attempt = 0
        while True:
            context["State"]["RetryCount"] = attempt
            try:
                if kind == "Task":
                    result = self._task(name, state, raw, context, scope, attempt)
                else:
                    result = self._map(name, state, raw, context, scope)
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
                    self._record("RetryScheduled", name, error=error.name, cause=error.cause,
                                 attempt=attempt, delay_seconds=delay, scope=scope)
                    self.options.sleep(delay * self.options.retry_scale)
                    continue
                catchers = state.get("Catch", [])
                position = first_match(catchers, error.name)
                if position is None:
                    raise
                catcher = catchers[position]
                output = _result_path(catcher.get("ResultPath", "$"), raw,
                                      {"Error": error.name, "Cause": error.cause})
                output = self._checked_output(name, output)
                self._record(f"{kind}StateExited", name, output=output, scope=scope,
                             caught=error.name)
                return output, catcher["Next"]
        output = _result_path(state.get("ResultPath", "$"), raw, result)
        output = self._checked_output(name, _output_path(state, output, context))
        self._record(f"{kind}StateExited", name, output=output, scope=scope)
        return output, _next(state)

    def _task(self, name: str, state: dict[str, Any], raw: Any, context: dict[str, Any],
              scope: tuple[Any, ...], attempt: int) -> Any:
        effective = _input_path(state, raw, context)
        parameters = effective
        if "Parameters" in state:
            parameters = payload.resolve(state["Parameters"], effective, context)
        resource = state["Resource"]
        self._record("TaskScheduled", name, resource=resource, parameters=parameters,
                     scope=scope)
        self._record("TaskStarted", name, resource=resource, scope=scope)
        call = TaskCall(name, context["Execution"]["Id"], attempt, state.get("TimeoutSeconds"))
        try:
            result = self.invoker(resource, copy.deepcopy(parameters), call)
        except StatesError as error:
            self._record("TaskFailed", name, resource=resource, error=error.name,
                         cause=error.cause, scope=scope)
            raise
        _check_size(name, result)
        self._record("TaskSucceeded", name, resource=resource, output=result, scope=scope)
        if "ResultSelector" in state:
            result = payload.resolve(state["ResultSelector"], result, context)
        return result

    # Map -----------------------------------------------------------------------------
    def _map(self, name: str, state: dict[str, Any], raw: Any, context: dict[str, Any],
             scope: tuple[Any, ...]) -> Any:
        effective = _input_path(state, raw, context)
        items = jsonpath.read(state.get("ItemsPath", "$"), effective, context, what="ItemsPath")
        if not isinstance(items, list):
            raise runtime_error(f"Map state '{name}': ItemsPath must select an array, got "
                                f"{type(items).__name__}")
        self._record("MapStateStarted", name, length=len(items), scope=scope)
        processor = state.get("ItemProcessor", state.get("Iterator"))
        selector = state.get("ItemSelector", state.get("Parameters"))
        base = {key: value for key, value in context.items() if key in ("Execution",
                                                                         "StateMachine")}
        results: list[Any] = [None] * len(items)

        def iteration(index: int) -> None:
            item_context = {**context, "Map": {"Item": {"Index": index, "Value": items[index]}}}
            value = items[index]
            if selector is not None:
                value = payload.resolve(selector, effective, item_context)
            self._record("MapIterationStarted", name, index=index, scope=scope)
            try:
                results[index] = self._run_machine(processor, value, base,
                                                   (*scope, (name, index)))
            except _Failed as failed:
                self._record("MapIterationFailed", name, index=index, error=failed.error.name,
                             scope=scope)
                raise failed.error from None
            self._record("MapIterationSucceeded", name, index=index, scope=scope)

        limit = state.get("MaxConcurrency", 0) or len(items)
        limit = max(1, min(limit, len(items), self.options.max_parallel))
        failure = _run_bounded(iteration, len(items), limit)
        if failure is not None:
            self._record("MapStateFailed", name, error=failure.name, scope=scope)
            raise failure
        self._record("MapStateSucceeded", name, scope=scope)
        _check_size(name, results)
        if "ResultSelector" in state:
            return payload.resolve(state["ResultSelector"], results, context)
        return results


def _run_bounded(work: Callable[[int], None], count: int, limit: int) -> StatesError | None:
    """Run work(0..count-1), at most `limit` at once; after the first failure start no more,
    let the running ones finish, and return that failure."""
    if count == 0:
        return None
    failure: StatesError | None = None
    with ThreadPoolExecutor(max_workers=limit, thread_name_prefix="map") as pool:
        pending: set[Future[None]] = set()
        next_index = 0
        while pending or (failure is None and next_index < count):
            while failure is None and next_index < count and len(pending) < limit:
                pending.add(pool.submit(work, next_index))
                next_index += 1
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in sorted(done, key=id):
                error = future.exception()
                if error is None:
                    continue
                if not isinstance(error, StatesError):
                    raise error
                if error.terminal:
                    failure = error if failure is None or not failure.terminal else failure
                elif failure is None:
                    failure = error
    return failure


def _next(state: dict[str, Any]) -> str | None:
    return None if state.get("End") else state["Next"]


def _input_path(state: dict[str, Any], raw: Any, context: dict[str, Any]) -> Any:
    if "InputPath" not in state:
        return raw
    if state["InputPath"] is None:
        return {}
    return jsonpath.read(state["InputPath"], raw, context, what="InputPath")


def _output_path(state: dict[str, Any], output: Any, context: dict[str, Any]) -> Any:
    if "OutputPath" not in state:
        return output
    if state["OutputPath"] is None:
        return {}
    return jsonpath.read(state["OutputPath"], output, context, what="OutputPath")


def _result_path(path: str | None, raw: Any, result: Any) -> Any:
    if path is None:
        return raw
    return jsonpath.write(path, raw, result)


def _check_size(name: str, value: Any) -> None:
    size = len(json.dumps(value, separators=(",", ":")).encode())
    if size > PAYLOAD_LIMIT_BYTES:
        raise StatesError("States.DataLimitExceeded",
                          f"The state/task '{name}' returned a result with a size exceeding "
                          f"the maximum number of bytes service limit ({size} > "
                          f"{PAYLOAD_LIMIT_BYTES})")

