"""The generated failure path (RecordFailure -> DescribeFailure -> NotifyFailure -> Failed)
run twice on the same inputs: by moto's Step Functions engine against moto DynamoDB and SNS,
and by the local interpreter against the SQLite status store. Both must agree on the path,
the ending, the status item and the alert text.

StampFailure is the one JSONata state; moto cannot evaluate JSONata (it needs a JVM), so
these runs start after it with the `$.failure.expires_at` it would have added, and the
JSONata evaluation itself is checked against an independent implementation in
`test_jsonata.py`.
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

from etlgen.asl import Interpreter, Options
from etlgen.asl.intrinsics import format_value
from etlgen.local.integrations import LocalResources, LocalTasks
from etlgen.model import PipelineConfig
from etlgen.template.workflow import INTEGRATIONS, state_machine_definition
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


def failure_path(topic_arn: str) -> dict[str, Any]:
    """The generated states from RecordFailure on, with the template's substitutions."""
    states = state_machine_definition(_config())["States"]
    names = ("RecordFailure", "DescribeFailure", "UseLambdaMessage", "UseCauseText",
             "NotifyFailure", "Failed")
    text = json.dumps({"StartAt": "RecordFailure", "States": {n: states[n] for n in names}})
    substitutions = {"StatusTableName": TABLE, "AlertTopicArn": topic_arn,
                     **{name: f"arn:aws:states:::{integration}"
                        for name, integration in INTEGRATIONS.items()}}
    for name, value in substitutions.items():
        text = text.replace(f"${{{name}}}", value)
    return json.loads(text)


def execution_input(cause: str) -> dict[str, Any]:
    return {"source": {"bucket": "b", "key": KEY, "size": 10, "version_id": VERSION},
            "error": {"Error": "HeaderMismatch", "Cause": cause},
            "failure": {"expires_at": EXPIRES}}


CASES = {
    "new-item-lambda-cause": (None, LAMBDA_CAUSE),
    "running-item-plain-cause": ("RUNNING", "States.Timeout: the task timed out"),
    "completed-item-stays-completed": ("COMPLETED", EXIT_CAUSE),
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
        for case, (status, cause) in CASES.items():
            dynamodb.delete_item(TableName=TABLE, Key={"pk": {"S": FILE_ID}, "sk": {"S": "FILE"}})
            if status:
                dynamodb.put_item(TableName=TABLE, Item={
                    "pk": {"S": FILE_ID}, "sk": {"S": "FILE"}, "status": {"S": status}})
            execution = sfn.start_execution(stateMachineArn=machine, name=case,
                                            input=json.dumps(execution_input(cause)))
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


def local_run(tmp_path: Path, status: str | None, cause: str) -> dict[str, Any]:
    topic = f"arn:aws:sns:local:000000000000:{'AlertTopic'}"
    store = SqliteStatusStore(tmp_path / "status.sqlite3")
    if status:
        store.update_item({"pk": {"S": FILE_ID}, "sk": {"S": "FILE"}}, "SET #s = :s",
                          {"#s": "status"}, {":s": {"S": status}})
    resources = LocalResources(tables={TABLE: "StatusTable"}, topics={topic: "AlertTopic"})
    alerts = tmp_path / "alerts.jsonl"
    tasks = LocalTasks(resources, run_lambda=None, status_table=store,  # type: ignore[arg-type]
                       alerts_path=alerts)
    result = Interpreter(failure_path(topic), tasks, Options(retry_scale=0.0)).run(
        execution_input(cause))
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
    status, cause = CASES[case]
    expected = moto_runs[case]
    assert local_run(tmp_path, status, cause) == expected


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

