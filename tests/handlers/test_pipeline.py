"""Whole files through validate -> split -> process (every chunk) -> finalize on moto.

Each case checks that the output rows are exactly the valid input rows and the rejects are
exactly the invalid ones (same byte offset, same raw text): no row lost or duplicated.
"""

from __future__ import annotations

import json
import random

import pytest

from handlers import chunk_plan, process, split, validate
from handlers.errors import (
    BinaryFile,
    EmptyFile,
    HeaderMismatch,
    NoDataRows,
    RejectRateExceeded,
    SourceChanged,
)
from tests.handlers.conftest import ROOT, Pipeline
from tests.handlers.handler_expected import records_with_offsets, split_expected
from tests.handlers.handler_rows import HEADER, build_file, invalid_row, mixed_rows, valid_row


def assert_exact_outputs(pipeline: Pipeline, source: dict, rows: list, deps=None) -> None:
    valid, rejects = split_expected(rows)
    assert pipeline.valid_rows(source, deps) == valid
    assert [(r["offset"], r["raw"]) for r in pipeline.rejects(source, deps)] == rejects


def run_ok(pipeline: Pipeline, data: bytes, rows: list, **env: str) -> dict:
    deps = pipeline.deps(**env)
    source = pipeline.upload(data)
    outcome = pipeline.run(source, deps)
    assert outcome.error is None, outcome.error
    valid, rejects = split_expected(rows)
    assert outcome.summary["rows_in"] == len(rows)
    assert outcome.summary["rows_valid"] == len(valid)
    assert outcome.summary["rows_rejected"] == len(rejects)
    assert_exact_outputs(pipeline, source, rows, deps)
    return {"source": source, "outcome": outcome, "deps": deps}


def test_bundled_sample_file(pipeline: Pipeline) -> None:
    data = (ROOT / "samples" / "transactions.csv").read_bytes()
    header, rows = records_with_offsets(data)
    assert header == HEADER
    result = run_ok(pipeline, data, rows, CHUNK_SIZE_BYTES="2000")
    summary = result["outcome"].summary
    assert summary["rows_in"] == 200 and 5 <= summary["rows_rejected"] <= 12
    messages = {e["message"] for r in pipeline.rejects(result["source"]) for e in r["errors"]}
    assert '"12.345" has more than 2 decimals' in messages
    assert any(m.startswith('"XYZ" is not one of USD, EUR') for m in messages)
    assert "row has 9 fields, expected 7" in messages
    assert "row has 4 fields, expected 7" in messages


@pytest.mark.parametrize("chunk_size", ["150", "333", "1000000"])
def test_crlf_file(pipeline: Pipeline, chunk_size: str) -> None:
    data, rows = build_file(mixed_rows(60, seed=3), newline="\r\n")
    run_ok(pipeline, data, rows, CHUNK_SIZE_BYTES=chunk_size)


def test_byte_order_mark_and_no_final_newline(pipeline: Pipeline) -> None:
    data, rows = build_file(mixed_rows(40, seed=4), bom=True, trailing_newline=False)
    result = run_ok(pipeline, data, rows, CHUNK_SIZE_BYTES="200")
    assert result["outcome"].file["data_offset"] == rows[0].offset


def _quoted_newline_offsets(data: bytes, rows: list) -> list[int]:
    positions = []
    for row in rows:
        raw = row.raw.encode()
        start = raw.find(b'"')
        while start >= 0:
            end = raw.find(b'"', start + 1)
            inner = raw[start:end]
            positions += [row.offset + start + i for i, b in enumerate(inner) if b in b"\r\n"]
            start = raw.find(b'"', end + 1)
    return positions


@pytest.mark.parametrize("shift", [0, 1, -1])
def test_cut_marks_inside_quoted_newlines(pipeline: Pipeline, monkeypatch, shift: int) -> None:
    """Chunk marks placed exactly on newlines inside quoted merchants, fast and exact plans."""
    rng = random.Random(11)
    rows_fields = []
    for n in range(50):
        row = valid_row(rng, n)
        row[5] = rng.choice(["Line one\nline two", "A\r\nB\r\nC", 'say "hi"\nthere, ok'])
        rows_fields.append(row)
    data, rows = build_file(rows_fields)
    newlines = _quoted_newline_offsets(data, rows)
    data_offset = rows[0].offset
    monkeypatch.setattr(chunk_plan, "LOOKBACK", 64)
    monkeypatch.setattr(chunk_plan, "LOOKAHEAD", 32)
    for target in newlines[3:40:9]:
        chunk = target - data_offset + shift
        result = run_ok(pipeline, data, rows, CHUNK_SIZE_BYTES=str(chunk))
        plan = result["outcome"].plan
        assert plan["chunks"][0]["start"] == data_offset
        assert plan["chunks"][-1]["end"] == len(data)


def test_ragged_rows_are_kept_verbatim(pipeline: Pipeline) -> None:
    rng = random.Random(5)
    fields = [valid_row(rng, n) for n in range(10)]
    fields[2] = invalid_row(rng, 2, "too_many")
    fields[5] = invalid_row(rng, 5, "too_few")
    fields[7] = [*valid_row(rng, 7)[:6], 'quoted "tail"\nwith newline', "x"]
    data, rows = build_file(fields)
    result = run_ok(pipeline, data, rows, CHUNK_SIZE_BYTES="120")
    rejects = pipeline.rejects(result["source"])
    assert [r["errors"][0]["message"] for r in rejects] == [
        "row has 9 fields, expected 7", "row has 5 fields, expected 7",
        "row has 8 fields, expected 7"]
    assert all(r["errors"][0]["field"] is None for r in rejects)


def test_all_invalid_file_fails_on_reject_rate(pipeline: Pipeline) -> None:
    rng = random.Random(6)
    fields = [invalid_row(rng, n, "currency") for n in range(20)]
    data, rows = build_file(fields)
    deps = pipeline.deps(CHUNK_SIZE_BYTES="300", MAX_REJECT_RATE="0.05")
    source = pipeline.upload(data)
    outcome = pipeline.run(source, deps)
    assert isinstance(outcome.error, RejectRateExceeded)
    assert "20 of 20 rows rejected" in str(outcome.error)
    item = deps.status.get_file(outcome.file["file_id"])
    assert item["status"] == "FAILED" and item["rows_rejected"] == 20
    assert pipeline.keys("processed/") == pipeline.keys("rejected/") == []
    staged = [k for k in pipeline.keys("staging/") if "/rejected/" in k]
    assert f"the rejected rows are staged under {staged[0].rsplit('/', 1)[0]}/" in \
        str(outcome.error)
    lines = [json.loads(line) for key in staged for line in pipeline.body(key).splitlines()]
    _, rejects = split_expected(rows)
    assert [(r["offset"], r["raw"]) for r in lines] == rejects


def test_all_invalid_file_completes_when_the_rate_allows(pipeline: Pipeline) -> None:
    rng = random.Random(6)
    data, rows = build_file([invalid_row(rng, n, "date") for n in range(12)])
    result = run_ok(pipeline, data, rows, MAX_REJECT_RATE="1", CHUNK_SIZE_BYTES="250")
    assert result["outcome"].summary["rows_valid"] == 0


@pytest.mark.parametrize(("data", "error", "words"), [
    (b"", EmptyFile, "empty"),
    (b"\n\n", EmptyFile, "no header"),
    (",".join(HEADER).encode() + b"\n", NoDataRows, "no data rows"),
    (",".join(HEADER).encode() + b"\r\n\r\n", NoDataRows, "no data rows"),
    (b"\x1f\x8b\x08\x00binary", BinaryFile, "gzip"),
    (b"transaction_id,amount\x00\x01\x02", BinaryFile, "NUL"),
    (b"transaction_id,account_id,amount,currency,extra\n1,2,3,4,5\n", HeaderMismatch,
     "missing required column 'transaction_date'"),
])
def test_files_refused_at_validation(pipeline: Pipeline, data: bytes, error: type,
                                     words: str) -> None:
    outcome = pipeline.run(pipeline.upload(data))
    assert isinstance(outcome.error, error)
    assert words in str(outcome.error)
    assert "incoming/tx.csv" in str(outcome.error)
    assert outcome.plan is None


def test_reordered_header_without_optional_columns(pipeline: Pipeline) -> None:
    header = ["amount", "currency", "transaction_id", "transaction_date", "account_id"]
    rng = random.Random(8)
    fields = []
    for n in range(15):
        row = valid_row(rng, n)
        fields.append([row[3], row[4], row[0], row[2], row[1]])
    data, _ = build_file(fields, header=header)
    source = pipeline.upload(data)
    outcome = pipeline.run(source, pipeline.deps(CHUNK_SIZE_BYTES="100"))
    assert outcome.error is None
    out = pipeline.valid_rows(source)
    assert [r["transaction_id"] for r in out] == [f[2] for f in fields]
    assert all(r["merchant"] is None and r["category"] is None for r in out)
    assert list(out[0]) == HEADER  # outputs keep the schema's column order


def test_rerunning_a_chunk_and_the_whole_file_adds_nothing(pipeline: Pipeline) -> None:
    data, rows = build_file(mixed_rows(50, seed=9))
    result = run_ok(pipeline, data, rows, CHUNK_SIZE_BYTES="400",
                    RESULTS_QUEUE_URL=pipeline.queue_url)
    deps, outcome, source = result["deps"], result["outcome"], result["source"]
    keys_before = pipeline.keys("")
    metrics_before = list(pipeline.metrics.records)
    again = process.handle({"file": outcome.file, "chunk": outcome.plan["chunks"][1]}, deps)
    assert again == outcome.chunks[1]
    rerun = pipeline.run(source, deps)
    assert rerun.error is None and rerun.file["status"] == "COMPLETED" and rerun.plan is None
    assert pipeline.keys("") == keys_before
    assert pipeline.metrics.records == metrics_before
    assert_exact_outputs(pipeline, source, rows, deps)
    totals = pipeline.metrics.totals()
    assert totals == {"RowsIn": 50, "RowsValid": outcome.summary["rows_valid"],
                      "RowsRejected": outcome.summary["rows_rejected"]}
    messages = pipeline.sqs.receive_message(QueueUrl=pipeline.queue_url,
                                            MaxNumberOfMessages=10)["Messages"]
    assert len(messages) == 1
    assert json.loads(messages[0]["Body"])["rows_in"] == 50


def test_the_row_metrics_count_a_file_once_however_often_its_chunks_were_redone(
        pipeline: Pipeline) -> None:
    """A run stopped after processing every chunk, before finalize (a timeout), then the
    file run again with another chunk size: every row was validated twice, but the
    dashboard's rows and rejection reasons count the file once."""
    data, _ = build_file(mixed_rows(60, seed=12))
    source = pipeline.upload(data)
    stopped = pipeline.deps(CHUNK_SIZE_BYTES="400", MAX_REJECT_RATE="1")
    file = validate.handle({"source": source, "execution_id": "stopped"}, stopped)
    for chunk in split.handle({"file": file}, stopped)["chunks"]:
        process.handle({"file": file, "chunk": chunk}, stopped)
    assert pipeline.metrics.records == [] and pipeline.metrics.rejections == []
    outcome = pipeline.run(source, pipeline.deps(CHUNK_SIZE_BYTES="700", MAX_REJECT_RATE="1"))
    assert outcome.error is None and outcome.summary["rows_rejected"] > 0
    summary = outcome.summary
    assert pipeline.metrics.totals() == {"RowsIn": 60, "RowsValid": summary["rows_valid"],
                                         "RowsRejected": summary["rows_rejected"]}
    rejects = pipeline.rejects(source)
    counted: dict[tuple[object, str], int] = {}
    for reject in rejects:
        for pair in {(error["field"], error["kind"]) for error in reject["errors"]}:
            counted[pair] = counted.get(pair, 0) + 1
    emitted: dict[tuple[object, str], int] = {}
    for field, kind, count in pipeline.metrics.rejections:
        emitted[(field, kind)] = emitted.get((field, kind), 0) + count
    assert emitted == counted, "every reason once per rejected row of the file"


def test_csv_output_format(pipeline: Pipeline) -> None:
    data, rows = build_file(mixed_rows(30, seed=10))
    deps = pipeline.deps(OUTPUT_FORMAT="csv", CHUNK_SIZE_BYTES="500")
    source = pipeline.upload(data)
    assert pipeline.run(source, deps).error is None
    out = pipeline.valid_rows(source, deps)
    valid, _ = split_expected(rows)
    assert [r["transaction_id"] for r in out] == [v["transaction_id"] for v in valid]
    assert all(k.endswith((".csv", ".json")) for k in pipeline.keys("processed/"))


def test_source_deleted_after_validation(pipeline: Pipeline) -> None:
    data, _ = build_file(mixed_rows(10))
    source = pipeline.upload(data)
    deps = pipeline.deps()
    from handlers import split, validate
    file = validate.handle({"source": source, "execution_id": "e"}, deps)
    plan = split.handle({"file": file}, deps)
    pipeline.s3.delete_object(Bucket=source["bucket"], Key=source["key"],
                              VersionId=source["version_id"])
    with pytest.raises(SourceChanged):
        process.handle({"file": file, "chunk": plan["chunks"][0]}, deps)
    chunk = deps.status.list_chunks(file["file_id"])[0]
    assert chunk["status"] == "FAILED" and chunk["error_name"] == "SourceChanged"
