"""The local JSONata subset against an independent implementation (`jsonata-python`), on
the generated StampFailure output and on the subset's edges; anything outside the subset
is refused when the definition is checked."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import jsonata as reference
import pytest

from etlgen.asl import DefinitionError, Interpreter, StatesError, jsonata
from etlgen.model import PipelineConfig, RetentionConfig
from etlgen.template.workflow import (
    MISSING_CAUSE,
    MISSING_ERROR_NAME,
    state_machine_definition,
)

STATE_INPUT = {"source": {"key": "incoming/a.csv", "version_id": "v1"},
               "error": {"Error": "HeaderMismatch", "Cause": "bad header"}, "n": 7,
               "list": [1, "two"], "flag": True}
CONTEXT = {"State": {"Name": "S", "EnteredTime": "2024-05-06T12:00:00.000Z"}}
EXPRESSIONS = [
    "$states.input",
    "$states.input.source.key & '#' & $states.input.source.version_id",
    "$merge([$states.input, {'failure': {'n': $states.input.n * 2 + 1}}])",
    "$merge([{'a': 1, 'b': 2}, {'b': 3}])",
    "$string(10 / 4) & '|' & $string(1 / 3) & '|' & $string(-7) & '|' & $string(2e3)",
    "$string($states.input.list) & $string($states.input.flag) & $string(null)",
    "$floor(7.9) + $floor(-0.5) - (3 - 1) * 2 % 3",
    "{\"dq\": \"it's\", 'sq': 'say \"hi\"', 'esc': 'a\\nb'}",
    "[1, $states.input.missing, 'x']",
    "{'kept': 1, 'dropped': $states.input.missing}",
    "$states.context.State.Name & ' at ' & $states.context.State.EnteredTime",
    "$states.input.missing & 'x'",
]


def oracle(expression: str, state_input: Any = STATE_INPUT) -> Any:
    compiled = reference.Jsonata(expression)
    compiled.assign("states", {"input": state_input, "context": CONTEXT})
    return compiled.evaluate(None)


@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_subset_agrees_with_the_reference_implementation(expression: str) -> None:
    assert jsonata.render("{% " + expression + " %}", STATE_INPUT, CONTEXT) == oracle(expression)


def _stamp(ttl_days: int) -> str:
    config = PipelineConfig(name="p", source=Path("p.yaml"), schema_path=Path("s.json"),
                            schema={"type": "object"},
                            retention=RetentionConfig(status_ttl_days=ttl_days))
    return state_machine_definition(config)["States"]["StampFailure"]["Output"]


@pytest.mark.parametrize("ttl_days", [1, 90, 3650])
def test_the_generated_failure_stamp_agrees_with_the_reference(ttl_days: int) -> None:
    output = _stamp(ttl_days)
    expression = jsonata.EXPRESSION.match(output).group(1)
    before = int(time.time())
    ours = jsonata.render(output, STATE_INPUT, CONTEXT)
    theirs = oracle(expression)
    after = int(time.time())
    for result in (ours, theirs):
        assert {k: v for k, v in result.items() if k != "failure"} == STATE_INPUT
        expires = result["failure"]["expires_at"]
        assert isinstance(expires, str) and expires.isdigit()
        assert before + ttl_days * 86400 <= int(expires) <= after + ttl_days * 86400
    assert abs(int(ours["failure"]["expires_at"]) - int(theirs["failure"]["expires_at"])) <= 1


CAUGHT_ERRORS = {
    "whole": ({"Error": "HeaderMismatch", "Cause": "bad header"},
              {"Error": "HeaderMismatch", "Cause": "bad header"}),
    "no cause": ({"Error": "States.Timeout"},
                 {"Error": "States.Timeout", "Cause": MISSING_CAUSE}),
    "empty cause": ({"Error": "States.Runtime", "Cause": ""},
                    {"Error": "States.Runtime", "Cause": ""}),
    "nothing": ({}, {"Error": MISSING_ERROR_NAME, "Cause": MISSING_CAUSE}),
    "extra field": ({"Error": "E", "Cause": "c", "Trace": "t"},
                    {"Error": "E", "Cause": "c", "Trace": "t"}),
}


@pytest.mark.parametrize("case", list(CAUGHT_ERRORS))
def test_the_failure_stamp_always_leaves_an_error_name_and_cause(case: str) -> None:
    """A Catcher's error output usually, not always, has a Cause: after StampFailure,
    `$.error.Error` and `$.error.Cause` exist (checked against the reference)."""
    caught, normalised = CAUGHT_ERRORS[case]
    state_input = {**STATE_INPUT, "error": caught}
    output = _stamp(90)
    ours = jsonata.render(output, state_input, CONTEXT)
    theirs = oracle(jsonata.EXPRESSION.match(output).group(1), state_input)
    for result in (ours, theirs):
        assert result["error"] == normalised
        assert {k: v for k, v in result.items() if k not in ("error", "failure")} == {
            k: v for k, v in STATE_INPUT.items() if k != "error"}
    assert ours["error"] == theirs["error"]


def test_every_millis_of_one_evaluation_is_the_same_instant() -> None:
    assert jsonata.render("{% $millis() - $millis() %}", {}, {}) == 0


def test_a_jsonata_pass_state_runs_in_the_interpreter() -> None:
    definition = {"StartAt": "Stamp", "States": {"Stamp": {
        "Type": "Pass", "QueryLanguage": "JSONata",
        "Output": {"key": "{% $states.input.source.key %}", "fixed": "text", "n": 1},
        "End": True}}}
    result = Interpreter(definition).run(STATE_INPUT)
    assert result.output == {"key": "incoming/a.csv", "fixed": "text", "n": 1}


@pytest.mark.parametrize(("state", "message"), [
    ({"Type": "Pass", "QueryLanguage": "JSONata", "Output": "{% $sum([1, 2]) %}",
      "End": True}, "$sum is not supported"),
    ({"Type": "Pass", "QueryLanguage": "JSONata", "Output": "{% $states.input[0] %}",
      "End": True}, "unexpected '['"),
    ({"Type": "Pass", "QueryLanguage": "JSONata", "Output": "{% $states.input %}",
      "Assign": {"x": 1}, "End": True}, "['Assign'] not supported"),
    ({"Type": "Pass", "QueryLanguage": "JSONata", "ResultPath": "$.x", "End": True},
     "['ResultPath'] not supported"),
    ({"Type": "Task", "QueryLanguage": "JSONata", "Resource": "x", "End": True},
     "a JSONata Task state is not supported locally"),
    ({"Type": "Pass", "QueryLanguage": "XPath", "End": True}, "QueryLanguage 'XPath'"),
])
def test_what_the_subset_does_not_cover_is_refused_up_front(state: dict[str, Any],
                                                            message: str) -> None:
    with pytest.raises(DefinitionError) as raised:
        Interpreter({"StartAt": "S", "States": {"S": state}})
    assert message in str(raised.value)


def test_a_runtime_jsonata_error_is_a_states_error() -> None:
    with pytest.raises(StatesError) as raised:
        jsonata.render("{% $states.input.source * 2 %}", STATE_INPUT, CONTEXT)
    assert raised.value.name == "States.QueryEvaluationError"
