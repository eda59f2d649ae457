"""One contract, two stores: DynamoDB (moto) and SQLite hold the same items and rules.

The state machine's own `dynamodb:updateItem` goes to DynamoDB itself on AWS and to
`etlgen.local.status_table.LocalStatusTable` locally: the same requests give the same items.
"""

from __future__ import annotations

import multiprocessing
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from etlgen.local.status_table import ConditionalCheckFailedException, LocalStatusTable
from handlers.status import DynamoStatusStore, SqliteStatusStore, StatusStore
from tests.handlers.conftest import create_status_table

FILE = "incoming/a.csv#v1"
ID = "identity-1"

UpdateItem = Callable[..., None]
"""(Key, UpdateExpression, ExpressionAttributeNames, ExpressionAttributeValues[,
ConditionExpression]) as the state machine's task sends them."""


@pytest.fixture(params=["dynamodb-table", "dynamodb-client", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StatusStore]:
    if request.param == "sqlite":
        yield SqliteStatusStore(tmp_path / "status.sqlite", ttl_days=7, clock=lambda: 1000.0)
        return
    with mock_aws():
        client = boto3.client("dynamodb")
        create_status_table(client, "status")
        handle = boto3.resource("dynamodb").Table("status") \
            if request.param == "dynamodb-table" else client
        yield DynamoStatusStore(handle, "status", ttl_days=7, clock=lambda: 1000.0)


def _dynamodb_update_item(table_name: str) -> UpdateItem:
    """The task's request sent to DynamoDB as Step Functions sends it."""
    def update_item(key: dict[str, Any], expression: str, names: dict[str, str],
                    values: dict[str, Any], condition: str | None = None) -> None:
        request: dict[str, Any] = {"TableName": table_name, "Key": key,
                                   "UpdateExpression": expression}
        if names:
            request["ExpressionAttributeNames"] = names
        if values:
            request["ExpressionAttributeValues"] = values
        if condition:
            request["ConditionExpression"] = condition
        try:
            boto3.client("dynamodb").update_item(**request)
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise ConditionalCheckFailedException(error.response["Error"]["Message"]) \
                    from None
            raise
    return update_item


@pytest.fixture
def update_item(store: StatusStore) -> UpdateItem:
    if isinstance(store, DynamoStatusStore):
        return _dynamodb_update_item(store.table_name)
    assert isinstance(store, SqliteStatusStore)
    return LocalStatusTable(store).update_item


def file_item(store: StatusStore, file_id: str) -> dict[str, Any]:
    """The file item with every attribute, those the state machine adds included."""
    item = store.get_file(file_id)
    assert item is not None, f"no item for {file_id}"
    return dict(item)


def test_file_item_lifecycle(store: StatusStore) -> None:
    item, started = store.start_file(FILE, {"bucket": "b", "key": "incoming/a.csv",
                                            "version_id": "v1", "size": 120,
                                            "header": ["a", "b"], "execution_id": "e1",
                                            "identity": ID})
    assert started and item["status"] == "RUNNING" and item["header"] == ["a", "b"]
    assert item["expires_at"] == 1000 + 7 * 86400
    assert item["pk"] == FILE and item["sk"] == "FILE" and item["size"] == 120
    done = store.finish_file(FILE, "COMPLETED", {"rows_in": 3, "manifest_key": "m.json"})
    assert done["status"] == "COMPLETED" and done["rows_in"] == 3
    again, started = store.start_file(FILE, {"execution_id": "e2", "identity": ID})
    assert not started and again["status"] == "COMPLETED" and again["execution_id"] == "e1"
    assert file_item(store, FILE)["manifest_key"] == "m.json"


def test_a_file_completed_under_another_identity_starts_again(store: StatusStore,
                                                              update_item: UpdateItem) -> None:
    store.start_file(FILE, {"execution_id": "e1", "identity": ID})
    store.finish_file(FILE, "COMPLETED", {"rows_in": 3, "manifest_key": "m.json"})
    item, started = store.start_file(FILE, {"execution_id": "e2", "identity": "identity-2"})
    assert started and item["status"] == "RUNNING" and item["identity"] == "identity-2"
    assert "manifest_key" not in item
    update_item({"pk": {"S": FILE}, "sk": {"S": "FILE"}}, "SET #s = :s",
                {"#s": "status"}, {":s": {"S": "COMPLETED"}})
    _, started = store.start_file(FILE, {"execution_id": "e3", "identity": "identity-2"})
    assert not started


def test_a_chunk_done_under_another_identity_is_new_work(store: StatusStore) -> None:
    store.start_chunk(FILE, 0, 0, 10, ID)
    store.complete_chunk(FILE, 0, 0, 10, ID, {"rows_in": 1, "rows_valid": 1,
                                              "rows_rejected": 0})
    _, started = store.start_chunk(FILE, 0, 0, 10, ID)
    assert not started
    item, started = store.start_chunk(FILE, 0, 0, 10, "identity-2")
    assert started and item["status"] == "RUNNING" and item["identity"] == "identity-2"
    item, changed = store.complete_chunk(FILE, 0, 0, 10, "identity-2", {
        "rows_in": 1, "rows_valid": 0, "rows_rejected": 1})
    assert changed and item["rows_rejected"] == 1
    item, started = store.start_chunk(FILE, 0, 0, 10, "identity-2", redo=True)
    assert started and item["status"] == "RUNNING" and item["attempts"] == 3


def test_failed_file_can_restart(store: StatusStore) -> None:
    store.start_file(FILE, {"execution_id": "e1"})
    store.finish_file(FILE, "FAILED", {"error_name": "X", "error_cause": "why"})
    item, started = store.start_file(FILE, {"execution_id": "e2"})
    assert started and item["status"] == "RUNNING" and "error_name" not in item


def test_chunk_completion_is_recorded_once(store: StatusStore) -> None:
    item, started = store.start_chunk(FILE, 3, 100, 200, ID)
    assert started and item["attempts"] == 1 and item["sk"] == "CHUNK#000003"
    item, started = store.start_chunk(FILE, 3, 100, 200, ID)
    assert started and item["attempts"] == 2
    counts = {"rows_in": 10, "rows_valid": 9, "rows_rejected": 1, "output_key": "p",
              "rejected_key": "r"}
    item, changed = store.complete_chunk(FILE, 3, 100, 200, ID, counts)
    assert changed and item["status"] == "SUCCEEDED" and item["rows_valid"] == 9
    item, changed = store.complete_chunk(FILE, 3, 100, 200, ID, {**counts, "rows_valid": 10})
    assert not changed and item["rows_valid"] == 9
    item, started = store.start_chunk(FILE, 3, 100, 200, ID)
    assert not started and item["attempts"] == 2 and item["status"] == "SUCCEEDED"
    store.fail_chunk(FILE, 3, "Boom", "late failure")
    assert store.list_chunks(FILE)[0]["status"] == "SUCCEEDED"


def test_a_new_plan_for_the_same_index_is_not_taken_for_done(store: StatusStore) -> None:
    store.complete_chunk(FILE, 0, 10, 50, ID,
                         {"rows_in": 1, "rows_valid": 1, "rows_rejected": 0})
    item, started = store.start_chunk(FILE, 0, 10, 90, ID)
    assert started and item["status"] == "RUNNING" and item["end"] == 90


def test_list_chunks_in_index_order_and_failures(store: StatusStore) -> None:
    for index in (2, 0, 1):
        store.start_chunk(FILE, index, index * 10, index * 10 + 10, ID)
    store.fail_chunk(FILE, 1, "SourceChanged", "gone")
    store.start_chunk("other#v", 0, 0, 5, ID)
    chunks = store.list_chunks(FILE)
    assert [c["index"] for c in chunks] == [0, 1, 2]
    assert chunks[1]["status"] == "FAILED" and chunks[1]["error_name"] == "SourceChanged"


def test_generic_update_item_as_the_state_machine_sends_it(store: StatusStore,
                                                          update_item: UpdateItem) -> None:
    store.start_file(FILE, {"execution_id": "e1"})
    update_item(
        {"pk": {"S": FILE}, "sk": {"S": "FILE"}},
        "SET #status = :failed, error_name = :error, error_cause = :cause, updated_at = :now",
        {"#status": "status"},
        {":failed": {"S": "FAILED"}, ":error": {"S": "HeaderMismatch"},
         ":cause": {"S": "bad header"}, ":now": {"S": "2024-01-01T00:00:00Z"}})
    item = file_item(store, FILE)
    assert item["status"] == "FAILED" and item["error_name"] == "HeaderMismatch"
    assert item["updated_at"] == "2024-01-01T00:00:00Z" and item["execution_id"] == "e1"
    update_item({"pk": {"S": "new#v"}, "sk": {"S": "FILE"}}, "SET n = :n", {},
                {":n": {"N": "5"}})
    assert file_item(store, "new#v")["n"] == 5


RECORD_FAILURE = ("SET #status = :failed, expires_at = :expires",
                  "attribute_not_exists(pk) OR #status <> :completed", {"#status": "status"},
                  {":failed": {"S": "FAILED"}, ":completed": {"S": "COMPLETED"},
                   ":expires": {"N": "2000000000"}})


def test_conditional_update_as_the_state_machine_sends_it(store: StatusStore,
                                                         update_item: UpdateItem) -> None:
    expression, condition, names, values = RECORD_FAILURE
    key = {"pk": {"S": FILE}, "sk": {"S": "FILE"}}
    update_item(key, expression, names, values, condition)  # no item yet: created
    assert file_item(store, FILE)["status"] == "FAILED"
    assert file_item(store, FILE)["expires_at"] == 2_000_000_000
    store.start_file(FILE, {"execution_id": "e2"})
    update_item(key, expression, names, values, condition)  # RUNNING: overwritten
    assert file_item(store, FILE)["status"] == "FAILED"
    store.start_file(FILE, {"execution_id": "e3"})
    store.finish_file(FILE, "COMPLETED", {"rows_in": 4})
    with pytest.raises(ConditionalCheckFailedException):
        update_item(key, expression, names, values, condition)
    item = file_item(store, FILE)
    assert (item["status"], item["rows_in"]) == ("COMPLETED", 4)
    assert item["expires_at"] != 2_000_000_000


def test_the_local_table_rejects_conditions_it_cannot_evaluate(tmp_path: Path) -> None:
    store = SqliteStatusStore(tmp_path / "s.sqlite")
    table = LocalStatusTable(store)
    key = {"pk": "a", "sk": "FILE"}
    for condition, message in [("begins_with(pk, :p)", "unsupported condition"),
                               ("(a = :v)", "unsupported condition"),
                               ("a = :v OR b <> :missing", ":missing"),
                               ("#nope = :v", "#nope")]:
        with pytest.raises(ValueError, match=re.escape(message)):
            table.update_item(key, "SET x = :v", {}, {":v": {"S": "1"}}, condition)
    assert store.get_file("a") is None


def test_the_local_table_rejects_expressions_it_cannot_apply(tmp_path: Path) -> None:
    table = LocalStatusTable(SqliteStatusStore(tmp_path / "s.sqlite"))
    with pytest.raises(ValueError, match="only 'SET"):
        table.update_item({"pk": "a", "sk": "FILE"}, "REMOVE x", {}, {})
    with pytest.raises(ValueError, match=":missing"):
        table.update_item({"pk": "a", "sk": "FILE"}, "SET x = :missing", {}, {})


def _complete_from_a_process(path: str, worker: int) -> bool:
    store = SqliteStatusStore(path)
    store.start_chunk(FILE, 0, 0, 10, ID)
    _, changed = store.complete_chunk(FILE, 0, 0, 10, ID, {
        "rows_in": worker, "rows_valid": worker, "rows_rejected": 0})
    return changed


def test_sqlite_conditional_update_holds_across_processes(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.sqlite")
    SqliteStatusStore(path)
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        results = pool.starmap(_complete_from_a_process, [(path, n) for n in range(1, 9)])
    assert results.count(True) == 1
    item = SqliteStatusStore(path).list_chunks(FILE)[0]
    assert item["status"] == "SUCCEEDED" and item["rows_in"] == results.index(True) + 1
