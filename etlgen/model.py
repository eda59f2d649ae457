"""The validated, frozen pipeline configuration every generator module reads.

`etlgen.config.load_config` is the only producer of these objects: it has already
applied defaults and checked bounds, so consumers never re-validate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from handlers.formats import DEFAULT_FORMAT

Architecture = Literal["arm64", "x86_64"]
Jitter = Literal["FULL", "NONE"]
Granularity = Literal["day", "month", "year"]
StorageClass = Literal["GLACIER_IR", "GLACIER", "DEEP_ARCHIVE", "none"]

INGEST_DATE: Literal["ingest_date"] = "ingest_date"
"""Partition key of the day (UTC) a file's run started; the default `output.partition_by`."""


@dataclass(frozen=True)
class InputConfig:
    prefix: str = "incoming/"
    suffix: str = ".csv"
    delimiter: str = ","
    encoding: str = "utf-8"


@dataclass(frozen=True)
class DatePartition:
    """`output.partition_by: {column, granularity}`: partitions by a `format: date` column."""

    column: str
    granularity: Granularity = "day"


@dataclass(frozen=True)
class OutputConfig:
    processed_prefix: str = "processed/"
    rejected_prefix: str = "rejected/"
    staging_prefix: str = "staging/"
    format: str = DEFAULT_FORMAT  # a name in handlers.formats.FORMATS
    max_reject_rate: float = 0.05
    partition_by: Literal["ingest_date"] | DatePartition = INGEST_DATE
    lineage: bool = True

    @property
    def partition_key(self) -> str:
        """The table's first partition key: `ingest_date` or `<column>_<granularity>`."""
        if isinstance(self.partition_by, DatePartition):
            return f"{self.partition_by.column}_{self.partition_by.granularity}"
        return INGEST_DATE

    @property
    def partition_setting(self) -> str:
        """`PARTITION_BY` for the handlers: `ingest_date` or `<column>:<granularity>`."""
        if isinstance(self.partition_by, DatePartition):
            return f"{self.partition_by.column}:{self.partition_by.granularity}"
        return INGEST_DATE


@dataclass(frozen=True)
class ProcessingConfig:
    chunk_size_mb: int = 64
    max_concurrency: int = 10
    max_chunks: int = 700


@dataclass(frozen=True)
class RetryConfig:
    max_attempts: int = 3
    interval_seconds: int = 2
    backoff_rate: float = 2.0
    max_delay_seconds: int = 60
    jitter: Jitter = "FULL"


@dataclass(frozen=True)
class FunctionsConfig:
    runtime: str = "python3.12"
    architecture: Architecture = "arm64"
    memory_mb: int = 3072
    timeout_seconds: int = 900
    pandas_layer_version: str = "3.11.0"

    @property
    def python_minor(self) -> str:
        """`python3.12` -> `12`, for the SDK for pandas SSM parameter path."""
        return self.runtime.removeprefix("python3.")


@dataclass(frozen=True)
class RetentionConfig:
    glacier_after_days: int = 30
    storage_class: StorageClass = "GLACIER_IR"
    allow_unqueryable_storage: bool = False
    noncurrent_version_days: int = 30
    incomplete_upload_days: int = 7
    status_ttl_days: int = 90
    staging_days: int = 7
    log_retention_days: int = 30


@dataclass(frozen=True)
class ResultsQueueConfig:
    enabled: bool = True


@dataclass(frozen=True)
class AlertsConfig:
    enabled: bool = True
    email: str | None = None


@dataclass(frozen=True)
class CatalogConfig:
    """The Glue table and Athena workgroup; `database` and `table` None: from the name."""

    enabled: bool = True
    database: str | None = None
    table: str | None = None
    bytes_scanned_cutoff_mb: int = 10240


@dataclass(frozen=True)
class PipelineConfig:
    """One pipeline.yaml, loaded.

    `schema` is the parsed CSV row JSON Schema (already checked to use only keywords the
    handlers enforce); `schema_path` is where it was read from, `source` the YAML file.
    """

    name: str
    source: Path
    schema_path: Path
    schema: dict[str, Any]
    input: InputConfig = field(default_factory=InputConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    processing: ProcessingConfig = field(default_factory=ProcessingConfig)
    retries: RetryConfig = field(default_factory=RetryConfig)
    functions: FunctionsConfig = field(default_factory=FunctionsConfig)
    retention: RetentionConfig = field(default_factory=RetentionConfig)
    results_queue: ResultsQueueConfig = field(default_factory=ResultsQueueConfig)
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
    catalog: CatalogConfig = field(default_factory=CatalogConfig)
    tags: tuple[tuple[str, str], ...] = (("Environment", "Production"), ("Project", "ETL"))

    @property
    def database_name(self) -> str:
        """The Glue database as configured (the template appends `_<EnvironmentSuffix>`)."""
        return self.catalog.database or self.name.replace("-", "_")

    @property
    def table_name(self) -> str:
        """The table of valid rows; `<table_name>_rejected` holds the rejected rows. Also
        the dataset folder under the output prefixes, with or without the catalog."""
        return self.catalog.table or self.name.replace("-", "_")

    @property
    def rejected_table_name(self) -> str:
        return f"{self.table_name}_rejected"
