"""Wait: sleeps Seconds (or SecondsPath) times `Options.retry_scale`, then passes its input."""

from __future__ import annotations

from etlgen.asl import jsonpath
from etlgen.asl.dataflow import input_path, next_state, output_path
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
from etlgen.asl.errors import runtime_error
from etlgen.asl.fields import check_path


def run(visit: Visit) -> Outcome:
    state, options = visit.state, visit.engine.options
    effective = input_path(state, visit.input, visit.context)
    seconds = state.get("Seconds")
    if "SecondsPath" in state:
        seconds = jsonpath.read(state["SecondsPath"], effective, visit.context,
                                what="SecondsPath")
    if not isinstance(seconds, int | float) or isinstance(seconds, bool):
        raise runtime_error(f"Wait state '{visit.name}': seconds must be a number")
    options.sleep(float(seconds) * options.retry_scale)
    return output_path(state, visit.input, visit.context), next_state(state)


def check(site: Site) -> None:
    if "SecondsPath" in site.state:
        check_path(site.where, "SecondsPath", site.state["SecondsPath"], nullable=False)


WAIT = StateType(
    "Wait",
    jsonpath=Mode(COMMON_FIELDS | IO_FIELDS | FLOW_FIELDS | {"Seconds", "SecondsPath"}, run,
                  check),
    shape=("[/", "/]"),
)
