"""Each handler's own rules: header checks, chunk parsing details, finalize's checks."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers import chunk_parse, csv_scan, finalize, process, runtime, split, validate
from handlers import settings as settings_module
from handlers.chunk_parse import parse_chunk
from handlers.deps import Deps
from handlers.errors import CountMismatch, EncodingError, HeaderMismatch
from handlers.local_objects import LocalObjectStore
from handlers.metrics import CollectingMetrics
from handlers.results_queue import JsonlResultsQueue
from handlers.schema_file import load_schema
from handlers.settings import Settings
from handlers.status import SqliteStatusStore
from tests.handlers.conftest import BUCKET, Pipeline, base_env
from tests.handlers.handler_expected import split_expected
from tests.handlers.handler_rows import HEADER, build_file, mixed_rows, valid_row


@pytest.mark.parametrize(("header", "words"), [
    ("transaction_id,account_id,transaction_date,amount,currency,amount",
     "duplicate column 'amount'"),
    ("transaction_id,account_id,transaction_date,amount,currency,colour",
     "unknown column 'colour'"),
    ("transaction_id;account_id;transaction_date;amount;currency",
     "is the delimiter ';'?"),
])
def test_header_problems_are_named(pipeline: Pipeline, header: str, words: str) -> None:
    outcome = pipeline.run(pipeline.upload(header.encode() + b"\n1,2,3,4,5\n"))
    assert isinstance(outcome.error, HeaderMismatch) and words in str(outcome.error)


def test_an_undecodable_header_names_the_byte(pipeline: Pipeline) -> None:
    header = b"\n" + ",".join(HEADER).encode()  # a blank line first: the header is line 2
    row = b"\nTX0000000001,AC00000001,2024-01-01,1.00,USD,Cafe,dining\n"
    outcome = pipeline.run(pipeline.upload(header + b"\xe9" + row))
    assert isinstance(outcome.error, EncodingError)
    assert f"byte {len(header)} (line 2) is not valid utf-8" in str(outcome.error)


def test_undecodable_bytes_later_in_a_chunk() -> None:
    data = b"TX0000000001,AC00000001,2024-01-01,1.00,USD,Caf\xe9,dining\n"
    parsed = parse_chunk(data + data.replace(b"\xe9", b"e"), HEADER, ",", base_offset=1000,
                         label="k chunk 0")
    assert parsed.table.column("merchant").to_pylist() == ["Cafe"]
    assert parsed.undecodable is not None and parsed.undecodable.starts.tolist() == [0]
    assert parsed.undecodable.errors == ['{"field": "merchant", "kind": "encoding", "message": '
                                         '"invalid UTF-8 at byte 1047 of the file (0xE9)"}']


def test_latin1_file(pipeline: Pipeline) -> None:
    rng = random.Random(1)
    rows = [valid_row(rng, n) for n in range(8)]
    rows[3][5] = "Café Crème"
    text = ",".join(HEADER) + "\n" + "".join(",".join(r) + "\n" for r in rows)
    source = pipeline.upload(text.encode("latin-1"))
    deps = pipeline.deps(CSV_ENCODING="latin-1", CHUNK_SIZE_BYTES="200")
    outcome = pipeline.run(source, deps)
    assert outcome.error is None and outcome.summary["rows_valid"] == 8
    assert pipeline.valid_rows(source, deps)[3]["merchant"] == "Café Crème"


def test_already_completed_version_is_reported(pipeline: Pipeline) -> None:
    data, _ = build_file(mixed_rows(5))
    source = pipeline.upload(data)
    assert pipeline.run(source).summary["status"] == "COMPLETED"
    again = validate.handle({"source": source, "execution_id": "e2"}, pipeline.deps())
    assert again["status"] == "COMPLETED" and again["header"] == HEADER


def test_event_size_that_does_not_match_the_object(pipeline: Pipeline) -> None:
    data, _ = build_file(mixed_rows(5))
    source = {**pipeline.upload(data), "size": 3}
    assert type(pipeline.run(source).error).__name__ == "SourceChanged"


def test_finalize_refuses_missing_or_unfinished_chunks(pipeline: Pipeline) -> None:
    data, _ = build_file(mixed_rows(30))
    deps = pipeline.deps(CHUNK_SIZE_BYTES="400")
    source = pipeline.upload(data)
    file = validate.handle({"source": source, "execution_id": "e"}, deps)
    plan = split.handle({"file": file}, deps)
    for chunk in plan["chunks"][:-1]:
        process.handle({"file": file, "chunk": chunk}, deps)
    event = {"file": file, "chunk_count": plan["chunk_count"], "execution_id": "e"}
    with pytest.raises(CountMismatch, match=f"chunk {plan['chunk_count'] - 1} has no status"):
        finalize.handle(event, deps)
    assert deps.status.get_file(file["file_id"])["status"] == "FAILED"
    process.handle({"file": file, "chunk": plan["chunks"][-1]}, deps)
    summary = finalize.handle(event, deps)
    assert summary["status"] == "COMPLETED" and summary["rows_in"] == 30
    manifest = json.loads(pipeline.body(summary["manifest_key"]))
    assert manifest["counts"] == {k: summary[k] for k in ("rows_in", "rows_valid",
                                                          "rows_rejected")}
    assert [p["index"] for p in manifest["parts"]] == list(range(plan["chunk_count"]))
    assert len(manifest["schema_sha256"]) == 64 and manifest["source"]["key"] == source["key"]


def test_finalize_refuses_counts_that_do_not_add_up(pipeline: Pipeline) -> None:
    data, _ = build_file(mixed_rows(10))
    deps = pipeline.deps()
    source = pipeline.upload(data)
    file = validate.handle({"source": source, "execution_id": "e"}, deps)
    plan = split.handle({"file": file}, deps)
    process.handle({"file": file, "chunk": plan["chunks"][0]}, deps)
    pipeline.dynamodb.update_item(
        TableName="pipeline-status", Key={"pk": {"S": file["file_id"]},
                                          "sk": {"S": "CHUNK#000000"}},
        UpdateExpression="SET rows_valid = :v", ExpressionAttributeValues={":v": {"N": "1"}})
    with pytest.raises(CountMismatch, match="rows_in 10 != rows_valid 1"):
        finalize.handle({"file": file, "chunk_count": 1, "execution_id": "e"}, deps)


def test_local_back_ends_run_the_same_handlers(tmp_path: Path) -> None:
    data, rows = build_file(mixed_rows(40, seed=12), newline="\r\n")
    (tmp_path / "bucket" / "incoming").mkdir(parents=True)
    (tmp_path / "bucket" / "incoming" / "tx.csv").write_bytes(data)
    settings = Settings.from_env(base_env(CHUNK_SIZE_BYTES="300", MAX_REJECT_RATE="1"))
    queue = JsonlResultsQueue(tmp_path / "results.jsonl")
    deps = Deps(settings=settings, objects=LocalObjectStore(tmp_path / "bucket"),
                status=SqliteStatusStore(tmp_path / "status.sqlite"), queue=queue,
                metrics=CollectingMetrics(), schema=load_schema(settings.schema_file))
    source = {"bucket": BUCKET, "key": "incoming/tx.csv", "version_id": "local-1",
              "size": len(data)}
    file = validate.handle({"source": source, "execution_id": "local"}, deps)
    plan = split.handle({"file": file}, deps)
    for chunk in plan["chunks"]:
        process.handle({"file": file, "chunk": chunk}, deps)
    summary = finalize.handle({"file": file, "chunk_count": plan["chunk_count"]}, deps)
    valid, rejects = split_expected(rows)
    assert (summary["rows_valid"], summary["rows_rejected"]) == (len(valid), len(rejects))
    assert queue.messages()[0]["body"]["file_id"] == "incoming/tx.csv#local-1"
    assert (tmp_path / "bucket" / "processed" / "_manifests" / "tx" / "v=local-1" /
            "_manifest.json").exists()


DEPLOY_TIME = ("PIPELINE_NAME", "METRICS_NAMESPACE", "CATALOG_DATABASE", "BUCKET_NAME",
               "STATUS_TABLE", "RESULTS_QUEUE_URL")


def test_lambda_handler_builds_its_wiring_once_from_the_package_and_the_environment(
        pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """As deployed: the static settings in the package's `settings.json`, the resource
    names in the environment."""
    env = base_env(RESULTS_QUEUE_URL=pipeline.queue_url)
    package = tmp_path / "package"
    package.mkdir()
    (package / "settings.json").write_text(json.dumps(
        {name: value for name, value in env.items() if name not in DEPLOY_TIME}))
    monkeypatch.setattr(settings_module, "PACKAGE_DIR", package)
    for name in DEPLOY_TIME:
        monkeypatch.setenv(name, env[name])
    monkeypatch.delenv("CHUNK_SIZE_MB", raising=False)
    runtime.reset_container_deps()
    data, _ = build_file(mixed_rows(12))
    source = pipeline.upload(data)
    try:
        file = validate.lambda_handler({"source": source, "execution_id": "e"}, None)
        first = runtime.container_deps()
        plan = split.lambda_handler({"file": file}, None)
        for chunk in plan["chunks"]:
            process.lambda_handler({"file": file, "chunk": chunk}, None)
        summary = finalize.lambda_handler({"file": file, "chunk_count": plan["chunk_count"],
                                           "execution_id": "e"}, None)
        assert runtime.container_deps() is first
        assert summary["status"] == "COMPLETED" and summary["rows_in"] == 12
    finally:
        runtime.reset_container_deps()


text_cells = st.text(alphabet='ab,"\r\n ', max_size=30)


@settings(max_examples=300, deadline=None)
@given(text=text_cells, block=st.sampled_from([64, 4 * 1024 * 1024]))
def test_record_scan_agrees_with_pyarrow(text: str, block: int) -> None:
    """Same records as pyarrow for any mix of quotes, delimiters, CR and LF (a quote still
    open at the end makes the last record an open one, never an error)."""
    data = text.encode()
    original = chunk_parse.BLOCK_SIZE
    chunk_parse.BLOCK_SIZE = block
    try:
        parsed = parse_chunk(data, ["x", "y"], ",")
    finally:
        chunk_parse.BLOCK_SIZE = original
    arr = csv_scan.as_array(data)
    quotes = np.flatnonzero(arr == csv_scan.QUOTE)
    exact = csv_scan._sequential_toggles(arr, quotes, ord(","), False, True)
    fast = csv_scan.quote_toggles(arr, ord(","))
    others = np.flatnonzero(arr != csv_scan.QUOTE)
    assert np.array_equal(csv_scan.outside(others, exact), csv_scan.outside(others, fast))
    for row, start, stop in zip(parsed.table.to_pylist(), parsed.row_starts,
                                parsed.row_stops, strict=True):
        alone = parse_chunk(data[start:stop], ["x", "y"], ",").table.to_pylist()
        assert alone == [row]
