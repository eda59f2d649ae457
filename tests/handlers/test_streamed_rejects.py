"""Rejected rows are streamed out, never held whole: on S3 a multipart upload in parts of
8 MiB (one PutObject below that), aborted when the chunk fails; the bytes are the same
either way, and the memory a chunk takes does not grow with its rejects, even when they
are many times larger than the chunk (rows of a few bytes, each a line of hundreds)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from handlers import objects, process
from handlers.objects import PART_BYTES, S3ObjectStore
from tests.handlers.conftest import BUCKET, Pipeline
from tests.handlers.reject_equivalence import tiny_rows_file

ROOT = Path(__file__).resolve().parents[2]


def _staged_rejects(pipeline: Pipeline, data: bytes, key: str, **env: str) -> tuple[bytes, str]:
    """The staged rejected object of a one-chunk file, and its ETag."""
    deps = pipeline.deps(CHUNK_SIZE_BYTES=str(64 * 1024 * 1024), LINEAGE="false", **env)
    source = pipeline.upload(data, key)
    from handlers import split, validate

    file = validate.handle({"source": source, "execution_id": "e"}, deps)
    (chunk,) = split.handle({"file": file}, deps)["chunks"]
    process.handle({"file": file, "chunk": chunk}, deps)
    (item,) = deps.status.list_chunks(file["file_id"])
    staged = str(item["staged_rejected_key"])
    head = pipeline.s3.head_object(Bucket=BUCKET, Key=staged)
    return pipeline.body(staged), str(head["ETag"])


def test_a_multipart_rejected_object_equals_the_single_put_one(
        pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tiny_rows_file(70_000)  # 530 KB of rows like `,,,,,,`: 22 MB of rejects
    streamed, streamed_tag = _staged_rejects(pipeline, data, "incoming/a.csv")
    assert len(streamed) > 2 * PART_BYTES and len(streamed) > 40 * len(data)
    assert int(streamed_tag.strip('"').split("-")[1]) >= 2  # parts of 8 MiB and the rest
    monkeypatch.setattr(objects, "PART_BYTES", 64 * 1024 * 1024)
    whole, whole_tag = _staged_rejects(pipeline, data, "incoming/b.csv")
    assert "-" not in whole_tag  # one PutObject
    assert streamed == whole
    lines = streamed.decode().split("\n")
    assert lines[-1] == "" and len(lines) - 1 == 70_000
    assert json.loads(lines[0])["errors"][0] == {
        "field": "transaction_id", "kind": "required", "message": "a value is required"}


def test_a_small_rejected_object_is_one_put(pipeline: Pipeline) -> None:
    writer = S3ObjectStore(pipeline.s3, BUCKET).open_writer("staging/x.jsonl", "text/plain")
    writer.write(b'{"a": 1}\n')
    writer.write(memoryview(b'{"b": 2}\n'))
    assert writer.commit() == 18
    writer.abort()  # after a commit: nothing to undo
    reply = pipeline.s3.get_object(Bucket=BUCKET, Key="staging/x.jsonl")
    assert reply["Body"].read() == b'{"a": 1}\n{"b": 2}\n'
    assert reply["ContentType"] == "text/plain" and "-" not in reply["ETag"]


def test_a_failed_upload_is_aborted_and_leaves_nothing(pipeline: Pipeline) -> None:
    writer = S3ObjectStore(pipeline.s3, BUCKET).open_writer("staging/y.jsonl")
    writer.write(b"x" * (PART_BYTES + 10))  # one part uploaded, ten bytes waiting
    assert pipeline.s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads")
    writer.abort()
    assert not pipeline.s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads")
    assert pipeline.keys("staging/") == []


def test_a_failing_chunk_aborts_its_upload(pipeline: Pipeline,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args: Any) -> list[str]:
        raise RuntimeError("the valid rows could not be uploaded")

    monkeypatch.setattr(process.PartitionedRows, "upload", broken)
    with pytest.raises(RuntimeError):
        _staged_rejects(pipeline, tiny_rows_file(), "incoming/c.csv")
    assert not pipeline.s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads")
    assert pipeline.keys("staging/") == []


MEASURE = """
    import json, resource, sys, tempfile
    from pathlib import Path
    from benchmarks.contenders.etlgen_process import validate
    schema = json.loads(Path("schemas/transactions.schema.json").read_text())
    path = Path(sys.argv[1])
    with tempfile.TemporaryDirectory() as warm, tempfile.TemporaryDirectory() as out:
        validate(Path(sys.argv[2]), Path(warm), schema)  # warm: libraries, pools, caches
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        counts = validate(path, Path(out), schema)
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        rejected = Path(out, "rejected.jsonl").stat().st_size
    print(json.dumps({"grown_mib": (after - before) / 1024, "rejected": rejected,
                      "rows": counts.rows_rejected}))
"""


def _peak_growth(tmp_path: Path, data: bytes) -> dict[str, Any]:
    """RSS peak growth of one chunk processed after a small warm-up chunk, in a fresh
    interpreter (the benchmark's process-step contender: the handler on local back ends)."""
    path, warm = tmp_path / "chunk.csv", tmp_path / "warm.csv"
    path.write_bytes(data)
    warm.write_bytes(data[: data.index(b"\n", 200_000) + 1])
    reply = subprocess.run([sys.executable, "-c", textwrap.dedent(MEASURE), str(path),
                            str(warm)], cwd=ROOT, capture_output=True, text=True,
                           check=False, timeout=600)
    assert reply.returncode == 0, reply.stderr[-3000:]
    found: dict[str, Any] = json.loads(reply.stdout.strip().splitlines()[-1])
    return found


def test_a_fully_invalid_chunk_stays_well_within_the_memory_rule(tmp_path: Path) -> None:
    """~30 MB, every row invalid: before streaming, the rejects alone took 20 x the chunk."""
    from benchmarks.generate import variant

    data = variant(tmp_path / "v.csv", 30 * 1024 * 1024, 100, seed=5).read_bytes()
    found = _peak_growth(tmp_path, data)
    assert found["rows"] > 400_000 and found["rejected"] > 2 * len(data)
    assert found["grown_mib"] * 1024 * 1024 < 6 * len(data)  # the rule: memory >= 8 x chunk


def test_rejects_many_times_the_chunk_take_no_more_memory(tmp_path: Path) -> None:
    """6 MB of rows like `,,,,,,` (about 270 MB of rejected lines): the memory taken is
    a part of the rejects' size (what it takes is the parse of 850,000 rows, about 120
    bytes a row, not their lines)."""
    lines = [",,,,,,", ",,,,,", "a,,,,,,", ",,,,,,,", '"",,,,,,'] * 170_000
    data = ("transaction_id,account_id,transaction_date,amount,currency,merchant,category\n"
            + "\n".join(lines) + "\n").encode()
    found = _peak_growth(tmp_path, data)
    assert found["rows"] == len(lines) and found["rejected"] > 40 * len(data)
    assert found["grown_mib"] * 1024 * 1024 < found["rejected"] / 2
