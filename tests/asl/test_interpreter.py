"""Interpreter behaviour that the differential test cannot reach: Retry timing and order,
error matching, Map failure semantics and parallelism, the up-front check."""

from __future__ import annotations

import re
import threading
from typing import Any

import pytest

from etlgen.asl import DefinitionError, ExecutionResult, Interpreter, Options, StatesError, TaskCall


def _task_machine(retry: list[dict[str, Any]], catch: list[dict[str, Any]] | None = None
                  ) -> dict[str, Any]:
    task: dict[str, Any] = {"Type": "Task", "Resource": "work", "Retry": retry, "End": True}
    states: dict[str, Any] = {"Work": task}
    if catch is not None:
        task["Catch"] = catch
        states["Caught"] = {"Type": "Pass", "End": True}
    return {"StartAt": "Work", "States": states}


class Flaky:
    """An invoker failing with the given errors in turn, then succeeding."""

    def __init__(self, *errors: str) -> None:
        self.errors = list(errors)
        self.calls: list[TaskCall] = []

    def __call__(self, resource: str, parameters: Any, call: TaskCall) -> Any:
        self.calls.append(call)
        if self.errors:
            raise StatesError(self.errors.pop(0), "boom")
        return {"ok": True}


def _run(definition: dict[str, Any], invoker: Any, **options: Any) -> tuple[ExecutionResult,
                                                                          list[float]]:
    sleeps: list[float] = []
    result = Interpreter(definition, invoker, Options(sleep=sleeps.append, **options)).run({})
    return result, sleeps


def test_retry_waits_follow_interval_backoff_and_cap_times_the_scale() -> None:
    retry = [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 2, "BackoffRate": 3,
              "MaxAttempts": 4, "MaxDelaySeconds": 10}]
    invoker = Flaky("E", "E", "E", "E")
    result, sleeps = _run(_task_machine(retry), invoker, retry_scale=0.5)
    assert result.status == "SUCCEEDED"
    assert sleeps == [1.0, 3.0, 5.0, 5.0]  # 2, 6, 10 (capped from 18), 10 (capped) halved
    assert [call.attempt for call in invoker.calls] == [0, 1, 2, 3, 4]


def test_full_jitter_draws_between_zero_and_the_backoff_delay() -> None:
    retry = [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 4, "BackoffRate": 2,
              "MaxAttempts": 2, "JitterStrategy": "FULL"}]
    _, sleeps = _run(_task_machine(retry), Flaky("E", "E"), random=lambda: 0.25)
    assert sleeps == [1.0, 2.0]


def test_max_attempts_zero_never_retries_and_goes_to_catch() -> None:
    retry = [{"ErrorEquals": ["Permanent"], "MaxAttempts": 0},
             {"ErrorEquals": ["States.ALL"], "MaxAttempts": 5}]
    catch = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Caught"}]
    invoker = Flaky("Permanent")
    result, sleeps = _run(_task_machine(retry, catch), invoker)
    assert (len(invoker.calls), sleeps) == (1, [])
    assert result.output == {"error": {"Error": "Permanent", "Cause": "boom"}}


def test_the_first_matching_retrier_applies_and_does_not_fall_through_when_spent() -> None:
    retry = [{"ErrorEquals": ["Specific"], "MaxAttempts": 1, "IntervalSeconds": 1},
             {"ErrorEquals": ["States.ALL"], "MaxAttempts": 5, "IntervalSeconds": 7}]
    invoker = Flaky("Specific", "Specific")
    result, sleeps = _run(_task_machine(retry), invoker)
    assert result.status == "FAILED"
    assert (result.error, sleeps, len(invoker.calls)) == ("Specific", [1.0], 2)


def test_each_retrier_counts_its_own_attempts() -> None:
    retry = [{"ErrorEquals": ["A"], "MaxAttempts": 1, "IntervalSeconds": 1},
             {"ErrorEquals": ["B"], "MaxAttempts": 1, "IntervalSeconds": 2}]
    result, sleeps = _run(_task_machine(retry), Flaky("A", "B"))
    assert result.status == "SUCCEEDED"
    assert sleeps == [1.0, 2.0]


def test_task_failed_matches_any_error_but_timeout() -> None:
    catch = [{"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.e", "Next": "Caught"}]
    caught, _ = _run(_task_machine([], catch), Flaky("ValueError"))
    assert caught.status == "SUCCEEDED"
    timed_out, _ = _run(_task_machine([], catch), Flaky("States.Timeout"))
    assert (timed_out.status, timed_out.error) == ("FAILED", "States.Timeout")


def test_history_records_task_failures_and_retries() -> None:
    retry = [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 2}]
    result, _ = _run(_task_machine(retry), Flaky("Hiccup"))
    kinds = [event["type"] for event in result.history]
    assert kinds == ["ExecutionStarted", "TaskStateEntered", "TaskScheduled", "TaskStarted",
                     "TaskFailed", "RetryScheduled", "TaskScheduled", "TaskStarted",
                     "TaskSucceeded", "TaskStateExited", "ExecutionSucceeded"]
    retry_event = result.history[5]
    assert (retry_event["name"], retry_event["error"], retry_event["attempt"]) == (
        "Work", "Hiccup", 1)


def _map_machine(max_concurrency: int, catch: bool = False) -> dict[str, Any]:
    machine: dict[str, Any] = {
        "StartAt": "Each",
        "States": {"Each": {
            "Type": "Map",
            "MaxConcurrency": max_concurrency,
            "ItemProcessor": {"StartAt": "Work", "States": {"Work": {
                "Type": "Task", "Resource": "work", "End": True}}},
            "End": True,
        }},
    }
    if catch:
        machine["States"]["Each"]["Catch"] = [
            {"ErrorEquals": ["States.ALL"], "ResultPath": "$", "Next": "Caught"}]
        machine["States"]["Caught"] = {"Type": "Pass", "End": True}
    return machine


def test_a_failed_iteration_stops_new_ones_and_lets_running_ones_finish() -> None:
    first_failed = threading.Event()

    def listener(event: dict[str, Any]) -> None:
        if event["type"] == "MapIterationFailed":
            first_failed.set()

    def invoker(resource: str, item: Any, call: TaskCall) -> Any:
        if item == 0:
            raise StatesError("ChunkBroken", "item 0")
        assert first_failed.wait(10), "the failure was never recorded"
        return item

    result = Interpreter(_map_machine(2, catch=True), invoker,
                         Options(listener=listener)).run(list(range(6)))
    started = sorted(e["index"] for e in result.history if e["type"] == "MapIterationStarted")
    succeeded = [e["index"] for e in result.history if e["type"] == "MapIterationSucceeded"]
    assert started == [0, 1]
    assert succeeded == [1]
    assert result.output == {"Error": "ChunkBroken", "Cause": "item 0"}
    kinds = [event["type"] for event in result.history]
    assert kinds.index("MapIterationSucceeded") < kinds.index("MapStateFailed")


@pytest.mark.parametrize(("max_concurrency", "max_parallel", "expected"),
                         [(0, 3, 3), (2, 8, 2), (1, 8, 1)])
def test_map_runs_iterations_in_parallel_up_to_the_limits(
        max_concurrency: int, max_parallel: int, expected: int) -> None:
    lock = threading.Lock()
    running = 0
    peak = 0
    barrier = threading.Barrier(expected, timeout=10)

    def invoker(resource: str, item: Any, call: TaskCall) -> Any:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        barrier.wait()  # proves `expected` calls are in flight together
        with lock:
            running -= 1
        return item * 10

    result = Interpreter(_map_machine(max_concurrency), invoker,
                         Options(max_parallel=max_parallel)).run(list(range(6)))
    assert result.output == [item * 10 for item in range(6)]
    assert peak == expected


def test_context_object_times_are_iso_8601_with_milliseconds() -> None:
    definition = {"StartAt": "P", "States": {"P": {
        "Type": "Pass", "Parameters": {"entered.$": "$$.State.EnteredTime",
                                       "started.$": "$$.Execution.StartTime"}, "End": True}}}
    output = Interpreter(definition).run({}).output
    for value in output.values():
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", value)


def test_a_result_over_the_payload_limit_fails_the_execution() -> None:
    def big(resource: str, parameters: Any, call: TaskCall) -> Any:
        return "x" * 300_000

    catch = [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}]
    result, _ = _run(_task_machine([], catch), big)
    assert (result.status, result.error) == ("FAILED", "States.DataLimitExceeded")


@pytest.mark.parametrize(("state", "message"), [
    ({"Type": "Parallel", "Branches": [], "End": True}, "Type 'Parallel' is not supported"),
    ({"Type": "Pass", "Assign": {"x": 1}, "End": True}, "['Assign'] not supported"),
    ({"Type": "Pass", "Next": "Nowhere"}, "Next 'Nowhere' is not a state"),
    ({"Type": "Pass", "InputPath": "$.a[*]", "End": True}, "unsupported syntax"),
    ({"Type": "Pass", "Parameters": {"x.$": "States.Nope(1)"}, "End": True},
     "unknown function 'States.Nope'"),
    ({"Type": "Map", "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED"},
                                       "StartAt": "A", "States": {"A": {"Type": "Succeed"}}},
      "End": True}, "Mode 'DISTRIBUTED' is not supported"),
    ({"Type": "Task", "Resource": "r", "Retry": [
        {"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["X"]}], "End": True},
     "States.ALL must appear alone, in the last rule"),
    ({"Type": "Choice", "Choices": [{"Variable": "$.a", "StringEqualz": "x", "Next": "S"}]},
     "needs exactly one supported comparison operator"),
])
def test_unsupported_constructs_are_refused_up_front_naming_the_state(
        state: dict[str, Any], message: str) -> None:
    definition = {"StartAt": "Odd", "States": {"Odd": state, "S": {"Type": "Succeed"}}}
    with pytest.raises(DefinitionError) as raised:
        Interpreter(definition)
    assert "'Odd'" in str(raised.value)
    assert message in str(raised.value)
