"""A record larger than the process function can hold (memory / 8, /tmp / 2) is one
rejected row with its offset and a reason, never a failed file: the plan gives it a chunk
of its own, flagged `oversized`, and the process step rejects it without loading it.

On moto S3 through the handlers; PROCESS_MEMORY_MB=1 makes the limit 128 KiB.
"""

from __future__ import annotations

import json
import math
import random
from typing import Any

import pytest

from handlers import process, split, validate
from handlers.errors import ChunkPlanError
from handlers.oversized import RAW_PREFIX_BYTES, RAW_PREFIX_CHARS, oversized_reject
from handlers.settings import Settings
from tests.handlers.conftest import Pipeline, base_env
from tests.handlers.handler_expected import records_with_offsets, split_expected
from tests.handlers.handler_rows import build_file, mixed_rows, valid_row

LIMIT = 128 * 1024  # functions.memory_mb 1, 8 x the chunk
SMALL = {"CHUNK_SIZE_BYTES": "20000", "PROCESS_MEMORY_MB": "1", "PROCESS_STORAGE_MB": "512"}
NOTE = "".join(f"Café line {n}: see \"attached\", ok\r\n" for n in range(6000))  # ~200 KB


def file_with_long_record(newline: str = "\n") -> tuple[bytes, int, int, str]:
    """(data, offset of the long record, its end, its raw text): 300 rows, one row whose
    merchant is a ~200 KB quoted multi-line note, 300 rows (some rows invalid)."""
    rows = mixed_rows(600, seed=5)
    long_row = valid_row(random.Random(1), 99_999)
    long_row[5] = NOTE
    data, placed = build_file([*rows[:300], long_row, *rows[300:]], newline=newline)
    record = placed[300]
    return data, record.offset, record.offset + len(record.raw.encode()), record.raw


def run(pipeline: Pipeline, data: bytes, **env: str) -> tuple[dict, Any, Any]:
    deps = pipeline.deps(**{**SMALL, **env})
    source = pipeline.upload(data)
    return source, pipeline.run(source, deps), deps


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_an_oversized_record_is_rejected_and_the_file_completes(pipeline: Pipeline,
                                                                newline: str) -> None:
    data, start, stop, raw = file_with_long_record(newline)
    assert stop - start > LIMIT
    source, outcome, deps = run(pipeline, data)
    assert outcome.error is None, outcome.error
    flagged = [c for c in outcome.plan["chunks"] if c.get("oversized")]
    assert flagged == [{"index": flagged[0]["index"], "start": start,
                        "end": stop + len(newline), "oversized": True}]
    others = [c for c in outcome.plan["chunks"] if not c.get("oversized")]
    assert all(c["end"] - c["start"] <= LIMIT for c in others)

    # every other row exactly as Python's csv + jsonschema say; the long one rejected
    _, rows = records_with_offsets(data)
    expected_valid, expected_rejects = split_expected([r for r in rows if r.offset != start])
    assert pipeline.valid_rows(source, deps) == expected_valid
    rejects = pipeline.rejects(source, deps)
    assert [(r["offset"], r["raw"]) for r in rejects if r["offset"] != start] == \
        expected_rejects
    (long_reject,) = [r for r in rejects if r["offset"] == start]
    assert long_reject["truncated"] is True
    assert long_reject["raw"].startswith(raw[:RAW_PREFIX_CHARS])
    assert long_reject["raw"][RAW_PREFIX_CHARS:] == (
        f"[... truncated: the record has {stop - start:,} bytes, {RAW_PREFIX_CHARS} "
        "characters shown]")
    (error,) = long_reject["errors"]
    assert error == {"field": None, "kind": "oversized", "message": (
        f"record of {stop - start:,} bytes at bytes {start}-{stop} of the source is larger "
        "than the 128 KiB the process function can hold (functions.memory_mb 1 (8 x the "
        "chunk)): not loaded; raise functions.memory_mb to load it")}

    summary = outcome.summary
    assert summary["status"] == "COMPLETED"
    assert summary["rows_in"] == len(rows) == 601
    assert summary["rows_rejected"] == len(expected_rejects) + 1
    assert summary["rows_valid"] + summary["rows_rejected"] == summary["rows_in"]
    manifest = json.loads(pipeline.body(pipeline.layout(source, deps).manifest_key))
    assert manifest["counts"] == {name: summary[name]
                                  for name in ("rows_in", "rows_valid", "rows_rejected")}
    part = next(p for p in manifest["parts"] if p["start"] == start)
    assert (part["rows_in"], part["rows_valid"], part["rows_rejected"]) == (1, 0, 1)


def test_the_process_step_reads_only_the_head_and_tail_of_an_oversized_record(
        pipeline: Pipeline) -> None:
    data, start, stop, _ = file_with_long_record()
    deps = pipeline.deps(**SMALL)
    source = pipeline.upload(data)
    file = validate.handle({"source": source, "execution_id": "exec-1"}, deps)
    chunk = next(c for c in split.handle({"file": file}, deps)["chunks"]
                 if c.get("oversized"))
    reads: list[tuple[int, int]] = []
    read_range = deps.objects.read_range

    def recording(key: str, a: int, b: int, version_id: str | None = None) -> bytes:
        reads.append((a, b))
        return read_range(key, a, b, version_id)

    deps.objects.read_range = recording  # type: ignore[method-assign]
    counts = process.handle({"file": file, "chunk": chunk}, deps)
    assert (counts["rows_in"], counts["rows_rejected"]) == (1, 1)
    assert reads == [(start, start + RAW_PREFIX_BYTES), (stop - 1, stop + 1)]


def test_more_memory_loads_the_same_record_and_gives_its_real_verdict(
        pipeline: Pipeline) -> None:
    """The limit is part of the chunks' identity: re-run with functions.memory_mb 3072 and
    the record is loaded (and rejected for what it holds: a 200 KB merchant)."""
    data, start, _, raw = file_with_long_record()
    source = pipeline.upload(data)
    first = pipeline.run(source, pipeline.deps(**SMALL))
    assert first.summary["status"] == "COMPLETED"
    deps = pipeline.deps(**{**SMALL, "PROCESS_MEMORY_MB": "3072"})
    second = pipeline.run(source, deps)
    assert second.error is None and second.file["identity"] != first.file["identity"]
    assert not any(c.get("oversized") for c in second.plan["chunks"])
    (long_reject,) = [r for r in pipeline.rejects(source, deps) if r["offset"] == start]
    assert long_reject["raw"] == raw and "truncated" not in long_reject
    assert [e["field"] for e in long_reject["errors"]] == ["merchant"]


def test_a_long_record_that_fits_is_processed_as_today(pipeline: Pipeline) -> None:
    data, start, _, _ = file_with_long_record()
    _, outcome, _ = run(pipeline, data, PROCESS_MEMORY_MB="3072", PROCESS_STORAGE_MB="768")
    assert outcome.error is None
    holding = [c for c in outcome.plan["chunks"] if c["start"] <= start < c["end"]]
    assert len(holding) == 1 and "oversized" not in holding[0]
    assert holding[0]["start"] < start  # grown, not cut: it fits


def chunk_count_file() -> bytes:
    """Rows up to ~50 KB, a ~140 KB record, rows up to ~290 KB: with 100,000-byte chunks
    3 are planned, and isolating the record adds the rows before it as a fourth."""
    rows = mixed_rows(720, seed=3)
    long_row = valid_row(random.Random(2), 77_777)
    long_row[5] = NOTE[:140_000]
    data, _ = build_file([*rows[:700], long_row, *rows[700:], *mixed_rows(1300, seed=4)])
    return data


def test_isolating_records_past_max_chunks_is_refused_at_plan_time(pipeline: Pipeline) -> None:
    data = chunk_count_file()
    env = {**SMALL, "CHUNK_SIZE_BYTES": "100000", "MAX_CHUNKS": "3"}
    assert 200_000 < len(data) < 300_000
    source = pipeline.upload(data)
    deps = pipeline.deps(**env)
    outcome = pipeline.run(source, deps)
    assert isinstance(outcome.error, ChunkPlanError)
    message = str(outcome.error)
    assert "makes 4 chunks, more than processing.max_chunks 3" in message
    assert "functions.memory_mb" in message and "MAX_CHUNKS" not in message
    assert "\n" not in message
    allowed = pipeline.run(source, pipeline.deps(**{**env, "MAX_CHUNKS": "4"}))
    assert allowed.error is None and allowed.plan["chunk_count"] == 4


def test_with_the_limit_twice_the_chunk_size_isolation_stays_within_max_chunks(
        pipeline: Pipeline) -> None:
    """A range grown past twice the chunk size covers the next mark, whose chunk it saves:
    a file whose marks give exactly max_chunks chunks is planned within max_chunks."""
    data, _, _, _ = file_with_long_record()
    span = len(data) - data.index(b"\n") - 1
    max_chunks = math.ceil(span / (LIMIT // 2))
    env = {**SMALL, "CHUNK_SIZE_BYTES": str(LIMIT // 2), "MAX_CHUNKS": str(max_chunks)}
    _, outcome, _ = run(pipeline, data, **env)
    assert outcome.error is None, outcome.error
    assert sum(1 for c in outcome.plan["chunks"] if c.get("oversized")) == 1
    assert outcome.plan["chunk_count"] <= max_chunks


@pytest.mark.parametrize(("encoding", "text"), [("utf-8", "é" * 3000),
                                                ("utf-8", "\U0001f600" * 1500),
                                                ("latin-1", "é" * 3000)])
def test_the_raw_prefix_is_the_first_characters_decoded_like_other_rejects(
        encoding: str, text: str) -> None:
    record = f'TX1,"{text}"\n'.encode(encoding)
    settings = Settings.from_env(base_env(CSV_ENCODING=encoding, PROCESS_MEMORY_MB="1"))
    reject = oversized_reject(lambda a, b: record[a:b], 0, len(record), settings)
    assert reject["raw"] == f'TX1,"{text}'[:RAW_PREFIX_CHARS] + \
        f"[... truncated: the record has {len(record) - 1:,} bytes, 1000 characters shown]"


def test_a_short_flagged_record_is_shown_whole_and_bad_bytes_as_escapes() -> None:
    record = b'TX1,"caf\xe9"\r\n'
    settings = Settings.from_env(base_env(PROCESS_MEMORY_MB="1"))
    reject = oversized_reject(lambda a, b: record[a:b], 0, len(record), settings)
    assert reject["raw"] == 'TX1,"caf\\xe9"' and reject["truncated"] is False
    assert "record of 10 bytes at bytes 0-10 of the source" in reject["errors"][0]["message"]
