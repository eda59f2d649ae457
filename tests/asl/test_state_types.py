"""The state-type table is the one place a state type lives: a type registered there (a
toy one, in this test only) is checked, run, retried and drawn like the built-in ones."""

from __future__ import annotations

import re
from typing import Any

import pytest

from etlgen.asl import STATE_TYPES, DefinitionError, Interpreter, StatesError, to_mermaid
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


def _run_scale(visit: Visit) -> Outcome:
    """Multiplies the number at `$.n` by Factor; fails while `$.flaky` says so."""
    state = visit.state
    effective = input_path(state, visit.input, visit.context)
    if visit.attempt < effective.get("flaky", 0):
        raise StatesError("Toy.Flaky", f"attempt {visit.attempt}")
    result = effective["n"] * state["Factor"]
    output = result_path(state.get("ResultPath", "$"), visit.input, result)
    return output_path(state, output, visit.context), next_state(state)


def _check_scale(site: Site) -> None:
    factor = site.state.get("Factor")
    if not isinstance(factor, int | float) or isinstance(factor, bool):
        raise fail(site.where, "Factor must be a number")


SCALE = StateType(
    "Scale",
    jsonpath=Mode(COMMON_FIELDS | IO_FIELDS | FLOW_FIELDS
                  | {"Factor", "ResultPath", "Retry", "Catch"}, _run_scale, _check_scale),
    retries=True,
    shape=("[[", "]]"),
)


@pytest.fixture
def scale_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(STATE_TYPES, "Scale", SCALE)


def _definition(**scale: Any) -> dict[str, Any]:
    return {"StartAt": "Triple", "States": {
        "Triple": {"Type": "Scale", "Factor": 3, "ResultPath": "$.tripled", "Next": "Done",
                   **scale},
        "Done": {"Type": "Succeed"},
    }}


def test_an_unregistered_type_is_refused_up_front() -> None:
    with pytest.raises(DefinitionError, match=re.escape("Type 'Scale' is not supported")):
        Interpreter(_definition())


@pytest.mark.usefixtures("scale_registered")
def test_a_registered_type_runs_with_the_common_data_flow_and_history() -> None:
    result = Interpreter(_definition()).run({"n": 7})
    assert (result.status, result.output) == ("SUCCEEDED", {"n": 7, "tripled": 21})
    kinds = [event["type"] for event in result.history]
    assert kinds == ["ExecutionStarted", "ScaleStateEntered", "ScaleStateExited",
                     "SucceedStateEntered", "SucceedStateExited", "ExecutionSucceeded"]


@pytest.mark.usefixtures("scale_registered")
def test_a_registered_type_gets_retry_and_catch_from_its_entry() -> None:
    retry = [{"ErrorEquals": ["Toy.Flaky"], "MaxAttempts": 2, "IntervalSeconds": 0}]
    retried = Interpreter(_definition(Retry=retry)).run({"n": 2, "flaky": 2})
    assert retried.output == {"n": 2, "flaky": 2, "tripled": 6}
    assert [e["attempt"] for e in retried.history if e["type"] == "RetryScheduled"] == [1, 2]

    catch = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Done"}]
    caught = Interpreter(_definition(Retry=retry, Catch=catch)).run({"n": 2, "flaky": 5})
    assert caught.status == "SUCCEEDED"
    assert caught.output["error"] == {"Error": "Toy.Flaky", "Cause": "attempt 2"}


@pytest.mark.usefixtures("scale_registered")
@pytest.mark.parametrize(("fields", "message"), [
    ({"Factor": "three"}, "state 'Triple': Factor must be a number"),
    ({"Seconds": 1}, "state 'Triple': field(s) ['Seconds'] not supported on a Scale state"),
    ({"ResultPath": "$.a[*]"}, "state 'Triple': ResultPath: path '$.a[*]'"),
    ({"QueryLanguage": "JSONata"}, "a JSONata Scale state is not supported locally "
                                   "(supported: Pass)"),
])
def test_a_registered_type_is_checked_by_its_fields_and_its_own_check(
        fields: dict[str, Any], message: str) -> None:
    with pytest.raises(DefinitionError, match=re.escape(message)):
        Interpreter(_definition(**fields))


@pytest.mark.usefixtures("scale_registered")
def test_a_registered_type_is_drawn_with_its_shape() -> None:
    assert '    s_Triple[["Triple"]]' in to_mermaid(_definition()).splitlines()
