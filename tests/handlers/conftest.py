"""Handler test wiring: moto S3 (versioned), DynamoDB and SQS, and a whole-file driver."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pyarrow.csv as pv
import pyarrow.parquet as pq
import pytest
from moto import mock_aws

from handlers import finalize, process, split, validate
from handlers.catalog import GlueCatalog
from handlers.deps import Deps
from handlers.errors import PipelineError
from handlers.layout import OutputLayout, commits_root
from handlers.lineage import LINEAGE_NAMES
from handlers.metrics import CollectingMetrics
from handlers.objects import S3ObjectStore
from handlers.results_queue import SqsResultsQueue
from handlers.schema_file import load_schema
from handlers.settings import Settings
from handlers.status import DynamoStatusStore

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_FILE = str(ROOT / "schemas" / "transactions.schema.json")
BUCKET = "data-bucket"
TABLE = "pipeline-status"


def base_env(**overrides: str) -> dict[str, str]:
    env = {
        "PIPELINE_NAME": "transactions", "CHUNK_SIZE_MB": "64", "MAX_CHUNKS": "2000",
        "CSV_DELIMITER": ",", "CSV_ENCODING": "utf-8", "INCOMING_PREFIX": "incoming/",
        "PROCESSED_PREFIX": "processed/", "REJECTED_PREFIX": "rejected/",
        "STAGING_PREFIX": "staging/",
        "OUTPUT_FORMAT": "parquet", "MAX_REJECT_RATE": "0.5", "STATUS_TTL_DAYS": "90",
        "METRICS_NAMESPACE": "etlgen/transactions", "SCHEMA_FILE": SCHEMA_FILE,
        "BUCKET_NAME": BUCKET, "STATUS_TABLE": TABLE, "RESULTS_QUEUE_URL": "",
        "CATALOG_TABLE": "transactions", "CATALOG_DATABASE": "", "PARTITION_BY": "ingest_date",
        "LINEAGE": "true",
    }
    env.update(overrides)
    return env


def create_status_table(client: Any, name: str = TABLE) -> None:
    client.create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                   {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "sk", "AttributeType": "S"}])


CATALOG_DATABASE = "transactions_test"


def create_catalog(glue: Any, database: str = CATALOG_DATABASE, table: str = "transactions",
                   partition_key: str = "ingest_date") -> None:
    """The Glue database and the two storage tables as the template declares them (columns
    left out: the handlers read only the partition keys and the storage descriptor)."""
    glue.create_database(DatabaseInput={"Name": database})
    for name, key, serde in ((f"{table}_parts", partition_key, "ParquetHiveSerDe"),
                             (f"{table}_rejected_parts", "ingest_date", "JsonSerDe")):
        glue.create_table(DatabaseName=database, TableInput={
            "Name": name, "TableType": "EXTERNAL_TABLE",
            "PartitionKeys": [{"Name": key, "Type": "string"},
                              {"Name": "source_file", "Type": "string"}],
            "StorageDescriptor": {
                "Columns": [{"Name": "raw", "Type": "string"}],
                "Location": f"s3://{BUCKET}/processed/{name}/",
                "SerdeInfo": {"SerializationLibrary": serde}}})


@dataclass
class Outcome:
    file: dict[str, Any] | None = None
    plan: dict[str, Any] | None = None
    chunks: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] | None = None
    error: PipelineError | None = None


class Pipeline:
    """Drives validate -> split -> process (every chunk) -> finalize like the state machine."""

    def __init__(self, s3: Any, dynamodb: Any, sqs: Any, queue_url: str,
                 glue: Any = None) -> None:
        self.s3, self.dynamodb, self.sqs, self.queue_url = s3, dynamodb, sqs, queue_url
        self.glue = glue
        self.metrics = CollectingMetrics()

    def deps(self, **env: str) -> Deps:
        settings = Settings.from_env(base_env(**env))
        queue = SqsResultsQueue(self.sqs, settings.results_queue_url) \
            if settings.results_queue_url else None
        catalog = GlueCatalog(settings.catalog_database, BUCKET, lambda: self.glue) \
            if settings.catalog_database else None
        return Deps(settings=settings, objects=S3ObjectStore(self.s3, BUCKET),
                    status=DynamoStatusStore(self.dynamodb, TABLE), queue=queue,
                    metrics=self.metrics, schema=load_schema(settings.schema_file),
                    catalog=catalog)

    def upload(self, data: bytes, key: str = "incoming/tx.csv") -> dict[str, Any]:
        reply = self.s3.put_object(Bucket=BUCKET, Key=key, Body=data)
        return {"bucket": BUCKET, "key": key, "version_id": reply["VersionId"],
                "size": len(data)}

    def run(self, source: dict[str, Any], deps: Deps | None = None) -> Outcome:
        deps = deps or self.deps()
        outcome = Outcome()
        try:
            outcome.file = validate.handle({"source": source, "execution_id": "exec-1"}, deps)
            if outcome.file["status"] == "COMPLETED":
                return outcome
            outcome.plan = split.handle({"file": outcome.file}, deps)
            for chunk in outcome.plan["chunks"]:
                outcome.chunks.append(process.handle({"file": outcome.file, "chunk": chunk},
                                                     deps))
            outcome.summary = finalize.handle(
                {"file": outcome.file, "chunk_count": outcome.plan["chunk_count"],
                 "execution_id": "exec-1"}, deps)
        except PipelineError as error:
            outcome.error = error
        return outcome

    def layout(self, source: dict[str, Any], deps: Deps | None = None) -> OutputLayout:
        deps = deps or self.deps()
        return OutputLayout.of(deps.settings, source["key"], source["version_id"])

    def keys(self, prefix: str) -> list[str]:
        return S3ObjectStore(self.s3, BUCKET).list_keys(prefix)

    def body(self, key: str) -> bytes:
        return self.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()

    def manifest(self, source: dict[str, Any], deps: Deps | None = None) -> dict | None:
        key = self.layout(source, deps).manifest_key
        if key not in self.keys(key):
            return None
        return json.loads(self.body(key))

    def pointer(self, source: dict[str, Any], deps: Deps | None = None) -> dict | None:
        """The source key's commit pointer (the commits table's line), if written."""
        key = self.layout(source, deps).commit_key
        if key not in self.keys(key):
            return None
        body = self.body(key).decode("utf-8")
        assert body.endswith("\n") and body.count("\n") == 1, "exactly one JSON line"
        line: dict = json.loads(body)
        return line

    def committed_source_files(self, deps: Deps | None = None) -> set[str]:
        """What the views' `source_file IN (SELECT source_file FROM <table>_commits)` reads:
        every pointer object under the commits table's folder."""
        settings = (deps or self.deps()).settings
        root = commits_root(settings.processed_prefix, settings.catalog_table)
        return {json.loads(self.body(key))["source_file"] for key in self.keys(root)}

    def committed_keys(self, source: dict[str, Any], deps: Deps | None = None) -> list[str]:
        """Every object under the committed file's partition prefixes (none uncommitted)."""
        manifest = self.manifest(source, deps)
        if manifest is None:
            return []
        return sorted(key for prefix in manifest["prefixes"] for key in self.keys(prefix))

    def valid_rows(self, source: dict[str, Any], deps: Deps | None = None,
                   lineage: bool = False) -> list[dict]:
        """The committed file's valid rows in source order, without the lineage columns
        unless asked for."""
        rows: list[dict] = []
        for key in self.committed_keys(source, deps):
            if key.endswith(".parquet"):
                rows.extend(pq.read_table(io.BytesIO(self.body(key))).to_pylist())
            elif key.endswith(".csv"):
                rows.extend(pv.read_csv(io.BytesIO(self.body(key))).to_pylist())
        if rows and "_source_offset" in rows[0]:
            rows.sort(key=lambda row: row["_source_offset"])
            if not lineage:
                rows = [{k: v for k, v in row.items() if k not in LINEAGE_NAMES}
                        for row in rows]
        return rows

    def rejects(self, source: dict[str, Any], deps: Deps | None = None) -> list[dict]:
        found: list[dict] = []
        for key in self.committed_keys(source, deps):
            if key.endswith(".jsonl") and key.startswith("rejected/"):
                found.extend(json.loads(line) for line in self.body(key).decode().splitlines())
        return sorted(found, key=lambda r: r["offset"])


@pytest.fixture
def pipeline() -> Iterator[Pipeline]:
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        dynamodb = boto3.client("dynamodb")
        create_status_table(dynamodb)
        sqs = boto3.client("sqs")
        url = sqs.create_queue(QueueName="results.fifo",
                               Attributes={"FifoQueue": "true"})["QueueUrl"]
        yield Pipeline(s3, dynamodb, sqs, url, boto3.client("glue"))
