"""Every AWS call the handlers really make is allowed by their role in the template.

moto does not enforce IAM, so a handler calling an API its role lacks would pass every
other test and fail only once deployed. Here each handler runs against moto with its own
clients, every call is recorded, and each is checked against the rendered role's Allow
statements: action and, for S3, the object key's prefix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3

from handlers import finalize, process, split, validate
from handlers.deps import Deps
from handlers.metrics import CollectingMetrics
from handlers.objects import S3ObjectStore
from handlers.results_queue import SqsResultsQueue
from handlers.schema_file import load_schema
from handlers.settings import Settings
from handlers.status import DynamoStatusStore
from tests.handlers.conftest import BUCKET, TABLE, Pipeline, base_env
from tests.handlers.conftest import pipeline as pipeline  # moto bucket, table and queue

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "samples" / "transactions.csv"
MULTIPART_PARTS = {"CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload"}

Call = tuple[str, str, dict[str, Any]]  # (service, operation, params)


def iam_action(service: str, operation: str, params: dict[str, Any]) -> str:
    """The IAM action AWS authorizes for one API call."""
    if service == "s3":
        if operation in {"GetObject", "HeadObject"}:
            return "s3:GetObjectVersion" if params.get("VersionId") else "s3:GetObject"
        if operation in MULTIPART_PARTS:
            return "s3:PutObject"
        if operation == "ListObjectsV2":
            return "s3:ListBucket"
    return f"{service}:{operation}"


def allowed(template: dict[str, Any], role: str) -> list[tuple[set[str], list[str]]]:
    """(actions, S3 key prefixes or ["*"] for non-object resources) per Allow statement."""
    [policy] = template["Resources"][role]["Properties"]["Policies"]
    grants = []
    for statement in policy["PolicyDocument"]["Statement"]:
        if statement["Effect"] != "Allow":
            continue
        prefixes = []
        for resource in statement["Resource"]:
            text = resource.get("Fn::Sub", "") if isinstance(resource, dict) else ""
            prefixes.append(text.split("${DataBucket.Arn}/", 1)[1].removesuffix("*")
                            if text.startswith("${DataBucket.Arn}/") else "*")
        grants.append((set(statement["Action"]), prefixes))
    return grants


def permitted(call: Call, grants: list[tuple[set[str], list[str]]]) -> bool:
    service, operation, params = call
    action = iam_action(service, operation, params)
    key = params.get("Key") if service == "s3" else None
    for actions, prefixes in grants:
        if action not in actions:
            continue
        if key is None or any(p == "*" or key.startswith(p) for p in prefixes):
            return True
    return False


class Recorder:
    def __init__(self) -> None:
        self.calls: list[Call] = []

    def client(self, service: str) -> Any:
        client = boto3.client(service)
        client.meta.events.register("provide-client-params.*.*", self._record)
        return client

    def _record(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self.calls.append((model.service_model.endpoint_prefix, model.name, dict(params)))


def _deps(recorder: Recorder, queue_url: str) -> Deps:
    settings = Settings.from_env(base_env(RESULTS_QUEUE_URL=queue_url, CHUNK_SIZE_BYTES="4096"))
    return Deps(settings=settings, objects=S3ObjectStore(recorder.client("s3"), BUCKET),
                status=DynamoStatusStore(recorder.client("dynamodb"), TABLE),
                queue=SqsResultsQueue(recorder.client("sqs"), queue_url),
                metrics=CollectingMetrics(), schema=load_schema(settings.schema_file))


def test_each_handler_only_calls_what_its_role_allows(
        pipeline: Pipeline, base_template: dict[str, Any]) -> None:
    source = pipeline.upload(SAMPLE.read_bytes(), key="incoming/transactions.csv")
    recorders = {name: Recorder() for name in ("Validate", "Split", "Process", "Finalize")}
    deps = {name: _deps(recorder, pipeline.queue_url) for name, recorder in recorders.items()}

    file = validate.handle({"source": source, "execution_id": "e"}, deps["Validate"])
    plan = split.handle({"file": file}, deps["Split"])
    assert plan["chunk_count"] > 1, "several chunks, so every code path runs"
    for chunk in plan["chunks"]:
        process.handle({"file": file, "chunk": chunk}, deps["Process"])
    summary = finalize.handle({"file": file, "chunk_count": plan["chunk_count"],
                               "execution_id": "e"}, deps["Finalize"])
    assert summary["status"] == "COMPLETED" and summary["rows_rejected"] > 0

    for name, recorder in recorders.items():
        assert recorder.calls, f"{name} made no AWS call: the recorder is not wired"
        grants = allowed(base_template, f"{name}Role")
        denied = sorted({(iam_action(s, o, p), str(p.get("Key", ""))) for s, o, p in
                         recorder.calls if not permitted((s, o, p), grants)})
        assert not denied, f"{name}Role lacks permissions the handler uses: {denied}"


def test_the_check_notices_a_missing_permission(base_template: dict[str, Any]) -> None:
    grants = allowed(base_template, "SplitRole")
    assert permitted(("s3", "GetObject", {"Key": "incoming/a.csv", "VersionId": "v"}), grants)
    assert not permitted(("s3", "PutObject", {"Key": "processed/a.parquet"}), grants)
    assert not permitted(("s3", "GetObject", {"Key": "processed/a.parquet"}), grants)
    assert not permitted(("dynamodb", "UpdateItem", {}), grants)
