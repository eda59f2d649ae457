"""Step 2: plan the chunks (byte ranges on record boundaries). Copies no data.

A record larger than the process function can hold gets a chunk of its own, flagged
`oversized`: the process step rejects it without loading it (see `handlers.chunk_plan`).
"""

from __future__ import annotations

from typing import Any

from handlers.chunk_plan import ChunkPlan, effective_chunk_size, plan_chunks
from handlers.deps import Deps
from handlers.errors import ChunkPlanError
from handlers.events import SplitEvent
from handlers.logs import log
from handlers.objects import source_reader
from handlers.runtime import container_deps
from handlers.settings import MIB, Settings


def handle(event: dict[str, Any], deps: Deps) -> dict[str, Any]:
    file = SplitEvent.from_event(event).file
    settings = deps.settings
    logger = log.bind(step="split", file_id=file.file_id)
    read = source_reader(deps.objects, file.key, file.version_id)
    data_offset, size = file.data_offset, file.size
    planned_size = effective_chunk_size(size - data_offset, settings.chunk_size_bytes,
                                        settings.max_chunks)
    _check_process_can_take(planned_size, size, settings)
    limit = settings.largest_chunk_bytes()
    plan = plan_chunks(read, data_offset, size, settings.chunk_size_bytes,
                       settings.max_chunks, settings.csv_delimiter,
                       process_limit=limit[0] if limit else None)
    if plan.chunk_size != settings.chunk_size_bytes:
        logger.info("chunk size grown to stay within processing.max_chunks",
                    configured_chunk_size=settings.chunk_size_bytes,
                    chunk_size=plan.chunk_size, max_chunks=settings.max_chunks)
    logger.info("chunks planned", chunk_count=len(plan.ranges), chunk_size=plan.chunk_size,
                bytes_read=plan.bytes_read, requests=plan.requests,
                proven_by_window=plan.proven_by_window,
                proven_by_reading_back=plan.proven_by_reading_back,
                oversized=len(plan.oversized))
    _check_chunk_count(plan, file.key, settings)
    return plan.as_result()


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


def _check_chunk_count(plan: ChunkPlan, key: str, settings: Settings) -> None:
    """Isolating a long record may add a chunk (the rows before it); more chunks than
    processing.max_chunks could overflow the execution's history: refuse the file.

    Only possible when the chunk size is more than half of what the process function can
    hold (a range grown past the limit then covers another mark, whose chunk it saves)."""
    if len(plan.ranges) <= settings.max_chunks:
        return
    limit = settings.largest_chunk_bytes()
    held = f"{limit[0] / MIB:,.1f} MiB ({limit[1]})" if limit else "its limit"
    raise ChunkPlanError(
        f"{key}: giving each of its {len(plan.oversized)} records larger than the "
        f"process function can hold ({held}) a chunk of its own makes {len(plan.ranges)} "
        f"chunks, more than processing.max_chunks {settings.max_chunks}: raise "
        "functions.memory_mb or processing.max_chunks, or split the file")


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, container_deps())
