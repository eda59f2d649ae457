"""The dashboard and alarms watch the pipeline's executions, functions, table and rows."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from etlgen.model import AlertsConfig, PipelineConfig
from handlers.settings import Settings
from tests.handlers.conftest import base_env

from .conftest import dashboard_text, resources_of, template_of

STATE_MACHINE_ARN = "${StateMachine}"  # its Ref: the ARN


def _dashboard(template: dict[str, Any]) -> dict[str, Any]:
    """The body as CloudFormation substitutes it, `Fn::Sub` variables of the template (`${
    AWS::Region}`, logical ids) left as they are."""
    return json.loads(dashboard_text(template))


def _expanded(metrics: list[list[str]]) -> list[list[str]]:
    """Resolve CloudWatch's "." (same as the metric above) shorthand."""
    rows: list[list[str]] = []
    for metric in metrics:
        rows.append([rows[-1][i] if part == "." else part for i, part in enumerate(metric)]
                    if rows else list(metric))
    return rows


def _all_metrics(template: dict[str, Any]) -> list[list[str]]:
    """The named metrics of the widgets (a query's row is one dict, not a metric)."""
    return [row for widget in _dashboard(template)["widgets"]
            for row in _expanded(widget["properties"]["metrics"])
            if not isinstance(row[0], dict)]


def test_dashboard_shows_executions_functions_table_and_rows(
    base_template: dict[str, Any],
) -> None:
    metrics = _all_metrics(base_template)
    for name in ("ExecutionsStarted", "ExecutionsSucceeded", "ExecutionsFailed",
                 "ExecutionsTimedOut"):
        assert ["AWS/States", name, "StateMachineArn", STATE_MACHINE_ARN] in metrics
    for function in ("validate", "split", "process", "finalize"):
        for name in ("Invocations", "Errors", "Duration", "Throttles"):
            assert ["AWS/Lambda", name, "FunctionName",
                    f"minimal-${{EnvironmentSuffix}}-{function}"] in metrics
    for name in ("ConsumedReadCapacityUnits", "ConsumedWriteCapacityUnits"):
        assert ["AWS/DynamoDB", name, "TableName", "minimal-${EnvironmentSuffix}-status"] in metrics
    for name in ("RowsIn", "RowsValid", "RowsRejected"):
        assert ["etlgen/minimal-${EnvironmentSuffix}", name, "Pipeline",
                "minimal-${EnvironmentSuffix}"] in metrics
    regions = {w["properties"]["region"] for w in _dashboard(base_template)["widgets"]}
    assert regions == {"${AWS::Region}"}


def _handlers_namespace(pipeline: str) -> str:
    """The namespace the handlers publish under, given a function's environment."""
    env = base_env(PIPELINE_NAME=pipeline)
    del env["METRICS_NAMESPACE"]  # not on the functions: derived from the pipeline name
    return Settings.from_env(env).metrics_namespace


def test_row_metrics_namespace_matches_the_handlers_setting(
    base_template: dict[str, Any],
) -> None:
    variables = base_template["Resources"]["ProcessFunction"]["Properties"]["Environment"][
        "Variables"]
    # the handlers derive the namespace from the deployed pipeline name
    assert "METRICS_NAMESPACE" not in variables
    pipeline = variables["PIPELINE_NAME"]["Fn::Sub"]
    namespace = _handlers_namespace(pipeline)
    rows = [row for row in _all_metrics(base_template) if row[1].startswith("Rows")]
    assert {row[0] for row in rows} == {namespace}
    assert {row[3] for row in rows} == {pipeline}
    # Each environment publishes and shows its own figures.
    assert namespace == "etlgen/minimal-${EnvironmentSuffix}"


def test_no_alarms_without_alerts(base_config: PipelineConfig) -> None:
    config = dataclasses.replace(base_config, alerts=AlertsConfig(enabled=False))
    assert resources_of(template_of(config), "AWS::CloudWatch::Alarm") == {}
    assert "Dashboard" in template_of(config)["Resources"]


def test_alarms_cover_failures_errors_and_dead_letters(base_config: PipelineConfig) -> None:
    config = dataclasses.replace(base_config, alerts=AlertsConfig(enabled=True))
    alarms = {
        (a["Properties"]["Namespace"], a["Properties"]["MetricName"],
         json.dumps(a["Properties"]["Dimensions"][0]["Value"])): a["Properties"]
        for a in resources_of(template_of(config), "AWS::CloudWatch::Alarm").values()
    }
    expected = {
        ("AWS/States", "ExecutionsFailed", '{"Ref": "StateMachine"}'),
        ("AWS/States", "ExecutionsTimedOut", '{"Ref": "StateMachine"}'),
        *(("AWS/Lambda", "Errors", f'{{"Ref": "{name}Function"}}')
          for name in ("Validate", "Split", "Process", "Finalize")),
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible",
         '{"Fn::GetAtt": ["EventsDeadLetterQueue", "QueueName"]}'),
    }
    assert set(alarms) == expected
    for alarm in alarms.values():
        assert alarm["TreatMissingData"] == "notBreaching"
        assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)
        assert alarm["AlarmActions"] == [{"Ref": "AlertTopic"}]


def test_widgets_fill_two_columns_in_order(base_template: dict[str, Any]) -> None:
    """No x / y / height: CloudWatch places each widget at the next free place, left to
    right, at its default height 6, so half-width widgets fill two columns in order."""
    widgets = _dashboard(base_template)["widgets"]
    assert [w["properties"]["title"] for w in widgets] == [
        "Executions", "Rows", "Rows rejected by reason", "Lambda Invocations",
        "Lambda Errors", "Lambda Duration", "Lambda Throttles", "Status table capacity"]
    for widget in widgets:
        assert set(widget) == {"type", "width", "properties"}
        assert widget["width"] == 12


def test_dashboard_shows_the_top_rejection_reasons_the_handlers_publish(
    base_template: dict[str, Any],
) -> None:
    """The widget's query names the very namespace, metric and dimensions of the EMF
    documents the process step prints, so its series are the published reasons."""
    import io
    import re

    from handlers.metrics import EmfMetrics

    variables = base_template["Resources"]["ProcessFunction"]["Properties"]["Environment"][
        "Variables"]
    pipeline = variables["PIPELINE_NAME"]["Fn::Sub"]
    namespace = _handlers_namespace(pipeline)
    stream = io.StringIO()
    EmfMetrics(namespace, pipeline, stream).put_rejections([("amount", "maximum", 3)])
    document = json.loads(stream.getvalue())
    emitted = document["_aws"]["CloudWatchMetrics"][0]
    widgets = {w["properties"]["title"]: w for w in _dashboard(base_template)["widgets"]}
    [[query]] = widgets["Rows rejected by reason"]["properties"]["metrics"]
    match = re.fullmatch(
        r'SELECT SUM\((\w+)\) FROM SCHEMA\("([^"]+)", ([\w, ]+)\) WHERE Pipeline = '
        r"'([^']+)' GROUP BY ([\w, ]+) ORDER BY SUM\(\) DESC LIMIT (\d+)",
        query["expression"])
    assert match, query["expression"]
    metric, query_namespace, dimensions, query_pipeline, grouped, limit = match.groups()
    assert metric == emitted["Metrics"][0]["Name"] and metric in document
    assert query_namespace == emitted["Namespace"] == namespace
    assert dimensions.split(", ") == emitted["Dimensions"][0]
    assert query_pipeline == document["Pipeline"] == pipeline
    assert grouped.split(", ") == ["Field", "Kind"] and int(limit) >= 5
