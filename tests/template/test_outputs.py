"""Stack outputs name what an operator uses; optional parts only when switched on."""

from __future__ import annotations

from typing import Any

from etlgen import __version__


def test_outputs_with_every_part_on(templates: dict[str, dict[str, Any]]) -> None:
    outputs = templates["all_options"]["Outputs"]
    assert outputs["BucketName"]["Value"] == {"Ref": "DataBucket"}
    assert outputs["StateMachineArn"]["Value"] == {"Ref": "StateMachine"}
    assert outputs["StatusTableName"]["Value"] == {"Ref": "StatusTable"}
    assert outputs["ResultsQueueUrl"]["Value"] == {"Ref": "ResultsQueue"}
    assert outputs["AlertTopicArn"]["Value"] == {"Ref": "AlertTopic"}
    assert outputs["IncomingPrefix"]["Value"] == "landing/csv/"
    assert "${Dashboard}" in outputs["DashboardUrl"]["Value"]["Fn::Sub"]


def test_outputs_without_optional_parts(templates: dict[str, dict[str, Any]]) -> None:
    outputs = templates["all_off"]["Outputs"]
    assert "ResultsQueueUrl" not in outputs
    assert "AlertTopicArn" not in outputs
    assert {"BucketName", "StateMachineArn", "StatusTableName", "DashboardUrl"} <= set(outputs)


def test_description_and_metadata_name_pipeline_and_version(
    templates: dict[str, dict[str, Any]],
) -> None:
    template = templates["all_options"]
    assert "all-options" in template["Description"]
    assert __version__ in template["Description"]
    assert template["Metadata"]["etlgen"] == {"version": __version__, "pipeline": "all-options"}
