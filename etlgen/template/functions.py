"""The Lambda functions and their log groups, one of each per entry of
`function_specs.FUNCTIONS` (memory, /tmp, description and handler come from the entry).

No `ReservedConcurrentExecutions` on `process`: the Map's `MaxConcurrency` already caps one
file, and a cap of the same size would throttle as soon as two files overlap (each Map
runs up to `max_concurrency` chunks) and turn the retries into a queue; it would also fail
the deployment on accounts whose concurrency quota cannot spare the reservation.
"""

from __future__ import annotations

from troposphere import GetAtt, Ref, Sub, Template
from troposphere.awslambda import (
    Code,
    Environment,
    EphemeralStorage,
    Function,
    TracingConfig,
)
from troposphere.logs import LogGroup

from etlgen.model import PipelineConfig
from etlgen.template import names
from etlgen.template.function_specs import FUNCTIONS, FunctionSpec
from etlgen.template.parameters import pandas_layer_parameter_id
from etlgen.template.tags import resource_tags


def function_variables(config: PipelineConfig, spec: FunctionSpec) -> dict[str, object]:
    """Only what is known at deploy time (`DEPLOY_TIME_VARIABLES`): the static settings
    are in the handlers zip (`handlers/settings.json`), whose hash is in `S3Key`. An
    absent `RESULTS_QUEUE_URL` or `CATALOG_DATABASE` reads as "" (no queue, no catalog);
    an absent `METRICS_NAMESPACE` as `etlgen/<PIPELINE_NAME>` (`Settings`). The queue's
    URL goes only to the function whose access sends results (finalize): no other step
    reads it, and no other role may send."""
    variables: dict[str, object] = {
        # The deployed name carries the environment: metrics of dev and prod never mix
        # (the namespace, `etlgen/<name>-${EnvironmentSuffix}`, follows it).
        "PIPELINE_NAME": Sub(names.deployed_pipeline_name_text(config)),
        "BUCKET_NAME": Ref(names.DATA_BUCKET),
        "STATUS_TABLE": Ref(names.STATUS_TABLE),
    }
    if spec.access(config).sends_results:
        variables["RESULTS_QUEUE_URL"] = Ref(names.RESULTS_QUEUE)
    if config.catalog.enabled:  # the deployed database, `<database>_${EnvironmentSuffix}`
        variables["CATALOG_DATABASE"] = Ref(names.CATALOG_DATABASE)
    return variables


def add_functions(template: Template, config: PipelineConfig, handlers_key: str) -> None:
    for spec in FUNCTIONS.values():
        template.add_resource(_log_group(config, spec.name))
        template.add_resource(_function(config, spec, handlers_key))


def _log_group(config: PipelineConfig, function: str) -> LogGroup:
    return LogGroup(
        names.function_log_group_id(function),
        # Explicitly deleted with the stack: a retained group would keep its fixed name and
        # make the next deployment with the same suffix fail; retention bounds them anyway.
        DeletionPolicy="Delete",
        UpdateReplacePolicy="Delete",
        LogGroupName=Sub(names.function_log_group_name_text(config, function)),
        RetentionInDays=config.retention.log_retention_days,
        Tags=resource_tags(config),
    )


def _function(config: PipelineConfig, spec: FunctionSpec, handlers_key: str) -> Function:
    settings = config.functions
    function = spec.name
    storage = {}
    if spec.storage_mb is not None:
        storage["EphemeralStorage"] = EphemeralStorage(Size=spec.storage_mb(config))
    return Function(
        names.function_id(function),
        FunctionName=Sub(names.function_name_text(config, function)),
        Description=spec.description,
        Handler=spec.handler,
        Runtime=settings.runtime,
        Architectures=[settings.architecture],
        MemorySize=spec.memory_mb(config),
        Timeout=settings.timeout_seconds,
        Role=GetAtt(names.function_role_id(function), "Arn"),
        # A literal key holding the content hash: a code or schema change is a new key, so
        # every deploy of a new render updates the functions (a parameter default would
        # not reach an existing stack).
        Code=Code(S3Bucket=Ref(names.ARTIFACT_BUCKET), S3Key=handlers_key),
        Layers=[Ref(pandas_layer_parameter_id(config))],
        TracingConfig=TracingConfig(Mode="Active"),
        Environment=Environment(Variables=function_variables(config, spec)),
        # No LoggingConfig: Lambda's default group, `/aws/lambda/<FunctionName>`, is the
        # log group above (created first: the role, which the function waits for, names it).
        **storage,
        Tags=resource_tags(config),
    )
