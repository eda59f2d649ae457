"""The back ends a handler works with, injected so the local runner can swap them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from handlers.catalog import Catalog
from handlers.metrics import EmfMetrics, Metrics
from handlers.objects import ObjectStore, S3ObjectStore
from handlers.results_queue import ResultsQueue, SqsResultsQueue
from handlers.schema_file import load_schema
from handlers.settings import Settings, SettingsError
from handlers.status import DynamoStatusStore, StatusStore


@dataclass
class Deps:
    settings: Settings
    objects: ObjectStore
    status: StatusStore
    queue: ResultsQueue | None
    metrics: Metrics
    schema: dict[str, Any]
    catalog: Catalog | None = None  # None: finalize registers nothing

    @classmethod
    def from_env(cls, mapping: Any = None, settings_directory: Path | None = None) -> Deps:
        """Lambda wiring: the settings (the packaged file under the environment), S3,
        DynamoDB, SQS (when `RESULTS_QUEUE_URL` is set), EMF metrics, Glue (when
        `CATALOG_DATABASE` is set; its client is built on first use). `settings_directory`:
        where `settings.json` is, when not in the handlers package (tests)."""
        import boto3

        from handlers.catalog import GlueCatalog

        settings = Settings.deployed(mapping, settings_directory)
        for name, value in (("BUCKET_NAME", settings.bucket_name),
                            ("STATUS_TABLE", settings.status_table)):
            if not value:
                raise SettingsError(f"environment variable {name} is not set")
        queue = None
        if settings.results_queue_url:
            queue = SqsResultsQueue(boto3.client("sqs"), settings.results_queue_url)
        return cls(
            settings=settings,
            objects=S3ObjectStore(boto3.client("s3"), settings.bucket_name),
            status=DynamoStatusStore(boto3.client("dynamodb"), settings.status_table,
                                     ttl_days=settings.status_ttl_days),
            queue=queue,
            metrics=EmfMetrics(settings.metrics_namespace, settings.pipeline_name),
            schema=load_schema(settings.schema_file),
            catalog=GlueCatalog(settings.catalog_database, settings.bucket_name)
            if settings.catalog_database else None,
        )
