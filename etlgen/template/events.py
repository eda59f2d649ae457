"""The EventBridge rule starting one execution per new object under the incoming prefix.

Only `Object Created` events of this bucket whose key starts with the incoming prefix (and
ends with `input.suffix`, when set) match, so objects the pipeline writes under the
processed and rejected prefixes (which the config keeps apart from the incoming prefix)
never start an execution. Events EventBridge cannot deliver go to an encrypted dead-letter
queue, which has an alarm.
"""

from __future__ import annotations

from typing import Any

from awacs import aws, sqs
from troposphere import GetAtt, Ref, Sub, Template
from troposphere.events import DeadLetterConfig, RetryPolicy, Rule, Target
from troposphere.sqs import Queue, QueuePolicy

from etlgen.model import PipelineConfig
from etlgen.template import names
from etlgen.template.policy import deny_insecure_transport, document, service_principal
from etlgen.template.tags import resource_tags

MAX_EVENT_AGE_SECONDS = 86_400
MAX_DELIVERY_ATTEMPTS = 185
DEAD_LETTER_RETENTION_SECONDS = 1_209_600


def _wildcard_literal(text: str) -> str:
    """EventBridge wildcard patterns treat `*` as a wildcard and `\\` as the escape."""
    return text.replace("\\", "\\\\").replace("*", "\\*")


def object_key_filter(config: PipelineConfig) -> dict[str, str]:
    """`prefix` alone, or a `wildcard` `<prefix>*<suffix>` (its `*` also matches `/`)."""
    prefix, suffix = config.input.prefix, config.input.suffix
    if not suffix:
        return {"prefix": prefix}
    return {"wildcard": f"{_wildcard_literal(prefix)}*{_wildcard_literal(suffix)}"}


def event_pattern(config: PipelineConfig) -> dict[str, Any]:
    return {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {
            "bucket": {"name": [Ref(names.DATA_BUCKET)]},
            "object": {"key": [object_key_filter(config)]},
        },
    }


def add_events(template: Template, config: PipelineConfig) -> None:
    template.add_resource(Queue(
        names.DEAD_LETTER_QUEUE,
        **names.RETAINED,
        QueueName=Sub(names.dead_letter_queue_name_text(config)),
        SqsManagedSseEnabled=True,
        MessageRetentionPeriod=DEAD_LETTER_RETENTION_SECONDS,
        Tags=resource_tags(config),
    ))
    template.add_resource(Rule(
        names.RULE,
        Name=names.name(config, "object-created"),
        Description="Starts the pipeline for each new input object",
        EventPattern=event_pattern(config),
        Targets=[Target(
            Id="StateMachine",
            Arn=Ref(names.STATE_MACHINE),
            RoleArn=GetAtt(names.RULE_ROLE, "Arn"),
            RetryPolicy=RetryPolicy(
                MaximumEventAgeInSeconds=MAX_EVENT_AGE_SECONDS,
                MaximumRetryAttempts=MAX_DELIVERY_ATTEMPTS,
            ),
            DeadLetterConfig=DeadLetterConfig(Arn=GetAtt(names.DEAD_LETTER_QUEUE, "Arn")),
        )],
        Tags=resource_tags(config),
    ))
    queue_arn = GetAtt(names.DEAD_LETTER_QUEUE, "Arn")
    template.add_resource(QueuePolicy(
        names.DEAD_LETTER_QUEUE_POLICY,
        **names.RETAINED,  # kept with its retained queue, which must stay TLS-only
        Queues=[Ref(names.DEAD_LETTER_QUEUE)],
        PolicyDocument=document(
            aws.Statement(
                Sid="AllowRuleDeadLetters",
                Effect=aws.Allow,
                Principal=service_principal("events.amazonaws.com"),
                Action=[sqs.SendMessage],
                Resource=[queue_arn],
                Condition=aws.Condition(
                    aws.ArnEquals("aws:SourceArn", GetAtt(names.RULE, "Arn"))
                ),
            ),
            deny_insecure_transport(sqs.Action("*"), [queue_arn]),
        ),
    ))
