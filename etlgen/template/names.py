"""Logical ids and physical names shared by the template modules.

Modules refer to each other's resources only through these ids (`Ref`/`GetAtt` by name), so
each module builds its resources without importing another's objects. Physical names are
`Fn::Sub` texts from the pipeline name and the `EnvironmentSuffix` parameter; ARNs of
resources with a fixed name are built the same way wherever a `GetAtt` would close a
dependency cycle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from etlgen.model import PipelineConfig
from handlers.settings import metrics_namespace

if TYPE_CHECKING:  # troposphere is imported where a value is built: `etlgen run` reads the
    from troposphere import GetAtt, Sub  # ids and names here without rendering anything

# Stateful resources (data, status, keys, queued messages) outlive the stack and its
# replacements: CloudFormation keeps them on delete and on replacing updates.
RETAINED = {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}
# What is useless without the stack goes with it (the alert key only encrypts the topic).
DELETED = {"DeletionPolicy": "Delete", "UpdateReplacePolicy": "Delete"}

ENVIRONMENT_SUFFIX = "EnvironmentSuffix"
ARTIFACT_BUCKET = "ArtifactBucket"
PANDAS_LAYER_PREFIX = "PandasLayer"

DATA_BUCKET = "DataBucket"
DATA_BUCKET_POLICY = "DataBucketPolicy"
ACCESS_LOG_BUCKET = "AccessLogBucket"
ACCESS_LOG_BUCKET_POLICY = "AccessLogBucketPolicy"
ACCESS_LOG_PREFIX = "s3-access/"
STATUS_TABLE = "StatusTable"
STATE_MACHINE = "StateMachine"
STATE_MACHINE_LOG_GROUP = "StateMachineLogGroup"
STATE_MACHINE_ROLE = "StateMachineRole"
RULE = "ObjectCreatedRule"
RULE_ROLE = "ObjectCreatedRuleRole"
DEAD_LETTER_QUEUE = "EventsDeadLetterQueue"
DEAD_LETTER_QUEUE_POLICY = "EventsDeadLetterQueuePolicy"
RESULTS_QUEUE = "ResultsQueue"
ALERT_KEY = "AlertKey"
ALERT_KEY_ALIAS = "AlertKeyAlias"
ALERT_TOPIC = "AlertTopic"
ALERT_SUBSCRIPTION = "AlertEmailSubscription"
DASHBOARD = "Dashboard"
GUARDRAIL_POLICY = "GuardrailPolicy"
TRACING_POLICY = "TracingPolicy"
CATALOG_DATABASE = "CatalogDatabase"
CATALOG_TABLE = "CatalogTable"  # the view readers query, `<table>`
REJECTED_TABLE = "RejectedTable"  # the view `<table>_rejected`
CATALOG_PARTS = "CatalogParts"  # the storage tables under them, `<table>_parts`, ...
REJECTED_PARTS = "RejectedParts"
COMMITS_TABLE = "CommitsTable"  # `<table>_commits`, the commit pointers
WORKGROUP = "QueryWorkGroup"

ACCOUNT_ARN_PREFIX = "arn:${AWS::Partition}:%s:${AWS::Region}:${AWS::AccountId}"


def _title(function: str) -> str:
    return function.capitalize()


def function_id(function: str) -> str:
    return f"{_title(function)}Function"


def function_log_group_id(function: str) -> str:
    return f"{_title(function)}LogGroup"


def function_role_id(function: str) -> str:
    return f"{_title(function)}Role"


def base_name(config: PipelineConfig) -> str:
    """`<name>-${EnvironmentSuffix}`: the start of every physical name (an `Fn::Sub` text)."""
    return f"{config.name}-${{{ENVIRONMENT_SUFFIX}}}"


def name_text(config: PipelineConfig, suffix: str) -> str:
    return f"{base_name(config)}-{suffix}"


def name(config: PipelineConfig, suffix: str) -> Sub:
    from troposphere import Sub

    return Sub(name_text(config, suffix))


def regional_name(config: PipelineConfig, suffix: str) -> Sub:
    """For account-wide names (IAM roles and policies, dashboards): one per region."""
    from troposphere import Sub

    return Sub(f"{name_text(config, suffix)}-${{AWS::Region}}")


def bucket_name_text(config: PipelineConfig) -> str:
    """At most 20 + 1 + 10 + 1 + 12 + 1 + 14 = 59 characters in every commercial region."""
    return f"{base_name(config)}-${{AWS::AccountId}}-${{AWS::Region}}"


def access_log_bucket_name_text(config: PipelineConfig) -> str:
    """The data bucket's name plus `-log`: at most 63 characters, the S3 limit."""
    return f"{bucket_name_text(config)}-log"


def bucket_arn_text(config: PipelineConfig) -> str:
    return f"arn:${{AWS::Partition}}:s3:::{bucket_name_text(config)}"


def function_name_text(config: PipelineConfig, function: str) -> str:
    return name_text(config, function)


def function_arn(function: str) -> GetAtt:
    from troposphere import GetAtt

    return GetAtt(function_id(function), "Arn")


def state_machine_name_text(config: PipelineConfig) -> str:
    return base_name(config)


def state_machine_arn_text(config: PipelineConfig) -> str:
    return f"{ACCOUNT_ARN_PREFIX % 'states'}:stateMachine:{state_machine_name_text(config)}"


def state_machine_log_group_name_text(config: PipelineConfig) -> str:
    return f"/aws/vendedlogs/states/{base_name(config)}"


def function_log_group_name_text(config: PipelineConfig, function: str) -> str:
    return f"/aws/lambda/{function_name_text(config, function)}"


def alarm_name_text(config: PipelineConfig, suffix: str) -> str:
    return name_text(config, suffix)


def alarm_arn_pattern_text(config: PipelineConfig) -> str:
    """Every alarm of this pipeline and environment (`Fn::Sub` text, for `ArnLike`)."""
    return f"{ACCOUNT_ARN_PREFIX % 'cloudwatch'}:alarm:{name_text(config, '*')}"


def deployed_pipeline_name_text(config: PipelineConfig) -> str:
    """`<name>-${EnvironmentSuffix}`: the pipeline as deployed, in metrics and dimensions."""
    return base_name(config)


def metrics_namespace_text(config: PipelineConfig) -> str:
    """One namespace per environment, so dev and prod in one account never mix figures:
    the handlers' own, derived from the deployed pipeline name."""
    return metrics_namespace(deployed_pipeline_name_text(config))


def table_name_text(config: PipelineConfig) -> str:
    return name_text(config, "status")


def database_name_text(config: PipelineConfig) -> str:
    """`<database>_${EnvironmentSuffix}`: Glue names allow `_` but not `-`, and the
    suffix's AllowedPattern (`[a-z0-9]`) keeps the whole a valid lower-case Glue name."""
    return f"{config.database_name}_${{{ENVIRONMENT_SUFFIX}}}"


def workgroup_name_text(config: PipelineConfig) -> str:
    return base_name(config)


def catalog_arn_texts() -> list[str]:
    """The Glue catalog, the database and both storage tables (`Fn::Sub` texts): what a
    partition call is authorized on (never the views or the commits table)."""
    glue = ACCOUNT_ARN_PREFIX % "glue"
    database = f"${{{CATALOG_DATABASE}}}"
    return [f"{glue}:catalog", f"{glue}:database/{database}",
            f"{glue}:table/{database}/${{{CATALOG_PARTS}}}",
            f"{glue}:table/{database}/${{{REJECTED_PARTS}}}"]


def dead_letter_queue_name_text(config: PipelineConfig) -> str:
    return name_text(config, "events-dlq")


def sub_literal(text: str) -> str:
    """Text placed verbatim inside an `Fn::Sub` string (`${` would start a variable)."""
    return text.replace("${", "${!")


def iam_literal(text: str) -> str:
    """A key prefix inside an IAM resource ARN, inside `Fn::Sub`: `*` is a wildcard in ARNs,
    so a literal `*` is written as the IAM policy variable `${*}` (escaped for `Fn::Sub`)."""
    return sub_literal(text).replace("*", "${!*}")
