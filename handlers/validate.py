"""Step 1: is the new object a CSV whose header fits the schema? Records the file as RUNNING.

A version already COMPLETED under the same run identity (`handlers.identity`) comes back
with status COMPLETED and the workflow ends there. One COMPLETED under another identity (the
schema, the CSV settings, the output settings or the code changed since) is processed again
and committed anew. The file record (`handlers.events.FileRecord`) carries the identity to
the later steps, with the time the file's ingest started (`ingested_at`): a re-run
of a version that has not committed under this identity keeps the time of its first run,
so chunks staged then are reused and every row of the file carries one time and one
`ingest_date`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from handlers.deps import Deps
from handlers.errors import SourceChanged
from handlers.events import FileRecord, ValidateEvent
from handlers.file_head import inspect_head
from handlers.identity import run_identity
from handlers.layout import file_id as make_file_id
from handlers.lineage import instant_text
from handlers.logs import log
from handlers.objects import ObjectMissing, source_reader
from handlers.row_validator import compiled_validator
from handlers.runtime import container_deps
from handlers.status import COMPLETED, FileItem


def handle(event: dict[str, Any], deps: Deps) -> dict[str, Any]:
    request = ValidateEvent.from_event(event)
    source = request.source
    bucket, key = source.bucket or deps.settings.bucket_name, source.key
    version_id = source.version_id
    file_id = make_file_id(key, version_id)
    logger = log.bind(step="validate", file_id=file_id)
    identity = run_identity(deps.settings, deps.schema).file

    done = deps.status.get_file(file_id)
    ingested_at = _ingested_at(done, identity)

    def record(size: int, header: list[str], data_offset: int, status: str) -> FileRecord:
        return FileRecord(file_id=file_id, bucket=bucket, key=key, version_id=version_id,
                          size=size, header=tuple(header), data_offset=data_offset,
                          status=status, ingested_at=ingested_at, identity=identity)

    if done is not None and done.get("status") == COMPLETED:
        if done.get("identity") == identity:
            logger.info("already processed", status=COMPLETED)
            return record(int(done.get("size", 0)), list(done.get("header", [])),
                          int(done.get("data_offset", 0)), COMPLETED).to_event()
        logger.info("processed before under another identity: processing again",
                    previous_identity=done.get("identity"), identity=identity)
    try:
        info = deps.objects.head(key, version_id)
    except ObjectMissing as error:
        raise SourceChanged(f"{key}: {error}") from None
    if source.size is not None and source.size != info.size:
        raise SourceChanged(f"{key}: the event says {source.size} bytes but the object has "
                            f"{info.size}: it changed after the event")

    validator = compiled_validator(deps.schema)
    head = inspect_head(source_reader(deps.objects, key, version_id), info.size, key=key,
                        delimiter=deps.settings.csv_delimiter,
                        encoding=deps.settings.csv_encoding, columns=validator.columns,
                        required=validator.required)
    item, started = deps.status.start_file(file_id, {
        "bucket": bucket, "key": key, "version_id": version_id or "null", "size": info.size,
        "execution_id": request.execution_id or "", "header": head.header,
        "data_offset": head.data_offset, "identity": identity, "ingested_at": ingested_at,
    })
    status = item["status"] if started else COMPLETED
    logger.info("header accepted", size=info.size, columns=len(head.header),
                data_offset=head.data_offset, status=status)
    return record(info.size, head.header, head.data_offset, status).to_event()


def _ingested_at(item: FileItem | None, identity: str) -> str:
    """The recorded start of this version's ingest under this identity, else now."""
    recorded = (item or {}).get("ingested_at")
    if item is not None and item.get("identity") == identity and isinstance(recorded, str):
        return recorded
    return instant_text(datetime.now(UTC))


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, container_deps())
