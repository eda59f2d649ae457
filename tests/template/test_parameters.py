"""Template parameters: environment suffix, code location, pandas layer, alert e-mail."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from etlgen.model import AlertsConfig, PipelineConfig

from .conftest import HANDLERS_KEY, changed, template_of


def test_environment_suffix_is_short_lowercase_and_defaults_to_dev(
    base_template: dict[str, Any],
) -> None:
    suffix = base_template["Parameters"]["EnvironmentSuffix"]
    assert suffix["Default"] == "dev"
    assert suffix["AllowedPattern"] == "^[a-z0-9]{1,10}$"


def test_code_comes_from_the_artifact_bucket_parameters(base_template: dict[str, Any]) -> None:
    parameters = base_template["Parameters"]
    assert parameters["ArtifactBucket"]["Type"] == "String"
    assert "Default" not in parameters["ArtifactBucket"]
    assert parameters["HandlersKey"]["Default"] == HANDLERS_KEY


@pytest.mark.parametrize(("runtime", "architecture", "version", "path"), [
    ("python3.12", "arm64", "3.11.0", "/aws/service/aws-sdk-pandas/3.11.0/py3.12/arm64/layer-arn"),
    ("python3.11", "x86_64", "3.9.1", "/aws/service/aws-sdk-pandas/3.9.1/py3.11/x86_64/layer-arn"),
    ("python3.13", "arm64", "3.11.0", "/aws/service/aws-sdk-pandas/3.11.0/py3.13/arm64/layer-arn"),
])
def test_pandas_layer_resolves_through_the_public_ssm_parameter(
    base_config: PipelineConfig, runtime: str, architecture: str, version: str, path: str,
) -> None:
    config = changed(base_config, "functions", runtime=runtime, architecture=architecture,
                     pandas_layer_version=version)
    parameter = template_of(config)["Parameters"]["PandasLayerParameter"]
    assert parameter["Type"] == "AWS::SSM::Parameter::Value<String>"
    assert parameter["Default"] == path


def test_alert_email_defaults_to_the_config_and_guards_the_subscription(
    base_config: PipelineConfig,
) -> None:
    config = changed(base_config, "alerts", enabled=True, email="ops@example.com")
    template = template_of(config)
    assert template["Parameters"]["AlertEmail"]["Default"] == "ops@example.com"
    assert template["Conditions"]["HasAlertEmail"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "AlertEmail"}, ""]}]
    }
    subscription = template["Resources"]["AlertEmailSubscription"]
    assert subscription["Condition"] == "HasAlertEmail"
    assert subscription["Properties"]["Endpoint"] == {"Ref": "AlertEmail"}
    assert subscription["Properties"]["Protocol"] == "email"


def test_alert_email_defaults_to_empty_without_an_address(base_config: PipelineConfig) -> None:
    config = changed(base_config, "alerts", enabled=True, email=None)
    assert template_of(config)["Parameters"]["AlertEmail"]["Default"] == ""


def test_no_alert_parameter_without_alerts(base_config: PipelineConfig) -> None:
    template = template_of(dataclasses.replace(base_config, alerts=AlertsConfig(enabled=False)))
    assert "AlertEmail" not in template["Parameters"]
    assert "Conditions" not in template
