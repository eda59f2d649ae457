"""Fail: ends the machine with an error and cause, literal or read by a path."""

from __future__ import annotations

from etlgen.asl import payload
from etlgen.asl.engine import COMMON_FIELDS, Mode, Outcome, Site, StateType, Visit
from etlgen.asl.errors import StatesError
from etlgen.asl.fields import check_expression


def run(visit: Visit) -> Outcome:
    state = visit.state
    error = state.get("Error")
    cause = state.get("Cause")
    if "ErrorPath" in state:
        error = payload.dynamic_value("ErrorPath", state["ErrorPath"], visit.input,
                                      visit.context)
    if "CausePath" in state:
        cause = payload.dynamic_value("CausePath", state["CausePath"], visit.input,
                                      visit.context)
    raise StatesError(error if error is not None else "", cause if cause is not None else "")


def check(site: Site) -> None:
    for field in ("ErrorPath", "CausePath"):
        if field in site.state:
            check_expression(site.where, field, site.state[field])


FAIL = StateType(
    "Fail",
    jsonpath=Mode(COMMON_FIELDS | {"Error", "Cause", "ErrorPath", "CausePath"}, run, check),
    transitions=False,
    shape=("([", "])"),
    graph_class="fail",
)
