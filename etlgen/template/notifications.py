"""The optional results queue and the optional alerts topic with its key.

The topic is encrypted with a customer-managed key whose policy lets CloudWatch alarms use
it: with the AWS-managed `alias/aws/sns` key their publishes fail and the alarms never
deliver. Only the services that publish get a statement: CloudWatch for this pipeline's
alarms (`aws:SourceAccount` and `aws:SourceArn` on the alarm ARNs, the keys CloudWatch
sends with its KMS requests for an encrypted topic); nothing routes EventBridge events to
this topic, so EventBridge has no grant. Step Functions publishes through its role, which
the root statement lets IAM grant. No topic policy: the default one already admits this
account's alarms and roles, and a replacement could only narrow that.

The key is deleted with the stack (after the shortest KMS waiting period) together with
the topic it encrypts: retained alone it would only cost money.
"""

from __future__ import annotations

from awacs import aws, kms
from troposphere import GetAtt, Ref, Sub, Template
from troposphere.kms import Alias, Key
from troposphere.sns import SubscriptionResource, Topic
from troposphere.sqs import Queue

from etlgen.model import PipelineConfig
from etlgen.template import names
from etlgen.template.policy import document, service_principal
from etlgen.template.tags import resource_tags

# The actions SNS performs with the key when a service publishes to the topic.
PUBLISH_KEY_ACTIONS = [kms.GenerateDataKey, kms.Decrypt]
ACCOUNT_ROOT = "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"
RESULTS_RETENTION_SECONDS = 1_209_600  # the SQS maximum: consumers may be away for days
ALARMS_SERVICE = "cloudwatch.amazonaws.com"
KEY_DELETION_WAITING_DAYS = 7  # the KMS minimum


def add_notifications(template: Template, config: PipelineConfig) -> None:
    if config.results_queue.enabled:
        template.add_resource(_results_queue(config))
    if config.alerts.enabled:
        template.add_resource(_alert_key(config))
        template.add_resource(Alias(
            names.ALERT_KEY_ALIAS,
            AliasName=Sub(f"alias/{names.name_text(config, 'alerts')}"),
            TargetKeyId=Ref(names.ALERT_KEY),
        ))
        template.add_resource(Topic(
            names.ALERT_TOPIC,
            TopicName=names.name(config, "alerts"),
            DisplayName=f"etlgen {config.name}"[:100],
            KmsMasterKeyId=GetAtt(names.ALERT_KEY, "Arn"),
            Tags=resource_tags(config),
        ))
        if config.alerts.email:
            # The address is the config's, a literal: a parameter default would not reach
            # an existing stack (see `etlgen.template.parameters`).
            template.add_resource(SubscriptionResource(
                names.ALERT_SUBSCRIPTION,
                Protocol="email",
                Endpoint=config.alerts.email,
                TopicArn=Ref(names.ALERT_TOPIC),
            ))


def _results_queue(config: PipelineConfig) -> Queue:
    # FIFO keeps one file's results in order; the finalize handler sets the deduplication
    # id (file id), so content-based deduplication stays off.
    return Queue(
        names.RESULTS_QUEUE,
        **names.RETAINED,
        QueueName=Sub(f"{names.name_text(config, 'results')}.fifo"),
        FifoQueue=True,
        ContentBasedDeduplication=False,
        SqsManagedSseEnabled=True,
        MessageRetentionPeriod=RESULTS_RETENTION_SECONDS,
        Tags=resource_tags(config),
    )


def _alert_key(config: PipelineConfig) -> Key:
    # In a key policy, Resource "*" means this key. The root statement delegates the key's
    # administration to IAM policies, as AWS's default key policy does: without it nobody
    # could ever change or delete the key.
    statements = [
        aws.Statement(
            Sid="EnableIamPolicies",
            Effect=aws.Allow,
            Principal=aws.Principal("AWS", Sub(ACCOUNT_ROOT)),
            Action=[kms.Action("*")],
            Resource=["*"],
        ),
    ]
    statements.append(aws.Statement(
        Sid="AllowAlarmsToPublish",
        Effect=aws.Allow,
        Principal=service_principal(ALARMS_SERVICE),
        Action=PUBLISH_KEY_ACTIONS,
        Resource=["*"],
        Condition=aws.Condition([
            aws.StringEquals("aws:SourceAccount", Ref("AWS::AccountId")),
            aws.ArnLike("aws:SourceArn", Sub(names.alarm_arn_pattern_text(config))),
        ]),
    ))
    return Key(
        names.ALERT_KEY,
        **names.DELETED,
        PendingWindowInDays=KEY_DELETION_WAITING_DAYS,
        Description=Sub(f"Alerts topic key of {names.base_name(config)}"),
        EnableKeyRotation=True,
        KeyPolicy=document(*statements),
        Tags=resource_tags(config),
    )
