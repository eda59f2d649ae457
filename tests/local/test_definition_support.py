"""Every state, field, path, intrinsic and task resource the generator emits for the
example configs is one the local engine runs (its up-front checks pass)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from etlgen.asl import Interpreter
from etlgen.config import load_config
from etlgen.local.errors import DefinitionError
from etlgen.local.integrations import state_machine_from_template
from etlgen.local.runner import load_state_machine
from etlgen.render import build_template

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = [*sorted((ROOT / "tests" / "configs").glob("*.yaml")), ROOT / "pipeline.yaml"]


def _existing(paths: list[Path]) -> list[Path]:
    return [path for path in paths if path.exists()]


@pytest.mark.parametrize("config_path", _existing(CONFIGS),
                         ids=lambda path: str(path.relative_to(ROOT)))
def test_generated_state_machine_passes_the_local_checks(config_path: Path) -> None:
    config = load_config(config_path)
    machine = load_state_machine(config)
    Interpreter(machine.definition)  # raises DefinitionError on anything unsupported
    lambdas = sorted(machine.resources.lambdas.values())
    assert lambdas == ["handlers.finalize", "handlers.process", "handlers.split",
                       "handlers.validate"]
    assert machine.resources.tables
    assert bool(machine.resources.topics) == config.alerts.enabled
    assert "${" not in str(machine.definition)


@pytest.mark.parametrize("config_path", _existing(CONFIGS),
                         ids=lambda path: str(path.relative_to(ROOT)))
def test_run_interprets_the_state_machine_of_the_rendered_template(config_path: Path) -> None:
    """`etlgen run` builds its state machine from the definition without rendering: it is
    the one the template deploys, with the same local targets."""
    config = load_config(config_path)
    rendered = build_template(config, handlers_key="local").to_dict()
    assert load_state_machine(config) == state_machine_from_template(rendered)


def test_the_example_configs_are_all_covered() -> None:
    assert len(_existing(CONFIGS)) >= 2


def _template(resource: str) -> dict:
    return {"Resources": {
        "Fn": {"Type": "AWS::Lambda::Function",
               "Properties": {"Handler": "handlers.validate.lambda_handler"}},
        "Machine": {"Type": "AWS::StepFunctions::StateMachine", "Properties": {
            "Definition": {"StartAt": "Call", "States": {"Call": {
                "Type": "Task", "Resource": resource, "End": True}}},
            "DefinitionSubstitutions": {"FnArn": {"Fn::GetAtt": ["Fn", "Arn"]}},
        }},
    }}


def test_lambda_substitution_resolves_to_the_handler_module() -> None:
    machine = state_machine_from_template(_template("${FnArn}"))
    resource = machine.definition["States"]["Call"]["Resource"]
    assert machine.resources.lambdas == {resource: "handlers.validate"}


@pytest.mark.parametrize(("resource", "message"), [
    ("arn:aws:states:::sqs:sendMessage", "state 'Call': resource "
                                         "'arn:aws:states:::sqs:sendMessage' has no local"),
    ("${Missing}", "${Missing} is not in DefinitionSubstitutions"),
])
def test_an_unknown_resource_is_a_clear_error_before_running(resource: str,
                                                             message: str) -> None:
    with pytest.raises(DefinitionError, match=re.escape(message)):
        state_machine_from_template(_template(resource))


def _integration_template(substitution: object) -> dict:
    template = _template("${Integration}")
    machine = template["Resources"]["Machine"]["Properties"]
    machine["Definition"]["States"]["Call"]["Parameters"] = {"TableName": "${Table}"}
    machine["DefinitionSubstitutions"].update(
        {"Integration": substitution, "Table": {"Ref": "Status"}})
    template["Resources"]["Status"] = {"Type": "AWS::DynamoDB::Table"}
    return template


def test_a_partition_aware_integration_arn_is_recognised() -> None:
    machine = state_machine_from_template(_integration_template(
        {"Fn::Sub": "arn:${AWS::Partition}:states:::dynamodb:updateItem"}))
    assert machine.definition["States"]["Call"]["Resource"] == (
        "arn:aws:states:::dynamodb:updateItem")


def test_a_substitution_with_a_variable_of_no_local_value_is_refused() -> None:
    with pytest.raises(DefinitionError, match=re.escape("${Unknown} has no local value")):
        state_machine_from_template(_integration_template(
            {"Fn::Sub": "arn:${Unknown}:states:::dynamodb:updateItem"}))
