"""The Step Functions state machine, as a plain dict.

One definition serves three consumers: the CloudFormation template (as `Definition` plus
`DefinitionSubstitutions`), the local runner that interprets it, and `etlgen graph`. Keeping
it a pure dict built from nested literals means none of them parses JSON text or splices
strings, and the whole flow is readable in one place.
"""

from __future__ import annotations

from typing import Any

from etlgen.model import PipelineConfig, RetryConfig
from etlgen.template.function_specs import (
    FINALIZE,
    FUNCTIONS,
    PROCESS,
    SPLIT,
    VALIDATE,
    FunctionSpec,
)
from handlers.errors import permanent_errors

State = dict[str, Any]

STATUS_TABLE_SUBSTITUTION = "StatusTableName"
ALERT_TOPIC_SUBSTITUTION = "AlertTopicArn"
# Service integrations are ARNs of the stack's partition (`arn:aws-us-gov:states:::...` in
# GovCloud): they come in whole through substitutions, as cfn-lint only accepts a Resource
# that is an `arn:aws:` literal or a single `${...}`.
UPDATE_ITEM_SUBSTITUTION = "DynamoDbUpdateItem"
PUBLISH_SUBSTITUTION = "SnsPublish"
INTEGRATIONS = {
    UPDATE_ITEM_SUBSTITUTION: "dynamodb:updateItem",
    PUBLISH_SUBSTITUTION: "sns:publish",
}
SECONDS_PER_DAY = 86_400
# Lambda's error object, as the Python runtime serializes it into a task failure's Cause:
# `{"errorMessage": ..., "errorType": ..., "requestId": ..., "stackTrace": [...]}`; errors
# raised by the Lambda service itself (Runtime.ExitError) start with errorType.
LAMBDA_CAUSE_PATTERNS = ('{"errorMessage"*', '{"errorType"*')

LAMBDA_TRANSIENT_ERRORS = (
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
)
# Optimized integrations name errors `DynamoDB.<Exception>` / `SNS.<Exception>`. Both
# spellings of the request-limit error are listed because the API code lacks the
# `Exception` suffix that Step Functions otherwise adds.
DYNAMODB_TRANSIENT_ERRORS = (
    "DynamoDB.ProvisionedThroughputExceededException",
    "DynamoDB.RequestLimitExceeded",
    "DynamoDB.RequestLimitExceededException",
    "DynamoDB.ThrottlingException",
    "DynamoDB.InternalServerErrorException",
    "DynamoDB.SdkClientException",
)
SNS_TRANSIENT_ERRORS = (
    "SNS.ThrottledException",
    "SNS.InternalErrorException",
    "SNS.SdkClientException",
)

SNS_SUBJECT_LIMIT = 100
# What the failure path records and alerts when a caught error lacks a field.
MISSING_ERROR_NAME = "UnknownError"
MISSING_CAUSE = "no cause was given with the error"


def definition_substitution_names(config: PipelineConfig) -> list[str]:
    """The `${...}` names the definition uses, so the template provides exactly these: every
    function of `function_specs.FUNCTIONS` is called by some state."""
    names = [*(spec.substitution for spec in FUNCTIONS.values()), STATUS_TABLE_SUBSTITUTION,
             UPDATE_ITEM_SUBSTITUTION]
    if config.alerts.enabled:
        names += [ALERT_TOPIC_SUBSTITUTION, PUBLISH_SUBSTITUTION]
    return names


def state_machine_definition(config: PipelineConfig) -> dict[str, Any]:
    """The whole workflow: validate, plan, process chunks in parallel, finalize, or fail."""
    after_record = "DescribeFailure" if config.alerts.enabled else "Failed"
    states: dict[str, State] = {
        "Init": _init(),
        "ValidateHeader": _lambda_task(
            VALIDATE,
            {"source.$": "$.source", "execution_id.$": "$$.Execution.Id"},
            "$.file",
            "IsAlreadyProcessed",
            config.retries,
        ),
        "IsAlreadyProcessed": {
            "Type": "Choice",
            "Choices": [
                {
                    "Variable": "$.file.status",
                    "StringEquals": "COMPLETED",
                    "Next": "AlreadyProcessed",
                }
            ],
            "Default": "PlanChunks",
        },
        "AlreadyProcessed": {"Type": "Succeed"},
        "PlanChunks": _lambda_task(
            SPLIT,
            {"file.$": "$.file"},
            "$.plan",
            "ProcessChunks",
            config.retries,
        ),
        "ProcessChunks": _process_chunks(config),
        "Finalize": _lambda_task(
            FINALIZE,
            {
                "file.$": "$.file",
                "chunk_count.$": "$.plan.chunk_count",
                "execution_id.$": "$$.Execution.Id",
            },
            "$.summary",
            "Succeeded",
            config.retries,
        )
        | {"OutputPath": "$.summary"},
        # The summary becomes the execution output through Finalize's OutputPath: the
        # Amazon States Language allows OutputPath on Succeed, but cfn-lint rejects it.
        "Succeeded": {"Type": "Succeed"},
        "StampFailure": _stamp_failure(config.retention.status_ttl_days),
        "RecordFailure": _record_failure(after_record),
    }
    if config.alerts.enabled:
        states.update(_describe_failure())
        states["NotifyFailure"] = _notify_failure(config.name)
    states["Failed"] = {
        "Type": "Fail",
        "Comment": "Fails with the original error.",
        "ErrorPath": "$.error.Error",
        "CausePath": "$.error.Cause",
    }
    return {
        "Comment": "One execution per CSV object version.",
        "StartAt": "Init",
        "States": states,
    }


def _init() -> State:
    return {
        "Type": "Pass",
        "Parameters": {
            "bucket.$": "$.detail.bucket.name",
            "key.$": "$.detail.object.key",
            "size.$": "$.detail.object.size",
            "version_id.$": "$.detail.object['version-id']",
        },
        "ResultPath": "$.source",
        "Next": "ValidateHeader",
    }


def _lambda_task(
    spec: FunctionSpec,
    parameters: dict[str, str],
    result_path: str,
    next_state: str,
    retries: RetryConfig,
) -> State:
    """No Comment: it would repeat the Description of the function it calls."""
    return {
        "Type": "Task",
        "Resource": f"${{{spec.substitution}}}",
        "Parameters": parameters,
        "ResultPath": result_path,
        "Retry": _lambda_retry(spec, retries),
        "Catch": _failure_catch(),
        "Next": next_state,
    }


def _lambda_retry(spec: FunctionSpec, retries: RetryConfig) -> list[State]:
    """Never retry a permanent error (those the function's step can raise, from
    `handlers.errors.RAISED_BY`); retry Lambda hiccups fast (every 1 s, doubling: the ASL
    defaults of `IntervalSeconds` and `BackoffRate`, left out for the template's size);
    anything else per config."""
    return [
        {"ErrorEquals": list(permanent_errors(spec.name)), "MaxAttempts": 0},
        {"ErrorEquals": list(LAMBDA_TRANSIENT_ERRORS), "MaxAttempts": 6,
         "JitterStrategy": "FULL"},
        *STEP_RETRIES.get(spec.name, ()),
        _configured_retry(retries),
    ]


STEP_RETRIES: dict[str, tuple[State, ...]] = {
    # another finalize holds the source key's commit lease: wait for it patiently
    # (5 s doubling up to 60 s, ~17 minutes in all: longer than a lease, the function
    # timeout (at most 900 s) plus 60 s; BackoffRate 2 is the default)
    FINALIZE.name: ({"ErrorEquals": ["CommitBusy"], "IntervalSeconds": 5,
                     "MaxAttempts": 20, "MaxDelaySeconds": 60},),
}
"""A step's own transient errors, retried before the configured `States.ALL` retrier."""


ASL_RETRY_DEFAULTS: dict[str, int | float] = {
    "IntervalSeconds": 1, "MaxAttempts": 3, "BackoffRate": 2.0}
"""A retrier's fields when absent (Amazon States Language): a configured value equal to
its default is left out, for the template's size."""


def _configured_retry(retries: RetryConfig) -> State:
    retrier: State = {"ErrorEquals": ["States.ALL"]}
    for field, value in (("IntervalSeconds", retries.interval_seconds),
                         ("MaxAttempts", retries.max_attempts),
                         ("BackoffRate", retries.backoff_rate)):
        if value != ASL_RETRY_DEFAULTS[field]:
            retrier[field] = value
    retrier["MaxDelaySeconds"] = retries.max_delay_seconds
    if retries.jitter != "NONE":
        retrier["JitterStrategy"] = retries.jitter
    return retrier


def _process_chunks(config: PipelineConfig) -> State:
    process_chunk: State = {
        "Type": "Task",
        "Resource": f"${{{PROCESS.substitution}}}",
        "Retry": _lambda_retry(PROCESS, config.retries),
        # Counts live in the status table: each iteration outputs only its index, so the
        # Map's collected results stay small however many chunks there are.
        "ResultSelector": {"index.$": "$.index"},
        "End": True,
    }
    return {
        "Type": "Map",
        "Comment": "One failed chunk fails the file.",
        "ItemsPath": "$.plan.chunks",
        "ItemSelector": {"file.$": "$.file", "chunk.$": "$$.Map.Item.Value"},
        "MaxConcurrency": config.processing.max_concurrency,
        # Inline: no ProcessorConfig, whose Mode defaults to INLINE.
        "ItemProcessor": {
            "StartAt": "ProcessChunk",
            "States": {"ProcessChunk": process_chunk},
        },
        # The file keeps its state data; only the number of chunks done is added.
        "ResultSelector": {"chunks_done.$": "States.ArrayLength($)"},
        "ResultPath": "$.processed",
        "Catch": _failure_catch(),
        "Next": "Finalize",
    }


def _stamp_failure(ttl_days: int) -> State:
    """The status item's expiry, epoch seconds: JSONPath intrinsics cannot read a clock or
    do arithmetic on a timestamp, so this one state is JSONata (`$millis()`).

    It also makes `$.error` whole: a Catcher's error output "usually contains" `Cause`
    (Step Functions developer guide, error handling), and the JSONPaths after it
    (`$.error.Cause` in RecordFailure, DescribeFailure, Failed) fail with States.Runtime on
    a missing field, so the failure would go unrecorded. Defaults under the caught error,
    merged, keep every field it has."""
    ttl_seconds = ttl_days * SECONDS_PER_DAY
    defaults = f"{{'Error': '{MISSING_ERROR_NAME}', 'Cause': '{MISSING_CAUSE}'}}"
    return {
        "Type": "Pass",
        "QueryLanguage": "JSONata",
        "Comment": "Names the error; sets the failure record's expiry.",
        "Output": "{% $merge([$states.input, {'error': "
        f"$merge([{defaults}, $states.input.error]), 'failure': {{'expires_at': "
        f"$string($floor($millis() / 1000) + {ttl_seconds})}}}}]) %}}",
        "Next": "RecordFailure",
    }


def _record_failure(next_state: str) -> State:
    return {
        "Type": "Task",
        "Comment": "Marks the file FAILED unless it COMPLETED.",
        "Resource": f"${{{UPDATE_ITEM_SUBSTITUTION}}}",
        "Parameters": {
            "TableName": f"${{{STATUS_TABLE_SUBSTITUTION}}}",
            "Key": {
                "pk": {"S.$": "States.Format('{}#{}', $.source.key, $.source.version_id)"},
                "sk": {"S": "FILE"},
            },
            "UpdateExpression": "SET #status = :failed, error_name = :error, "
            "error_cause = :cause, updated_at = :now, expires_at = :expires",
            # A version that completed stays completed: a late failure (a duplicate
            # execution, a lost Finalize answer) never overwrites it.
            "ConditionExpression": "attribute_not_exists(pk) OR #status <> :completed",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {
                ":failed": {"S": "FAILED"},
                ":completed": {"S": "COMPLETED"},
                ":error": {"S.$": "$.error.Error"},
                ":cause": {"S.$": "$.error.Cause"},
                ":now": {"S.$": "$$.State.EnteredTime"},
                ":expires": {"N.$": "$.failure.expires_at"},
            },
        },
        "ResultSelector": {"recorded": True},
        "ResultPath": "$.failure.record",
        "Retry": [_service_retry(DYNAMODB_TRANSIENT_ERRORS)],
        # Losing the status write (or finding the version COMPLETED) must not lose the
        # original error: carry on to the end.
        "Catch": [
            {"ErrorEquals": ["States.ALL"], "ResultPath": "$.record_error", "Next": next_state}
        ],
        "Next": next_state,
    }


def _describe_failure() -> dict[str, State]:
    """The alert's reason: Lambda's errorMessage when the cause is its JSON error object
    (never its stack trace), else the cause text as it is. Both branches leave the same
    shape, `$.failure.reason.cause.errorMessage`."""
    return {
        "DescribeFailure": {
            "Type": "Choice",
            "Comment": "Is the cause Lambda's JSON error?",
            "Choices": [{
                "Or": [{"Variable": "$.error.Cause", "StringMatches": pattern}
                       for pattern in LAMBDA_CAUSE_PATTERNS],
                "Next": "UseLambdaMessage",
            }],
            "Default": "UseCauseText",
        },
        "UseLambdaMessage": {
            "Type": "Pass",
            "Parameters": {"cause.$": "States.StringToJson($.error.Cause)"},
            "ResultPath": "$.failure.reason",
            "Next": "NotifyFailure",
        },
        "UseCauseText": {
            "Type": "Pass",
            "Parameters": {"cause": {"errorMessage.$": "$.error.Cause"}},
            "ResultPath": "$.failure.reason",
            "Next": "NotifyFailure",
        },
    }


def _notify_failure(pipeline_name: str) -> State:
    return {
        "Type": "Task",
        "Resource": f"${{{PUBLISH_SUBSTITUTION}}}",
        "Parameters": {
            "TopicArn": f"${{{ALERT_TOPIC_SUBSTITUTION}}}",
            "Subject": _sns_subject(f"etlgen {pipeline_name}: CSV file failed"),
            "Message.$": "States.Format('etlgen pipeline "
            + _intrinsic_literal(pipeline_name)
            + " failed on {}. Error: {}. Cause: {}', $.source.key, $.error.Error, "
            "$.failure.reason.cause.errorMessage)",
        },
        "ResultSelector": {"message_id.$": "$.MessageId"},
        "ResultPath": "$.failure.notification",
        "Retry": [_service_retry(SNS_TRANSIENT_ERRORS)],
        "Catch": [
            {"ErrorEquals": ["States.ALL"], "ResultPath": "$.notify_error", "Next": "Failed"}
        ],
        "Next": "Failed",
    }


def _failure_catch() -> list[State]:
    """Every failure keeps the execution input and adds the error under `$.error`."""
    return [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "StampFailure"}]


def _service_retry(errors: tuple[str, ...]) -> State:
    """Every 1 s, doubling (the ASL defaults), five times."""
    return {"ErrorEquals": list(errors), "MaxAttempts": 5, "JitterStrategy": "FULL"}


def _intrinsic_literal(text: str) -> str:
    """Escape text for a quoted string inside an intrinsic function call."""
    return "".join("\\" + char if char in "'{}\\" else char for char in text)


def _sns_subject(text: str) -> str:
    """SNS subjects are ASCII, one line, at most 100 characters."""
    ascii_text = text.encode("ascii", "replace").decode("ascii")
    return " ".join(ascii_text.split())[:SNS_SUBJECT_LIMIT]
