"""Task: hands its parameters to the invoker (the one door to the outside world)."""

from __future__ import annotations

import copy

from etlgen.asl import payload
from etlgen.asl.dataflow import check_size, input_path, next_state, output_path, result_path
from etlgen.asl.engine import (
    COMMON_FIELDS,
    FLOW_FIELDS,
    IO_FIELDS,
    Mode,
    Outcome,
    Site,
    StateType,
    TaskCall,
    Visit,
)
from etlgen.asl.errors import StatesError
from etlgen.asl.fields import fail


def run(visit: Visit) -> Outcome:
    state, name, engine, scope = visit.state, visit.name, visit.engine, visit.scope
    effective = input_path(state, visit.input, visit.context)
    parameters = effective
    if "Parameters" in state:
        parameters = payload.resolve(state["Parameters"], effective, visit.context)
    resource = state["Resource"]
    engine.record("TaskScheduled", name, resource=resource, parameters=parameters, scope=scope)
    engine.record("TaskStarted", name, resource=resource, scope=scope)
    call = TaskCall(name, visit.context["Execution"]["Id"], visit.attempt,
                    state.get("TimeoutSeconds"))
    try:
        result = engine.invoker(resource, copy.deepcopy(parameters), call)
    except StatesError as error:
        engine.record("TaskFailed", name, resource=resource, error=error.name,
                      cause=error.cause, scope=scope)
        raise
    check_size(name, result)
    engine.record("TaskSucceeded", name, resource=resource, output=result, scope=scope)
    if "ResultSelector" in state:
        result = payload.resolve(state["ResultSelector"], result, visit.context)
    output = result_path(state.get("ResultPath", "$"), visit.input, result)
    return output_path(state, output, visit.context), next_state(state)


def check(site: Site) -> None:
    if not isinstance(site.state.get("Resource"), str):
        raise fail(site.where, "Resource must be a string")


TASK = StateType(
    "Task",
    jsonpath=Mode(COMMON_FIELDS | IO_FIELDS | FLOW_FIELDS
                  | {"Parameters", "ResultSelector", "ResultPath", "Resource", "Retry",
                     "Catch", "TimeoutSeconds", "HeartbeatSeconds"}, run, check),
    retries=True,
)
