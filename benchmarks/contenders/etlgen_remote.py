"""etlgen's process step with its source read as from S3 instead of the page cache: each
ranged read waits `FIRST_BYTE_SECONDS` plus its size at `REQUEST_MB_PER_SECOND` (one
request's stream; requests side by side each get their own) before the bytes come back.

`validate` is the step as shipped (8 MiB blocks, two side by side, the first pieces checked
while the rest is read); `validate_in_one_read` reads the chunk in one request before any
check, as the step did before, to show what the overlap is worth. The rates are
assumptions, not measurements of S3: a Lambda function's one GET stream is commonly quoted
near 90 MB/s, and S3 serves byte ranges of one object side by side.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks.contenders import etlgen_process
from benchmarks.contenders.counts import Counts

REQUEST_MB_PER_SECOND = 90.0
FIRST_BYTE_SECONDS = 0.03


@contextmanager
def _remote_reads(block_bytes: int | None = None) -> Iterator[None]:
    """Reads of the source as from S3 (and `block_bytes` per read) while the step runs;
    both put back after, so nothing else in the process is changed."""
    from handlers import arriving
    from handlers.local_objects import LocalObjectStore

    local, blocks = LocalObjectStore.read_into, arriving.BLOCK_BYTES

    def read_into(self: LocalObjectStore, key: str, start: int, into: memoryview,
                  version_id: str | None = None) -> int:
        if key.startswith("incoming/"):  # the source; staged parts stay local
            time.sleep(FIRST_BYTE_SECONDS + len(into) / (REQUEST_MB_PER_SECOND * 1e6))
        return local(self, key, start, into, version_id)

    LocalObjectStore.read_into = read_into  # type: ignore[method-assign]
    arriving.BLOCK_BYTES = block_bytes or blocks
    try:
        yield
    finally:
        LocalObjectStore.read_into = local  # type: ignore[method-assign]
        arriving.BLOCK_BYTES = blocks


def validate(csv_path: Path, out_dir: Path, schema: dict[str, Any]) -> Counts:
    with _remote_reads():
        return etlgen_process.validate(csv_path, out_dir, schema)


def validate_in_one_read(csv_path: Path, out_dir: Path, schema: dict[str, Any]) -> Counts:
    with _remote_reads(block_bytes=1 << 62):
        return etlgen_process.validate(csv_path, out_dir, schema)
