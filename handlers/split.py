"""Step 2: plan the chunks (byte ranges on record boundaries). Copies no data."""

from __future__ import annotations

from typing import Any

from handlers.chunk_plan import plan_chunks
from handlers.deps import Deps
from handlers.errors import ChunkPlanError, SourceChanged
from handlers.logs import log
from handlers.objects import ObjectMissing
from handlers.runtime import container_deps
from handlers.settings import MIB, Settings


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
        logger.info("chunk size grown to stay within processing.max_chunks",
                    configured_chunk_size=settings.chunk_size_bytes,
                    chunk_size=plan.chunk_size, max_chunks=settings.max_chunks)
    logger.info("chunks planned", chunk_count=len(plan.ranges), chunk_size=plan.chunk_size,
                bytes_read=plan.bytes_read, requests=plan.requests,
                proven_by_window=plan.proven_by_window,
                proven_by_reading_back=plan.proven_by_reading_back)
    result = plan.as_result()
    _check_process_can_take(plan.chunk_size, int(file["size"]), settings)
    return result


def _check_process_can_take(chunk_size: int, size: int, settings: Settings) -> None:
    """A file larger than chunk_size_mb x max_chunks gets larger chunks: refuse, at plan
    time and for good, a chunk size the process function has no memory or /tmp for.

    Only the planned size counts: a chunk that grew past it to hold one long record is
    the process step's to handle."""
    limit = settings.largest_chunk_bytes()
    if limit is None or chunk_size <= limit[0]:
        return
    raise ChunkPlanError(
        f"a file of {size / MIB:,.0f} MiB needs chunks of {chunk_size / MIB:,.1f} MiB "
        f"to stay within processing.max_chunks {settings.max_chunks}, more than the "
        f"{limit[0] / MIB:,.0f} MiB that {limit[1]} allows: raise functions.memory_mb or "
        "processing.max_chunks, or split the file")


def lambda_handler(event: dict, context: Any) -> dict:
    return handle(event, container_deps())
