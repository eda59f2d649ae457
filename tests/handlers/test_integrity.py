"""Named regressions: no row lost or changed at any chunk cut, exact numbers, honest offsets.

Each test reproduces one way a valid file once came out changed or refused, and checks the
outcome against Python's `csv` module and `jsonschema` (tests/handlers/handler_expected.py).
"""

from __future__ import annotations

import io
import json
import random
import time
import zipfile
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from handlers import chunk_parse, finalize, process
from handlers.chunk_parse import parse_chunk
from handlers.errors import PERMANENT_ERRORS, IdentityChanged, PublishConflict
from handlers.identity import HANDLERS_VERSION, source_version
from handlers.row_validator import RowValidator, compiled_validator
from handlers.validation.decimals import is_multiple
from tests.handlers.conftest import ROOT, Pipeline
from tests.handlers.handler_expected import split_expected
from tests.handlers.handler_oracle import SCHEMA_PATH, Oracle
from tests.handlers.handler_rows import HEADER, build_file, mixed_rows, valid_row

TRANSACTIONS = json.loads(SCHEMA_PATH.read_text())
VALIDATOR = compiled_validator(TRANSACTIONS)
BOM = "\ufeff"


def run_exact(pipeline: Pipeline, data: bytes, rows: list, **env: str) -> dict:
    """Run the file; the outputs must be exactly the oracle's valid rows and rejects."""
    deps = pipeline.deps(**{"MAX_REJECT_RATE": "1", **env})
    source = pipeline.upload(data)
    outcome = pipeline.run(source, deps)
    assert outcome.error is None, outcome.error
    valid, rejects = split_expected(rows)
    assert pipeline.valid_rows(source, deps) == valid
    assert [(r["offset"], r["raw"]) for r in pipeline.rejects(source, deps)] == rejects
    return {"source": source, "outcome": outcome, "deps": deps}


# --- 1. U+FEFF is data everywhere but in the file's first three bytes -----------------------

def bom_rows(count: int = 30) -> list[list[str]]:
    """Every third row starts with U+FEFF (invalid id); some merchants hold or start with it:
    101 characters with it (too long), 100 with it (valid)."""
    rng = random.Random(21)
    rows = []
    for n in range(count):
        row = valid_row(rng, n)
        if n % 3 == 0:
            row[0] = BOM + row[0]
        if n % 4 == 1:
            row[5] = BOM + "M" * 100
        elif n % 4 == 2:
            row[5] = BOM + "M" * 99
        elif n % 4 == 3:
            row[5] = "Caf" + BOM + "é"
        rows.append(row)
    return rows


@pytest.mark.parametrize("chunk_size", ["1", "97", "150", "1000000"])
def test_a_bom_at_a_chunk_start_is_kept_at_any_chunk_size(pipeline: Pipeline,
                                                         chunk_size: str) -> None:
    data, rows = build_file(bom_rows(), bom=True)
    result = run_exact(pipeline, data, rows, CHUNK_SIZE_BYTES=chunk_size)
    rejects = pipeline.rejects(result["source"])
    assert any(r["raw"].startswith(BOM + "TX") for r in rejects)
    assert any('is longer than 100 characters' in e["message"]
               for r in rejects for e in r["errors"])
    merchants = [r["merchant"] for r in pipeline.valid_rows(result["source"])]
    assert BOM + "M" * 99 in merchants and "Caf" + BOM + "é" in merchants


def test_a_bom_at_a_piece_start_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pieces of a chunk are parsed separately: one starting with U+FEFF keeps it."""
    data, rows = build_file(bom_rows(200))
    body = data[rows[0].offset:]
    monkeypatch.setattr(process, "PIECE_MIN_BYTES", 64)
    monkeypatch.setattr(process, "PIECES", 7)
    result = process.process_bytes(body, rows[0].offset, HEADER, VALIDATOR, delimiter=",",
                                   encoding="utf-8", label="k", at_end_of_file=True)
    valid, rejects = split_expected(rows)
    assert [(r["offset"], r["raw"]) for r in result.rejects] == rejects
    assert result.rows_valid == len(valid)


@pytest.mark.parametrize("block", [16, 64, 1000])
def test_pyarrow_keeps_a_bom_that_starts_one_of_its_blocks(monkeypatch: pytest.MonkeyPatch,
                                                          block: int) -> None:
    """pyarrow drops a BOM only at the start of the buffer it is given, not at its own block
    starts: the parse relies on this (checked on every pyarrow version CI runs)."""
    monkeypatch.setattr(chunk_parse, "BLOCK_SIZE", block)
    lines = [f"{BOM if n % 2 else ''}v{n},w\n" for n in range(200)]
    parsed = parse_chunk("".join(lines).encode(), ["a", "b"], ",")
    assert parsed.table.column("a").to_pylist() == [line.split(",")[0] for line in lines]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig"])
def test_a_record_starting_with_a_bom_keeps_it_in_its_raw_text(encoding: str) -> None:
    data = f"{BOM}x,1\n{BOM}only-one-field\n".encode()
    parsed = parse_chunk(data, ["a", "b"], ",", encoding)
    assert parsed.table.column("a").to_pylist() == [BOM + "x"]
    start, stop = int(parsed.ragged_starts[0]), int(parsed.ragged_stops[0])
    assert chunk_parse.raw_text(data, start, stop, encoding) == BOM + "only-one-field"


# --- 5. Numbers: any exponent length, exact and fast --------------------------------------

def verdicts(schema: dict, column: str, texts: list[str]) -> tuple[list[set[str]], list]:
    table = pa.table({column: pa.array(texts, pa.string())})
    verdict = RowValidator(schema).validate(table)
    found = [set() for _ in texts]
    for row, errors in verdict.reasons(table):
        found[row] = {e["message"] for e in errors}
    return found, verdict.typed.column(column).to_pylist()


def test_0e10000_is_a_number(pipeline: Pipeline) -> None:
    rng = random.Random(5)
    fields = [valid_row(rng, n) for n in range(6)]
    for row, amount in zip(fields, ["0e10000", "5E+00002", "1e-10000", "0.00E-99999",
                                    "+5", ".5"], strict=True):
        row[3] = amount
    data, rows = build_file(fields)
    result = run_exact(pipeline, data, rows, CHUNK_SIZE_BYTES="100")
    amounts = [r["amount"] for r in pipeline.valid_rows(result["source"])]
    assert amounts == [Decimal("0.00"), Decimal("500.00"), Decimal("0.00"), Decimal("5.00"),
                       Decimal("0.50")]
    [reject] = pipeline.rejects(result["source"])
    assert reject["errors"] == [{"field": "amount", "kind": "multipleOf",
                                 "message": '"1e-10000" has more than 2 decimals'}]


def test_huge_exponents_are_decided_exactly_without_blowing_up() -> None:
    schema = {"type": "object", "properties": {
        "bounded": {"type": "number", "multipleOf": 0.01, "minimum": -1e6, "maximum": 1e6},
        "cents": {"type": "number", "multipleOf": 0.01},
        "thirds": {"type": "number", "multipleOf": 3},
        "plain": {"type": "number"},
    }}
    texts = ["1e999999999", "-1e999999999", "1e-999999999", "0e999999999", "0e-999999999",
             "3e999999999", "1" + "0" * 60, "1." + "0" * 60]
    started = time.perf_counter()
    found = {name: verdicts(schema, name, texts) for name in schema["properties"]}
    assert time.perf_counter() - started < 5
    bounded, _ = found["bounded"]
    assert bounded[0] == {'"1e999999999" is greater than the maximum 1000000'}
    assert bounded[1] == {'"-1e999999999" is less than the minimum -1000000'}
    assert bounded[2] == {'"1e-999999999" has more than 2 decimals'}
    assert bounded[3] == bounded[4] == bounded[7] == set()
    cents, typed_cents = found["cents"]
    assert cents[0] == {'"1e999999999" does not fit a decimal(38, 2)'}
    assert cents[6] == {f'"{"1" + "0" * 56}..." does not fit a decimal(38, 2)'}
    assert typed_cents == [Decimal("0.00"), Decimal("0.00"), Decimal("1.00")]
    thirds, _ = found["thirds"]
    assert thirds[0] == {'"1e999999999" is not a multiple of 3; "1e999999999" is beyond the '
                         'range of a 64-bit float'}
    assert thirds[5] == {'"3e999999999" is beyond the range of a 64-bit float'}
    assert thirds[2] == {'"1e-999999999" is not a multiple of 3'}
    plain, typed_plain = found["plain"]
    assert plain[0] == {'"1e999999999" is beyond the range of a 64-bit float'}
    assert plain[2] == set() and plain[6] == set()  # tiny values round to 0.0, as floats do
    assert typed_plain == [0.0, 0.0, 0.0, 1e60, 1.0]


@pytest.mark.parametrize(("value", "divisor", "expected"), [
    ("1e999999999", "0.01", True), ("1e-999999999", "0.01", False),
    ("7e999999999", "7", True), ("3e999999999", "7", False), ("0e-999999999", "0.3", True),
    ("1.5e1", "0.5", True), ("0.07", "0.01", True), ("0.075", "0.01", False),
    ("12e-1", "0.4", True), ("1e-3", "1e-3", True), ("1e-4", "1e-3", False),
])
def test_multiples_are_exact_at_any_exponent(value: str, divisor: str, expected: bool) -> None:
    assert is_multiple(Decimal(value), Decimal(divisor)) is expected


def test_the_oracle_agrees_on_long_exponents() -> None:
    oracle = Oracle(TRANSACTIONS)
    base = dict(zip(HEADER, valid_row(random.Random(1), 1), strict=True))
    assert oracle.failing_fields({**base, "amount": "0e10000"}) == set()
    assert oracle.failing_fields({**base, "amount": "1e-10000"}) == {"amount"}


# --- 6. Every offset a user sees is an offset in the source object ------------------------

def test_invalid_text_late_in_the_file_names_its_source_offset(pipeline: Pipeline) -> None:
    data, rows = build_file(mixed_rows(2500, seed=2))
    bad_row = rows[2200]  # past the 64 KiB that validation reads, in the 9th chunk
    position = bad_row.offset + bad_row.raw.index(",") + 1
    assert position > 8 * 16384
    broken = data[:position] + b"\xff" + data[position + 1:]
    source = pipeline.upload(broken)
    deps = pipeline.deps(CHUNK_SIZE_BYTES="16384")
    outcome = pipeline.run(source, deps)
    assert outcome.error is None, outcome.error
    (reject,) = [r for r in pipeline.rejects(source, deps) if r["offset"] == bad_row.offset]
    assert reject["errors"] == [{"field": "account_id", "kind": "encoding",
                                 "message": f"invalid UTF-8 at byte {position} of the file "
                                            "(0xFF)"}]


def test_an_unterminated_quote_at_the_end_is_one_rejected_row(pipeline: Pipeline) -> None:
    """The quote opens at a known source offset; the rows before it are kept; the file does
    not fail."""
    data, rows = build_file(mixed_rows(40, seed=3))
    tail = "TX0000009999,AC00000001,2024-01-31,1.00,USD,\"never closed\nTX1,2,3\n"
    broken = data + tail.encode()
    for chunk_size in ("1", "333", "100000"):
        deps = pipeline.deps(CHUNK_SIZE_BYTES=chunk_size)
        source = pipeline.upload(broken)
        outcome = pipeline.run(source, deps)
        assert outcome.error is None, outcome.error
        valid, rejects = split_expected(rows)
        assert pipeline.valid_rows(source, deps) == valid
        found = pipeline.rejects(source, deps)
        assert [(r["offset"], r["raw"]) for r in found[:-1]] == rejects
        assert found[-1]["offset"] == len(data)
        assert found[-1]["raw"] == tail.removesuffix("\n")
        quote = len(data) + tail.index('"')
        assert found[-1]["errors"] == [{"field": None, "kind": "record", "message": (
            f"the quoted field opened at byte {quote} is never closed (an unterminated "
            "quote): the row runs to the end of the file")}]
        assert outcome.summary["rows_in"] == len(rows) + 1


# --- 2. Re-run identity ----------------------------------------------------------------

def test_a_rerun_under_another_identity_is_new_work(pipeline: Pipeline) -> None:
    """Same bytes, same ranges, another schema: nothing of the first run is reused."""
    strict = json.loads(json.dumps(TRANSACTIONS))
    strict["properties"]["currency"]["enum"].remove("EUR")
    data, rows = build_file(mixed_rows(60, seed=12))
    source = pipeline.upload(data)
    strict_deps = pipeline.deps(CHUNK_SIZE_BYTES="500", MAX_REJECT_RATE="1")
    strict_deps.schema = strict
    first = pipeline.run(source, strict_deps)
    assert first.error is None
    fixed = pipeline.deps(CHUNK_SIZE_BYTES="500", MAX_REJECT_RATE="1")
    second = pipeline.run(source, fixed)
    assert second.error is None and second.file["status"] == "RUNNING"
    assert second.plan == first.plan
    assert second.summary["rows_valid"] > first.summary["rows_valid"]
    valid, rejects = split_expected(rows)
    assert pipeline.valid_rows(source) == valid
    assert [(r["offset"], r["raw"]) for r in pipeline.rejects(source)] == rejects
    manifest = json.loads(pipeline.body(pipeline.layout(source).manifest_key))
    assert manifest["identity"]["file"] == second.file["identity"]
    assert manifest["identity"]["schema_sha256"] == manifest["schema_sha256"]
    third = pipeline.run(source, fixed)
    assert third.file["status"] == "COMPLETED" and third.plan is None


def test_a_step_running_other_code_or_config_than_validation_refuses(
        pipeline: Pipeline) -> None:
    data, _ = build_file(mixed_rows(10))
    source = pipeline.upload(data)
    deps = pipeline.deps()
    from handlers import split, validate

    file = validate.handle({"source": source, "execution_id": "e"}, deps)
    plan = split.handle({"file": file}, deps)
    with pytest.raises(IdentityChanged, match="changed during the run"):
        process.handle({"file": file, "chunk": plan["chunks"][0]},
                       pipeline.deps(OUTPUT_FORMAT="csv"))


def test_the_handlers_version_is_the_same_from_the_deployed_zip(tmp_path: Path) -> None:
    """The zip the template deploys holds the same sources, so a Lambda container computes
    the same handlers version as a local run."""
    from etlgen.config import load_config
    from etlgen.packaging import build_package

    package = build_package(load_config(ROOT / "pipeline.yaml"))
    with zipfile.ZipFile(io.BytesIO(package.data)) as archive:
        archive.extractall(tmp_path)
    assert source_version(tmp_path / "handlers") == HANDLERS_VERSION
    (tmp_path / "handlers" / "split.py").write_text("# changed\n", encoding="utf-8")
    assert source_version(tmp_path / "handlers") != HANDLERS_VERSION


# --- 3. Committed prefixes hold exactly the manifest's parts (moto S3) -------------------

def committed_keys(pipeline: Pipeline, source: dict) -> tuple[set[str], set[str]]:
    """(keys under the committed file's partition prefixes, keys the manifest names)."""
    manifest = pipeline.manifest(source)
    assert manifest is not None
    listed = set(pipeline.committed_keys(source))
    named = {o["key"] for p in manifest["parts"] for o in p["outputs"]} | {
        p["rejected_key"] for p in manifest["parts"] if p["rejected_key"]}
    assert all(prefix.startswith(("processed/transactions/", "rejected/transactions/"))
               and f"/source_file={manifest['source_file']}/" in prefix
               for prefix in manifest["prefixes"])
    return listed, named


def test_a_failed_run_leaves_nothing_under_the_output_prefixes(pipeline: Pipeline) -> None:
    data, _ = build_file(mixed_rows(80, seed=13))
    source = pipeline.upload(data)
    outcome = pipeline.run(source, pipeline.deps(CHUNK_SIZE_BYTES="300",
                                                 MAX_REJECT_RATE="0.01"))
    assert type(outcome.error).__name__ == "RejectRateExceeded"
    assert pipeline.keys("processed/") == pipeline.keys("rejected/") == []
    assert pipeline.keys("staging/"), "the chunks' parts wait, staged"


def test_a_rerun_with_another_plan_and_format_leaves_exactly_the_manifest_parts(
        pipeline: Pipeline) -> None:
    data, rows = build_file(mixed_rows(400, seed=14))
    source = pipeline.upload(data)
    first = pipeline.run(source, pipeline.deps(CHUNK_SIZE_BYTES="1500", MAX_REJECT_RATE="1"))
    assert first.error is None and first.plan["chunk_count"] >= 10
    listed, named = committed_keys(pipeline, source)
    assert listed == named
    deps = pipeline.deps(CHUNK_SIZE_BYTES="20000", OUTPUT_FORMAT="csv", MAX_REJECT_RATE="1")
    second = pipeline.run(source, deps)
    assert second.error is None and second.plan["chunk_count"] == 2
    listed, named = committed_keys(pipeline, source)
    assert listed == named and len(listed) == 4
    assert all(k.endswith((".csv", ".jsonl")) for k in listed)
    assert pipeline.keys("staging/") == [], "staged parts are removed after the commit"
    _, rejects = split_expected(rows)
    assert [(r["offset"], r["raw"]) for r in pipeline.rejects(source)] == rejects


def test_a_finalize_retried_after_its_commit_publishes_nothing_again(
        pipeline: Pipeline) -> None:
    data, _ = build_file(mixed_rows(50, seed=15))
    source = pipeline.upload(data)
    deps = pipeline.deps(CHUNK_SIZE_BYTES="800", MAX_REJECT_RATE="1")
    outcome = pipeline.run(source, deps)
    assert outcome.error is None
    before = {key: pipeline.body(key) for key in pipeline.keys("processed/")}
    again = finalize.handle({"file": outcome.file, "chunk_count": outcome.plan["chunk_count"],
                             "execution_id": "exec-2"}, deps)
    assert again["status"] == "COMPLETED" and again["rows_in"] == 50
    assert {key: pipeline.body(key) for key in pipeline.keys("processed/")} == before


def test_another_run_changing_the_outputs_while_publishing_is_caught(
        pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch) -> None:
    data, _ = build_file(mixed_rows(50, seed=16))
    source = pipeline.upload(data)
    deps = pipeline.deps(CHUNK_SIZE_BYTES="800", MAX_REJECT_RATE="1")
    real_publish = finalize.publish

    def publish_then_interfere(objects, commit) -> None:
        real_publish(objects, commit)
        objects.put_bytes(commit.layout.output_key(commit.partitions[0], commit.source_file,
                                                   99), b"stray part of another run")

    monkeypatch.setattr(finalize, "publish", publish_then_interfere)
    outcome = pipeline.run(source, deps)
    assert isinstance(outcome.error, PublishConflict)
    assert outcome.error.__class__.__name__ not in PERMANENT_ERRORS, "retried"
    assert deps.status.get_file(outcome.file["file_id"])["status"] == "RUNNING"
    monkeypatch.setattr(finalize, "publish", real_publish)
    retried = finalize.handle({"file": outcome.file, "chunk_count": outcome.plan["chunk_count"],
                               "execution_id": "exec-1"}, deps)
    assert retried["status"] == "COMPLETED"
    listed, named = committed_keys(pipeline, source)
    assert listed == named


def test_a_chunk_whose_staged_parts_expired_is_redone(pipeline: Pipeline) -> None:
    data, rows = build_file(mixed_rows(60, seed=17))
    source = pipeline.upload(data)
    failing = pipeline.deps(CHUNK_SIZE_BYTES="600", MAX_REJECT_RATE="0.01")
    assert type(pipeline.run(source, failing).error).__name__ == "RejectRateExceeded"
    staged = pipeline.keys("staging/")
    pipeline.s3.delete_object(Bucket=source["bucket"], Key=staged[0])  # as the lifecycle does
    outcome = pipeline.run(source, pipeline.deps(CHUNK_SIZE_BYTES="600", MAX_REJECT_RATE="1"))
    assert outcome.error is None
    valid, rejects = split_expected(rows)
    assert pipeline.valid_rows(source) == valid
    assert [(r["offset"], r["raw"]) for r in pipeline.rejects(source)] == rejects
