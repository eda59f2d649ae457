"""Chunks grown past chunk_size_mb (a file larger than chunk_size_mb x max_chunks) are
checked at plan time against what the process function can hold, with a permanent error
that names the config keys."""

from __future__ import annotations

import pytest

from handlers import split
from handlers.errors import PERMANENT_ERRORS, ChunkPlanError
from handlers.settings import MIB, Settings
from tests.handlers.conftest import Pipeline, base_env
from tests.handlers.handler_rows import build_file, mixed_rows

DATA = build_file(mixed_rows(9000))[0]  # about 600 KB


def _plan(pipeline: Pipeline, **env: str) -> dict:
    source = pipeline.upload(DATA)
    deps = pipeline.deps(CHUNK_SIZE_BYTES="20000", **env)
    file = pipeline.run(source, deps).file
    assert file is not None
    return split.handle({"file": file}, deps)


def test_a_file_needing_chunks_larger_than_memory_allows_fails_at_plan_time(
        pipeline: Pipeline) -> None:
    # 2 chunks of ~200 KB each, while 1 MB of memory holds chunks of 128 KiB (8 x).
    with pytest.raises(ChunkPlanError) as raised:
        _plan(pipeline, MAX_CHUNKS="2", PROCESS_MEMORY_MB="1", PROCESS_STORAGE_MB="512")
    message = str(raised.value)
    assert "processing.max_chunks 2" in message and "functions.memory_mb 1" in message
    assert "PROCESS_" not in message and "MAX_CHUNKS" not in message
    assert "ChunkPlanError" in PERMANENT_ERRORS


def test_the_smaller_of_memory_and_tmp_is_the_limit(pipeline: Pipeline) -> None:
    # One chunk of the whole file: 10 MB of memory takes 1280 KiB, 1 MB of /tmp 512 KiB.
    assert 512 * 1024 < len(DATA) < 1280 * 1024
    with pytest.raises(ChunkPlanError, match=r"/tmp of 1 MB \(2 x the chunk\)"):
        _plan(pipeline, MAX_CHUNKS="1", PROCESS_MEMORY_MB="10", PROCESS_STORAGE_MB="1")


def test_grown_chunks_that_fit_are_planned(pipeline: Pipeline) -> None:
    plan = _plan(pipeline, MAX_CHUNKS="2", PROCESS_MEMORY_MB="3072", PROCESS_STORAGE_MB="768")
    assert plan["chunk_count"] == 2


def test_without_the_limits_in_the_environment_nothing_is_checked() -> None:
    settings = Settings.from_env(base_env())
    assert settings.largest_chunk_bytes() is None
    limited = Settings.from_env(base_env(PROCESS_MEMORY_MB="3072", PROCESS_STORAGE_MB="768"))
    assert limited.largest_chunk_bytes() == (384 * MIB, "functions.memory_mb 3072 (8 x the "
                                                         "chunk)")
