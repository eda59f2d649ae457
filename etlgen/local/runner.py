"""One local run of the pipeline over one CSV file: the same state machine as on AWS,
interpreted here, with the handlers working on a folder instead of S3/DynamoDB/SQS/SNS.

Work folder layout: `bucket/` (incoming/, processed/, rejected/ as in the S3 bucket),
`status.sqlite3` (the status table), `results.jsonl` (the results queue), `alerts.jsonl`
(the alert topic), `catalog.json` (the table's committed partitions, standing in for Glue).
"""

from __future__ import annotations

import json
import math
import os
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from etlgen.asl import ExecutionResult, Interpreter, Options
from etlgen.environment import function_environment
from etlgen.errors import EtlgenError
from etlgen.local import faults
from etlgen.local.errors import RunInputError
from etlgen.local.integrations import LocalTasks, StateMachineSpec
from etlgen.local.pool import HANDLER_MODULES, LambdaPool
from etlgen.local.staging import stage_file
from etlgen.local.status_table import LocalStatusTable
from etlgen.local.tally import ChunkTally
from etlgen.local.worker import WorkerSpec
from etlgen.model import PipelineConfig
from handlers.cores import usable_cores
from handlers.events import ROW_COUNTS, SourceRef
from handlers.layout import OutputLayout
from handlers.settings import Settings, SettingsError

LOCAL_BUCKET = "local"
VERSION_ID_LENGTH = 32
# Local runs only: a chunk size in bytes overriding the config's MiB (tests, experiments).
CHUNK_SIZE_VARIABLE = "ETLGEN_CHUNK_SIZE_BYTES"
# The generator's Succeed state for a version that was already processed.
ALREADY_PROCESSED_STATE = "AlreadyProcessed"


@dataclass(frozen=True)
class WorkFolder:
    root: Path

    @property
    def bucket(self) -> Path:
        return self.root / "bucket"

    @property
    def status(self) -> Path:
        return self.root / "status.sqlite3"

    @property
    def results(self) -> Path:
        return self.root / "results.jsonl"

    @property
    def alerts(self) -> Path:
        return self.root / "alerts.jsonl"

    @property
    def logs(self) -> Path:
        return self.root / "handlers.log"

    @property
    def catalog(self) -> Path:
        return self.root / "catalog.json"


@dataclass(kw_only=True)
class RunReport(ChunkTally):
    """What a run did, for the summary table and `--json`: the tally of its history plus
    where it ran and how it ended."""

    status: str  # SUCCEEDED | FAILED | ALREADY_PROCESSED
    file: str
    key: str
    version_id: str
    size_bytes: int
    seconds: float
    worker_restarts: int = 0
    error: str | None = None
    cause: str | None = None
    outputs: dict[str, str] = field(default_factory=dict)
    execution: ExecutionResult | None = None
    top_rejections: list[dict[str, Any]] = field(default_factory=list)
    partitions: int | None = None  # the committed file's data partitions

    @property
    def message(self) -> str | None:
        """The failure in one line: Lambda's JSON cause (with its stack trace) reduced to
        its `errorMessage`; the status store keeps the whole cause, as AWS would."""
        return None if self.error is None else cause_message(self.cause)

    @property
    def mb_per_second(self) -> float:
        return self.size_bytes / 1e6 / self.seconds if self.seconds > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status, "file": self.file, "key": self.key,
            "version_id": self.version_id, "size_bytes": self.size_bytes,
            "rows_in": self.rows_in, "rows_valid": self.rows_valid,
            "rows_rejected": self.rows_rejected, "chunks": self.chunks,
            "chunks_done": self.chunks_done, "retries": self.retries,
            "worker_restarts": self.worker_restarts, "seconds": round(self.seconds, 3),
            "mb_per_second": round(self.mb_per_second, 2), "error": self.error,
            "message": self.message, "outputs": self.outputs,
            "partitions": self.partitions, "top_rejections": self.top_rejections,
        }


def cause_message(cause: str | None) -> str:
    if not cause:
        return "(no cause given)"
    try:
        parsed: Any = json.loads(cause)
    except ValueError:
        return cause
    if isinstance(parsed, dict) and "errorMessage" in parsed:
        return str(parsed["errorMessage"])
    return cause


def check_csv_path(path: Path) -> None:
    if not path.exists():
        raise RunInputError(f"{path}: no such file")
    if path.is_dir():
        raise RunInputError(f"{path}: is a directory, expected a CSV file")
    if not path.is_file():
        raise RunInputError(f"{path}: not a regular file")
    if not os.access(path, os.R_OK):
        raise RunInputError(f"{path}: not readable")


def check_csv_name(csv: Path, config: PipelineConfig) -> None:
    if config.input.suffix and not csv.name.endswith(config.input.suffix):
        raise RunInputError(f"{csv}: the pipeline only picks up files ending with "
                            f"{config.input.suffix!r}")


def prepare_work_folder(folder: WorkFolder) -> None:
    """Create the work folder, or say in one line why it cannot be used."""
    for path in (folder.root, folder.bucket):
        if path.exists() and not path.is_dir():
            raise RunInputError(f"--workdir {folder.root}: {path} is a file, expected a folder")
    try:
        folder.bucket.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise RunInputError(f"--workdir {folder.root}: cannot create the folder: "
                            f"{error.strerror or error}") from None
    if not os.access(folder.root, os.W_OK | os.X_OK):
        raise RunInputError(f"--workdir {folder.root}: not writable")
    for path in (folder.status, folder.results, folder.alerts, folder.logs, folder.catalog):
        if path.exists() and not path.is_file():
            raise RunInputError(f"--workdir {folder.root}: {path} is not a file; move it away")


def stage_source(csv: Path, config: PipelineConfig, bucket: Path) -> tuple[str, str, int]:
    """Put a snapshot of the CSV at `<incoming prefix><file name>` in the local bucket.

    Returns (key, version id, size). The version id is a hash of the staged bytes, so the
    same bytes are the same version, as S3 would report for an unchanged object."""
    check_csv_name(csv, config)
    key = f"{config.input.prefix}{csv.name}"
    digest, size = stage_file(csv, bucket / key)
    return key, digest[:VERSION_ID_LENGTH], size


def object_created_event(source: SourceRef) -> dict[str, Any]:
    """The EventBridge `Object Created` event S3 sends for the upload; the definition's
    `Init` state reads `source` back out of it."""
    if source.bucket is None or source.size is None or source.version_id is None:
        raise ValueError(f"{source}: an Object Created event names a bucket, a size and "
                         "a version")
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": "000000000000",
        "time": now,
        "region": "local",
        "resources": [f"arn:aws:s3:::{source.bucket}"],
        "detail": {
            "version": "0",
            "bucket": {"name": source.bucket},
            "object": {"key": source.key, "size": source.size, "etag": source.version_id,
                       "version-id": source.version_id,
                       "sequencer": source.version_id[:18].upper()},
            "request-id": uuid.uuid4().hex[:16].upper(),
            "requester": "000000000000",
            "reason": "PutObject",
        },
    }


def handler_environment(config: PipelineConfig, folder: WorkFolder) -> dict[str, str]:
    return {
        **function_environment(config),
        "BUCKET_NAME": LOCAL_BUCKET,
        "STATUS_TABLE": str(folder.status),
        "RESULTS_QUEUE_URL": str(folder.results) if config.results_queue.enabled else "",
    }


def load_state_machine(config: PipelineConfig) -> StateMachineSpec:
    """The template's state machine, built from its definition (`etlgen.local.machine`)."""
    from etlgen.local.machine import local_state_machine

    return local_state_machine(config)


def _execution_name(key: str, version_id: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9_-]", "-", Path(key).stem)[:40]
    return f"{stem}-{version_id[:12]}-{uuid.uuid4().hex[:8]}"


def run_file(config: PipelineConfig, csv: Path, workdir: Path, *, workers: int,
             retry_scale: float, listener: Callable[[dict[str, Any]], None] | None = None,
             chunk_size_bytes: int | None = None, pool: LambdaPool | None = None) -> RunReport:
    """Stage the CSV, run the state machine over it, and report what happened.

    `pool`: workers the caller started already (`etlgen run` starts one before it reads
    the config); the run closes it when it ends."""
    check_csv_path(csv)
    check_csv_name(csv, config)
    if workers < 1:
        raise RunInputError(f"--workers must be at least 1, got {workers}")
    if not (math.isfinite(retry_scale) and retry_scale >= 0):
        raise RunInputError(f"--retry-scale must be a number of at least 0, got {retry_scale}")
    folder = WorkFolder(workdir)
    environment = handler_environment(config, folder)
    chunk_size = chunk_size_bytes or os.environ.get(CHUNK_SIZE_VARIABLE)
    if chunk_size:
        environment["CHUNK_SIZE_BYTES"] = str(chunk_size)
    settings = _check_settings(environment)
    # more processes than the Map may run at once would only cost memory and start-up time
    workers = min(workers, config.processing.max_concurrency)
    chunks = planned_chunks(csv.stat().st_size, settings.chunk_size_bytes)
    environment["PROCESS_THREADS"] = str(process_threads(workers, chunks))
    if pool is None:
        pool = LambdaPool(None, workers, preload=HANDLER_MODULES)
    pool.workers = min(pool.workers, workers)
    started = time.monotonic()
    try:
        # the workers import the handlers while the work folder, the state machine and
        # the staged file are prepared
        pool.start(chunks)
        prepare_work_folder(folder)
        status_table = _status_store(folder, config)
        pool.spec = WorkerSpec(
            environment=tuple(sorted(environment.items())),
            bucket_root=str(folder.bucket),
            status_path=str(folder.status),
            queue_path=environment["RESULTS_QUEUE_URL"],
            schema_json=json.dumps(config.schema),
            fault_plan=faults.plan_path(),
            log_path=str(folder.logs),
            catalog_path=str(folder.catalog) if environment["CATALOG_DATABASE"] else "",
        )
        machine = load_state_machine(config)
        key, version_id, size = stage_source(csv, config, folder.bucket)
    except BaseException:
        pool.close()
        raise
    tasks = LocalTasks(machine.resources, pool, status_table, folder.alerts)
    options = Options(retry_scale=retry_scale, max_parallel=workers,
                      state_machine_name=config.name, listener=listener)
    try:
        result = Interpreter(machine.definition, tasks, options).run(
            object_created_event(SourceRef(key=key, bucket=LOCAL_BUCKET, size=size,
                                           version_id=version_id)),
            name=_execution_name(key, version_id))
    finally:
        pool.close()
        # after the workers: the last connection to close folds the WAL into the file
        status_table.store.close()
    report = _report(result, csv, key, version_id, size, time.monotonic() - started,
                     environment, folder)
    report.worker_restarts = pool.restarts
    return report


def planned_chunks(size: int, chunk_size_bytes: int) -> int:
    """About how many chunks the split step will plan for a file of `size` bytes: how many
    workers are worth starting before it runs (a one-chunk file needs one)."""
    return max(1, math.ceil(size / chunk_size_bytes))


def process_threads(workers: int, chunks: int) -> int:
    """Pieces each process step checks side by side: the cores this run may use, shared
    among the workers that run chunks at once. On Lambda each container has its own cores;
    here the workers share the machine's, and more threads than cores only contend (two
    workers of two threads on 2 cores took a third longer over a 1 GB file, most of it in
    the kernel)."""
    return max(1, usable_cores() // max(1, min(workers, chunks)))


def _check_settings(environment: dict[str, str]) -> Settings:
    try:
        return Settings.from_env(environment)
    except SettingsError as error:
        raise EtlgenError(f"handler settings: {error}") from None


def _status_store(folder: WorkFolder, config: PipelineConfig) -> LocalStatusTable:
    import sqlite3

    from handlers.status import SqliteStatusStore

    try:
        return LocalStatusTable(SqliteStatusStore(str(folder.status),
                                                  ttl_days=config.retention.status_ttl_days))
    except sqlite3.DatabaseError as error:
        raise RunInputError(f"--workdir {folder.root}: {folder.status} is not a status "
                            f"store ({error}); move it away or use another --workdir") from None


def _report(result: ExecutionResult, csv: Path, key: str, version_id: str, size: int,
            seconds: float, environment: dict[str, str], folder: WorkFolder) -> RunReport:
    report = RunReport(status=result.status, file=str(csv), key=key, version_id=version_id,
                       size_bytes=size, seconds=seconds, error=result.error, cause=result.cause,
                       execution=result)
    for event in result.history:
        report.add(event)
    summary = result.output if isinstance(result.output, dict) else {}
    if result.status == "SUCCEEDED" and ALREADY_PROCESSED_STATE in result.states_entered():
        report.status = "ALREADY_PROCESSED"
        summary = {}
    for name in ROW_COUNTS:  # finalize's reconciled counts win over the chunk tally
        recorded = summary.get(name)
        if isinstance(recorded, int):
            setattr(report, name, recorded)
    reasons = summary.get("top_rejections")
    report.top_rejections = reasons if isinstance(reasons, list) else []
    partitions = summary.get("partitions")
    report.partitions = partitions if isinstance(partitions, int) else None
    layout = OutputLayout.of(Settings.from_env(environment), key, version_id)
    candidates = {
        "processed": folder.bucket / layout.processed_root,
        "manifest": folder.bucket / layout.manifest_key,
        "rejected": folder.bucket / layout.rejected_root,
        "catalog": folder.catalog,
        "status": folder.status,
        "results": folder.results,
        "alerts": folder.alerts,
        "handler_logs": folder.logs,
    }
    report.outputs = {name: str(path) for name, path in candidates.items() if path.exists()}
    return report
