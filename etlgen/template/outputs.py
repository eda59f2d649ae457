"""Stack outputs: what an operator needs to use and watch the pipeline."""

from __future__ import annotations

from troposphere import GetAtt, Output, Ref, Sub, Template

from etlgen.model import PipelineConfig
from etlgen.template import names


def add_outputs(template: Template, config: PipelineConfig) -> None:
    outputs = [
        Output("BucketName", Description="Upload CSV files here",
               Value=Ref(names.DATA_BUCKET)),
        Output("IncomingPrefix", Description="Key prefix of uploads",
               Value=config.input.prefix),
        Output("StateMachineArn", Description="State machine",
               Value=Ref(names.STATE_MACHINE)),
        Output("StatusTableName", Description="File and chunk status",
               Value=Ref(names.STATUS_TABLE)),
        Output("DeadLetterQueueUrl", Description="Events that started nothing",
               Value=Ref(names.DEAD_LETTER_QUEUE)),
    ]
    if config.results_queue.enabled:
        outputs.append(Output(
            "ResultsQueueUrl", Description="One message per file",
            Value=Ref(names.RESULTS_QUEUE),
        ))
    if config.alerts.enabled:
        outputs.append(Output(
            "AlertTopicArn", Description="Failure alerts",
            Value=Ref(names.ALERT_TOPIC),
        ))
        outputs.append(Output(
            "AlertKeyArn", Description="Key of the alerts topic",
            Value=GetAtt(names.ALERT_KEY, "Arn"),
        ))
    if config.catalog.enabled:
        outputs.extend([
            Output("DatabaseName", Description="Glue database",
                   Value=Ref(names.CATALOG_DATABASE)),
            Output("TableName", Description="Valid rows; rejects: <table>_rejected",
                   Value=Ref(names.CATALOG_TABLE)),
            Output("WorkGroupName", Description="Athena workgroup",
                   Value=Ref(names.WORKGROUP)),
        ])
    outputs.append(Output(
        "DashboardUrl", Description="CloudWatch dashboard",
        Value=Sub(
            "https://${AWS::Region}.console.aws.amazon.com/cloudwatch/home?region="
            f"${{AWS::Region}}#dashboards:name=${{{names.DASHBOARD}}}"
        ),
    ))
    for output in outputs:
        template.add_output(output)
