"""The Lambda functions and their log groups follow the config."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from etlgen.environment import DEPLOY_TIME_VARIABLES, function_environment, packaged_settings
from etlgen.model import PipelineConfig, ResultsQueueConfig
from etlgen.template.function_specs import SMALL_FUNCTION_MEMORY_MB

from .conftest import HANDLERS_KEY, changed, template_of

FUNCTIONS = ("Validate", "Split", "Process", "Finalize")


def _function(template: dict[str, Any], name: str) -> dict[str, Any]:
    return template["Resources"][f"{name}Function"]["Properties"]


@pytest.mark.parametrize("name", FUNCTIONS)
def test_function_code_runtime_layer_tracing_and_logging(
    base_template: dict[str, Any], name: str,
) -> None:
    props = _function(base_template, name)
    assert props["FunctionName"] == {"Fn::Sub": f"minimal-${{EnvironmentSuffix}}-{name.lower()}"}
    assert props["Handler"] == f"handlers.{name.lower()}.lambda_handler"
    assert props["Code"] == {"S3Bucket": {"Ref": "ArtifactBucket"}, "S3Key": HANDLERS_KEY}
    assert props["Runtime"] == "python3.12"
    assert props["Architectures"] == ["arm64"]
    assert props["Timeout"] == 900
    assert props["Layers"] == [{"Ref": "PandasLayerV3x11x0Py312Arm64"}]
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert props["Role"] == {"Fn::GetAtt": [f"{name}Role", "Arn"]}
    # Lambda's default log group, `/aws/lambda/<FunctionName>`, is the function's own.
    assert "LoggingConfig" not in props
    group = base_template["Resources"][f"{name}LogGroup"]["Properties"]["LogGroupName"]
    assert group == {"Fn::Sub": "/aws/lambda/" + props["FunctionName"]["Fn::Sub"]}
    assert "ReservedConcurrentExecutions" not in props


@pytest.mark.parametrize("name", FUNCTIONS)
def test_each_function_has_its_own_log_group_with_retention(
    base_config: PipelineConfig, name: str,
) -> None:
    template = template_of(changed(base_config, "retention", log_retention_days=14))
    group = template["Resources"][f"{name}LogGroup"]["Properties"]
    assert group["LogGroupName"] == {
        "Fn::Sub": f"/aws/lambda/minimal-${{EnvironmentSuffix}}-{name.lower()}"
    }
    assert group["RetentionInDays"] == 14


def test_runtime_architecture_timeout_follow_the_config(base_config: PipelineConfig) -> None:
    config = changed(base_config, "functions", runtime="python3.11", architecture="x86_64",
                     timeout_seconds=300)
    template = template_of(config)
    for name in FUNCTIONS:
        props = _function(template, name)
        assert (props["Runtime"], props["Architectures"], props["Timeout"]) == (
            "python3.11", ["x86_64"], 300)


def test_process_gets_the_configured_memory_and_the_others_at_most_a_gigabyte(
    base_config: PipelineConfig,
) -> None:
    template = template_of(changed(base_config, "functions", memory_mb=5120))
    assert _function(template, "Process")["MemorySize"] == 5120
    for name in ("Validate", "Split", "Finalize"):
        assert _function(template, name)["MemorySize"] == SMALL_FUNCTION_MEMORY_MB
    small = template_of(changed(base_config, "functions", memory_mb=512))
    assert {_function(small, name)["MemorySize"] for name in FUNCTIONS} == {512}


@pytest.mark.parametrize("name", FUNCTIONS)
def test_environment_holds_only_the_deploy_time_names_the_rest_is_packaged(
    base_config: PipelineConfig, name: str,
) -> None:
    config = changed(
        changed(changed(base_config, "processing", chunk_size_mb=16, max_chunks=500),
                "output", format="csv"),
        "input", delimiter=";",
    )
    variables = _function(template_of(config), name)["Environment"]["Variables"]
    expected: dict[str, Any] = {
        # the deployed name, with the environment, so environments never share metrics
        # (the handlers derive the namespace from it: etlgen/<name>)
        "PIPELINE_NAME": {"Fn::Sub": "minimal-${EnvironmentSuffix}"},
        "BUCKET_NAME": {"Ref": "DataBucket"},
        "STATUS_TABLE": {"Ref": "StatusTable"},
        # the deployed database carries the environment too
        "CATALOG_DATABASE": {"Ref": "CatalogDatabase"},
    }
    if name == "Finalize":  # the one step that sends results
        expected["RESULTS_QUEUE_URL"] = {"Ref": "ResultsQueue"}
    assert variables == expected
    packaged = packaged_settings(config)
    assert packaged.keys() == function_environment(config).keys() - set(DEPLOY_TIME_VARIABLES)
    assert variables.keys() <= set(DEPLOY_TIME_VARIABLES)
    assert (packaged["CHUNK_SIZE_MB"], packaged["MAX_CHUNKS"], packaged["OUTPUT_FORMAT"],
            packaged["CSV_DELIMITER"]) == ("16", "500", "csv", ";")


def test_results_queue_url_is_absent_when_the_queue_is_off(base_config: PipelineConfig) -> None:
    config = dataclasses.replace(base_config, results_queue=ResultsQueueConfig(enabled=False))
    template = template_of(config)
    for name in FUNCTIONS:
        assert "RESULTS_QUEUE_URL" not in _function(template, name)["Environment"]["Variables"]


@pytest.mark.parametrize(("memory_mb", "storage_mb"), [
    (128, 512), (3072, 768), (4096, 1024), (10240, 2560)])
def test_process_tmp_holds_the_outputs_of_the_largest_chunk_its_memory_takes(
    base_config: PipelineConfig, memory_mb: int, storage_mb: int,
) -> None:
    # The process step writes a chunk's valid rows to /tmp (2 x the chunk at most) and
    # takes chunks of up to memory_mb / 8: 512 MB, Lambda's default, is too small past that.
    template = template_of(changed(base_config, "functions", memory_mb=memory_mb))
    assert _function(template, "Process")["EphemeralStorage"] == {"Size": storage_mb}
    for name in ("Validate", "Split", "Finalize"):
        assert "EphemeralStorage" not in _function(template, name)
    variables = packaged_settings(changed(base_config, "functions", memory_mb=memory_mb))
    assert (variables["PROCESS_MEMORY_MB"], variables["PROCESS_STORAGE_MB"]) == (
        str(memory_mb), str(storage_mb))
