"""A record larger than the process function can hold, through `etlgen run`: the limit
comes from the config (functions.memory_mb 128 holds 16 MiB), the record gets a chunk of
its own and one rejected row; every other row is exactly what Python's `csv` +
`jsonschema` say, the counts reconcile and the file is committed."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from etlgen.config import load_config
from etlgen.local.runner import run_file
from handlers.oversized import RAW_PREFIX_CHARS
from handlers.settings import MIB
from tests.handlers.handler_rows import build_file, mixed_rows, valid_row

from .csv_samples import ROOT
from .run_oracle import committed_outputs, expected_outputs

SCHEMA = json.loads((ROOT / "schemas" / "transactions.schema.json").read_text())
LIMIT = 128 * MIB // 8


def config(tmp_path: Path) -> Path:
    (tmp_path / "row.schema.json").write_text(json.dumps(SCHEMA))
    path = tmp_path / "pipeline.yaml"
    path.write_text("name: oversized\nschema: row.schema.json\n"
                    "processing:\n  chunk_size_mb: 1\nfunctions:\n  memory_mb: 128\n"
                    "output:\n  max_reject_rate: 0.5\n"
                    "retries:\n  max_attempts: 1\n  interval_seconds: 1\n"
                    "results_queue:\n  enabled: false\nalerts:\n  enabled: false\n",
                    encoding="utf-8")
    return path


@pytest.mark.parametrize("workers", [1, 2])
def test_an_oversized_quoted_record_is_one_reject_and_the_file_completes(
        tmp_path: Path, workers: int) -> None:
    rows = mixed_rows(400, seed=21)
    long_row = valid_row(random.Random(3), 4242)
    line = 'Zürich depot, "north" gate: pallets checked\n'
    long_row[5] = line * (LIMIT // len(line.encode()) + 1000)  # a little over 16 MiB
    data, placed = build_file([*rows[:200], long_row, *rows[200:]], newline="\r\n")
    record = placed[200]
    start, stop = record.offset, record.offset + len(record.raw.encode())
    assert stop - start > LIMIT
    csv = tmp_path / "in" / "tx.csv"
    csv.parent.mkdir()
    csv.write_bytes(data)

    report = run_file(load_config(config(tmp_path)), csv, tmp_path / "work", workers=workers,
                      retry_scale=0.0, chunk_size_bytes=4096)

    assert report.status == "SUCCEEDED", (report.error, report.message)
    committed = committed_outputs(report)
    expected = expected_outputs(data, SCHEMA)  # the long record: rejected there too
    assert committed.valid == expected.valid
    assert [(r["offset"], r["raw"]) for r in committed.rejects if r["offset"] != start] == \
        [pair for pair in expected.rejects if pair[0] != start]
    (long_reject,) = [r for r in committed.rejects if r["offset"] == start]
    assert long_reject["raw"] == record.raw[:RAW_PREFIX_CHARS] + (
        f"[... truncated: the record has {stop - start:,} bytes, {RAW_PREFIX_CHARS} "
        "characters shown]")
    assert long_reject["errors"] == [{"field": None, "kind": "oversized", "message": (
        f"record of {stop - start:,} bytes at bytes {start}-{stop} of the source is larger "
        "than the 16 MiB the process function can hold (functions.memory_mb 128 (8 x the "
        "chunk)): not loaded; raise functions.memory_mb to load it")}]
    counts = committed.manifest["counts"]
    assert counts == {"rows_in": 401, "rows_valid": len(expected.valid),
                      "rows_rejected": len(expected.rejects)}
    (part,) = [p for p in committed.manifest["parts"] if p["start"] == start]
    assert (part["end"], part["rows_in"], part["rows_rejected"]) == (stop + 2, 1, 1)
