"""The state machine definition: sound structure, config-driven settings, AWS-valid contents."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import lint

from etlgen.asl import Interpreter, Options, StatesError, TaskCall
from etlgen.model import (
    AlertsConfig,
    PipelineConfig,
    ProcessingConfig,
    RetentionConfig,
    RetryConfig,
)
from etlgen.template.function_specs import FUNCTIONS
from etlgen.template.workflow import (
    ASL_RETRY_DEFAULTS,
    definition_substitution_names,
    state_machine_definition,
)
from handlers.errors import PERMANENT_ERRORS

LAMBDA_TASKS = ("ValidateHeader", "PlanChunks", "Finalize")
TERMINAL_TYPES = {"Succeed", "Fail"}
SUBSTITUTION = re.compile(r"\$\{([^}]*)\}")


def make_config(**overrides: Any) -> PipelineConfig:
    return PipelineConfig(
        name="transactions",
        source=Path("pipeline.yaml"),
        schema_path=Path("schemas/transactions.schema.json"),
        schema={"type": "object", "properties": {"id": {"type": "string"}}},
        **overrides,
    )


@pytest.fixture(params=[True, False], ids=["alerts-on", "alerts-off"])
def definition(request: pytest.FixtureRequest) -> dict[str, Any]:
    return state_machine_definition(make_config(alerts=AlertsConfig(enabled=request.param)))


def scopes(machine: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The machine itself and every nested ItemProcessor/Iterator/branch, depth first."""
    yield machine
    for state in machine["States"].values():
        for nested in (state.get("ItemProcessor"), state.get("Iterator")):
            if nested:
                yield from scopes(nested)
        for branch in state.get("Branches", []):
            yield from scopes(branch)


def targets(state: dict[str, Any]) -> list[str]:
    found = [choice["Next"] for choice in state.get("Choices", [])]
    found += [catcher["Next"] for catcher in state.get("Catch", [])]
    found += [state[key] for key in ("Next", "Default") if key in state]
    return found


def all_states(machine: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: state for scope in scopes(machine) for name, state in scope["States"].items()}


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


# --- structure -------------------------------------------------------------------------


def test_every_transition_targets_a_state_of_its_own_scope(definition: dict) -> None:
    for scope in scopes(definition):
        assert scope["StartAt"] in scope["States"]
        for name, state in scope["States"].items():
            missing = [t for t in targets(state) if t not in scope["States"]]
            assert not missing, f"{name} goes to unknown state(s) {missing}"


def test_every_state_is_reachable_from_start(definition: dict) -> None:
    for scope in scopes(definition):
        seen, todo = set(), [scope["StartAt"]]
        while todo:
            name = todo.pop()
            if name not in seen:
                seen.add(name)
                todo.extend(targets(scope["States"][name]))
        assert seen == set(scope["States"]), f"unreachable: {set(scope['States']) - seen}"


def test_every_state_either_ends_or_has_exactly_one_way_on(definition: dict) -> None:
    for scope in scopes(definition):
        for name, state in scope["States"].items():
            kind = state["Type"]
            if kind in TERMINAL_TYPES:
                assert "Next" not in state and "End" not in state, name
            elif kind == "Choice":
                assert state["Choices"] and "Default" in state, name
                assert "End" not in state, name
            else:
                assert ("Next" in state) != (state.get("End") is True), name


def test_the_happy_path_and_the_failure_path_end_where_expected(definition: dict) -> None:
    states = definition["States"]
    assert states["Finalize"]["Next"] == "Succeeded"
    assert states["Finalize"]["ResultPath"] == states["Finalize"]["OutputPath"] == "$.summary"
    assert states["Succeeded"]["Type"] == "Succeed"
    assert states["AlreadyProcessed"]["Type"] == "Succeed"
    assert states["Failed"] == states["Failed"] | {
        "Type": "Fail",
        "ErrorPath": "$.error.Error",
        "CausePath": "$.error.Cause",
    }
    processor = states["ProcessChunks"]["ItemProcessor"]
    assert processor["States"][processor["StartAt"]]["End"] is True


def test_already_processed_versions_skip_all_work() -> None:
    choice = state_machine_definition(make_config())["States"]["IsAlreadyProcessed"]
    assert choice["Choices"] == [
        {"Variable": "$.file.status", "StringEquals": "COMPLETED", "Next": "AlreadyProcessed"}
    ]
    assert choice["Default"] == "PlanChunks"


def test_init_reads_the_object_version_from_the_eventbridge_event() -> None:
    init = state_machine_definition(make_config())["States"]["Init"]
    assert init["Parameters"]["version_id.$"] == "$.detail.object['version-id']"
    assert init["ResultPath"] == "$.source"


# --- failure handling ------------------------------------------------------------------


FAILURE_PATH = ("StampFailure", "RecordFailure", "DescribeFailure", "UseLambdaMessage",
                "UseCauseText", "NotifyFailure")


def test_every_task_and_the_map_record_the_failure(definition: dict) -> None:
    states = definition["States"]
    guarded = [n for n, s in states.items() if s["Type"] in ("Task", "Map")]
    for name in guarded:
        if name in FAILURE_PATH:
            continue
        assert states[name]["Catch"] == [
            {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "StampFailure"}
        ], name
    assert set(guarded) >= {*LAMBDA_TASKS, "ProcessChunks", "RecordFailure"}
    assert states["StampFailure"]["Next"] == "RecordFailure"


def test_failure_path_keeps_the_original_error(definition: dict) -> None:
    """Nothing after the Catch writes `$` or `$.error`: `Failed` ends with the original."""
    states = definition["States"]
    for name in FAILURE_PATH:
        if name not in states:
            continue
        for catcher in states[name].get("Catch", []):
            assert catcher["ResultPath"] not in ("$", "$.error"), name
        if states[name]["Type"] != "Choice" and "QueryLanguage" not in states[name]:
            assert states[name]["ResultPath"].startswith("$.failure."), name


def test_the_failure_stamp_keeps_the_input_completes_the_error_and_adds_the_expiry() -> None:
    config = make_config(retention=RetentionConfig(status_ttl_days=30))
    stamp = state_machine_definition(config)["States"]["StampFailure"]
    assert stamp["QueryLanguage"] == "JSONata"
    assert stamp["Output"] == (
        "{% $merge([$states.input, {'error': $merge([{'Error': 'UnknownError', "
        "'Cause': 'no cause was given with the error'}, $states.input.error]), "
        "'failure': {'expires_at': $string($floor($millis() / 1000) + 2592000)}}]) %}"
    )


def test_record_failure_marks_the_file_item_failed_unless_completed() -> None:
    record = state_machine_definition(make_config())["States"]["RecordFailure"]
    assert record["Resource"] == "${DynamoDbUpdateItem}"
    params = record["Parameters"]
    assert params["Key"]["pk"] == {
        "S.$": "States.Format('{}#{}', $.source.key, $.source.version_id)"
    }
    assert params["Key"]["sk"] == {"S": "FILE"}
    values = params["ExpressionAttributeValues"]
    assert values[":failed"] == {"S": "FAILED"}
    assert values[":expires"] == {"N.$": "$.failure.expires_at"}
    assert "expires_at = :expires" in params["UpdateExpression"]
    assert params["ConditionExpression"] == "attribute_not_exists(pk) OR #status <> :completed"
    assert values[":completed"] == {"S": "COMPLETED"}
    retried = {e for r in record["Retry"] for e in r["ErrorEquals"]}
    assert "DynamoDB.ProvisionedThroughputExceededException" in retried
    assert "States.ALL" not in retried
    assert "DynamoDB.ConditionalCheckFailedException" not in retried
    assert [c["ErrorEquals"] for c in record["Catch"]] == [["States.ALL"]]


@pytest.mark.parametrize("enabled", [True, False])
def test_alerts_are_published_only_when_enabled(enabled: bool) -> None:
    states = state_machine_definition(make_config(alerts=AlertsConfig(enabled=enabled)))["States"]
    assert ("NotifyFailure" in states) is enabled
    assert states["RecordFailure"]["Next"] == ("DescribeFailure" if enabled else "Failed")


def test_alert_message_names_the_file_and_the_error_never_a_stack_trace() -> None:
    states = state_machine_definition(make_config())["States"]
    notify = states["NotifyFailure"]
    assert notify["Resource"] == "${SnsPublish}"
    message = notify["Parameters"]["Message.$"]
    assert message.startswith("States.Format(")
    for path in ("$.source.key", "$.error.Error", "$.failure.reason.cause.errorMessage"):
        assert path in message
    assert "$.error.Cause" not in message
    assert len(notify["Parameters"]["Subject"]) <= 100
    assert states["UseLambdaMessage"]["Parameters"] == {
        "cause.$": "States.StringToJson($.error.Cause)"}
    assert states["UseCauseText"]["Parameters"] == {"cause": {"errorMessage.$": "$.error.Cause"}}


def test_pipeline_names_with_quotes_and_braces_cannot_break_the_alert_message() -> None:
    config = make_config()
    config = dataclasses.replace(config, name="it's {odd}\\")
    message = state_machine_definition(config)["States"]["NotifyFailure"]["Parameters"][
        "Message.$"
    ]
    literal = message[len("States.Format('") : message.index("', $.source.key")]
    assert "it\\'s \\{odd\\}\\\\" in literal
    assert re.sub(r"\\.", "", literal).count("{}") == 3
    assert "'" not in re.sub(r"\\.", "", literal)


# --- retries ---------------------------------------------------------------------------


def lambda_tasks(definition: dict) -> dict[str, dict]:
    states = all_states(definition)
    functions = {f"${{{spec.substitution}}}" for spec in FUNCTIONS.values()}
    return {n: s for n, s in states.items() if s.get("Resource") in functions}


def test_permanent_errors_are_never_retried_on_any_lambda_task() -> None:
    tasks = lambda_tasks(state_machine_definition(make_config()))
    assert set(tasks) == {*LAMBDA_TASKS, "ProcessChunk"}
    for name, task in tasks.items():
        first = task["Retry"][0]
        assert first["ErrorEquals"], name
        assert set(first["ErrorEquals"]) <= set(PERMANENT_ERRORS), name
        assert first["MaxAttempts"] == 0, name


def test_lambda_service_errors_are_retried_before_the_catch_all() -> None:
    for name, task in lambda_tasks(state_machine_definition(make_config())).items():
        service, catch_all = task["Retry"][1], task["Retry"][-1]
        assert "Lambda.TooManyRequestsException" in service["ErrorEquals"], name
        assert service["MaxAttempts"] == 6 and service["JitterStrategy"] == "FULL", name
        assert catch_all["ErrorEquals"] == ["States.ALL"], name
        assert len(task["Retry"]) == (4 if name == "Finalize" else 3), name


def test_finalize_waits_patiently_for_a_busy_commit_lease() -> None:
    """CommitBusy (another commit of the source key is registering, pointing, retiring)
    has its own retrier before the catch-all: longer in all than a lease can outlive a
    crashed holder (the function timeout plus 60 s)."""
    finalize_task = lambda_tasks(state_machine_definition(make_config()))["Finalize"]
    busy = finalize_task["Retry"][2]
    assert busy["ErrorEquals"] == ["CommitBusy"]
    waits, delay = 0.0, float(busy["IntervalSeconds"])
    for _ in range(busy["MaxAttempts"]):
        waits += min(delay, busy["MaxDelaySeconds"])
        delay *= busy.get("BackoffRate", 2.0)
    assert waits > make_config().functions.timeout_seconds + 60


@pytest.mark.parametrize(
    ("field", "value", "key"),
    [
        ("max_attempts", 7, "MaxAttempts"),
        ("interval_seconds", 9, "IntervalSeconds"),
        ("backoff_rate", 3.5, "BackoffRate"),
        ("max_delay_seconds", 120, "MaxDelaySeconds"),
    ],
)
def test_configured_retry_follows_the_config(field: str, value: Any, key: str) -> None:
    retries = dataclasses.replace(RetryConfig(), **{field: value})
    default = lambda_tasks(state_machine_definition(make_config()))
    changed = lambda_tasks(state_machine_definition(make_config(retries=retries)))
    for name, task in changed.items():
        assert task["Retry"][-1][key] == value, name
        assert default[name]["Retry"][-1].get(key, ASL_RETRY_DEFAULTS.get(key)) != value, name


@pytest.mark.parametrize(("field", "key", "value"), [
    ("max_attempts", "MaxAttempts", 3), ("interval_seconds", "IntervalSeconds", 1),
    ("backoff_rate", "BackoffRate", 2.0)])
def test_a_configured_value_equal_to_the_asl_default_is_left_out_and_still_applies(
        field: str, key: str, value: Any) -> None:
    retries = dataclasses.replace(RetryConfig(max_attempts=4, interval_seconds=2,
                                              backoff_rate=1.5), **{field: value})
    tasks = lambda_tasks(state_machine_definition(make_config(retries=retries)))
    for name, task in tasks.items():
        assert key not in task["Retry"][-1], name
    assert ASL_RETRY_DEFAULTS[key] == value


def test_the_local_engine_reads_absent_retry_fields_as_the_asl_defaults() -> None:
    """Every Lambda failure, retried with the default retrier: 3 retries, waits 1, 2, 4."""
    task = {"Type": "Task", "Resource": "work", "End": True,
            "Retry": [{"ErrorEquals": ["States.ALL"], "MaxDelaySeconds": 60}]}
    calls: list[TaskCall] = []

    def failing(resource: str, parameters: Any, call: TaskCall) -> Any:
        calls.append(call)
        raise StatesError("Boom", "always")

    sleeps: list[float] = []
    result = Interpreter({"StartAt": "Work", "States": {"Work": task}}, failing,
                         Options(sleep=sleeps.append)).run({})
    assert result.status == "FAILED" and len(calls) == 1 + ASL_RETRY_DEFAULTS["MaxAttempts"]
    assert sleeps == [1.0, 2.0, 4.0]


def test_jitter_follows_the_config() -> None:
    full = lambda_tasks(state_machine_definition(make_config()))
    none = lambda_tasks(
        state_machine_definition(make_config(retries=RetryConfig(jitter="NONE")))
    )
    for name in full:
        assert full[name]["Retry"][-1]["JitterStrategy"] == "FULL"
        assert none[name]["Retry"][-1].get("JitterStrategy", "NONE") == "NONE"


# --- the Map ---------------------------------------------------------------------------


@pytest.mark.parametrize("concurrency", [1, 10, 40])
def test_map_concurrency_follows_the_config(concurrency: int) -> None:
    config = make_config(processing=ProcessingConfig(max_concurrency=concurrency))
    assert state_machine_definition(config)["States"]["ProcessChunks"]["MaxConcurrency"] == (
        concurrency
    )


def test_chunk_results_never_travel_through_the_state_data() -> None:
    chunks = state_machine_definition(make_config())["States"]["ProcessChunks"]
    assert chunks["ResultSelector"] == {"chunks_done.$": "States.ArrayLength($)"}
    assert chunks["ResultPath"] == "$.processed"
    assert chunks["ItemsPath"] == "$.plan.chunks"
    assert chunks["ItemSelector"] == {"file.$": "$.file", "chunk.$": "$$.Map.Item.Value"}
    # Inline: ProcessorConfig's Mode defaults to INLINE (DISTRIBUTED would need it).
    assert chunks["ItemProcessor"].get("ProcessorConfig", {"Mode": "INLINE"}) == {
        "Mode": "INLINE"}
    for name, state in chunks["ItemProcessor"]["States"].items():
        assert state["ResultSelector"] == {"index.$": "$.index"}, name
        assert "ResultPath" not in state and "OutputPath" not in state, name


def test_no_null_anywhere_in_the_definition(definition: dict) -> None:
    def nulls(value: Any, where: str) -> Iterator[str]:
        if value is None:
            yield where
        elif isinstance(value, dict):
            for key, item in value.items():
                yield from nulls(item, f"{where}.{key}")
        elif isinstance(value, list):
            for index, item in enumerate(value):
                yield from nulls(item, f"{where}[{index}]")

    assert list(nulls(definition, "$")) == []


# --- size, determinism, substitutions --------------------------------------------------


def test_default_definition_is_small_and_deterministic() -> None:
    first = json.dumps(state_machine_definition(make_config()), separators=(",", ":"))
    second = json.dumps(state_machine_definition(make_config()), separators=(",", ":"))
    assert first == second
    assert len(first.encode()) < 8 * 1024


def test_substitution_names_are_exactly_the_ones_used(definition: dict) -> None:
    used = {m for s in strings(definition) for m in SUBSTITUTION.findall(s)}
    alerts = "NotifyFailure" in definition["States"]
    config = make_config(alerts=AlertsConfig(enabled=alerts))
    names = definition_substitution_names(config)
    assert len(names) == len(set(names))
    assert set(names) == used
    assert ("AlertTopicArn" in names) is alerts


# --- AWS validity (cfn-lint E3601) -----------------------------------------------------


def lint_findings(definition: dict, substitutions: list[str]) -> list[str]:
    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {
            "Machine": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {
                    "RoleArn": "arn:aws:iam::123456789012:role/etl-states",
                    "Definition": definition,
                    "DefinitionSubstitutions": {
                        name: f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
                        for name in substitutions
                    },
                },
            }
        },
    }
    return [
        f"{m.rule.id} {m.message}"
        for m in lint(json.dumps(template))
        if m.rule.id[0] in ("E", "W")
    ]


@pytest.mark.parametrize("alerts", [True, False])
@pytest.mark.parametrize("jitter", ["FULL", "NONE"])
def test_definition_passes_cfn_lint(alerts: bool, jitter: str) -> None:
    config = make_config(alerts=AlertsConfig(enabled=alerts), retries=RetryConfig(jitter=jitter))
    definition = state_machine_definition(config)
    assert lint_findings(definition, definition_substitution_names(config)) == []


def test_cfn_lint_check_catches_a_broken_definition() -> None:
    config = make_config()
    definition = state_machine_definition(config)
    definition["States"]["Finalize"]["Retry"][-1]["MaxAttempts"] = "three"
    assert any(f.startswith("E3601") for f in lint_findings(
        definition, definition_substitution_names(config)
    ))
