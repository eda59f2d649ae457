"""A source version that is gone must fail as SourceChanged, whether S3 says 404 or 403.

In AWS the functions' roles have no s3:ListBucket, so S3 answers a read of a deleted
version with 403 AccessDenied rather than 404: both must read as a permanent error that
names the key and version, never as a retried transient one.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from handlers import process, split, validate
from handlers.errors import SourceChanged
from handlers.objects import S3ObjectStore
from tests.handlers.conftest import BUCKET, Pipeline
from tests.handlers.handler_rows import build_file, mixed_rows


def refusing_store(operation: str, code: str, status: int) -> tuple[S3ObjectStore, Stubber]:
    client = boto3.client("s3", region_name="us-east-1")
    stubber = Stubber(client)
    stubber.add_client_error(operation, service_error_code=code, http_status_code=status)
    stubber.activate()
    return S3ObjectStore(client, BUCKET), stubber


def planned(pipeline: Pipeline) -> tuple[Any, dict, dict]:
    deps = pipeline.deps(CHUNK_SIZE_BYTES="400")  # several chunks: the plan reads the file
    source = pipeline.upload(build_file(mixed_rows(30))[0])
    file = validate.handle({"source": source, "execution_id": "e"}, deps)
    plan = split.handle({"file": file}, deps)
    return deps, {"source": source, "execution_id": "e"}, {"file": file,
                                                          "chunk": plan["chunks"][0]}


@pytest.mark.parametrize(("code", "status", "wording"), [
    ("AccessDenied", 403, "is gone or not readable by the function's role"),
    ("NoSuchVersion", 404, "does not exist"),
    ("NoSuchKey", 404, "does not exist"),
])
@pytest.mark.parametrize("step", ["validate", "split", "process"])
def test_unreadable_source_is_source_changed(pipeline: Pipeline, step: str, code: str,
                                             status: int, wording: str) -> None:
    deps, validate_event, chunk_event = planned(pipeline)
    operation = "head_object" if step == "validate" else "get_object"
    store, stubber = refusing_store(operation, code, status)
    deps = dataclasses.replace(deps, objects=store)
    handler, event = {"validate": (validate.handle, validate_event),
                      "split": (split.handle, {"file": chunk_event["file"]}),
                      "process": (process.handle, chunk_event)}[step]
    version = chunk_event["file"]["version_id"]
    with pytest.raises(SourceChanged) as raised:
        handler(event, deps)
    message = str(raised.value)
    assert "incoming/tx.csv" in message and f"version {version}" in message
    assert wording in message
    stubber.assert_no_pending_responses()


def test_other_s3_errors_stay_transient(pipeline: Pipeline) -> None:
    deps, _, chunk_event = planned(pipeline)
    store, _ = refusing_store("get_object", "SlowDown", 503)
    with pytest.raises(Exception) as raised:
        process.handle(chunk_event, dataclasses.replace(deps, objects=store))
    assert not isinstance(raised.value, SourceChanged)
