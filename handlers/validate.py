"""Step 1: is the new object a CSV whose header fits the schema? Records the file as RUNNING.

A version already COMPLETED under the same run identity (`handlers.identity`) comes back
with status COMPLETED and the workflow ends there. One COMPLETED under another identity (the
schema, the CSV settings, the output settings or the code changed since) is processed again
and committed anew. The file record (`handlers.events.FileRecord`) carries the identity to
the later steps.
"""

from __future__ import annotations

from typing import Any

from handlers.deps import Deps
from handlers.errors import SourceChanged
from handlers.events import FileRecord, ValidateEvent
from handlers.file_head import inspect_head
from handlers.identity import run_identity
from handlers.layout import file_id as make_file_id
from handlers.logs import log
from handlers.objects import ObjectMissing, source_reader
from handlers.row_validator import compiled_validator
from handlers.runtime import container_deps
from handlers.status import COMPLETED


def handle(event: dict[str, Any], deps: Deps) -> dict[str, Any]:
    request = ValidateEvent.from_event(event)
    source = request.source
    bucket, key = source.bucket or deps.settings.bucket_name, source.key
    version_id = source.version_id
    file_id = make_file_id(key, version_id)
    logger = log.bind(step="validate", file_id=file_id)
    identity = run_identity(deps.settings, deps.schema).file

    def record(size: int, header: list[str], data_offset: int, status: str) -> FileRecord:
        return FileRecord(file_id=file_id, bucket=bucket, key=key, version_id=version_id,
                          size=size, header=tuple(header), data_offset=data_offset,
                          status=status, identity=identity)

    done = deps.status.get_file(file_id)
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
        "data_offset": head.data_offset, "identity": identity,
    })
    status = item["status"] if started else COMPLETED
    logger.info("header accepted", size=info.size, columns=len(head.header),
                data_offset=head.data_offset, status=status)
    return record(info.size, head.header, head.data_offset, status).to_event()


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, container_deps())
