"""`function_specs.FUNCTIONS` is the one place a Lambda function lives: a toy function
registered there (in this test only), plus the state that calls it, gets its function, log
group, role, invoke permission, guardrail, substitution, alarm and dashboard line, passes
cfn-lint, and the local runner dispatches its substitution to its handler module."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from etlgen.lint import lint_template
from etlgen.local.integrations import state_machine_from_template
from etlgen.model import PipelineConfig
from etlgen.template import function_specs, statemachine
from etlgen.template.function_specs import FunctionAccess, FunctionSpec, small_memory_mb

from .conftest import dashboard_text, template_of

TOY = FunctionSpec(
    "toy", "handlers.toy", "Counts toys (registered by a test only)", small_memory_mb,
    lambda config: FunctionAccess(read_prefixes=(config.input.prefix,)),
)


def _calling_toy(build: Callable[[PipelineConfig], dict[str, Any]]
                 ) -> Callable[[PipelineConfig], dict[str, Any]]:
    """The definition with one more Task, between ValidateHeader and its next state."""
    def definition(config: PipelineConfig) -> dict[str, Any]:
        built = build(config)
        validate = built["States"]["ValidateHeader"]
        built["States"]["CountToys"] = {
            "Type": "Task", "Resource": f"${{{TOY.substitution}}}",
            "Parameters": {"file.$": "$.file"}, "ResultPath": "$.toys",
            "Next": validate["Next"],
        }
        validate["Next"] = "CountToys"
        return built

    return definition


@pytest.fixture
def toy_template(monkeypatch: pytest.MonkeyPatch,
                 configs: dict[str, PipelineConfig]) -> dict[str, Any]:
    monkeypatch.setitem(function_specs.FUNCTIONS, TOY.name, TOY)
    monkeypatch.setattr(statemachine, "state_machine_definition",
                        _calling_toy(statemachine.state_machine_definition))
    return template_of(configs["all_options"])


def test_without_the_entry_there_is_no_toy(configs: dict[str, PipelineConfig]) -> None:
    assert not [key for key in template_of(configs["all_options"])["Resources"] if "Toy" in key]


def test_the_entry_gives_the_function_and_its_log_group(toy_template: dict[str, Any]) -> None:
    resources = toy_template["Resources"]
    function = resources["ToyFunction"]["Properties"]
    assert function["Handler"] == "handlers.toy.lambda_handler"
    assert function["Description"] == TOY.description
    assert function["MemorySize"] == function_specs.SMALL_FUNCTION_MEMORY_MB
    assert "EphemeralStorage" not in function
    assert function["Role"] == {"Fn::GetAtt": ["ToyRole", "Arn"]}
    assert function["Environment"] == resources["ValidateFunction"]["Properties"]["Environment"]
    # Lambda's default log group, `/aws/lambda/<FunctionName>`, is this one.
    assert function["FunctionName"] == {"Fn::Sub": "all-options-${EnvironmentSuffix}-toy"}
    log_group = resources["ToyLogGroup"]["Properties"]["LogGroupName"]
    assert log_group == {"Fn::Sub": "/aws/lambda/all-options-${EnvironmentSuffix}-toy"}


def test_the_entry_gives_its_role_and_the_state_machine_may_invoke_it(
        toy_template: dict[str, Any]) -> None:
    resources = toy_template["Resources"]
    [policy] = resources["ToyRole"]["Properties"]["Policies"]
    statements = {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}
    assert sorted(statements) == ["Logs", "Read"]
    assert statements["Read"]["Resource"] == [
        {"Fn::Sub": "${DataBucket.Arn}/landing/csv/*"}]
    assert statements["Logs"]["Resource"] == [{"Fn::GetAtt": ["ToyLogGroup", "Arn"]}]
    assert {"Ref": "TracingPolicy"} in resources["ToyRole"]["Properties"]["ManagedPolicyArns"]
    [machine_policy] = resources["StateMachineRole"]["Properties"]["Policies"]
    invoke = next(s for s in machine_policy["PolicyDocument"]["Statement"]
                  if s["Sid"] == "Invoke")
    assert {"Fn::GetAtt": ["ToyFunction", "Arn"]} in invoke["Resource"]
    assert {"Fn::Sub": "${ToyFunction.Arn}:*"} not in invoke["Resource"]
    guardrails = resources["GuardrailPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    log_denial = next(s for s in guardrails if s["Sid"] == "LogGroups")
    assert {"Fn::GetAtt": ["ToyLogGroup", "Arn"]} in log_denial["Resource"]


def test_the_entry_gives_its_substitution_alarm_and_dashboard_line(
        toy_template: dict[str, Any]) -> None:
    resources = toy_template["Resources"]
    machine = resources["StateMachine"]["Properties"]
    assert machine["DefinitionSubstitutions"]["ToyArn"] == {
        "Fn::GetAtt": ["ToyFunction", "Arn"]}
    assert machine["Definition"]["States"]["CountToys"]["Resource"] == "${ToyArn}"
    alarm = resources["ToyErrorsAlarm"]["Properties"]
    assert alarm["AlarmName"] == {"Fn::Sub": "all-options-${EnvironmentSuffix}-toy-errors"}
    assert alarm["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": "ToyFunction"}}]
    body = json.loads(dashboard_text(toy_template))
    lambda_panels = [w["properties"] for w in body["widgets"]
                     if w["properties"]["title"].startswith("Lambda ")]
    assert len(lambda_panels) == 4
    for panel in lambda_panels:
        assert panel["metrics"][-1] == [".", ".", ".", "all-options-${EnvironmentSuffix}-toy"]


def test_the_template_with_the_toy_passes_cfn_lint(toy_template: dict[str, Any]) -> None:
    assert lint_template(json.dumps(toy_template)) == []


def test_the_local_runner_dispatches_the_toy_to_its_handler_module(
        toy_template: dict[str, Any]) -> None:
    machine = state_machine_from_template(toy_template)
    resource = machine.definition["States"]["CountToys"]["Resource"]
    assert machine.resources.lambdas[resource] == "handlers.toy"
