"""Every AWS call the handlers really make is allowed by their role in the template.

moto does not enforce IAM, so a handler calling an API its role lacks would pass every
other test and fail only once deployed. Here each handler runs against moto with its own
clients, every call is recorded, and each is checked against the rendered role's Allow
statements: action and, for S3, the object key's prefix (for a copy, the source key is
read and the target key written; for a listing, the `s3:prefix` condition must allow it).
The file runs twice, the second time with another chunk size and output format, so the
code paths of a re-run run too: staged parts found again, stale parts deleted at publish,
a finalize retried after its commit.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Any

import boto3

from handlers import finalize, process, split, validate
from handlers.catalog import GlueCatalog
from handlers.deps import Deps
from handlers.metrics import CollectingMetrics
from handlers.objects import S3ObjectStore
from handlers.results_queue import SqsResultsQueue
from handlers.schema_file import load_schema
from handlers.settings import Settings
from handlers.status import DynamoStatusStore
from tests.handlers.conftest import (
    BUCKET,
    CATALOG_DATABASE,
    TABLE,
    Pipeline,
    base_env,
    create_catalog,
)
from tests.handlers.conftest import pipeline as pipeline  # moto bucket, table and queue

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "samples" / "transactions.csv"
MULTIPART_PARTS = {"CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload"}

Call = tuple[str, str, dict[str, Any]]  # (service, operation, params)
LISTS = {"s3:ListBucket", "s3:ListBucketVersions"}  # on the bucket, under an s3:prefix


Check = tuple[str, str | None]  # (IAM action, object key or listed prefix)
Grant = tuple[set[str], list[str], list[str] | None]  # actions, key prefixes, s3:prefix


def iam_checks(service: str, operation: str, params: dict[str, Any]) -> list[Check]:
    """The IAM actions AWS authorizes for one API call, each with the key it applies to."""
    if service != "s3":
        return [(f"{service}:{operation}", None)]
    key = params.get("Key")
    if operation in {"GetObject", "HeadObject"}:
        return [("s3:GetObjectVersion" if params.get("VersionId") else "s3:GetObject", key)]
    if operation in MULTIPART_PARTS:
        return [("s3:PutObject", key)]
    if operation == "CopyObject":
        return [("s3:GetObject", params["CopySource"]["Key"]), ("s3:PutObject", key)]
    if operation == "ListObjectsV2":
        return [("s3:ListBucket", params.get("Prefix", ""))]
    if operation == "ListObjectVersions":
        return [("s3:ListBucketVersions", params.get("Prefix", ""))]
    return [(f"s3:{operation}", key)]


def allowed(template: dict[str, Any], role: str) -> list[Grant]:
    """(actions, S3 key prefixes or ["*"] for non-object resources, the StringLike
    s3:prefix patterns or None) per Allow statement."""
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
        condition = statement.get("Condition", {}).get("StringLike", {}).get("s3:prefix")
        grants.append((set(statement["Action"]), prefixes, condition))
    return grants


def permitted(check: Check, grants: list[Grant]) -> bool:
    action, key = check
    for actions, prefixes, listed in grants:
        if action not in actions:
            continue
        if action in LISTS:
            if listed is not None and any(fnmatch.fnmatchcase(key or "", pattern)
                                          for pattern in listed):
                return True
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


def _deps(recorder: Recorder, queue_url: str, **env: str) -> Deps:
    settings = Settings.from_env(base_env(RESULTS_QUEUE_URL=queue_url,
                                          CATALOG_DATABASE=CATALOG_DATABASE, **env))
    return Deps(settings=settings, objects=S3ObjectStore(recorder.client("s3"), BUCKET),
                status=DynamoStatusStore(recorder.client("dynamodb"), TABLE),
                queue=SqsResultsQueue(recorder.client("sqs"), queue_url),
                metrics=CollectingMetrics(), schema=load_schema(settings.schema_file),
                catalog=GlueCatalog(CATALOG_DATABASE, BUCKET,
                                    lambda: recorder.client("glue")))


def test_each_handler_only_calls_what_its_role_allows(
        pipeline: Pipeline, base_template: dict[str, Any]) -> None:
    create_catalog(pipeline.glue)
    older = pipeline.upload(SAMPLE.read_bytes()[:3000].rsplit(b"\n", 1)[0] + b"\n",
                            key="incoming/transactions.csv")
    source = pipeline.upload(SAMPLE.read_bytes(), key="incoming/transactions.csv")
    recorders = {name: Recorder() for name in ("Validate", "Split", "Process", "Finalize")}
    for env in ({"CHUNK_SIZE_BYTES": "4096"},
                {"CHUNK_SIZE_BYTES": "9000", "OUTPUT_FORMAT": "csv"}):
        deps = {name: _deps(recorder, pipeline.queue_url, **env)
                for name, recorder in recorders.items()}
        file = validate.handle({"source": source, "execution_id": "e"}, deps["Validate"])
        plan = split.handle({"file": file}, deps["Split"])
        assert plan["chunk_count"] > 1, "several chunks, so every code path runs"
        for chunk in plan["chunks"] * 2:  # the second call finds its staged parts
            process.handle({"file": file, "chunk": chunk}, deps["Process"])
        for _attempt in range(2):  # the second attempt finds the file committed
            summary = finalize.handle({"file": file, "chunk_count": plan["chunk_count"],
                                       "execution_id": "e"}, deps["Finalize"])
        assert summary["status"] == "COMPLETED" and summary["rows_rejected"] > 0
    # the older upload finishing last: finalize asks S3 which version is newer
    file = validate.handle({"source": older, "execution_id": "o"}, deps["Validate"])
    plan = split.handle({"file": file}, deps["Split"])
    for chunk in plan["chunks"]:
        process.handle({"file": file, "chunk": chunk}, deps["Process"])
    summary = finalize.handle({"file": file, "chunk_count": plan["chunk_count"],
                               "execution_id": "o"}, deps["Finalize"])
    assert summary["outcome"] == "superseded"
    operations = {operation for recorder in recorders.values()
                  for _, operation, _ in recorder.calls}
    assert {"CopyObject", "DeleteObject", "ListObjectsV2", "HeadObject",
            "ListObjectVersions"} <= operations
    assert {"GetTable", "GetPartitions", "BatchCreatePartition",
            "BatchDeletePartition"} <= operations, "the second run replaces the partitions"

    for name, recorder in recorders.items():
        assert recorder.calls, f"{name} made no AWS call: the recorder is not wired"
        grants = allowed(base_template, f"{name}Role")
        denied = sorted({check for call in recorder.calls for check in iam_checks(*call)
                         if not permitted(check, grants)}, key=str)
        assert not denied, f"{name}Role lacks permissions the handler uses: {denied}"


def test_the_check_notices_a_missing_permission(base_template: dict[str, Any]) -> None:
    grants = allowed(base_template, "SplitRole")
    assert permitted(("s3:GetObjectVersion", "incoming/a.csv"), grants)
    assert not permitted(("s3:PutObject", "processed/a.parquet"), grants)
    assert not permitted(("s3:GetObject", "processed/a.parquet"), grants)
    assert not permitted(("dynamodb:UpdateItem", None), grants)
    finalize_grants = allowed(base_template, "FinalizeRole")
    assert permitted(("s3:ListBucket", "processed/tx/v=1/"), finalize_grants)
    assert not permitted(("s3:ListBucket", "incoming/"), finalize_grants)
    assert not permitted(("s3:ListBucket", ""), finalize_grants)
    assert permitted(("s3:ListBucketVersions", "incoming/a.csv"), finalize_grants)
    assert not permitted(("s3:ListBucketVersions", "processed/"), finalize_grants)
    assert not permitted(("s3:ListBucketVersions", "incoming/a.csv"),
                         allowed(base_template, "ProcessRole"))
    assert not all(permitted(check, finalize_grants) for check in iam_checks(
        "s3", "CopyObject", {"Key": "processed/a", "CopySource": {"Key": "incoming/a.csv"}}))
    process_grants = allowed(base_template, "ProcessRole")
    assert not permitted(("s3:PutObject", "processed/tx/v=1/part-000000.parquet"),
                         process_grants)
    assert not permitted(("s3:DeleteObject", "staging/x"), process_grants)
