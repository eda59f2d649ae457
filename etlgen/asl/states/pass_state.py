"""Pass: passes its input on, reshaped by Parameters or replaced by Result; in JSONata,
its Output expression is the output."""

from __future__ import annotations

import copy

from etlgen.asl import jsonata, payload
from etlgen.asl.dataflow import input_path, next_state, output_path, result_path
from etlgen.asl.engine import (
    COMMON_FIELDS,
    FLOW_FIELDS,
    IO_FIELDS,
    Mode,
    Outcome,
    Site,
    StateType,
    Visit,
)
from etlgen.asl.fields import fail


def run(visit: Visit) -> Outcome:
    state = visit.state
    effective = input_path(state, visit.input, visit.context)
    result = effective
    if "Parameters" in state:
        result = payload.resolve(state["Parameters"], effective, visit.context)
    if "Result" in state:
        result = copy.deepcopy(state["Result"])
    output = result_path(state.get("ResultPath", "$"), visit.input, result)
    return output_path(state, output, visit.context), next_state(state)


def run_jsonata(visit: Visit) -> Outcome:
    output = jsonata.render(visit.state.get("Output", "{% $states.input %}"), visit.input,
                            visit.context)
    return output, next_state(visit.state)


def check_jsonata(site: Site) -> None:
    for text in jsonata.expressions(site.state.get("Output")):
        try:
            jsonata.parse(text)
        except jsonata.JsonataSyntaxError as error:
            raise fail(site.where, f"Output: {error}") from None


PASS = StateType(
    "Pass",
    jsonpath=Mode(COMMON_FIELDS | IO_FIELDS | FLOW_FIELDS
                  | {"Parameters", "Result", "ResultPath"}, run),
    jsonata=Mode(COMMON_FIELDS | FLOW_FIELDS | {"QueryLanguage", "Output"}, run_jsonata,
                 check_jsonata),
    shape=("[/", "/]"),
)
