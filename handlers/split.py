"""Step 2: plan the chunks (byte ranges on record boundaries). Copies no data."""

from __future__ import annotations

from typing import Any

from handlers.chunk_plan import plan_chunks
from handlers.deps import Deps
from handlers.errors import SourceChanged
from handlers.logs import log
from handlers.objects import ObjectMissing
from handlers.runtime import container_deps


def handle(event: dict, deps: Deps) -> dict:
    file = event["file"]
    key, version_id = file["key"], file.get("version_id") or None
    settings = deps.settings
    logger = log.bind(step="split", file_id=file["file_id"])

    def read(start: int, end: int) -> bytes:
        try:
            return deps.objects.read_range(key, start, end, version_id)
        except ObjectMissing as error:
            raise SourceChanged(f"{key}: {error}") from None

    plan = plan_chunks(read, int(file["data_offset"]), int(file["size"]),
                       settings.chunk_size_bytes, settings.max_chunks, settings.csv_delimiter)
    if plan.chunk_size != settings.chunk_size_bytes:
        logger.info("chunk size grown to stay within MAX_CHUNKS",
                    configured_chunk_size=settings.chunk_size_bytes,
                    chunk_size=plan.chunk_size, max_chunks=settings.max_chunks)
    logger.info("chunks planned", chunk_count=len(plan.ranges), chunk_size=plan.chunk_size,
                bytes_read=plan.bytes_read, requests=plan.requests,
                proven_by_window=plan.proven_by_window,
                proven_by_reading_back=plan.proven_by_reading_back)
    return plan.as_result()


def lambda_handler(event: dict, context: Any) -> dict:
    return handle(event, container_deps())
