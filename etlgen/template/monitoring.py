"""The CloudWatch dashboard and the alarms.

The dashboard body is built as a dict and emitted as one `Fn::Sub` string: names and ARNs
appear as `${...}` variables, and repeated dimensions use CloudWatch's compact `"."`
notation. For the template's size, the state machine's ARN is `${StateMachine}` (its
`Ref`), every other name in the body starts with the variable `${Name}`, which the
`Fn::Sub` variable map binds to the deployed pipeline name (`<name>-${EnvironmentSuffix}`),
and widgets leave out what CloudWatch defaults to: `period` 300 s, `view` timeSeries,
`height` 6, and `x` / `y` (each widget takes the next free place, left to right, so the
12-wide widgets fill two columns in order). What still repeats from widget to widget is
factored into `Fn::Sub` variables too (`dashboard_fragments`).
"""

from __future__ import annotations

import json
from typing import Any

from troposphere import GetAtt, Ref, Sub, Template
from troposphere.cloudwatch import Alarm, Dashboard, MetricDimension

from etlgen.model import PipelineConfig
from etlgen.template import names
from etlgen.template.factored import factored_sub
from etlgen.template.function_specs import FUNCTIONS
from etlgen.template.tags import resource_tags
from handlers.metrics import REJECTION_DIMENSIONS, REJECTION_METRIC

PERIOD_SECONDS = 300  # of the alarms; also the dashboard's default period
ROW_METRICS = ("RowsIn", "RowsValid", "RowsRejected")
EXECUTION_METRICS = ("ExecutionsStarted", "ExecutionsSucceeded", "ExecutionsFailed",
                     "ExecutionsTimedOut")
LAMBDA_METRICS = (("Invocations", "Sum"), ("Errors", "Sum"), ("Duration", "Maximum"),
                  ("Throttles", "Sum"))
WIDGET_WIDTH = 12  # two per row; the height is CloudWatch's default, 6
TOP_REASONS = 10  # series of the rejection reasons widget, most rejected rows first
# The `Fn::Sub` variable standing for the deployed pipeline name inside the body.
NAME_VARIABLE = "Name"


def _same_dimension(namespace: str, dimension: str, value: str,
                    metric_names: tuple[str, ...]) -> list[list[str]]:
    first, *rest = metric_names
    return [[namespace, first, dimension, value], *([".", name, ".", "."] for name in rest)]


def _widget(title: str, stat: str, metrics: list[list[Any]]) -> dict[str, Any]:
    return {
        "type": "metric",
        "width": WIDGET_WIDTH,
        "properties": {
            "title": title,
            "region": "${AWS::Region}",
            "stat": stat,
            "metrics": metrics,
        },
    }


def rejection_reasons_query(namespace: str, pipeline: str) -> str:
    """A Metrics Insights query: the rejected rows of the top reasons (field, kind), one
    series each. The reasons are data, not known when the template is made: the query
    finds whatever series the process step published."""
    dimensions = ", ".join(REJECTION_DIMENSIONS)
    grouped = ", ".join(REJECTION_DIMENSIONS[1:])
    return (f'SELECT SUM({REJECTION_METRIC}) FROM SCHEMA("{namespace}", {dimensions}) '
            f"WHERE {REJECTION_DIMENSIONS[0]} = '{pipeline}' GROUP BY {grouped} "
            f"ORDER BY SUM() DESC LIMIT {TOP_REASONS}")


def dashboard_body(config: PipelineConfig) -> dict[str, Any]:
    """The body with `${...}` `Fn::Sub` variables still in it (names spelled out)."""
    function_names = [names.function_name_text(config, f) for f in FUNCTIONS]
    panels: list[tuple[str, str, list[list[Any]]]] = [
        ("Executions", "Sum", _same_dimension(
            "AWS/States", "StateMachineArn", f"${{{names.STATE_MACHINE}}}",
            EXECUTION_METRICS,
        )),
        ("Rows", "Sum", _same_dimension(
            names.metrics_namespace_text(config), "Pipeline",
            names.deployed_pipeline_name_text(config), ROW_METRICS,
        )),
    ]
    panels.append(("Rows rejected by reason", "Sum", [[{
        "expression": rejection_reasons_query(names.metrics_namespace_text(config),
                                              names.deployed_pipeline_name_text(config)),
        "id": "reasons"}]]))
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
    return {"widgets": [_widget(title, stat, metrics) for title, stat, metrics in panels]}


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def dashboard_fragments(config: PipelineConfig) -> list[tuple[str, str]]:
    """What repeats from widget to widget, in the body's own JSON text: each widget's
    head and the fields after its title, and the Lambda widgets' rows of the functions
    after the first."""
    function_names = [names.function_name_text(config, f) for f in FUNCTIONS]
    head = _compact(_widget("", "", []))
    title_at = head.index('"title":"') + len('"title":"')
    fields = head[title_at:head.index('"stat":"') + len('"stat":"')]
    rows = _compact([[".", ".", ".", name] for name in function_names[1:]])[1:-1]
    return [("W", head[:title_at]), ("R", fields), ("M", '","metrics":[['), ("F", rows)]


def dashboard_body_sub(config: PipelineConfig) -> Sub:
    """The body as `Fn::Sub`, shorter but the same text once substituted: the repeated
    fragments (`dashboard_fragments`) as variables, then the deployed name in the rest as
    `${Name}` (the body has no variable of that name of its own)."""
    body = _compact(dashboard_body(config))
    base = names.base_name(config)
    factored = factored_sub(body, dashboard_fragments(config)).to_dict()["Fn::Sub"]
    text, variables = (factored, {}) if isinstance(factored, str) else factored
    return Sub(text.replace(base, f"${{{NAME_VARIABLE}}}"),
               {**variables, NAME_VARIABLE: Sub(base)})


def add_monitoring(template: Template, config: PipelineConfig) -> None:
    template.add_resource(Dashboard(
        names.DASHBOARD,
        DashboardName=names.regional_name(config, "pipeline"),
        DashboardBody=dashboard_body_sub(config),
        Tags=resource_tags(config),
    ))
    # Alarms exist to notify: without the alert topic they would have no action at all.
    if config.alerts.enabled:
        for alarm in _alarms(config):
            template.add_resource(alarm)


def _alarm(config: PipelineConfig, title: str, suffix: str, namespace: str, metric: str,
           dimension: MetricDimension, statistic: str = "Sum",
           description: str | None = None) -> Alarm:
    """A description only where the name (`<pipeline>-<env>-<suffix>`) does not say it all."""
    extra = {"AlarmDescription": description} if description else {}
    return Alarm(
        title,
        AlarmName=Sub(names.alarm_name_text(config, suffix)),
        **extra,
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
        _alarm(config, "ExecutionsFailedAlarm", "executions-failed", "AWS/States",
               "ExecutionsFailed", state_machine),
        _alarm(config, "ExecutionsTimedOutAlarm", "executions-timed-out", "AWS/States",
               "ExecutionsTimedOut", state_machine),
    ]
    for function in FUNCTIONS:
        alarms.append(_alarm(
            config, f"{function.capitalize()}ErrorsAlarm", f"{function}-errors", "AWS/Lambda",
            "Errors",
            MetricDimension(Name="FunctionName", Value=Ref(names.function_id(function))),
        ))
    alarms.append(_alarm(
        config, "DeadLetterQueueAlarm", "events-dlq-depth", "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        MetricDimension(Name="QueueName", Value=GetAtt(names.DEAD_LETTER_QUEUE, "QueueName")),
        statistic="Maximum", description="Objects that could not start the pipeline",
    ))
    return alarms
