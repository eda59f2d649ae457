"""Settings parsing, object stores, results queues and metrics."""

from __future__ import annotations

import errno
import io
import json
import os
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from handlers.local_objects import LocalObjectStore
from handlers.metrics import CollectingMetrics, EmfMetrics
from handlers.objects import ObjectMissing, S3ObjectStore
from handlers.results_queue import JsonlResultsQueue, SqsResultsQueue, message_group_id
from handlers.settings import Settings, SettingsError
from tests.handlers.conftest import base_env


def test_settings_from_the_generated_environment() -> None:
    settings = Settings.from_env(base_env(CSV_DELIMITER="\\t", MAX_REJECT_RATE="0.05",
                                          PROCESSED_PREFIX="out"))
    assert settings.csv_delimiter == "\t" and settings.max_reject_rate == 0.05
    assert settings.chunk_size_bytes == 64 * 1024 * 1024 and settings.processed_prefix == "out/"
    assert Settings.from_env(base_env(CHUNK_SIZE_BYTES="100")).chunk_size_bytes == 100
    assert settings.process_threads == 0, "a Lambda container: one piece per core"
    assert Settings.from_env(base_env(PROCESS_THREADS="1")).process_threads == 1


@pytest.mark.parametrize(("name", "value", "words"), [
    ("CHUNK_SIZE_MB", "ten", "CHUNK_SIZE_MB='ten': must be a whole number"),
    ("MAX_CHUNKS", "0", "MAX_CHUNKS='0': must be at least 1"),
    ("MAX_REJECT_RATE", "1.5", "MAX_REJECT_RATE='1.5': must be a number between 0 and 1"),
    ("OUTPUT_FORMAT", "xlsx", "OUTPUT_FORMAT='xlsx': must be one of parquet, csv"),
    ("CSV_DELIMITER", ",,", "CSV_DELIMITER"),
    ("CSV_DELIMITER", '"', "other than a quote"),
    ("CSV_ENCODING", "klingon", "not a known text encoding"),
    ("CSV_ENCODING", "utf-16", "ASCII-compatible"),
    ("PROCESS_THREADS", "0", "PROCESS_THREADS='0': must be at least 1"),
    ("PROCESS_THREADS", "two", "PROCESS_THREADS='two': must be a whole number"),
])
def test_bad_settings_name_the_variable(name: str, value: str, words: str) -> None:
    with pytest.raises(SettingsError, match=words):
        Settings.from_env(base_env(**{name: value}))


def test_missing_variable_is_named() -> None:
    env = base_env()
    del env["PIPELINE_NAME"]
    with pytest.raises(SettingsError, match="PIPELINE_NAME is not set"):
        Settings.from_env(env)


def test_deployed_settings_are_the_packaged_file_over_the_environment(tmp_path: Path) -> None:
    """New code deployed beside the previous environment (which still held the static
    variables, for the moment between CloudFormation's code and configuration updates)
    uses the settings packaged with it."""
    env = base_env()
    static = {name: value for name, value in env.items() if name != "BUCKET_NAME"}
    (tmp_path / "settings.json").write_text(json.dumps({**static, "CHUNK_SIZE_MB": "8"}))
    previous = {**env, "CHUNK_SIZE_MB": "2"}
    assert Settings.deployed(previous, tmp_path).chunk_size_bytes == 8 * 1024 * 1024
    assert Settings.deployed(previous, tmp_path).bucket_name == env["BUCKET_NAME"]
    assert Settings.deployed({"BUCKET_NAME": env["BUCKET_NAME"]}, tmp_path) == \
        Settings.from_env({**env, "CHUNK_SIZE_MB": "8"})


@pytest.mark.parametrize(("content", "words"), [
    (None, r"settings.json: cannot read the packaged settings \(No such file or directory\)"),
    ("{not json", r"settings.json:1:2: packaged settings are not JSON"),
    ('["CHUNK_SIZE_MB"]', "must be one JSON object of strings"),
    ('{"CHUNK_SIZE_MB": 64}', "must be one JSON object of strings"),
])
def test_a_missing_or_bad_packaged_file_is_one_line(tmp_path: Path, content: str | None,
                                                     words: str) -> None:
    if content is not None:
        (tmp_path / "settings.json").write_text(content)
    with pytest.raises(SettingsError, match=words) as caught:
        Settings.deployed(base_env(), tmp_path)
    assert "\n" not in str(caught.value)


def exercise_store(store) -> None:
    store.put_bytes("incoming/a.csv", b"0123456789")
    assert store.head("incoming/a.csv").size == 10
    assert store.read_range("incoming/a.csv", 2, 5) == b"234"
    assert store.read_range("incoming/a.csv", 8, 50) == b"89"
    assert store.exists("incoming/a.csv") and not store.exists("incoming/b.csv")
    with pytest.raises(ObjectMissing):
        store.head("incoming/b.csv")
    with pytest.raises(ObjectMissing):
        store.read_range("incoming/b.csv", 0, 1)
    buffer = bytearray(b"-" * 6)
    assert store.read_into("incoming/a.csv", 2, memoryview(buffer)[1:4]) == 3
    assert bytes(buffer) == b"-234--"
    assert store.read_into("incoming/a.csv", 7, memoryview(buffer)) == 3  # the end: short
    assert bytes(buffer[:3]) == b"789"
    with pytest.raises(ObjectMissing):
        store.read_into("incoming/b.csv", 0, memoryview(buffer))


def test_s3_store(tmp_path: Path) -> None:
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="test-bucket")
        s3.put_bucket_versioning(Bucket="test-bucket",
                                 VersioningConfiguration={"Status": "Enabled"})
        store = S3ObjectStore(s3, "test-bucket")
        exercise_store(store)
        first = store.head("incoming/a.csv").version_id
        store.put_bytes("incoming/a.csv", b"new")
        assert store.read_range("incoming/a.csv", 0, 10, first) == b"0123456789"
        old = bytearray(10)
        assert store.read_into("incoming/a.csv", 0, memoryview(old), first) == 10
        assert bytes(old) == b"0123456789"
        with pytest.raises(ObjectMissing):
            store.read_range("incoming/a.csv", 0, 3, "not-a-version")
        big = tmp_path / "big.bin"
        big.write_bytes(b"x" * (9 * 1024 * 1024))
        store.move_file("processed/big.bin", big)
        assert store.head("processed/big.bin").size == 9 * 1024 * 1024
        assert not big.exists()
        assert store.list_keys("processed/") == ["processed/big.bin"]


def test_local_store(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    exercise_store(store)
    source = tmp_path / "x.bin"
    source.write_bytes(b"abc")
    store.move_file("processed/p/part-000000.parquet", source)
    assert store.list_keys("processed/") == ["processed/p/part-000000.parquet"]
    assert store.read_range("processed/p/part-000000.parquet", 0, 3) == b"abc"
    assert not source.exists()
    with pytest.raises(ValueError, match="outside"):
        store.head("../escape.csv")


def test_a_local_move_renames_the_file_over_the_key(tmp_path: Path) -> None:
    """A staged part is renamed into the folder (no copy), over what the key held: the key
    holds the new bytes whole, the caller's file is gone and no temporary is left beside
    the target."""
    store = LocalObjectStore(tmp_path / "bucket")
    store.put_bytes("staging/p/part.parquet", b"old rows")
    source = tmp_path / "written.parquet"
    source.write_bytes(b"new rows")
    store.move_file("staging/p/part.parquet", source)
    assert store.read_range("staging/p/part.parquet", 0, 100) == b"new rows"
    assert not source.exists()
    assert [path.name for path in (tmp_path / "bucket/staging/p").iterdir()] == ["part.parquet"]


def test_a_file_on_another_file_system_is_copied_in_and_removed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = LocalObjectStore(tmp_path / "store")
    source = tmp_path / "part.parquet"
    source.write_bytes(b"rows")
    rename = os.replace

    def across_devices(src: Any, dst: Any) -> None:
        if Path(src) == source:
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        rename(src, dst)

    monkeypatch.setattr(os, "replace", across_devices)
    store.move_file("processed/p/part.parquet", source)
    assert store.read_range("processed/p/part.parquet", 0, 4) == b"rows"
    assert not source.exists()
    assert [p.name for p in (tmp_path / "store" / "processed" / "p").iterdir()] == \
        ["part.parquet"]


def test_a_local_copy_done_twice_leaves_no_temporary(tmp_path: Path) -> None:
    """A retried publish links the same staged part again: rename(2) between two links of
    one file does nothing, so the temporary name must be removed (a reader globbing the
    folder would count the rows twice)."""
    store = LocalObjectStore(tmp_path)
    store.put_bytes("staging/a.parquet", b"rows")
    for _ in range(2):
        store.copy("staging/a.parquet", "processed/t/p=1/part-000000.parquet")
    assert sorted(path.name for path in (tmp_path / "processed/t/p=1").iterdir()) == [
        "part-000000.parquet"]


def test_sqs_fifo_queue_groups_by_key_and_deduplicates() -> None:
    with mock_aws():
        sqs = boto3.client("sqs")
        url = sqs.create_queue(QueueName="r.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
        queue = SqsResultsQueue(sqs, url)
        summary = {"file_id": "incoming/ä b.csv#v1", "key": "incoming/ä b.csv",
                   "status": "COMPLETED", "rows_in": 3}
        queue.send(summary)
        queue.send(summary)
        reply = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                    AttributeNames=["MessageGroupId"])
        assert len(reply["Messages"]) == 1
        assert json.loads(reply["Messages"][0]["Body"]) == summary
        group = reply["Messages"][0]["Attributes"]["MessageGroupId"]
        assert group == message_group_id("incoming/ä b.csv") and len(group) <= 128
    assert message_group_id("incoming/plain.csv") == "incoming/plain.csv"
    assert len(message_group_id("k" * 500)) <= 128


def test_jsonl_queue(tmp_path: Path) -> None:
    queue = JsonlResultsQueue(tmp_path / "out" / "results.jsonl")
    summary = {"file_id": "a#1", "key": "a", "status": "COMPLETED"}
    queue.send(summary)
    queue.send(summary)
    queue.send({**summary, "status": "FAILED"})
    assert [m["body"]["status"] for m in queue.messages()] == ["COMPLETED", "FAILED"]


def test_embedded_metric_format_line() -> None:
    stream = io.StringIO()
    EmfMetrics("etlgen/tx", "tx", stream).put_counts({"RowsIn": 5, "RowsValid": 4,
                                                      "RowsRejected": 1})
    doc = json.loads(stream.getvalue())
    directive = doc["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "etlgen/tx" and directive["Dimensions"] == [["Pipeline"]]
    assert [m["Name"] for m in directive["Metrics"]] == ["RowsIn", "RowsValid", "RowsRejected"]
    assert doc["Pipeline"] == "tx" and doc["RowsIn"] == 5
    collecting = CollectingMetrics()
    collecting.put_counts({"RowsIn": 2})
    collecting.put_counts({"RowsIn": 3})
    assert collecting.totals() == {"RowsIn": 5}


@pytest.mark.parametrize("key", ["a/b/c/f.txt", "a/b/new/part.parquet", "link/c/f.txt",
                                 "a/b/../b/c/f.txt", "a/dangling/x", "a//b/c", "file/below"])
def test_a_local_key_is_its_file_with_links_resolved(tmp_path: Path, key: str) -> None:
    root = tmp_path / "bucket"
    (root / "a/b/c").mkdir(parents=True)
    (root / "a/b/c/f.txt").write_text("rows")
    (root / "file").write_text("x")
    (root / "link").symlink_to(root / "a/b")
    (root / "a/dangling").symlink_to("nowhere")
    path = LocalObjectStore(root).path_of(key)
    assert str(path) == os.path.realpath(root / key)


@pytest.mark.parametrize("key", ["a/out/passwd", "../escape.csv", "/etc/passwd"])
def test_a_local_key_leading_outside_the_folder_is_refused(tmp_path: Path, key: str) -> None:
    root = tmp_path / "bucket"
    (root / "a").mkdir(parents=True)
    (root / "a/out").symlink_to(tmp_path)
    with pytest.raises(ValueError, match="outside"):
        LocalObjectStore(root).path_of(key)
