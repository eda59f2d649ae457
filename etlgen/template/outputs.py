"""Stack outputs: what an operator needs to use and watch the pipeline."""

from __future__ import annotations

from troposphere import GetAtt, Output, Ref, Sub, Template

from etlgen.model import PipelineConfig
from etlgen.template import names


def add_outputs(template: Template, config: PipelineConfig) -> None:
    outputs = [
        Output("BucketName", Description="Upload CSV files under the incoming prefix here",
               Value=Ref(names.DATA_BUCKET)),
        Output("IncomingPrefix", Description="Key prefix that starts the pipeline",
               Value=config.input.prefix),
        Output("StateMachineArn", Description="The pipeline's state machine",
               Value=Ref(names.STATE_MACHINE)),
        Output("StatusTableName", Description="Status of every file and chunk",
               Value=Ref(names.STATUS_TABLE)),
        Output("DeadLetterQueueUrl", Description="Events that could not start the pipeline",
               Value=Ref(names.DEAD_LETTER_QUEUE)),
    ]
    if config.results_queue.enabled:
        outputs.append(Output(
            "ResultsQueueUrl", Description="One message per completed file (FIFO)",
            Value=Ref(names.RESULTS_QUEUE),
        ))
    if config.alerts.enabled:
        outputs.append(Output(
            "AlertTopicArn", Description="Failure alerts and alarms",
            Value=Ref(names.ALERT_TOPIC),
        ))
        outputs.append(Output(
            "AlertKeyArn", Description="KMS key encrypting the alerts topic",
            Value=GetAtt(names.ALERT_KEY, "Arn"),
        ))
    outputs.append(Output(
        "DashboardUrl", Description="CloudWatch dashboard of the pipeline",
        Value=Sub(
            "https://${AWS::Region}.console.aws.amazon.com/cloudwatch/home?region="
            f"${{AWS::Region}}#dashboards:name=${{{names.DASHBOARD}}}"
        ),
    ))
    for output in outputs:
        template.add_output(output)
