"""Bytes that are not valid text reject only the rows holding them: each such row is one
reject naming, per field, the first byte that does not decode by its offset in the file,
with the row's bytes in `raw` as `\\xNN`; every other row of the chunk is processed as usual
and the counts reconcile. Compared with Python's `csv` module over the file decoded line by
line (tests/handlers/handler_expected.py), at random chunk sizes and piece cuts."""

from __future__ import annotations

import json
import random
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from handlers import process
from handlers.chunk_parse import parse_chunk
from handlers.errors import EncodingError
from handlers.row_validator import compiled_validator
from handlers.schema_file import load_schema
from tests.handlers.conftest import SCHEMA_FILE, Pipeline
from tests.handlers.csv_generator import SCHEMA, GeneratedFile, csv_files
from tests.handlers.handler_expected import (
    UNDECODED,
    expected_outputs,
    records_with_offsets,
    split_expected,
)
from tests.handlers.handler_rows import HEADER, build_file, valid_row
from tests.handlers.test_property_chunks import process_file

TRANSACTIONS = load_schema(SCHEMA_FILE)
VALIDATOR = compiled_validator(TRANSACTIONS)


def first_error(data: bytes, offset: int, fields: list[str], header: list[str]) -> dict:
    """The error a row that does not decode must list first: the field holding its first
    undecodable byte and that byte's offset, found without the handlers' code."""
    try:
        data[offset:].decode("utf-8")
        raise AssertionError(f"the row at {offset} decodes")
    except UnicodeDecodeError as error:
        at = offset + error.start
    column = next(n for n, text in enumerate(fields) if UNDECODED.search(text))
    return {"field": header[column] if column < len(header) else None, "kind": "encoding",
            "message": f"invalid UTF-8 at byte {at} of the file (0x{data[at]:02X})"}


def assert_first_errors(data: bytes, rejects: list[dict], header: list[str]) -> int:
    """Each undecodable row's first error is the expected one; how many there are."""
    rows = {row.offset: row for row in records_with_offsets(data)[1]}
    found = 0
    for reject in rejects:
        row = rows.get(reject["offset"])
        if row is None or not any(UNDECODED.search(text) for text in row.fields):
            assert all(e["kind"] != "encoding" for e in reject["errors"]), reject
            continue
        found += 1
        assert reject["errors"][0] == first_error(data, row.offset, row.fields, header)
        assert {e["kind"] for e in reject["errors"]} == {"encoding"}
    return found


@seed(20251203)
@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(generated=csv_files(max_rows=30, long_max=3000, undecodable=4),
       chunk_size=st.one_of(st.just(1), st.integers(2, 80), st.integers(81, 5000)),
       pieces=st.sampled_from([1, 3]))
def test_chunks_reject_exactly_the_rows_that_do_not_decode(
        generated: GeneratedFile, chunk_size: int, pieces: int) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(process, "PIECE_MIN_BYTES", 32 if pieces > 1 else 1 << 40)
        patch.setattr(process, "PIECES", pieces)
        valid, rejects, _ = process_file(generated, chunk_size, {})
    expected = expected_outputs(generated.data, SCHEMA, generated.unterminated)
    assert [(r["offset"], r["raw"]) for r in rejects] == expected.rejects
    assert valid == expected.valid
    assert_first_errors(generated.data, rejects, list(SCHEMA["properties"]))


def _rows(count: int, seed_: int = 7) -> list[list[str]]:
    rng = random.Random(seed_)
    return [valid_row(rng, n) for n in range(count)]


def run_exact(pipeline: Pipeline, data: bytes, **env: str) -> tuple[list[dict], dict]:
    """Run the file: exactly the oracle's valid rows and rejects, the counts reconciled;
    (the rejects, the plan)."""
    deps = pipeline.deps(**{"MAX_REJECT_RATE": "1", **env})
    source = pipeline.upload(data)
    outcome = pipeline.run(source, deps)
    assert outcome.error is None, outcome.error
    header, rows = records_with_offsets(data)
    valid, expected = split_expected(rows, header)
    assert pipeline.valid_rows(source, deps) == valid
    rejects = pipeline.rejects(source, deps)
    assert [(r["offset"], r["raw"]) for r in rejects] == expected
    assert outcome.summary is not None and outcome.plan is not None
    assert (outcome.summary["rows_in"], outcome.summary["rows_valid"],
            outcome.summary["rows_rejected"]) == (len(rows), len(valid), len(expected))
    assert_first_errors(data, rejects, header)
    return rejects, outcome.plan


def test_bytes_in_a_quoted_multi_line_value(pipeline: Pipeline) -> None:
    rows = _rows(40)
    rows[17][5] = "Line one\n\xffline two\r\nthree"
    data, placed = build_file(rows)
    data = data.replace("\xff".encode(), b"\xff")
    bad = data.index(b"\xff")
    for chunk_size in ("1", "500", "100000"):
        rejects, _ = run_exact(pipeline, data, CHUNK_SIZE_BYTES=chunk_size)
        (reject,) = [r for r in rejects if r["offset"] == placed[17].offset]
        assert reject["errors"] == [{"field": "merchant", "kind": "encoding",
                                     "message": f"invalid UTF-8 at byte {bad} of the file "
                                                "(0xFF)"}]
        assert ',"Line one\n\\xffline two\r\nthree",' in reject["raw"]


def test_bytes_in_the_last_row_without_a_line_break(pipeline: Pipeline) -> None:
    rows = _rows(30)
    rows[-1][6] = "din\xe9"
    data, placed = build_file(rows, trailing_newline=False)
    data = data.replace("din\xe9".encode(), b"din\xe9")
    for chunk_size in ("1", "333", "100000"):
        rejects, _ = run_exact(pipeline, data, CHUNK_SIZE_BYTES=chunk_size)
        assert rejects[-1]["offset"] == placed[-1].offset
        assert rejects[-1]["raw"].endswith(",din\\xe9")
        assert rejects[-1]["errors"][0]["message"] == \
            f"invalid UTF-8 at byte {len(data) - 1} of the file (0xE9)"


def test_chunk_cuts_right_next_to_the_bytes(pipeline: Pipeline) -> None:
    """A chunk starts with the byte that does not decode, another ends with one (just
    before the row's line break)."""
    data, placed = build_file(_rows(60))
    first, last = placed[20].offset, placed[40].offset + len(placed[40].raw)
    data = data[:first] + b"\xfe" + data[first:last] + b"\xc3" + data[last:]
    line_feed = last + 2  # after the two inserted bytes
    data_offset = data.index(b"\n") + 1
    starts, ends = set(), set()
    for chunk_size in (first - 1 - data_offset, line_feed - data_offset):
        rejects, plan = run_exact(pipeline, data, CHUNK_SIZE_BYTES=str(chunk_size))
        starts |= {chunk["start"] for chunk in plan["chunks"]}
        ends |= {chunk["end"] for chunk in plan["chunks"]}
        messages = {r["offset"]: r["errors"][0]["message"] for r in rejects}
        assert messages[first] == f"invalid UTF-8 at byte {first} of the file (0xFE)"
        assert messages[placed[40].offset + 1] == \
            f"invalid UTF-8 at byte {line_feed - 1} of the file (0xC3)"
    assert first in starts and line_feed + 1 in ends


def test_a_file_with_a_bom_and_rows_that_do_not_decode(pipeline: Pipeline) -> None:
    """The file's BOM is still no part of the header; a record starting with U+FEFF keeps
    it, also when it is one that does not decode or the first of a chunk."""
    rows = _rows(30)
    rows[0][0] = "\ufeff" + rows[0][0]
    rows[5][0] = "\ufeff" + rows[5][0]
    rows[5][1] = "AC\xff"
    rows[9][3] = "1\xe9"
    data, _ = build_file(rows, bom=True)
    data = data.replace("AC\xff".encode(), b"AC\xff").replace("1\xe9".encode(), b"1\xe9")
    fifth, ninth = data.index("\ufeffTX0000000005".encode()), data.index(b"TX0000000009")
    for chunk_size in ("1", "400", "100000"):
        rejects, _ = run_exact(pipeline, data, CHUNK_SIZE_BYTES=chunk_size)
        by_offset = {r["offset"]: r for r in rejects}
        assert by_offset[fifth]["raw"].startswith("\ufeffTX0000000005,AC\\xff,")
        assert by_offset[fifth]["errors"][0]["field"] == "account_id"
        assert by_offset[ninth]["errors"][0]["field"] == "amount"


def test_data_rows_in_the_head_are_rejected_but_a_header_fails_the_file(
        pipeline: Pipeline) -> None:
    data, placed = build_file(_rows(5))
    at = placed[1].offset + 2
    rejects, _ = run_exact(pipeline, data[:at] + b"\xff" + data[at + 1:])
    assert [r["offset"] for r in rejects] == [placed[1].offset]
    broken = data.replace(b"account_id", b"account\xe9_id", 1)
    outcome = pipeline.run(pipeline.upload(broken))
    assert isinstance(outcome.error, EncodingError)
    at = broken.index(b"\xe9")
    assert str(outcome.error) == (f"incoming/tx.csv: byte {at} (line 1) is not valid utf-8: "
                                  "invalid continuation byte")


def test_a_chunk_of_rows_that_all_fail_to_decode() -> None:
    data = b"TX1,\xff\nTX2,\xfe,x\n\n\xc3\r\n"
    result = process.process_bytes(data, 500, HEADER, VALIDATOR, delimiter=",",
                                   encoding="utf-8", label="k", at_end_of_file=True)
    assert (result.rows_in, result.rows_valid, result.rows_rejected) == (3, 0, 3)
    assert [r["offset"] for r in result.rejects] == [
        500 + data.index(text) for text in (b"TX1", b"TX2", b"\xc3")]
    assert result.reasons == [("account_id", "encoding", 2), ("transaction_id", "encoding", 1)]
    assert result.valid_table.num_rows == 0


def test_each_field_names_its_first_byte() -> None:
    """A row with the wrong number of fields that does not decode: an error per field with
    such bytes (null past the header), in field order; the row counts once per reason."""
    row = b'TX1,"a\xff\xfe\nb",2024-01-01,1.00,USD,Caf\xe9\xe9,dining,\xf0\x9f\x98\n'
    clean = b"TX0000000002,AC00000001,2024-01-01,1.00,USD,Shop,dining\n"
    result = process.process_bytes(clean + row + clean, 1000, HEADER, VALIDATOR,
                                   delimiter=",", encoding="utf-8", label="k",
                                   at_end_of_file=True)
    assert (result.rows_in, result.rows_valid, result.rows_rejected) == (3, 2, 1)
    (reject,) = result.rejects
    at = 1000 + len(clean)
    assert reject["offset"] == at
    assert reject["raw"] == 'TX1,"a\\xff\\xfe\nb",2024-01-01,1.00,USD,Caf\\xe9\\xe9,dining,' \
        "\\xf0\\x9f\\x98"
    expected = [(name, at + row.index(byte), byte.hex().upper()) for name, byte in
                (("account_id", b"\xff"), ("merchant", b"\xe9"), (None, b"\xf0"))]
    assert reject["errors"] == [
        {"field": name, "kind": "encoding",
         "message": f"invalid UTF-8 at byte {offset} of the file (0x{shown})"}
        for name, offset, shown in expected]
    assert set(result.reasons) == {(None, "encoding", 1), ("account_id", "encoding", 1),
                                   ("merchant", "encoding", 1)}


def test_another_encoding_names_itself() -> None:
    data = "TX0000000001,AC00000001,2024-01-01,1.00,USD,Café,dining\n".encode("cp1252")
    parsed = parse_chunk(data + data.replace(b"\xe9", b"\x81"), HEADER, ",", "cp1252",
                         base_offset=10)
    assert parsed.table.column("merchant").to_pylist() == ["Café"]
    assert parsed.undecodable is not None
    at = 10 + len(data) + data.index(b"\xe9")
    assert json.loads(parsed.undecodable.errors[0])["message"] == \
        f"invalid cp1252 at byte {at} of the file (0x81)"


def test_a_ragged_row_that_does_not_decode_leaves_no_traceback_behind() -> None:
    """pyarrow cannot hand such a row to the parser's row handler; what it reports then
    must not reach the logs as a stray traceback."""
    script = ("from handlers.chunk_parse import parse_chunk\n"
              "p = parse_chunk(b'a,b\\nc,\\xff,d\\ne,f\\n', ['x', 'y'], ',')\n"
              "print(p.table.num_rows, p.undecodable.count)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True)
    assert (done.stdout, done.stderr) == ("2 1\n", "")
