"""The split planner's bytes read and time on 1 GiB files (and 10 GiB): ranged reads of a
local file, as the split function reads S3 (the pipeline's default max_chunks, 1000)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from benchmarks.generate import generate, tiled

MIB = 1024 * 1024


def measure_plan(path: Path, chunk_size: int, max_chunks: int = 1000) -> dict[str, Any]:
    from handlers.chunk_plan import plan_chunks

    size = path.stat().st_size
    with path.open("rb") as handle:
        header_end = len(handle.readline())

        def read(start: int, end: int) -> bytes:
            handle.seek(start)
            return handle.read(end - start)

        started = time.perf_counter()
        plan = plan_chunks(read, header_end, size, chunk_size, max_chunks, ",")
        seconds = time.perf_counter() - started
    return {"size": size, "chunks": len(plan.ranges), "bytes_read": plan.bytes_read,
            "requests": plan.requests, "per_chunk_kib": plan.bytes_read / len(plan.ranges) / 1024,
            "seconds": seconds, "read_back": plan.proven_by_reading_back}


def plan_files(data: Path, gigabytes: list[int]) -> list[tuple[str, Path]]:
    """(description, path) of the files the split plan is measured on (generated once)."""
    quoted = generate(data / "block-quoted-8mb.csv", 8)
    plain = generate(data / "block-unquoted-8mb.csv", 8, quoted=False)
    files = []
    for size in gigabytes:
        files.append((f"{size} GiB transactions (quoted merchants)",
                      tiled(data / f"plan-quoted-{size}gb.csv", size * 1024, quoted)))
    files.append(("1 GiB without any quote (worst case: one pass)",
                  tiled(data / "plan-unquoted-1gb.csv", 1024, plain)))
    files.append(("1 GiB, a 4.5 MiB quoted note (lines, no quote) every 12.5 MiB",
                  tiled(data / "plan-long-notes-1gb.csv", 1024, quoted, long_note_mb=4.5)))
    return files


def report(data: Path, ten_gigabytes: bool) -> list[str]:
    lines = []
    for description, path in plan_files(data, [1, 10] if ten_gigabytes else [1]):
        for chunk_mib in (64, 8):
            split = measure_plan(path, chunk_mib * MIB)
            lines.append(
                f"split plan, {description}, {chunk_mib} MiB chunks: {split['chunks']} chunks, "
                f"{split['bytes_read']:,} bytes read in {split['requests']} requests "
                f"({split['per_chunk_kib']:.1f} KiB per chunk, "
                f"{split['bytes_read'] / split['size']:.1%} of the file), "
                f"{split['read_back']} cuts proven by reading back, {split['seconds']:.2f} s")
    return lines
