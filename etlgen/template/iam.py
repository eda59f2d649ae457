"""IAM roles (awacs documents only): one per function, one for the state machine, one for
the EventBridge rule, one guardrail policy of explicit Denies attached to all of them, and
one tracing policy (X-Ray) shared by the roles that trace: the functions and the state
machine (one managed policy instead of the same statement in five roles keeps the template
within a direct `deploy` upload).

Every Allow names exact ARNs or key prefixes. `*` resources appear only where AWS offers
nothing narrower: X-Ray and Step Functions' log-delivery family. The handlers publish their
row metrics as Embedded Metric Format log lines, so no role needs `cloudwatch:PutMetricData`.
"""

from __future__ import annotations

from collections.abc import Sequence

from awacs import aws, dynamodb, kms, logs, s3, sns, sqs, states, sts, xray
from awacs import awslambda as lambda_
from troposphere import GetAtt, Ref, Sub, Template
from troposphere.iam import ManagedPolicy, Policy, Role

from etlgen.model import PipelineConfig
from etlgen.template import names
from etlgen.template.function_specs import FUNCTIONS, FunctionSpec
from etlgen.template.policy import document, service_principal
from etlgen.template.tags import resource_tags

TRACING_ACTIONS = [
    xray.PutTraceSegments,
    xray.PutTelemetryRecords,
    xray.GetSamplingRules,
    xray.GetSamplingTargets,
]
LOG_DELIVERY_ACTIONS = [
    logs.CreateLogDelivery,
    logs.GetLogDelivery,
    logs.UpdateLogDelivery,
    logs.DeleteLogDelivery,
    logs.ListLogDeliveries,
    logs.PutResourcePolicy,
    logs.DescribeResourcePolicies,
    logs.DescribeLogGroups,
]
READ_OBJECT = [s3.GetObject, s3.GetObjectVersion]
# Publishing copies staged parts (GetObject on the source, PutObject on the target) and
# removes what the new manifest does not list; a plain delete only adds a delete marker
# (versions stay for `noncurrent_version_days`; deleting a version is denied to every role).
DELETE_OBJECT = [s3.DeleteObject]
# Large outputs go up as multipart uploads (authorized as PutObject); a failed one is aborted.
WRITE_OBJECT = [s3.PutObject, s3.AbortMultipartUpload]


def objects_under(prefix: str) -> object:
    """ARN pattern of every object under a key prefix of the data bucket."""
    return Sub(f"${{{names.DATA_BUCKET}.Arn}}/{names.iam_literal(prefix)}*")


def _pattern_literal(prefix: str) -> str:
    """A key prefix inside a StringLike value (not inside `Fn::Sub`): a literal `*` is the
    policy variable `${*}` (prefixes cannot hold `?`, `$` or braces)."""
    return prefix.replace("*", "${*}")


def _allow(sid: str, actions: Sequence[aws.Action], resources: list[object],
           condition: aws.Condition | None = None) -> aws.Statement:
    statement = aws.Statement(Sid=sid, Effect=aws.Allow, Action=list(actions),
                              Resource=resources)
    if condition is not None:
        statement.Condition = condition
    return statement


def _deny(sid: str, actions: list[aws.Action], resources: list[object]) -> aws.Statement:
    return aws.Statement(Sid=sid, Effect=aws.Deny, Action=actions, Resource=resources)


def _trust(service: str, same_account_only: bool = True) -> aws.PolicyDocument:
    statement = aws.Statement(
        Effect=aws.Allow, Principal=service_principal(service), Action=[sts.AssumeRole]
    )
    if same_account_only:
        statement.Condition = aws.Condition(
            aws.StringEquals("aws:SourceAccount", Ref("AWS::AccountId"))
        )
    return document(statement)


def _role(config: PipelineConfig, title: str, role_suffix: str, service: str,
          statements: list[aws.Statement], same_account_only: bool = True,
          traces: bool = True) -> Role:
    managed = [Ref(names.GUARDRAIL_POLICY)]
    if traces:
        managed.append(Ref(names.TRACING_POLICY))
    return Role(
        title,
        RoleName=names.regional_name(config, role_suffix),
        AssumeRolePolicyDocument=_trust(service, same_account_only),
        Policies=[Policy(PolicyName="access", PolicyDocument=document(*statements))],
        ManagedPolicyArns=managed,
        Tags=resource_tags(config),
    )


def function_statements(config: PipelineConfig, spec: FunctionSpec) -> list[aws.Statement]:
    """The entry's `access` (see `function_specs`) and its log group (tracing: the shared
    tracing policy)."""
    access = spec.access(config)
    statements = []
    if access.read_prefixes:
        statements.append(_allow(
            "Read", READ_OBJECT, [objects_under(p) for p in access.read_prefixes]
        ))
    if access.write_prefixes:
        statements.append(_allow(
            "Write", WRITE_OBJECT if access.multipart_writes else [s3.PutObject],
            [objects_under(p) for p in access.write_prefixes],
        ))
    if access.delete_prefixes:
        statements.append(_allow(
            "Delete", DELETE_OBJECT, [objects_under(p) for p in access.delete_prefixes]
        ))
    if access.list_prefixes:
        statements.append(_allow(
            "List", [s3.ListBucket], [GetAtt(names.DATA_BUCKET, "Arn")],
            aws.Condition(aws.StringLike(
                "s3:prefix", [f"{_pattern_literal(p)}*" for p in access.list_prefixes])),
        ))
    if access.list_version_prefixes:
        statements.append(_allow(
            "Versions", [s3.ListBucketVersions], [GetAtt(names.DATA_BUCKET, "Arn")],
            aws.Condition(aws.StringLike(
                "s3:prefix", [f"{_pattern_literal(p)}*" for p in access.list_version_prefixes])),
        ))
    if access.table_actions:
        statements.append(_allow(
            "Status", list(access.table_actions), [GetAtt(names.STATUS_TABLE, "Arn")]
        ))
    if access.sends_results:
        statements.append(_allow(
            "Results", [sqs.SendMessage], [GetAtt(names.RESULTS_QUEUE, "Arn")]
        ))
    if access.catalog_actions:
        statements.append(_allow(
            "Catalog", list(access.catalog_actions),
            [Sub(arn) for arn in names.catalog_arn_texts()],
        ))
    statements.append(_allow(
        "Logs", [logs.CreateLogStream, logs.PutLogEvents],
        [GetAtt(names.function_log_group_id(spec.name), "Arn")],
    ))
    return statements


def state_machine_statements(config: PipelineConfig) -> list[aws.Statement]:
    functions = [names.function_arn(f) for f in FUNCTIONS]
    # The Tasks name the unqualified ARNs (`Fn::GetAtt ... Arn`), the only ones invoked: no
    # `:*` for versions or aliases.
    statements = [
        _allow("Invoke", [lambda_.InvokeFunction], functions),
        _allow("Record", [dynamodb.UpdateItem], [GetAtt(names.STATUS_TABLE, "Arn")]),
    ]
    if config.alerts.enabled:
        statements.append(_allow("Alert", [sns.Publish], [Ref(names.ALERT_TOPIC)]))
        statements.append(_allow(
            "AlertKey", [kms.GenerateDataKey, kms.Decrypt], [GetAtt(names.ALERT_KEY, "Arn")]
        ))
    statements.append(_allow("LogDelivery", LOG_DELIVERY_ACTIONS, ["*"]))
    return statements


def rule_statements() -> list[aws.Statement]:
    return [_allow("Start", [states.StartExecution], [Ref(names.STATE_MACHINE)])]


def guardrail_statements(config: PipelineConfig) -> list[aws.Statement]:
    """Destructive actions no pipeline role may take, whatever an Allow says later."""
    data_bucket = GetAtt(names.DATA_BUCKET, "Arn")
    log_bucket = GetAtt(names.ACCESS_LOG_BUCKET, "Arn")
    incoming = objects_under(config.input.prefix)
    table = GetAtt(names.STATUS_TABLE, "Arn")
    statements = [
        _deny("Buckets", [
            s3.DeleteBucket, s3.DeleteBucketPolicy, s3.PutBucketPolicy,
            s3.PutLifecycleConfiguration, s3.PutBucketVersioning, s3.PutEncryptionConfiguration,
            s3.PutBucketPublicAccessBlock, s3.PutBucketOwnershipControls, s3.PutBucketAcl,
            s3.PutBucketLogging, s3.PutBucketNotification,
        ], [data_bucket, log_bucket]),
        _deny("Incoming", [
            s3.PutObject, s3.DeleteObject, s3.DeleteObjectVersion, s3.DeleteObjectTagging,
            s3.DeleteObjectVersionTagging,
        ], [incoming]),
        # Deleting a version is permanent; a plain delete only adds a delete marker.
        _deny("Versions", [s3.DeleteObjectVersion],
              [Sub(f"${{{names.DATA_BUCKET}.Arn}}/*")]),
        _deny("AccessLogs", [s3.DeleteObject, s3.DeleteObjectVersion],
              [Sub(f"${{{names.ACCESS_LOG_BUCKET}.Arn}}/*")]),
        _deny("Table", [
            dynamodb.DeleteTable, dynamodb.DeleteBackup, dynamodb.UpdateTable,
            dynamodb.UpdateTimeToLive, dynamodb.UpdateContinuousBackups,
        ], [table, Sub(f"${{{names.STATUS_TABLE}.Arn}}/backup/*")]),
        _deny("LogGroups", [
            logs.DeleteLogGroup, logs.DeleteLogStream, logs.PutRetentionPolicy,
            logs.DeleteRetentionPolicy,
        ], [
            *(GetAtt(names.function_log_group_id(f), "Arn") for f in FUNCTIONS),
            GetAtt(names.STATE_MACHINE_LOG_GROUP, "Arn"),
        ]),
        _deny("Workflow", [states.DeleteStateMachine, states.UpdateStateMachine],
              [Sub(names.state_machine_arn_text(config))]),
    ]
    queues = [GetAtt(names.DEAD_LETTER_QUEUE, "Arn")]
    if config.results_queue.enabled:
        queues.append(GetAtt(names.RESULTS_QUEUE, "Arn"))
    statements.append(_deny(
        "Queues", [sqs.DeleteQueue, sqs.PurgeQueue, sqs.SetQueueAttributes], queues
    ))
    if config.alerts.enabled:
        statements.append(_deny(
            "Alerts",
            [sns.DeleteTopic, sns.SetTopicAttributes, kms.ScheduleKeyDeletion, kms.DisableKey,
             kms.PutKeyPolicy],
            [Ref(names.ALERT_TOPIC), GetAtt(names.ALERT_KEY, "Arn")],
        ))
    return statements


def add_roles(template: Template, config: PipelineConfig) -> None:
    template.add_resource(ManagedPolicy(
        names.GUARDRAIL_POLICY,
        ManagedPolicyName=names.regional_name(config, "guardrails"),
        Description="Destructive actions no role of this pipeline may take",
        PolicyDocument=document(*guardrail_statements(config)),
    ))
    template.add_resource(ManagedPolicy(
        names.TRACING_POLICY,
        ManagedPolicyName=names.regional_name(config, "tracing"),
        PolicyDocument=document(_allow("Tracing", TRACING_ACTIONS, ["*"])),
    ))
    for spec in FUNCTIONS.values():
        template.add_resource(_role(
            config, names.function_role_id(spec.name), spec.name, "lambda.amazonaws.com",
            function_statements(config, spec), same_account_only=False,
        ))
    template.add_resource(_role(
        config, names.STATE_MACHINE_ROLE, "states", "states.amazonaws.com",
        state_machine_statements(config),
    ))
    template.add_resource(_role(
        config, names.RULE_ROLE, "events", "events.amazonaws.com", rule_statements(),
        traces=False,
    ))
