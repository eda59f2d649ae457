"""The local interpreter against a real peer: moto's Step Functions engine (taken from
LocalStack) runs the same flow-only definitions; outputs, errors and the sequence of states
entered and exited must be identical.

Where moto disagrees with the AWS documentation, the test says so and asserts the AWS
behaviour on the local interpreter only (see the `test_aws_behaviour_*` tests at the end).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from moto import mock_aws

from etlgen.asl import ExecutionResult, Interpreter, Options, StatesError, TaskCall

REGION = "us-east-1"
ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/states"
MISSING_TABLE = "no-such-table"


@dataclass
class Case:
    id: str
    definition: dict[str, Any]
    inputs: list[Any]
    parallel: bool = False  # iterations interleave: compare the event sequence as a multiset
    mask_cause: bool = False  # causes carry request ids: compare error names only
    expected_status: set[str] = field(default_factory=lambda: {"SUCCEEDED", "FAILED"})


def _pass(result: Any, **extra: Any) -> dict[str, Any]:
    return {"Type": "Pass", "Result": result, "End": True, **extra}


def _map(processor: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"Type": "Map", "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, **processor},
            **fields}


CASES = [
    Case(
        "pass-data-flow",
        {
            "StartAt": "Shape",
            "States": {
                "Shape": {
                    "Type": "Pass",
                    "InputPath": "$.order",
                    "Parameters": {
                        "id.$": "$.id",
                        "first.$": "$.lines[1]",
                        "dashed.$": "$['x-ref']",
                        "fixed": {"kind": "order", "tags": ["a", {"n.$": "$.id"}]},
                    },
                    "ResultPath": "$.deep.er.shaped",
                    "Next": "Literal",
                },
                "Literal": {"Type": "Pass", "Result": {"k": [1, 2]}, "ResultPath": "$.lit",
                            "Next": "Discard"},
                "Discard": {"Type": "Pass", "Result": "ignored", "ResultPath": None,
                            "Next": "Pick"},
                "Pick": {"Type": "Pass", "OutputPath": "$.deep.er", "Next": "Empty"},
                "Empty": {"Type": "Pass", "InputPath": None, "ResultPath": "$.from_null_input",
                          "Next": "Done"},
                "Done": {"Type": "Succeed"},
            },
        },
        [{"order": {"id": "o-1", "lines": [{"sku": "s1"}, {"sku": "s2"}], "x-ref": "r9"}}],
    ),
    Case(
        "choice-comparisons",
        {
            "StartAt": "Route",
            "States": {
                "Route": {
                    "Type": "Choice",
                    "Choices": [
                        {"Variable": "$.s", "StringEquals": "exact", "Next": "StringEq"},
                        {"Variable": "$.s", "StringMatches": "log-*.csv", "Next": "Matches"},
                        {"Variable": "$.s", "StringLessThan": "m", "Next": "StringLess"},
                        {"Variable": "$.n", "NumericGreaterThanEquals": 100, "Next": "Big"},
                        {"Variable": "$.n", "NumericEqualsPath": "$.limit", "Next": "AtLimit"},
                        {"Variable": "$.b", "BooleanEquals": True, "Next": "Flag"},
                        {"Variable": "$.t", "TimestampLessThan": "2024-01-01T00:00:00Z",
                         "Next": "Old"},
                    ],
                    "Default": "Other",
                },
                **{name: _pass({"branch": name}) for name in (
                    "StringEq", "Matches", "StringLess", "Big", "AtLimit", "Flag", "Old",
                    "Other")},
            },
        },
        [
            {"s": "exact"},
            {"s": "log-2024.csv"},
            {"s": "apple"},
            {"s": "zebra", "n": 150},
            {"s": "zebra", "n": 7, "limit": 7},
            {"s": "zebra", "n": 1, "limit": 2, "b": True},
            {"s": "zebra", "n": 1, "limit": 2, "b": False, "t": "2023-05-01T10:00:00Z"},
            {"s": 5, "n": "150", "limit": 2, "b": "true", "t": "2025-05-01T10:00:00Z"},
        ],
    ),
    Case(
        "choice-combinators-and-type-tests",
        {
            "StartAt": "Route",
            "States": {
                "Route": {
                    "Type": "Choice",
                    "Choices": [
                        {"Not": {"Variable": "$.a", "IsPresent": True}, "Next": "Absent"},
                        {"And": [{"Variable": "$.a", "IsPresent": True},
                                 {"Variable": "$.a", "IsNull": True}], "Next": "PresentNull"},
                        {"Or": [{"Variable": "$.a", "IsString": True},
                                {"Variable": "$.a", "IsBoolean": True}], "Next": "StrOrBool"},
                        {"And": [{"Variable": "$.a", "IsNumeric": True},
                                 {"Not": {"Variable": "$.a", "NumericLessThan": 0}}],
                         "Next": "NonNegative"},
                    ],
                    "Default": "Other",
                },
                **{name: _pass({"branch": name}) for name in (
                    "PresentNull", "StrOrBool", "Absent", "NonNegative", "Other")},
            },
        },
        [{"a": None}, {"a": "x"}, {"a": False}, {}, {"a": 3}, {"a": -3}, {"a": [1]}],
    ),
    Case(
        "map-item-selector-context-result-selector",
        {
            "StartAt": "Each",
            "States": {
                "Each": _map(
                    {"StartAt": "Tag", "States": {"Tag": {
                        "Type": "Pass",
                        "Parameters": {"label.$": "States.Format('{}-{}', $.batch, $.index)",
                                       "state.$": "$$.State.Name", "item.$": "$.item"},
                        "End": True}}},
                    ItemsPath="$.items",
                    ItemSelector={"batch.$": "$.batch", "index.$": "$$.Map.Item.Index",
                                  "item.$": "$$.Map.Item.Value"},
                    MaxConcurrency=1,
                    ResultSelector={"tagged.$": "$", "count.$": "States.ArrayLength($)"},
                    ResultPath="$.out",
                    End=True,
                ),
            },
        },
        [{"batch": "b7", "items": [{"v": 1}, {"v": 2}, {"v": 3}]}, {"batch": "b8", "items": []}],
    ),
    Case(
        "map-parallel-iterations",
        {
            "StartAt": "Each",
            "States": {
                "Each": _map(
                    {"StartAt": "Check", "States": {
                        "Check": {"Type": "Choice", "Choices": [
                            {"Variable": "$", "NumericGreaterThan": 10, "Next": "Large"}],
                            "Default": "Small"},
                        "Large": _pass("large"),
                        "Small": _pass("small"),
                    }},
                    MaxConcurrency=0,
                    End=True,
                ),
            },
        },
        [[1, 20, 3, 40, 5, 60]],
        parallel=True,
    ),
    Case(
        "map-iteration-fails-caught-by-name",
        {
            "StartAt": "Each",
            "States": {
                "Each": _map(
                    {"StartAt": "Check", "States": {
                        "Check": {"Type": "Choice", "Choices": [
                            {"Variable": "$.v", "NumericGreaterThan": 2, "Next": "TooBig"}],
                            "Default": "Ok"},
                        "TooBig": {"Type": "Fail", "Error": "Custom.TooBig",
                                   "Cause": "value above 2"},
                        "Ok": {"Type": "Pass", "End": True},
                    }},
                    ItemsPath="$.xs",
                    ItemSelector={"v.$": "$$.Map.Item.Value"},
                    MaxConcurrency=1,
                    ResultPath="$.results",
                    Catch=[
                        {"ErrorEquals": ["Other.Error"], "Next": "Wrong"},
                        {"ErrorEquals": ["Custom.Other", "Custom.TooBig"],
                         "ResultPath": "$.error", "Next": "Handled"},
                        {"ErrorEquals": ["States.ALL"], "Next": "Wrong"},
                    ],
                    Next="Done",
                ),
                "Wrong": {"Type": "Fail", "Error": "WrongCatcher"},
                "Handled": {"Type": "Pass", "Result": "handled", "ResultPath": "$.outcome",
                            "Next": "Done"},
                "Done": {"Type": "Succeed"},
            },
        },
        [{"xs": [1, 2]}, {"xs": [1, 5, 2]}],
    ),
    Case(
        "map-iteration-fails-execution",
        {
            "StartAt": "Each",
            "States": {
                "Each": _map(
                    {"StartAt": "Boom", "States": {"Boom": {
                        "Type": "Fail", "ErrorPath": "$.e", "CausePath": "$.c"}}},
                    MaxConcurrency=1,
                    End=True,
                ),
            },
        },
        [[{"e": "First.Error", "c": "first item"}, {"e": "Second.Error", "c": "never"}]],
    ),
    Case(
        "intrinsic-functions",
        {
            "StartAt": "Build",
            "States": {"Build": {
                "Type": "Pass",
                "Parameters": {
                    "text.$": "States.Format('{} / {} / {} / {} / {} / {}', $.s, $.n, $.f, "
                              "$.b, $.obj, $.list)",
                    "null.$": "States.Format('[{}]', $.z)",
                    "json.$": "States.JsonToString($.obj)",
                    "parsed.$": "States.StringToJson($.encoded)",
                    "array.$": "States.Array(1, 'two', $.b, States.ArrayLength($.list))",
                    "sum.$": "States.MathAdd($.n, -3)",
                    "item.$": "States.ArrayGetItem($.list, 1)",
                    "has.$": "States.ArrayContains($.list, 'a')",
                    "unique.$": "States.ArrayUnique($.dupes)",
                    "b64.$": "States.Base64Encode($.s)",
                    "plain.$": "States.Base64Decode('aGVsbG8=')",
                    "digest.$": "States.Hash($.s, 'SHA-256')",
                    "split.$": "States.StringSplit('a,b,,c', ',')",
                    "execution.$": "States.Format('{}#{}', $$.Execution.Name, "
                                   "$$.StateMachine.Name)",
                },
                "End": True,
            }},
        },
        [{"s": "hello", "n": 7, "f": 1.5, "b": False, "z": None,
          "obj": {"k": "v", "n": 1, "nested": {"x": [1, None]}}, "list": [1, "a", True],
          "encoded": "{\"k\": [1, 2], \"s\": \"t\"}", "dupes": [1, 1, "a", "a", 2]}],
    ),
    Case(
        "retry-then-catch-on-integration",
        {
            "StartAt": "Store",
            "States": {
                "Store": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::dynamodb:putItem",
                    "Parameters": {"TableName": MISSING_TABLE, "Item": {"pk": {"S.$": "$.id"}}},
                    "Retry": [
                        {"ErrorEquals": ["Never.Matches"], "MaxAttempts": 5},
                        {"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 1,
                         "BackoffRate": 1.0},
                    ],
                    "Catch": [{"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.failure",
                               "Next": "Report"}],
                    "End": True,
                },
                "Report": {"Type": "Fail", "ErrorPath": "$.failure.Error",
                           "CausePath": "$.failure.Cause"},
            },
        },
        [{"id": "x1"}],
        mask_cause=True,
    ),
    Case(
        "no-retry-when-max-attempts-zero",
        {
            "StartAt": "Store",
            "States": {
                "Store": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::dynamodb:putItem",
                    "Parameters": {"TableName": MISSING_TABLE, "Item": {"pk": {"S": "k"}}},
                    "Retry": [{"ErrorEquals": ["DynamoDB.ResourceNotFoundException"],
                               "MaxAttempts": 0},
                              {"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1,
                               "MaxAttempts": 3}],
                    "ResultPath": "$.stored",
                    "End": True,
                },
            },
        },
        [{}],
        mask_cause=True,
    ),
    Case(
        "iterator-spelling-and-nested-map",
        {
            "StartAt": "Outer",
            "States": {
                "Outer": {
                    "Type": "Map",
                    "ItemsPath": "$.rows",
                    "Parameters": {"row.$": "$$.Map.Item.Value", "prefix.$": "$.prefix"},
                    "MaxConcurrency": 1,
                    "Iterator": {"StartAt": "Inner", "States": {"Inner": {
                        "Type": "Map",
                        "ItemsPath": "$.row",
                        "ItemSelector": {"cell.$": "$$.Map.Item.Value", "p.$": "$.prefix"},
                        "MaxConcurrency": 1,
                        "ItemProcessor": {"StartAt": "Cell", "States": {"Cell": {
                            "Type": "Pass",
                            "Parameters": {"v.$": "States.Format('{}{}', $.p, $.cell)"},
                            "OutputPath": "$.v",
                            "End": True}}},
                        "End": True}}},
                    "ResultPath": "$.grid",
                    "End": True,
                },
            },
        },
        [{"prefix": "c", "rows": [[1, 2], [3], []]}],
    ),
    Case(
        "fail-state-paths",
        {
            "StartAt": "Stop",
            "States": {"Stop": {"Type": "Fail", "ErrorPath": "$.error.name",
                                "CausePath": "States.Format('bad row {} in {}', $.row, $.file)"}},
        },
        [{"error": {"name": "Bad.Row"}, "row": 17, "file": "a.csv"}],
    ),
]


@pytest.fixture(scope="module")
def sfn() -> Iterator[Any]:
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        yield boto3.client("stepfunctions", region_name=REGION)


def _moto_run(sfn: Any, machine: str, definition: dict[str, Any], inputs: list[Any]
              ) -> list[dict[str, Any]]:
    arn = sfn.create_state_machine(name=machine, definition=json.dumps(definition),
                                   roleArn=ROLE)["stateMachineArn"]
    executions = [
        sfn.start_execution(stateMachineArn=arn, name=f"run-{number}",
                            input=json.dumps(execution_input))["executionArn"]
        for number, execution_input in enumerate(inputs)
    ]
    results = []
    for execution in executions:
        deadline = time.monotonic() + 60
        while (described := sfn.describe_execution(executionArn=execution))["status"] == (
                "RUNNING"):
            assert time.monotonic() < deadline, f"moto execution {execution} never finished"
            time.sleep(0.05)
        events = sfn.get_execution_history(executionArn=execution)["events"]
        results.append({
            "status": described["status"],
            "output": json.loads(described["output"]) if "output" in described else None,
            "error": described.get("error"),
            "cause": described.get("cause"),
            "sequence": [_moto_step(event) for event in events if _moto_step(event)],
        })
    return results


def _moto_step(event: dict[str, Any]) -> tuple[Any, ...] | None:
    kind = event["type"]
    if kind.endswith("StateEntered"):
        return (kind, event["stateEnteredEventDetails"]["name"])
    if kind.endswith("StateExited"):
        return (kind, event["stateExitedEventDetails"]["name"])
    if kind.startswith("MapIteration"):
        key = kind[0].lower() + kind[1:] + "EventDetails"
        return (kind, event[key]["index"])
    if kind in ("TaskFailed", "MapStateStarted", "MapStateSucceeded", "MapStateFailed"):
        return (kind,)
    return None


def _local_step(event: dict[str, Any]) -> tuple[Any, ...] | None:
    kind = event["type"]
    if kind.endswith(("StateEntered", "StateExited")):
        return (kind, event["name"])
    if kind.startswith("MapIteration"):
        return (kind, event["index"])
    if kind in ("TaskFailed", "MapStateStarted", "MapStateSucceeded", "MapStateFailed"):
        return (kind,)
    return None


def _missing_table(resource: str, parameters: Any, call: TaskCall) -> Any:
    """What DynamoDB answers for a table that does not exist (cause text differs per call)."""
    assert resource == "arn:aws:states:::dynamodb:putItem"
    assert parameters["TableName"] == MISSING_TABLE
    raise StatesError("DynamoDB.ResourceNotFoundException", "Requested resource not found")


def _local_run(machine: str, definition: dict[str, Any], inputs: list[Any]
               ) -> list[dict[str, Any]]:
    options = Options(retry_scale=0.0, state_machine_name=machine, region=REGION,
                      account=ACCOUNT, role_arn=ROLE)
    results = []
    for number, execution_input in enumerate(inputs):
        result: ExecutionResult = Interpreter(definition, _missing_table, options).run(
            execution_input, name=f"run-{number}")
        results.append({
            "status": result.status,
            "output": result.output,
            "error": result.error,
            "cause": result.cause,
            "sequence": [_local_step(event) for event in result.history if _local_step(event)],
        })
    return results


def _comparable(result: dict[str, Any], case: Case) -> dict[str, Any]:
    result = dict(result)
    if case.parallel:
        result["sequence"] = sorted(result["sequence"], key=repr)
    if case.mask_cause:
        result["cause"] = "<cause>" if result["cause"] else result["cause"]
        text = json.dumps(result["output"])
        if result["output"] is not None and "Cause" in text:
            result["output"] = {key: ({**value, "Cause": "<cause>"} if isinstance(value, dict)
                                      and "Cause" in value else value)
                                for key, value in result["output"].items()}
    return result


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_local_interpreter_matches_moto(sfn: Any, case: Case) -> None:
    machine = case.id.replace("-", "_")
    expected = [_comparable(result, case)
                for result in _moto_run(sfn, machine, case.definition, case.inputs)]
    actual = [_comparable(result, case)
              for result in _local_run(machine, case.definition, case.inputs)]
    for number, (want, got) in enumerate(zip(expected, actual, strict=True)):
        assert got == want, f"input #{number}: {case.inputs[number]!r}"


def test_cases_cover_the_flow_constructs_the_generator_uses() -> None:
    text = json.dumps([case.definition for case in CASES])
    # The generated failure path (Task ResultSelector, condition expressions, Choice Or with
    # StringMatches, States.StringToJson) is compared with moto in test_failure_path.py.
    for construct in ("ItemSelector", "MaxConcurrency", "ResultSelector", "Catch",
                      "Retry", "States.Format", "$$.Map.Item.Value", "$$.Execution.Name",
                      "ErrorPath", "CausePath", "OutputPath", "\"MaxAttempts\": 0",
                      "States.ArrayLength", "StringMatches", "States.StringToJson"):
        assert construct in text, construct
    assert len(CASES) >= 8


# --- Where moto differs from AWS: the local interpreter follows the AWS documentation. ----

def _run(definition: dict[str, Any], execution_input: Any) -> ExecutionResult:
    return Interpreter(definition, options=Options(retry_scale=0.0)).run(execution_input)


def test_aws_behaviour_states_runtime_is_not_caught_by_states_all() -> None:
    """AWS: "A retry or catch on States.ALL won't catch States.Runtime errors." moto catches
    it and the execution succeeds through the Catch."""
    definition = {
        "StartAt": "Each",
        "States": {
            "Each": _map({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}},
                         ItemsPath="$.missing",
                         Retry=[{"ErrorEquals": ["States.ALL"], "MaxAttempts": 3}],
                         Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
                         End=True),
            "Caught": {"Type": "Succeed"},
        },
    }
    result = _run(definition, {"present": 1})
    assert result.status == "FAILED"
    assert result.error == "States.Runtime"
    assert "'$.missing'" in (result.cause or "")
    assert "Caught" not in result.states_entered()
    assert not [event for event in result.history if event["type"] == "RetryScheduled"]


def test_aws_behaviour_no_choice_matched_error_name() -> None:
    """AWS fails with `States.NoChoiceMatched`; moto reports `States.Runtime`."""
    definition = {"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [
            {"Variable": "$.n", "NumericEquals": 1, "Next": "S"}]},
        "S": {"Type": "Succeed"}}}
    result = _run(definition, {"n": 2})
    assert (result.status, result.error) == ("FAILED", "States.NoChoiceMatched")


def test_aws_behaviour_escaped_characters_in_intrinsic_strings() -> None:
    """AWS lets `\\'`, `\\{`, `\\}` and `\\\\` stand for themselves inside an intrinsic's
    string literal (the generator escapes pipeline names this way); moto's parser rejects
    them."""
    definition = {"StartAt": "P", "States": {"P": {
        "Type": "Pass",
        "Parameters": {"m.$": "States.Format('it\\'s \\{\\} {} \\\\ done', $.x)"},
        "End": True}}}
    result = _run(definition, {"x": "here"})
    assert result.output == {"m": "it's {} here \\ done"}


def test_aws_behaviour_type_test_on_a_missing_variable_fails() -> None:
    """AWS fails the execution ("Invalid path '$.a': The choice state's condition path
    references an undefined value") when any test but IsPresent reads a missing Variable;
    moto treats the missing value as a non-match and takes the Default."""
    definition = {"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [
            {"Variable": "$.a", "IsString": True, "Next": "S"}], "Default": "S"},
        "S": {"Type": "Succeed"}}}
    result = _run(definition, {})
    assert (result.status, result.error) == ("FAILED", "States.Runtime")
    assert "'$.a'" in (result.cause or "")


def test_aws_behaviour_single_index_path_is_a_value_not_a_list() -> None:
    """AWS evaluates `$.lines[0].sku` as a definite path and passes the value; moto wraps
    it in a list."""
    definition = {"StartAt": "P", "States": {"P": {
        "Type": "Pass", "Parameters": {"first.$": "$.lines[0].sku"}, "End": True}}}
    assert _run(definition, {"lines": [{"sku": "s1"}]}).output == {"first": "s1"}
