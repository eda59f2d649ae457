"""The generated failure path (RecordFailure -> DescribeFailure -> NotifyFailure -> Failed)
run twice on the same inputs: by moto's Step Functions engine against moto DynamoDB and SNS,
and by the local interpreter against the SQLite status store. Both must agree on the path,
the ending, the status item and the alert text.

StampFailure is the one JSONata state; moto cannot evaluate JSONata (it needs a JVM), so
these runs start after it with what it would have output (`$.failure.expires_at`, and
`$.error` with a name and a cause: a Catcher's error output need not have a Cause), and
the JSONata evaluation itself is checked against an independent implementation in
`test_jsonata.py`. A local run from StampFailure on shows a Cause-less error recorded and
alerted end to end.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from etlgen.asl import Interpreter, Options, jsonata
from etlgen.asl.intrinsics import format_value
from etlgen.local.integrations import LocalResources, LocalTasks
from etlgen.local.status_table import LocalStatusTable
from etlgen.model import PipelineConfig
from etlgen.template.workflow import INTEGRATIONS, MISSING_CAUSE, state_machine_definition
from handlers.status import SqliteStatusStore
from tests.handlers.conftest import create_status_table

REGION = "us-east-1"
ACCOUNT = "123456789012"
TABLE = "failure-path-status"
KEY = "incoming/a.csv"
VERSION = "v1"
FILE_ID = f"{KEY}#{VERSION}"
EXPIRES = "1900000000"
LAMBDA_CAUSE = json.dumps({"errorMessage": "header has unknown column 'x'",
                           "errorType": "HeaderMismatch", "requestId": "r-1",
                           "stackTrace": ["  File \"/var/task/handlers/validate.py\", line 9"]})
EXIT_CAUSE = json.dumps({"errorType": "Runtime.ExitError",
                         "errorMessage": "RequestId: r-2 Error: Runtime exited with error"})


def _config() -> PipelineConfig:
    return PipelineConfig(name="failure-path", source=Path("pipeline.yaml"),
                          schema_path=Path("s.json"), schema={"type": "object"})


PATH_STATES = ("RecordFailure", "DescribeFailure", "UseLambdaMessage", "UseCauseText",
               "NotifyFailure", "Failed")


def failure_path(topic_arn: str, start: str = "RecordFailure") -> dict[str, Any]:
    """The generated states from `start` on, with the template's substitutions."""
    states = state_machine_definition(_config())["States"]
    names = ("StampFailure", *PATH_STATES) if start == "StampFailure" else PATH_STATES
    text = json.dumps({"StartAt": start, "States": {n: states[n] for n in names}})
    substitutions = {"StatusTableName": TABLE, "AlertTopicArn": topic_arn,
                     **{name: f"arn:aws:states:::{integration}"
                        for name, integration in INTEGRATIONS.items()}}
    for name, value in substitutions.items():
        text = text.replace(f"${{{name}}}", value)
    return json.loads(text)


SOURCE = {"bucket": "b", "key": KEY, "size": 10, "version_id": VERSION}
# A caught error without a Cause. Not a `States.` name: moto's Fail state refuses an
# ErrorPath that resolves to one ("Custom Error Names MUST NOT begin with the prefix
# 'States.'"), which would end its run differently from the local one.
CAUSELESS = {"Error": "Lambda.Unknown"}


def stamped_error(error: dict[str, Any]) -> dict[str, Any]:
    """`$.error` as the generated StampFailure leaves it."""
    output = state_machine_definition(_config())["States"]["StampFailure"]["Output"]
    return jsonata.render(output, {"source": SOURCE, "error": error}, {})["error"]


def execution_input(error: str | dict[str, Any]) -> dict[str, Any]:
    """After StampFailure; a text is the Cause of a HeaderMismatch."""
    if isinstance(error, str):
        error = {"Error": "HeaderMismatch", "Cause": error}
    return {"source": SOURCE, "error": error, "failure": {"expires_at": EXPIRES}}


CASES: dict[str, tuple[str | None, str | dict[str, Any]]] = {
    "new-item-lambda-cause": (None, LAMBDA_CAUSE),
    "running-item-plain-cause": ("RUNNING", "States.Timeout: the task timed out"),
    "completed-item-stays-completed": ("COMPLETED", EXIT_CAUSE),
    "running-item-causeless-error": ("RUNNING", stamped_error(CAUSELESS)),
}


@pytest.fixture(scope="module")
def moto_runs() -> Iterator[dict[str, dict[str, Any]]]:
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        sns = boto3.client("sns", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        sfn = boto3.client("stepfunctions", region_name=REGION)
        create_status_table(dynamodb, TABLE)
        topic = sns.create_topic(Name="alerts")["TopicArn"]
        queue = sqs.create_queue(QueueName="alerts-copy")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn,
                      Attributes={"RawMessageDelivery": "true"})
        machine = sfn.create_state_machine(
            name="failure-path", definition=json.dumps(failure_path(topic)),
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/states")["stateMachineArn"]
        runs = {}
        for case, (status, error) in CASES.items():
            dynamodb.delete_item(TableName=TABLE, Key={"pk": {"S": FILE_ID}, "sk": {"S": "FILE"}})
            if status:
                dynamodb.put_item(TableName=TABLE, Item={
                    "pk": {"S": FILE_ID}, "sk": {"S": "FILE"}, "status": {"S": status}})
            execution = sfn.start_execution(stateMachineArn=machine, name=case,
                                            input=json.dumps(execution_input(error)))
            deadline = time.monotonic() + 30
            while (described := sfn.describe_execution(
                    executionArn=execution["executionArn"]))["status"] == "RUNNING":
                assert time.monotonic() < deadline, case
                time.sleep(0.05)
            events = sfn.get_execution_history(executionArn=execution["executionArn"])["events"]
            item = dynamodb.get_item(TableName=TABLE, ConsistentRead=True, Key={
                "pk": {"S": FILE_ID}, "sk": {"S": "FILE"}})["Item"]
            messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get(
                "Messages", [])
            for message in messages:
                sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
            runs[case] = {
                "status": described["status"], "error": described.get("error"),
                "cause": described.get("cause"),
                "entered": [e["stateEnteredEventDetails"]["name"] for e in events
                            if "stateEnteredEventDetails" in e],
                "task_errors": [e["taskFailedEventDetails"]["error"] for e in events
                                if e["type"] == "TaskFailed"],
                "item": {name: next(iter(value.values())) for name, value in item.items()
                         if name not in ("updated_at",)},
                "alerts": [m["Body"] for m in messages],
            }
        yield runs


def local_run(tmp_path: Path, status: str | None, error: str | dict[str, Any],
              start: str = "RecordFailure") -> dict[str, Any]:
    topic = f"arn:aws:sns:local:000000000000:{'AlertTopic'}"
    tmp_path.mkdir(parents=True, exist_ok=True)
    store = SqliteStatusStore(tmp_path / "status.sqlite3")
    table = LocalStatusTable(store)
    if status:
        table.update_item({"pk": {"S": FILE_ID}, "sk": {"S": "FILE"}}, "SET #s = :s",
                          {"#s": "status"}, {":s": {"S": status}})
    resources = LocalResources(tables={TABLE: "StatusTable"}, topics={topic: "AlertTopic"})
    alerts = tmp_path / "alerts.jsonl"
    tasks = LocalTasks(resources, run_lambda=None, status_table=table,  # type: ignore[arg-type]
                       alerts_path=alerts)
    state_input = execution_input(error)
    if start == "StampFailure":  # as the Catch delivers it: no expiry yet
        del state_input["failure"]
    result = Interpreter(failure_path(topic, start), tasks, Options(retry_scale=0.0)).run(
        state_input)
    item = store.get_file(FILE_ID) or {}
    return {
        "status": result.status, "error": result.error, "cause": result.cause,
        "entered": result.states_entered(),
        "task_errors": [e["error"] for e in result.history if e["type"] == "TaskFailed"],
        "item": {name: format_value(value) for name, value in item.items()
                 if name != "updated_at"},
        "alerts": [json.loads(line)["Message"] for line in alerts.read_text().splitlines()]
        if alerts.exists() else [],
    }


@pytest.mark.parametrize("case", list(CASES))
def test_local_failure_path_matches_moto(case: str, moto_runs: dict[str, dict[str, Any]],
                                         tmp_path: Path) -> None:
    status, error = CASES[case]
    expected = moto_runs[case]
    assert local_run(tmp_path, status, error) == expected


def test_a_causeless_error_is_recorded_and_alerted(moto_runs: dict[str, dict[str, Any]],
                                                    tmp_path: Path) -> None:
    run = moto_runs["running-item-causeless-error"]
    assert run["item"]["status"] == "FAILED" and run["item"]["error_name"] == "Lambda.Unknown"
    assert run["item"]["error_cause"] == MISSING_CAUSE
    assert run["alerts"] == ["etlgen pipeline failure-path failed on incoming/a.csv. "
                             f"Error: Lambda.Unknown. Cause: {MISSING_CAUSE}"]
    assert (run["error"], run["cause"]) == ("Lambda.Unknown", MISSING_CAUSE)
    # locally, from StampFailure on, with the error as the Catch delivers it
    local = local_run(tmp_path / "stamped", "RUNNING", CAUSELESS, start="StampFailure")
    expires = int(local["item"].pop("expires_at"))
    assert abs(expires - (int(time.time()) + 90 * 86400)) < 60
    assert local["item"] == {k: v for k, v in run["item"].items() if k != "expires_at"}
    assert local["entered"] == ["StampFailure", *run["entered"]]
    assert (local["alerts"], local["status"], local["error"], local["cause"]) == (
        run["alerts"], "FAILED", "Lambda.Unknown", MISSING_CAUSE)
    # what StampFailure prevents: straight into RecordFailure, `$.error.Cause` is a
    # States.Runtime error (no Catch takes it) and nothing is recorded or alerted. (moto's
    # engine instead turns it into a catchable DynamoDB error, then fails in UseCauseText.)
    broken = local_run(tmp_path / "unstamped", "RUNNING", CAUSELESS)
    assert (broken["status"], broken["error"]) == ("FAILED", "States.Runtime")
    assert broken["item"]["status"] == "RUNNING" and broken["alerts"] == []


def test_the_cases_show_what_the_failure_path_promises(
        moto_runs: dict[str, dict[str, Any]]) -> None:
    new = moto_runs["new-item-lambda-cause"]
    assert new["item"]["status"] == "FAILED" and new["item"]["expires_at"] == EXPIRES
    assert new["alerts"] == ["etlgen pipeline failure-path failed on incoming/a.csv. "
                             "Error: HeaderMismatch. Cause: header has unknown column 'x'"]
    assert moto_runs["running-item-plain-cause"]["alerts"][0].endswith(
        "Cause: States.Timeout: the task timed out")
    completed = moto_runs["completed-item-stays-completed"]
    assert completed["item"] == {"pk": FILE_ID, "sk": "FILE", "status": "COMPLETED"}
    assert completed["task_errors"] == ["DynamoDB.ConditionalCheckFailedException"]
    assert completed["entered"][-1] == "Failed" and completed["error"] == "HeaderMismatch"
    assert completed["alerts"][0].endswith("Cause: RequestId: r-2 Error: Runtime exited with "
                                           "error")
    for run in moto_runs.values():
        assert (run["status"], run["cause"]) == ("FAILED", run["cause"])
        assert all("stackTrace" not in alert for alert in run["alerts"])

