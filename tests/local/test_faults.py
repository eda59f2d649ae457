"""Real local runs (the real handlers, two worker processes, several chunks) with faults
injected by the task dispatcher: each ends with a clear outcome, exact counts and a status
store that says what happened."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from etlgen.cli import main
from etlgen.config import load_config
from etlgen.local import faults
from etlgen.local.runner import RunReport, run_file
from handlers.status import SqliteStatusStore

from .csv_samples import BAD_EVERY, CHUNK_BYTES, ROOT, ROWS

REJECTED = ROWS // BAD_EVERY


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path / "work"


@pytest.fixture
def plan_faults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                ) -> Callable[..., None]:
    def plan(*entries: dict[str, Any]) -> None:
        path = tmp_path / "fault-plan.json"
        path.write_text(json.dumps({"faults": list(entries)}), encoding="utf-8")
        monkeypatch.setenv(faults.PLAN_VARIABLE, str(path))

    return plan


def _run(pipeline_yaml: Path, csv: Path, workdir: Path) -> RunReport:
    return run_file(load_config(pipeline_yaml), csv, workdir, workers=2, retry_scale=0.0,
                    chunk_size_bytes=CHUNK_BYTES)


def _store(workdir: Path) -> SqliteStatusStore:
    return SqliteStatusStore(workdir / "status.sqlite3")


def _file_item(report: RunReport, workdir: Path) -> dict[str, Any]:
    item = _store(workdir).get_file(f"{report.key}#{report.version_id}")
    assert item is not None
    return item


def _processed_ids(report: RunReport) -> list[str]:
    ids: list[str] = []
    for part in sorted(Path(report.outputs["processed"]).rglob("part-*.parquet")):
        ids.extend(pq.read_table(part, columns=["transaction_id"]).column(0).to_pylist())
    return ids


def _rejected_lines(report: RunReport) -> list[dict[str, Any]]:
    lines = []
    for part in sorted(Path(report.outputs["rejected"]).rglob("part-*.jsonl")):
        lines.extend(json.loads(line) for line in part.read_text().splitlines() if line)
    return lines


def _assert_complete_and_exact(report: RunReport, workdir: Path) -> None:
    assert report.status == "SUCCEEDED", (report.error, report.cause)
    assert report.chunks >= 4 and report.chunks_done == report.chunks
    assert (report.rows_in, report.rows_valid, report.rows_rejected) == (
        ROWS, ROWS - REJECTED, REJECTED)
    ids = _processed_ids(report)
    assert len(ids) == len(set(ids)) == ROWS - REJECTED
    assert len(_rejected_lines(report)) == REJECTED
    item = _file_item(report, workdir)
    assert item["status"] == "COMPLETED"
    assert (item["rows_in"], item["rows_valid"], item["rows_rejected"]) == (
        ROWS, ROWS - REJECTED, REJECTED)
    assert Path(report.outputs["manifest"]).is_file()


def test_clean_run_processes_every_chunk(pipeline_yaml: Path, write_csv: Callable[..., Path],
                                         workdir: Path) -> None:
    report = _run(pipeline_yaml, write_csv(), workdir)
    _assert_complete_and_exact(report, workdir)
    assert report.retries == 0
    chunks = _store(workdir).list_chunks(f"{report.key}#{report.version_id}")
    assert [chunk["status"] for chunk in chunks] == ["SUCCEEDED"] * report.chunks


def test_a_chunk_failing_once_is_retried_and_counted_once(
        pipeline_yaml: Path, write_csv: Callable[..., Path], workdir: Path,
        plan_faults: Callable[..., None]) -> None:
    plan_faults({"state": "ProcessChunk", "match": {"chunk.index": 1}, "times": 1,
                 "error": "InjectedHiccup", "message": "transient trouble"})
    report = _run(pipeline_yaml, write_csv(), workdir)
    _assert_complete_and_exact(report, workdir)
    retries = [e for e in report.execution.history if e["type"] == "RetryScheduled"]
    assert [(e["name"], e["error"]) for e in retries] == [("ProcessChunk", "InjectedHiccup")]


def test_a_chunk_that_always_fails_fails_the_file_without_finalizing(
        pipeline_yaml: Path, write_csv: Callable[..., Path], workdir: Path,
        plan_faults: Callable[..., None]) -> None:
    plan_faults({"state": "ProcessChunk", "match": {"chunk.index": 2},
                 "error": "InjectedOutage", "message": "storage is down"})
    report = _run(pipeline_yaml, write_csv(), workdir)
    assert (report.status, report.error) == ("FAILED", "InjectedOutage")
    assert json.loads(report.cause)["errorMessage"] == "storage is down"
    assert report.retries == 2  # the config's max_attempts
    entered = report.execution.states_entered()
    assert "Finalize" not in entered
    assert entered[-6:] == ["StampFailure", "RecordFailure", "DescribeFailure",
                            "UseLambdaMessage", "NotifyFailure", "Failed"]
    item = _file_item(report, workdir)
    assert (item["status"], item["error_name"]) == ("FAILED", "InjectedOutage")
    assert "manifest" not in report.outputs
    alerts = [json.loads(line) for line in (workdir / "alerts.jsonl").read_text().splitlines()]
    assert len(alerts) == 1
    message = alerts[0]["Message"]
    assert report.key in message and "InjectedOutage" in message
    # Lambda's error object is reduced to its errorMessage: no stack trace in the alert.
    assert message.endswith("Cause: storage is down")
    assert "stackTrace" not in message and "Traceback" not in message
    results = workdir / "results.jsonl"
    assert not results.exists() or "COMPLETED" not in results.read_text()


def test_a_worker_killed_mid_chunk_is_retried_in_a_fresh_pool(
        pipeline_yaml: Path, write_csv: Callable[..., Path], workdir: Path,
        plan_faults: Callable[..., None]) -> None:
    # The chunk's work is done, then the process dies before answering: the retry redoes
    # it, and the outputs must still hold every row exactly once.
    plan_faults({"state": "ProcessChunk", "match": {"chunk.index": 1}, "times": 1,
                 "action": "exit_after"})
    report = _run(pipeline_yaml, write_csv(), workdir)
    _assert_complete_and_exact(report, workdir)
    assert report.worker_restarts == 1
    errors = {e["error"] for e in report.execution.history if e["type"] == "RetryScheduled"}
    assert errors == {"Runtime.ExitError"}


def test_a_completed_file_stays_completed_when_a_late_failure_is_recorded(
        pipeline_yaml: Path, write_csv: Callable[..., Path], workdir: Path,
        plan_faults: Callable[..., None]) -> None:
    # Finalize marks the file COMPLETED, then its answer is lost every time: the execution
    # fails, but RecordFailure's condition keeps the item COMPLETED and the original error
    # still ends the execution.
    plan_faults({"state": "Finalize", "action": "exit_after"})
    report = _run(pipeline_yaml, write_csv(), workdir)
    assert (report.status, report.error) == ("FAILED", "Runtime.ExitError")
    item = _file_item(report, workdir)
    assert item["status"] == "COMPLETED" and "error_name" not in item
    record = next(e for e in report.execution.history
                  if e["type"] == "TaskFailed" and e["name"] == "RecordFailure")
    assert record["error"] == "DynamoDB.ConditionalCheckFailedException"
    assert report.execution.states_entered()[-1] == "Failed"
    alerts = (workdir / "alerts.jsonl").read_text().splitlines()
    assert len(alerts) == 1 and "Runtime.ExitError" in json.loads(alerts[0])["Message"]


def test_a_failure_before_the_file_is_started_expires_like_every_item(
        pipeline_yaml: Path, write_csv: Callable[..., Path], workdir: Path,
        plan_faults: Callable[..., None]) -> None:
    plan_faults({"state": "ValidateHeader", "error": "InjectedOutage", "message": "down"})
    before = time.time()
    report = _run(pipeline_yaml, write_csv(), workdir)
    after = time.time()
    assert (report.status, report.error) == ("FAILED", "InjectedOutage")
    item = _file_item(report, workdir)
    assert item["status"] == "FAILED" and "started_at" not in item
    ttl = load_config(pipeline_yaml).retention.status_ttl_days * 86400
    assert int(before) + ttl <= item["expires_at"] <= int(after) + ttl
    assert isinstance(item["expires_at"], int)


def test_a_header_mismatch_fails_at_once(pipeline_yaml: Path, write_csv: Callable[..., Path],
                                         workdir: Path) -> None:
    csv = write_csv(header="transaction_id,account,transaction_date,amount,currency")
    report = _run(pipeline_yaml, csv, workdir)
    assert (report.status, report.error, report.retries) == ("FAILED", "HeaderMismatch", 0)
    assert "account" in json.loads(report.cause)["errorMessage"]
    assert "PlanChunks" not in report.execution.states_entered()
    assert _file_item(report, workdir)["status"] == "FAILED"


def test_an_empty_file_fails_with_a_clear_error(pipeline_yaml: Path,
                                                write_csv: Callable[..., Path],
                                                workdir: Path) -> None:
    report = _run(pipeline_yaml, write_csv(text=""), workdir)
    assert (report.status, report.error, report.retries) == ("FAILED", "EmptyFile", 0)
    assert _file_item(report, workdir)["status"] == "FAILED"


def _cli(*args: str | Path) -> list[str]:
    return ["run", *(str(arg) for arg in args)]


@pytest.mark.parametrize("target", ["missing.csv", "."], ids=["missing", "directory"])
def test_a_path_that_is_not_a_csv_file_exits_2_with_one_line(
        pipeline_yaml: Path, tmp_path: Path, target: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    code = main(_cli(pipeline_yaml, tmp_path / target, "--workdir", tmp_path / "work"))
    captured = capsys.readouterr()
    assert code == 2
    assert len(captured.err.strip().splitlines()) == 1
    assert "no such file" in captured.err or "is a directory" in captured.err
    assert not (tmp_path / "work" / "status.sqlite3").exists()


@pytest.mark.parametrize(("option", "value"), [("--workers", "0"), ("--retry-scale", "-1")])
def test_bad_run_options_exit_2_with_one_line(
        pipeline_yaml: Path, write_csv: Callable[..., Path], tmp_path: Path, option: str,
        value: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(_cli(pipeline_yaml, write_csv(), "--workdir", tmp_path / "work", option, value))
    captured = capsys.readouterr()
    assert code == 2
    assert captured.err.strip().splitlines() == [captured.err.strip()]
    assert option in captured.err


def test_the_same_file_twice_adds_nothing_and_json_parses(
        pipeline_yaml: Path, write_csv: Callable[..., Path], tmp_path: Path,
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ETLGEN_CHUNK_SIZE_BYTES", str(CHUNK_BYTES))
    csv = write_csv()
    workdir = tmp_path / "work"
    args = _cli(pipeline_yaml, csv, "--workdir", workdir, "--workers", "2",
                "--retry-scale", "0", "--json")
    assert main(args) == 0
    first = json.loads(capsys.readouterr().out)
    assert (first["status"], first["rows_in"], first["rows_rejected"]) == (
        "SUCCEEDED", ROWS, REJECTED)
    snapshot = sorted((p.relative_to(workdir), p.stat().st_mtime_ns)
                      for p in (workdir / "bucket").rglob("*") if p.is_file()
                      and "incoming" not in p.parts)
    queue = (workdir / "results.jsonl").read_text()

    assert main(args[:-1]) == 0
    assert "already processed" in capsys.readouterr().out
    assert snapshot == sorted((p.relative_to(workdir), p.stat().st_mtime_ns)
                              for p in (workdir / "bucket").rglob("*") if p.is_file()
                              and "incoming" not in p.parts)
    assert (workdir / "results.jsonl").read_text() == queue


def test_a_failed_run_exits_1_naming_error_and_cause(
        pipeline_yaml: Path, write_csv: Callable[..., Path], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    csv = write_csv(header="nope,also_nope")
    code = main(_cli(pipeline_yaml, csv, "--workdir", tmp_path / "work", "--workers", "1"))
    captured = capsys.readouterr()
    assert code == 1
    assert "HeaderMismatch" in captured.err
    assert "Traceback" not in captured.err + captured.out


def test_a_failed_run_in_json_gives_the_message_without_a_stack_trace(
        pipeline_yaml: Path, write_csv: Callable[..., Path], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    csv = write_csv(header="nope,also_nope")
    code = main(_cli(pipeline_yaml, csv, "--workdir", tmp_path / "work", "--json"))
    summary = json.loads(capsys.readouterr().out)
    assert code == 1
    assert (summary["status"], summary["error"]) == ("FAILED", "HeaderMismatch")
    assert "unknown columns 'nope', 'also_nope'" in summary["message"]
    assert "stackTrace" not in json.dumps(summary)


def test_the_bundled_sample_runs_end_to_end(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    sample = ROOT / "samples" / "transactions.csv"
    if not sample.exists():
        pytest.fail(f"{sample} is missing")
    config = ROOT / "pipeline.yaml"
    code = main(_cli(config, sample, "--workdir", tmp_path / "work", "--workers", "2",
                     "--retry-scale", "0", "--json"))
    summary = json.loads(capsys.readouterr().out)
    assert code == 0, summary
    assert summary["status"] == "SUCCEEDED"
    assert summary["rows_in"] == summary["rows_valid"] + summary["rows_rejected"] > 0
    assert Path(summary["outputs"]["manifest"]).is_file()
