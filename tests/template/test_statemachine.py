"""The state machine resource: definition, substitutions, tracing and logging."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest

from etlgen.model import AlertsConfig, PipelineConfig
from etlgen.template.workflow import definition_substitution_names, state_machine_definition

from .conftest import changed, template_of

VARIABLE = re.compile(r"\$\{([A-Za-z]+)\}")


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


@pytest.mark.parametrize("alerts", [True, False])
def test_definition_and_exactly_its_substitutions(
    base_config: PipelineConfig, alerts: bool,
) -> None:
    config = dataclasses.replace(base_config, alerts=AlertsConfig(enabled=alerts))
    props = template_of(config)["Resources"]["StateMachine"]["Properties"]
    assert props["Definition"] == state_machine_definition(config)
    substitutions = props["DefinitionSubstitutions"]
    assert list(substitutions) == definition_substitution_names(config)
    used = {name for text in _strings(props["Definition"]) for name in VARIABLE.findall(text)}
    assert used == set(substitutions)
    assert substitutions["ValidateArn"] == {"Fn::GetAtt": ["ValidateFunction", "Arn"]}
    assert substitutions["FinalizeArn"] == {"Fn::GetAtt": ["FinalizeFunction", "Arn"]}
    assert substitutions["StatusTableName"] == {"Ref": "StatusTable"}
    assert ("AlertTopicArn" in substitutions) is alerts
    if alerts:
        assert substitutions["AlertTopicArn"] == {"Ref": "AlertTopic"}


def test_standard_traced_and_logging_errors_to_its_log_group(
    base_config: PipelineConfig,
) -> None:
    template = template_of(changed(base_config, "retention", log_retention_days=60))
    props = template["Resources"]["StateMachine"]["Properties"]
    assert props["StateMachineName"] == {"Fn::Sub": "minimal-${EnvironmentSuffix}"}
    assert props["StateMachineType"] == "STANDARD"
    assert props["TracingConfiguration"] == {"Enabled": True}
    assert props["LoggingConfiguration"] == {
        "Level": "ERROR",
        "IncludeExecutionData": False,
        "Destinations": [{"CloudWatchLogsLogGroup": {
            "LogGroupArn": {"Fn::GetAtt": ["StateMachineLogGroup", "Arn"]}
        }}],
    }
    group = template["Resources"]["StateMachineLogGroup"]["Properties"]
    assert group["LogGroupName"] == {
        "Fn::Sub": "/aws/vendedlogs/states/minimal-${EnvironmentSuffix}"
    }
    assert group["RetentionInDays"] == 60


def test_concurrency_and_retries_reach_the_definition(base_config: PipelineConfig) -> None:
    config = changed(changed(base_config, "processing", max_concurrency=7),
                     "retries", max_attempts=9, interval_seconds=4)
    states = template_of(config)["Resources"]["StateMachine"]["Properties"]["Definition"][
        "States"]
    assert states["ProcessChunks"]["MaxConcurrency"] == 7
    configured = states["ValidateHeader"]["Retry"][-1]
    assert (configured["MaxAttempts"], configured["IntervalSeconds"]) == (9, 4)
