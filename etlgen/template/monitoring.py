"""The CloudWatch dashboard and the alarms.

The dashboard body is built as a dict and emitted as one `Fn::Sub` string: resource names
and ARNs appear as `${...}` variables (all built from fixed names, so the dashboard depends
on nothing), and repeated dimensions use CloudWatch's compact `"."` notation. Widgets leave
out what CloudWatch defaults to (`period` 300 s, `view` timeSeries), for the template's
size.
"""

from __future__ import annotations

import json
from typing import Any

from troposphere import GetAtt, Ref, Sub, Template
from troposphere.cloudwatch import Alarm, Dashboard, MetricDimension

from etlgen.model import PipelineConfig
from etlgen.template import names
from etlgen.template.function_specs import FUNCTIONS
from etlgen.template.tags import resource_tags

PERIOD_SECONDS = 300  # of the alarms; also the dashboard's default period
ROW_METRICS = ("RowsIn", "RowsValid", "RowsRejected")
EXECUTION_METRICS = ("ExecutionsStarted", "ExecutionsSucceeded", "ExecutionsFailed",
                     "ExecutionsTimedOut")
LAMBDA_METRICS = (("Invocations", "Sum"), ("Errors", "Sum"), ("Duration", "Maximum"),
                  ("Throttles", "Sum"))
WIDGET_WIDTH = 12
WIDGET_HEIGHT = 6


def _same_dimension(namespace: str, dimension: str, value: str,
                    metric_names: tuple[str, ...]) -> list[list[str]]:
    first, *rest = metric_names
    return [[namespace, first, dimension, value], *([".", name, ".", "."] for name in rest)]


def _widget(index: int, title: str, stat: str, metrics: list[list[str]]) -> dict[str, Any]:
    return {
        "type": "metric",
        "x": (index % 2) * WIDGET_WIDTH,
        "y": (index // 2) * WIDGET_HEIGHT,
        "width": WIDGET_WIDTH,
        "height": WIDGET_HEIGHT,
        "properties": {
            "title": title,
            "region": "${AWS::Region}",
            "stat": stat,
            "metrics": metrics,
        },
    }


def dashboard_body(config: PipelineConfig) -> dict[str, Any]:
    """The body with `${...}` `Fn::Sub` variables still in it."""
    function_names = [names.function_name_text(config, f) for f in FUNCTIONS]
    panels: list[tuple[str, str, list[list[str]]]] = [
        ("Executions", "Sum", _same_dimension(
            "AWS/States", "StateMachineArn", names.state_machine_arn_text(config),
            EXECUTION_METRICS,
        )),
        ("Rows", "Sum", _same_dimension(
            names.metrics_namespace_text(config), "Pipeline",
            names.deployed_pipeline_name_text(config), ROW_METRICS,
        )),
    ]
    for metric, stat in LAMBDA_METRICS:
        first, *rest = function_names
        panels.append((f"Lambda {metric}", stat, [
            ["AWS/Lambda", metric, "FunctionName", first],
            *([".", ".", ".", name] for name in rest),
        ]))
    panels.append(("Status table capacity", "Sum", _same_dimension(
        "AWS/DynamoDB", "TableName", names.table_name_text(config),
        ("ConsumedReadCapacityUnits", "ConsumedWriteCapacityUnits"),
    )))
    return {"widgets": [
        _widget(index, title, stat, metrics)
        for index, (title, stat, metrics) in enumerate(panels)
    ]}


def add_monitoring(template: Template, config: PipelineConfig) -> None:
    template.add_resource(Dashboard(
        names.DASHBOARD,
        DashboardName=names.regional_name(config, "pipeline"),
        DashboardBody=Sub(json.dumps(dashboard_body(config), separators=(",", ":"))),
        Tags=resource_tags(config),
    ))
    # Alarms exist to notify: without the alert topic they would have no action at all.
    if config.alerts.enabled:
        for alarm in _alarms(config):
            template.add_resource(alarm)


def _alarm(config: PipelineConfig, title: str, suffix: str, description: str, namespace: str,
           metric: str, dimension: MetricDimension, statistic: str = "Sum") -> Alarm:
    return Alarm(
        title,
        AlarmName=Sub(names.alarm_name_text(config, suffix)),
        AlarmDescription=description,
        Namespace=namespace,
        MetricName=metric,
        Dimensions=[dimension],
        Statistic=statistic,
        Period=PERIOD_SECONDS,
        EvaluationPeriods=1,
        Threshold=0,
        ComparisonOperator="GreaterThanThreshold",
        TreatMissingData="notBreaching",
        AlarmActions=[Ref(names.ALERT_TOPIC)],
        Tags=resource_tags(config),
    )


def _alarms(config: PipelineConfig) -> list[Alarm]:
    state_machine = MetricDimension(Name="StateMachineArn", Value=Ref(names.STATE_MACHINE))
    alarms = [
        _alarm(config, "ExecutionsFailedAlarm", "executions-failed",
               "A pipeline execution failed", "AWS/States", "ExecutionsFailed", state_machine),
        _alarm(config, "ExecutionsTimedOutAlarm", "executions-timed-out",
               "A pipeline execution timed out", "AWS/States", "ExecutionsTimedOut",
               state_machine),
    ]
    for function in FUNCTIONS:
        alarms.append(_alarm(
            config, f"{function.capitalize()}ErrorsAlarm", f"{function}-errors",
            f"{function} function errors", "AWS/Lambda", "Errors",
            MetricDimension(Name="FunctionName", Value=Ref(names.function_id(function))),
        ))
    alarms.append(_alarm(
        config, "DeadLetterQueueAlarm", "events-dlq-depth",
        "Objects that could not start the pipeline", "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        MetricDimension(Name="QueueName", Value=GetAtt(names.DEAD_LETTER_QUEUE, "QueueName")),
        statistic="Maximum",
    ))
    return alarms
