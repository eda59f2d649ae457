"""etlgen's process step on one chunk that is the whole file, in this process: the Lambda
handler (`handlers.process.handle`) with its local back ends (a folder for S3, SQLite for
DynamoDB), as a warm container runs it for each chunk it is given. The dataset layout of
`pipeline.yaml`'s defaults: `ingest_date` partitions and the lineage columns on."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.contenders.counts import Counts

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schemas" / "transactions.schema.json"


def environment(chunk_bytes: int, schema_file: Path = SCHEMA_FILE) -> dict[str, str]:
    """The process function's variables, with one chunk covering `chunk_bytes`."""
    return {"PIPELINE_NAME": "bench", "CHUNK_SIZE_MB": "64", "CHUNK_SIZE_BYTES": str(chunk_bytes),
            "MAX_CHUNKS": "2000", "CSV_DELIMITER": ",", "CSV_ENCODING": "utf-8",
            "INCOMING_PREFIX": "incoming/", "PROCESSED_PREFIX": "processed/",
            "REJECTED_PREFIX": "rejected/", "STAGING_PREFIX": "staging/",
            "OUTPUT_FORMAT": "parquet", "CATALOG_DATABASE": "", "CATALOG_TABLE": "bench",
            "PARTITION_BY": "ingest_date", "LINEAGE": "true",
            "MAX_REJECT_RATE": "1", "STATUS_TTL_DAYS": "1", "METRICS_NAMESPACE": "bench",
            "SCHEMA_FILE": str(schema_file)}


class _Container:
    """What a warm Lambda container keeps between calls: its wiring and a status store.
    Every call is a new chunk index, so none is skipped as already done."""

    def __init__(self) -> None:
        self.work = tempfile.TemporaryDirectory(prefix="etlgen-bench-process-")
        self.bucket = Path(self.work.name) / "bucket"
        (self.bucket / "incoming").mkdir(parents=True)
        self.calls = 0
        self.linked: dict[Path, str] = {}

    def key_of(self, csv_path: Path) -> str:
        if csv_path not in self.linked:
            key = f"incoming/tx-{len(self.linked)}.csv"
            os.link(csv_path, self.bucket / key)
            self.linked[csv_path] = key
        return self.linked[csv_path]


_container: _Container | None = None


def validate(csv_path: Path, out_dir: Path, schema: dict[str, Any]) -> Counts:
    """The step stages its outputs in the bucket folder, as on S3; they are then linked
    (not copied) into `out_dir` as `valid.parquet` and `rejected.jsonl`."""
    from handlers import process
    from handlers.deps import Deps
    from handlers.file_head import inspect_head
    from handlers.identity import run_identity
    from handlers.layout import OutputLayout
    from handlers.local_objects import LocalObjectStore
    from handlers.metrics import CollectingMetrics
    from handlers.settings import Settings
    from handlers.status import SqliteStatusStore

    global _container
    if _container is None:
        _container = _Container()
    container = _container
    key = container.key_of(csv_path)
    size = csv_path.stat().st_size
    objects = LocalObjectStore(container.bucket)
    deps = Deps(settings=Settings.from_env(environment(size)), objects=objects,
                status=SqliteStatusStore(Path(container.work.name) / "status.sqlite"),
                queue=None, metrics=CollectingMetrics(), schema=schema)
    with csv_path.open("rb") as handle:
        head = inspect_head(lambda s, e: (handle.seek(s), handle.read(e - s))[1], size,
                            key=key, delimiter=",", encoding="utf-8",
                            columns=list(schema["properties"]), required=schema["required"])
    file_id, version_id = f"{key}#bench", "bench"
    file = {"file_id": file_id, "bucket": "bench", "key": key, "version_id": version_id,
            "size": size, "header": head.header, "data_offset": head.data_offset,
            "status": "RUNNING", "ingested_at": "2026-01-01T00:00:00.000000Z"}
    container.calls += 1
    chunk = {"index": container.calls, "start": head.data_offset, "end": size}
    result = process.handle({"file": file, "chunk": chunk}, deps)
    item = next(item for item in deps.status.list_chunks(file_id)
                if int(item["index"]) == chunk["index"])
    layout = OutputLayout.of(deps.settings, key, version_id)
    identity = run_identity(deps.settings, deps.schema).short
    valid_parts = [layout.staged_output_key(identity, chunk["index"], chunk["start"],
                                            chunk["end"], str(value))
                   for value in item.get("partitions") or []]
    if not valid_parts:  # no valid row: the step writes no part; readers expect an empty one
        import pyarrow.parquet as pq

        from handlers.formats.format import stored_schema
        from handlers.lineage import output_schema
        from handlers.row_validator import compiled_validator
        columns = stored_schema(output_schema(compiled_validator(schema).output_schema,
                                              deps.settings.lineage))
        pq.write_table(columns.empty_table(), out_dir / "valid.parquet")
    for name, staged in (("valid.parquet", valid_parts[0] if valid_parts else None),
                         ("rejected.jsonl", item.get("staged_rejected_key"))):
        if staged:
            os.link(objects.path_of(staged), out_dir / name)
    return Counts(rows_in=int(result["rows_in"]), rows_valid=int(result["rows_valid"]),
                  rows_rejected=int(result["rows_rejected"]))
