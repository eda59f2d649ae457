"""Template parameters: only what differs per environment; nothing the render decides
lives in a parameter default (`deploy` would keep an existing stack's previous value)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from etlgen.model import AlertsConfig, PipelineConfig

from .conftest import CONFIG_FILES, HANDLERS_KEY, changed, template_of


def test_environment_suffix_is_short_lowercase_and_defaults_to_dev(
    base_template: dict[str, Any],
) -> None:
    suffix = base_template["Parameters"]["EnvironmentSuffix"]
    assert suffix["Default"] == "dev"
    assert suffix["AllowedPattern"] == "^[a-z0-9]{1,10}$"


@pytest.mark.parametrize("label", sorted(CONFIG_FILES))
def test_parameters_are_the_environment_the_bucket_and_the_keyed_layer(
    label: str, templates: dict[str, dict[str, Any]],
) -> None:
    parameters = templates[label]["Parameters"]
    layer = [name for name in parameters if name.startswith("PandasLayer")]
    assert sorted(parameters) == sorted(["EnvironmentSuffix", "ArtifactBucket", *layer])
    assert len(layer) == 1
    assert "Default" not in parameters["ArtifactBucket"]


def test_the_handlers_key_is_a_literal_not_a_parameter(base_template: dict[str, Any]) -> None:
    code = base_template["Resources"]["ProcessFunction"]["Properties"]["Code"]
    assert code["S3Key"] == HANDLERS_KEY
    assert "HandlersKey" not in base_template["Parameters"]


@pytest.mark.parametrize(("runtime", "architecture", "version", "name", "path"), [
    ("python3.12", "arm64", "3.11.0", "PandasLayerV3x11x0Py312Arm64",
     "/aws/service/aws-sdk-pandas/3.11.0/py3.12/arm64/layer-arn"),
    ("python3.11", "x86_64", "3.9.1", "PandasLayerV3x9x1Py311X8664",
     "/aws/service/aws-sdk-pandas/3.9.1/py3.11/x86_64/layer-arn"),
    ("python3.13", "arm64", "3.11.0", "PandasLayerV3x11x0Py313Arm64",
     "/aws/service/aws-sdk-pandas/3.11.0/py3.13/arm64/layer-arn"),
])
def test_the_layer_parameter_is_named_after_its_public_ssm_path(
    base_config: PipelineConfig, runtime: str, architecture: str, version: str, name: str,
    path: str,
) -> None:
    config = changed(base_config, "functions", runtime=runtime, architecture=architecture,
                     pandas_layer_version=version)
    template = template_of(config)
    parameter = template["Parameters"][name]
    assert parameter["Type"] == "AWS::SSM::Parameter::Value<String>"
    assert parameter["Default"] == path
    layers = {str(r["Properties"]["Layers"]) for r in template["Resources"].values()
              if r["Type"] == "AWS::Lambda::Function"}
    assert layers == {str([{"Ref": name}])}


def test_every_layer_path_has_its_own_parameter_name(base_config: PipelineConfig) -> None:
    seen: dict[str, str] = {}
    for runtime in ("python3.11", "python3.12", "python3.13"):
        for architecture in ("arm64", "x86_64"):
            for version in ("3.1.10", "3.11.0", "3.9.1", "3.10.1"):
                config = changed(base_config, "functions", runtime=runtime,
                                 architecture=architecture, pandas_layer_version=version)
                parameters = template_of(config)["Parameters"]
                (name,) = [n for n in parameters if n.startswith("PandasLayer")]
                assert name.isalnum()
                assert seen.setdefault(name, parameters[name]["Default"]) == (
                    parameters[name]["Default"])
    assert len(seen) == 3 * 2 * 4


def test_the_alert_address_is_the_configs_literal(base_config: PipelineConfig) -> None:
    config = changed(base_config, "alerts", enabled=True, email="ops@example.com")
    template = template_of(config)
    assert "AlertEmail" not in template["Parameters"] and "Conditions" not in template
    subscription = template["Resources"]["AlertEmailSubscription"]["Properties"]
    assert subscription == {"Protocol": "email", "Endpoint": "ops@example.com",
                            "TopicArn": {"Ref": "AlertTopic"}}


def test_no_subscription_without_an_address(base_config: PipelineConfig) -> None:
    config = changed(base_config, "alerts", enabled=True, email=None)
    assert "AlertEmailSubscription" not in template_of(config)["Resources"]


def test_no_alert_resources_without_alerts(base_config: PipelineConfig) -> None:
    template = template_of(dataclasses.replace(base_config, alerts=AlertsConfig(enabled=False)))
    assert not any(name.startswith("Alert") for name in template["Resources"])
