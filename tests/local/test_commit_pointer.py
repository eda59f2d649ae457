"""A file becomes visible to `etlgen query` all at once, when finalize writes its commit
pointer: real local runs of the sample with a crash injected inside finalize (the worker
dies right before or right after the pointer's write), then DuckDB through the same view
SQL Athena gets."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from etlgen.config import load_config
from etlgen.local import faults
from etlgen.local.runner import RunReport, run_file
from etlgen.query.local import run_local
from handlers.catalog.local import read_catalog
from tests.handlers.handler_expected import records_with_offsets, split_expected

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "samples" / "transactions.csv"
POINTER = {"state": "Finalize", "key_contains": "/_commits/"}
CRASH_AFTER_POINTER = ({**POINTER, "action": "exit_after_write", "times": 1},
                       {"state": "Finalize", "action": "exit"})
"""The first finalize dies right after the pointer's write, every retry before it runs:
the file is committed for readers, its status never COMPLETED."""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for name in ("pipeline.yaml", "schemas"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name)
        else:
            shutil.copy(source, tmp_path / name)
    return tmp_path


@pytest.fixture
def plan_faults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    def plan(*entries: dict[str, Any]) -> None:
        path = tmp_path / "fault-plan.json"
        path.write_text(json.dumps({"faults": list(entries)}), encoding="utf-8")
        monkeypatch.setenv(faults.PLAN_VARIABLE, str(path))

    return plan


def _run(project: Path, csv: Path, chunk_size_bytes: int = 4096) -> RunReport:
    return run_file(load_config(project / "pipeline.yaml"), csv, project / ".etlgen",
                    workers=2, retry_scale=0.0, chunk_size_bytes=chunk_size_bytes)


def _ids(project: Path, table: str = "transactions") -> list[str]:
    result = run_local(load_config(project / "pipeline.yaml"), project / ".etlgen",
                       f"SELECT transaction_id FROM {table} ORDER BY 1")
    return [row[0] for row in result.rows]


def _count(project: Path, table: str) -> int:
    result = run_local(load_config(project / "pipeline.yaml"), project / ".etlgen",
                       f"SELECT count(*) FROM {table}")
    return int(result.rows[0][0])


def _oracle(data: bytes) -> tuple[list[str], int]:
    """(the valid rows' transaction ids, sorted; the number of rejected rows)."""
    _, rows = records_with_offsets(data)
    valid, rejects = split_expected(rows)
    return sorted(row["transaction_id"] for row in valid), len(rejects)


def _version_two(project: Path) -> tuple[Path, bytes]:
    """A new version of the same source key: the sample without its last 40 records."""
    lines = SAMPLE.read_bytes().splitlines(keepends=True)
    data = b"".join(lines[:-40])
    folder = project / "v2"
    folder.mkdir()
    (folder / SAMPLE.name).write_bytes(data)
    return folder / SAMPLE.name, data


def _registered_source_files(project: Path, table: str) -> set[str]:
    catalog = read_catalog(project / ".etlgen" / "catalog.json")
    return {p["values"][-1] for p in catalog["tables"].get(table, {}).get("partitions", [])}


def test_a_crash_before_the_pointer_shows_none_of_the_file(
        project: Path, plan_faults: Callable[..., None]) -> None:
    plan_faults({**POINTER, "action": "exit_before_write"})
    report = _run(project, SAMPLE)
    assert (report.status, report.error) == ("FAILED", "Runtime.ExitError")
    valid, rejected = _oracle(SAMPLE.read_bytes())
    assert _count(project, "transactions_parts") == len(valid), "registered, every attempt"
    assert _count(project, "transactions_rejected_parts") == rejected
    assert _count(project, "transactions_commits") == 0
    assert _ids(project) == [] and _count(project, "transactions_rejected") == 0, \
        "no row of an uncommitted file"
    plan_faults()
    report = _run(project, SAMPLE)
    assert report.status == "SUCCEEDED", (report.error, report.cause)
    assert _ids(project) == valid, "exactly the oracle's valid rows, once each"
    assert _count(project, "transactions_rejected") == rejected
    assert _count(project, "transactions_commits") == 1


def test_a_crash_after_the_pointer_shows_only_the_new_version(
        project: Path, plan_faults: Callable[..., None]) -> None:
    first = _run(project, SAMPLE)
    assert first.status == "SUCCEEDED", (first.error, first.cause)
    old_valid, old_rejected = _oracle(SAMPLE.read_bytes())
    assert _ids(project) == old_valid
    newer, data = _version_two(project)
    new_valid, new_rejected = _oracle(data)
    assert len(new_valid) < len(old_valid)
    plan_faults(*CRASH_AFTER_POINTER)
    report = _run(project, newer)
    assert (report.status, report.error) == ("FAILED", "Runtime.ExitError")
    assert len(_registered_source_files(project, "transactions_parts")) == 2, \
        "the old version's partitions are not retired yet"
    assert _count(project, "transactions_parts") == len(old_valid) + len(new_valid)
    assert _ids(project) == new_valid, "only the new version, no duplicate"
    assert _count(project, "transactions_rejected") == new_rejected
    plan_faults()
    report = _run(project, newer)
    assert report.status == "SUCCEEDED", (report.error, report.cause)
    assert len(_registered_source_files(project, "transactions_parts")) == 1, "retired"
    assert len(_registered_source_files(project, "transactions_rejected_parts")) == 1
    assert _ids(project) == new_valid
    assert _count(project, "transactions_parts") == len(new_valid)
    assert _count(project, "transactions_commits") == 1 and old_rejected >= new_rejected


def _published(project: Path) -> dict[str, tuple[int, int, bytes]]:
    """Every object under the output prefixes readers see (not the commits table, not
    staging): its inode, modification time and bytes."""
    found = {}
    for path in sorted((project / ".etlgen").rglob("*")):
        relative = path.relative_to(project / ".etlgen").as_posix()
        if path.is_file() and ("/processed/" in f"/{relative}" or
                               "/rejected/" in f"/{relative}") and "_commits" not in relative \
                and "/staging/" not in f"/{relative}":
            stat = path.stat()
            found[relative] = (stat.st_ino, stat.st_mtime_ns, path.read_bytes())
    return found


def test_a_rerun_after_a_crash_after_the_pointer_does_not_republish(
        project: Path, plan_faults: Callable[..., None]) -> None:
    """Committed for readers, not COMPLETED: a re-run of the same identity with another
    chunk size finishes from the manifest and leaves every visible object as it is."""
    plan_faults(*CRASH_AFTER_POINTER)
    report = _run(project, SAMPLE, chunk_size_bytes=4096)
    assert (report.status, report.error) == ("FAILED", "Runtime.ExitError")
    valid, rejected = _oracle(SAMPLE.read_bytes())
    assert _ids(project) == valid, "committed for readers before the crash"
    before = _published(project)
    manifests = [key for key in before if key.endswith("manifest.json")]
    assert len(manifests) == 1 and len(before) > 2
    plan_faults()
    again = _run(project, SAMPLE, chunk_size_bytes=2500)
    assert again.status == "SUCCEEDED", (again.error, again.cause)
    assert _published(project) == before, "no visible object deleted, replaced or added"
    assert _ids(project) == valid and _count(project, "transactions_rejected") == rejected
    manifest = json.loads(before[manifests[0]][2])
    assert again.execution is not None
    summary = again.execution.output
    assert summary["status"] == "COMPLETED"
    assert (summary["rows_in"], summary["rows_valid"], summary["rows_rejected"]) == (
        manifest["counts"]["rows_in"], len(valid), rejected)
    assert summary["chunk_count"] == manifest["chunk_count"]
    staged = [p for p in (project / ".etlgen").rglob("*") if p.is_file()
              and "/staging/" in "/" + p.relative_to(project / ".etlgen").as_posix()]
    assert staged == [], "the re-run's staged parts are removed"


def test_the_views_are_the_templates_sql(project: Path) -> None:
    from etlgen.catalog.views import table_views

    assert _run(project, SAMPLE).status == "SUCCEEDED"
    config = load_config(project / "pipeline.yaml")
    valid, rejected = _oracle(SAMPLE.read_bytes())
    for view, expected in zip(table_views(config), (len(valid), rejected), strict=True):
        result = run_local(config, project / ".etlgen", f"SELECT count(*) FROM ({view.sql})")
        assert result.rows == [(expected,)]
        described = run_local(config, project / ".etlgen", f"DESCRIBE {view.name}")
        assert [row[0] for row in described.rows] == [c.name for c in view.columns]
    typed = run_local(config, project / ".etlgen",
                      "DESCRIBE transactions_commits")
    assert [(row[0], row[1]) for row in typed.rows] == [
        ("source_key", "VARCHAR"), ("source_version", "VARCHAR"), ("source_file", "VARCHAR"),
        ("committed_at", "TIMESTAMP"), ("rows_in", "BIGINT"), ("rows_valid", "BIGINT"),
        ("rows_rejected", "BIGINT")]


def test_the_commits_table_reconciles_each_file_in_one_read(project: Path) -> None:
    """A file's counts come with its pointer: they equal the oracle's, the run's and what
    the two views hold of the file, so a reconciliation never joins the two views."""
    report = _run(project, SAMPLE)
    config = load_config(project / "pipeline.yaml")
    valid, rejected = _oracle(SAMPLE.read_bytes())
    [(source_file, rows_in, rows_valid, rows_rejected)] = run_local(
        config, project / ".etlgen", "SELECT source_file, rows_in, rows_valid, rows_rejected "
        "FROM transactions_commits").rows
    assert (rows_in, rows_valid, rows_rejected) == (len(valid) + rejected, len(valid), rejected)
    assert (report.rows_in, report.rows_valid, report.rows_rejected) == (
        rows_in, rows_valid, rows_rejected)
    for table, expected in (("transactions", rows_valid), ("transactions_rejected",
                                                            rows_rejected)):
        counted = run_local(config, project / ".etlgen",
                            f"SELECT count(*) FROM {table} WHERE source_file = '{source_file}'")
        assert counted.rows == [(expected,)]
