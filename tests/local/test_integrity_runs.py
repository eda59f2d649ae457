"""The issue's reproductions, each through `etlgen run` (the whole state machine, worker
processes, the local bucket), checked against Python's `csv` + `jsonschema`: valid rows and
rejects exactly the oracle's, and committed prefixes holding exactly the manifest's parts."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from etlgen.config import load_config
from etlgen.local import faults
from etlgen.local.runner import RunReport, run_file
from tests.handlers.handler_rows import build_file, mixed_rows, valid_row

from .csv_samples import ROOT
from .run_oracle import assert_exact, committed_outputs, expected_outputs

SCHEMA = json.loads((ROOT / "schemas" / "transactions.schema.json").read_text())
BOM = "\ufeff"


@pytest.fixture
def project(tmp_path: Path) -> Callable[..., Path]:
    """A pipeline.yaml with its own copy of the row schema (so a test can change it)."""
    def write(schema: dict[str, Any] | None = None, max_reject_rate: float = 1.0) -> Path:
        (tmp_path / "row.schema.json").write_text(json.dumps(schema or SCHEMA))
        path = tmp_path / "pipeline.yaml"
        path.write_text("name: integrity\nschema: row.schema.json\n"
                        f"output:\n  max_reject_rate: {max_reject_rate}\n"
                        "retries:\n  max_attempts: 1\n  interval_seconds: 1\n"
                        "results_queue:\n  enabled: false\nalerts:\n  enabled: false\n",
                        encoding="utf-8")
        return path
    return write


def run(config: Path, csv: Path, workdir: Path, chunk: int, workers: int = 2) -> RunReport:
    return run_file(load_config(config), csv, workdir, workers=workers, retry_scale=0.0,
                    chunk_size_bytes=chunk)


def write(tmp_path: Path, data: bytes, name: str = "tx.csv") -> Path:
    path = tmp_path / "in" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_bom_rows_keep_their_verdict_at_any_chunk_size(
        project: Callable[..., Path], tmp_path: Path) -> None:
    rng = random.Random(8)
    rows = [valid_row(rng, n) for n in range(60)]
    for n, row in enumerate(rows):
        if n % 5 == 0:
            row[0] = BOM + row[0]  # no longer matches ^TX[0-9]{10}$
        if n % 7 == 0:
            row[5] = BOM + "M" * 100  # 101 characters
    data, _ = build_file(rows, bom=True)
    expected = expected_outputs(data, SCHEMA)
    assert len(expected.rejects) == 12 + 9 - 2
    for chunk in (1, 200, 1 << 20):
        assert_exact(run(project(), write(tmp_path, data), tmp_path / f"w{chunk}", chunk),
                     expected)


def test_fixing_a_too_strict_enum_and_running_again_gives_the_new_verdicts(
        project: Callable[..., Path], tmp_path: Path) -> None:
    strict = json.loads(json.dumps(SCHEMA))
    strict["properties"]["currency"]["enum"].remove("EUR")
    data, _ = build_file(mixed_rows(300, seed=4))
    csv = write(tmp_path, data)
    workdir = tmp_path / "work"
    first = assert_exact(run(project(strict), csv, workdir, 2000), expected_outputs(data, strict))
    again = run(project(SCHEMA), csv, workdir, 2000)
    assert again.status == "SUCCEEDED" and again.rows_valid > first.manifest["counts"][
        "rows_valid"]
    second = assert_exact(again, expected_outputs(data, SCHEMA))
    assert second.manifest["identity"]["schema_sha256"] != \
        first.manifest["identity"]["schema_sha256"]
    assert second.manifest["identity"]["file"] != first.manifest["identity"]["file"]
    third = run(project(SCHEMA), csv, workdir, 2000)
    assert third.status == "ALREADY_PROCESSED"
    assert committed_outputs(third).manifest == second.manifest


def test_a_rerun_with_bigger_chunks_leaves_exactly_the_manifest_parts(
        project: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A run with 100 KB chunks fails in its 11th chunk: nothing reaches processed/ or
    rejected/. The re-run with 1 MiB chunks commits 2 parts, and a glob of the prefix
    reads exactly the manifest's rows."""
    data, _ = build_file(mixed_rows(18_000, seed=6))
    csv = write(tmp_path, data)
    workdir = tmp_path / "work"
    plan = tmp_path / "faults.json"
    plan.write_text(json.dumps({"faults": [{"state": "ProcessChunk",
                                            "match": {"chunk.index": 10},
                                            "error": "InjectedOutage"}]}))
    monkeypatch.setenv(faults.PLAN_VARIABLE, str(plan))
    failed = run(project(), csv, workdir, 100_000)
    assert (failed.status, failed.error) == ("FAILED", "InjectedOutage")
    bucket = workdir / "bucket"
    assert not any(p.is_file() for prefix in ("processed", "rejected")
                   for p in (bucket / prefix).rglob("*"))
    assert len(list((bucket / "staging").rglob("part-*.parquet"))) >= 10
    monkeypatch.delenv(faults.PLAN_VARIABLE)
    report = run(project(), csv, workdir, 1 << 20)
    committed = assert_exact(report, expected_outputs(data, SCHEMA))
    assert committed.manifest["chunk_count"] == 2
    globbed = sum(pq.read_metadata(p).num_rows
                  for p in Path(report.outputs["processed"]).rglob("*.parquet"))
    assert globbed == committed.manifest["counts"]["rows_valid"] == 18_000 - 2000


def test_a_rerun_after_a_change_deletes_the_parts_of_the_old_commit(
        project: Callable[..., Path], tmp_path: Path) -> None:
    data, _ = build_file(mixed_rows(3000, seed=9))
    csv = write(tmp_path, data)
    workdir = tmp_path / "work"
    first = assert_exact(run(project(), csv, workdir, 20_000), expected_outputs(data, SCHEMA))
    assert first.manifest["chunk_count"] >= 10
    changed = json.loads(json.dumps(SCHEMA))
    changed["properties"]["merchant"]["maxLength"] = 20
    report = run(project(changed), csv, workdir, 1 << 20)
    second = assert_exact(report, expected_outputs(data, changed))
    assert second.manifest["chunk_count"] == 1
    assert second.manifest["source_file"] != first.manifest["source_file"]
    bucket = workdir / "bucket"
    assert not [path for prefix in first.manifest["prefixes"] if (bucket / prefix).exists()
                for path in (bucket / prefix).rglob("*") if path.is_file()], \
        "the old commit's parts are gone"
    assert not list((bucket / "staging").rglob("part-*")), "staging cleaned"


def test_a_4_mib_quoted_record_with_two_workers(project: Callable[..., Path],
                                                tmp_path: Path) -> None:
    """A quoted value of 4 MiB with line breaks and no quote: one record (rejected for its
    length, at its own offset), every other row as it is, no row made up from its inside."""
    rng = random.Random(12)
    rows = [valid_row(rng, n) for n in range(4000)]
    rows[1500][5] = "".join(rng.choice("note, line\n") for _ in range(4 << 20))
    data, placed = build_file(rows)
    expected = expected_outputs(data, SCHEMA)
    assert expected.rejects[0][0] == placed[1500].offset
    report = run(project(), write(tmp_path, data), tmp_path / "work", 1 << 20, workers=2)
    assert_exact(report, expected)


def test_0e10000_is_a_valid_amount(project: Callable[..., Path], tmp_path: Path) -> None:
    rng = random.Random(2)
    rows = [valid_row(rng, n) for n in range(20)]
    rows[3][3], rows[4][3], rows[5][3] = "0e10000", "1.5E+00002", "1e-10000"
    data, _ = build_file(rows)
    committed = assert_exact(run(project(), write(tmp_path, data), tmp_path / "work", 300),
                             expected_outputs(data, SCHEMA))
    assert [str(r["amount"]) for r in committed.valid[3:5]] == ["0.00", "150.00"]


def test_offsets_in_messages_are_source_offsets(project: Callable[..., Path],
                                                tmp_path: Path) -> None:
    data, placed = build_file(mixed_rows(3000, seed=5))
    bad = placed[2500].offset + 3
    broken = data[:bad] + b"\xff" + data[bad + 1:]
    report = run(project(), write(tmp_path, broken), tmp_path / "w1", 10_000)
    committed = assert_exact(report, expected_outputs(broken, SCHEMA))
    (reject,) = [r for r in committed.rejects if r["offset"] == placed[2500].offset]
    assert reject["errors"][0]["message"] == f"invalid UTF-8 at byte {bad} of the file (0xFF)"
    tail = b'TX0000099999,AC00000001,2024-01-01,1.00,USD,"open\n'
    report = run(project(), write(tmp_path, data + tail, "open.csv"), tmp_path / "w2", 10_000)
    committed = assert_exact(report, expected_outputs(
        data, SCHEMA, unterminated=(len(data), tail.decode().removesuffix("\n"))))
    quote = len(data) + tail.index(b'"')
    assert committed.rejects[-1]["errors"][0]["message"].startswith(
        f"the quoted field opened at byte {quote} is never closed")
