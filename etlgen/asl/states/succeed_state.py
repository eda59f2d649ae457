"""Succeed: ends the machine with its (filtered) input."""

from __future__ import annotations

from etlgen.asl.dataflow import input_path, output_path
from etlgen.asl.engine import COMMON_FIELDS, IO_FIELDS, Mode, Outcome, StateType, Visit


def run(visit: Visit) -> Outcome:
    effective = input_path(visit.state, visit.input, visit.context)
    return output_path(visit.state, effective, visit.context), None


SUCCEED = StateType(
    "Succeed",
    jsonpath=Mode(COMMON_FIELDS | IO_FIELDS, run),
    transitions=False,
    shape=("([", "])"),
    graph_class="succeed",
)
