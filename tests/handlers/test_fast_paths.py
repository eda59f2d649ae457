"""The fast paths give exactly what the plain ones give: cutting a chunk into pieces (and
writing them as they finish), the fixed-shape pattern check (against RE2, the engine it
replaces), the date parser, taking rows chunk by chunk and reading boolean results
as numpy masks."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handlers import chunk_parse, csv_scan, process
from handlers.chunk_outputs import ValidRowsFile
from handlers.formats.format import stored_schema
from handlers.json_text import ONCE, TWICE, escaped, escaped_text
from handlers.local_objects import LocalObjectStore
from handlers.row_validator import compiled_validator
from handlers.validation.decimal_text import written_with_places
from handlers.validation.fixed_width import fixed_shape, matches_shape, parse_dates
from handlers.validation.integer_kind import INTEGER_RE
from handlers.validation.kernels import mask_of, rows_taken
from handlers.validation.number_kind import plain_number_pattern, plain_numbers
from tests.handlers.csv_generator import HEADER as GENERATED_HEADER
from tests.handlers.csv_generator import GeneratedFile, csv_files
from tests.handlers.handler_oracle import SCHEMA_PATH
from tests.handlers.handler_rows import HEADER, build_file, mixed_rows

VALIDATOR = compiled_validator(json.loads(SCHEMA_PATH.read_text()))


def verdict(data: bytes, monkeypatch: pytest.MonkeyPatch, piece_bytes: int) -> tuple:
    monkeypatch.setattr(process, "PIECE_MIN_BYTES", piece_bytes)
    monkeypatch.setattr(process, "PIECES", 3)
    result = process.process_bytes(data, 1000, HEADER, VALIDATOR, delimiter=",",
                                   encoding="utf-8", label="k", at_end_of_file=True)
    return (result.rows_in, result.rows_valid, result.valid_table.to_pylist(), result.rejects)


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_pieces_give_the_same_rows_and_rejects(monkeypatch: pytest.MonkeyPatch, seed: int,
                                               newline: str) -> None:
    data, _ = build_file(mixed_rows(400, seed=seed), newline=newline)
    body = data[data.index(b"\n") + 1:]
    whole = verdict(body, monkeypatch, 1 << 40)
    cut = verdict(body, monkeypatch, 64)
    assert cut == whole
    assert whole[0] == 400 and whole[0] > whole[1]


def test_pieces_on_one_thread_give_what_they_give_side_by_side(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """`threads` (a local run's workers share the cores) changes only how many pieces are
    checked at once, never the rows, rejects or their order."""
    data, _ = build_file(mixed_rows(600, seed=9))
    body = data[data.index(b"\n") + 1:]
    monkeypatch.setattr(process, "PIECE_MIN_BYTES", 64)
    monkeypatch.setattr(process, "PIECE_TARGET_BYTES", 2048)
    found = []
    for threads in (1, 2, 3):
        result = process.process_bytes(body, 1000, HEADER, VALIDATOR, delimiter=",",
                                       encoding="utf-8", label="k", at_end_of_file=True,
                                       threads=threads)
        found.append((result.rows_in, result.rows_valid, result.valid_table.to_pylist(),
                      result.lines, result.reasons))
    assert found[0] == found[1] == found[2]
    assert found[0][0] == 600 and 0 < found[0][1] < 600


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_pieces_written_as_they_finish_give_the_same_file(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fmt: str) -> None:
    data, _ = build_file(mixed_rows(400, seed=5))
    body = data[data.index(b"\n") + 1:]
    store = LocalObjectStore(tmp_path)
    for name, piece_bytes in (("whole", 1 << 40), ("cut", 64)):
        monkeypatch.setattr(process, "PIECE_MIN_BYTES", piece_bytes)
        monkeypatch.setattr(process, "PIECES", 3)
        with ValidRowsFile(fmt, VALIDATOR.output_schema,
                           VALIDATOR.dictionary_columns) as valid_rows:
            result = process.process_bytes(body, 1000, HEADER, VALIDATOR, delimiter=",",
                                           encoding="utf-8", label="k", at_end_of_file=True,
                                           sink=valid_rows)
            valid_rows.upload(store, f"{name}.{fmt}")
        assert result.valid_table is None and valid_rows.rows == result.rows_valid > 0
    if fmt == "csv":
        assert (tmp_path / "cut.csv").read_bytes() == (tmp_path / "whole.csv").read_bytes()
    else:
        cut, whole = (pq.read_table(tmp_path / f"{n}.parquet") for n in ("cut", "whole"))
        assert cut.schema == whole.schema == stored_schema(VALIDATOR.output_schema)
        assert cut.to_pylist() == whole.to_pylist()
        pieces = len(process._piece_shares(len(body), 3))  # 3 full ones, 3 small ones
        assert pieces == 6
        assert pq.ParquetFile(tmp_path / "cut.parquet").metadata.num_row_groups == pieces


def test_a_failed_piece_is_redone_whole_and_each_row_written_once(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    data, _ = build_file(mixed_rows(400, seed=6))
    body = data[data.index(b"\n") + 1:]
    monkeypatch.setattr(process, "PIECE_MIN_BYTES", 64)
    monkeypatch.setattr(process, "PIECES", 3)
    real_piece = process._piece

    def last_piece_fails(data: bytes, offset: int, *args: object, **kwargs: object) -> object:
        if offset > len(body) // 2:
            raise RuntimeError("piece failed")
        return real_piece(data, offset, *args, **kwargs)

    monkeypatch.setattr(process, "_piece", last_piece_fails)
    store = LocalObjectStore(tmp_path)
    with ValidRowsFile("parquet", VALIDATOR.output_schema) as valid_rows:
        result = process.process_bytes(body, 1000, HEADER, VALIDATOR, delimiter=",",
                                       encoding="utf-8", label="k", at_end_of_file=True,
                                       sink=valid_rows)
        valid_rows.upload(store, "out.parquet")
    monkeypatch.setattr(process, "_piece", real_piece)
    whole = verdict(body, monkeypatch, 1 << 40)
    assert pq.read_table(tmp_path / "out.parquet").to_pylist() == whole[2]
    assert (result.rows_in, result.rows_valid, result.rejects) == (whole[0], whole[1], whole[3])


def test_a_chunk_without_valid_rows_still_writes_the_columns(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    with ValidRowsFile("parquet", VALIDATOR.output_schema) as valid_rows:
        valid_rows.write(VALIDATOR.output_schema.empty_table())
        valid_rows.upload(store, "empty.parquet")
    table = pq.read_table(tmp_path / "empty.parquet")
    assert table.num_rows == 0 and table.schema == stored_schema(VALIDATOR.output_schema)


def test_an_error_in_a_piece_reads_as_for_the_whole_chunk(
        monkeypatch: pytest.MonkeyPatch) -> None:
    data, _ = build_file(mixed_rows(200, seed=4))
    body = data[data.index(b"\n") + 1:]
    broken = body + b'TX0000009999,AC00000001,2024-01-01,1.00,USD,"open\n'
    messages = []
    for piece_bytes in (1 << 40, 64):
        monkeypatch.setattr(process, "PIECE_MIN_BYTES", piece_bytes)
        with pytest.raises(Exception) as raised:
            process.process_bytes(broken, 1000, HEADER, VALIDATOR, delimiter=",",
                                  encoding="utf-8", label="k", at_end_of_file=False)
        messages.append((type(raised.value).__name__, str(raised.value)))
    assert messages[0] == messages[1] and messages[0][0] == "ChunkPlanError"
    quote = 1000 + broken.rindex(b'"')
    assert f"the quoted field opened at byte {quote}" in messages[0][1]


PATTERNS = [r"^TX[0-9]{10}$", r"^AC\d{3}$", r"^[A-Z0-9]{2}\-[a-z]$", r"^[0-9A-Za-z_ ]{3}$"]
texts = st.one_of(st.text(alphabet="0123456789TXACaz-_ \n٣é", max_size=14),
                  st.from_regex(r"\ATX[0-9]{10}\Z"), st.from_regex(r"\AAC[0-9]{3}\Z"))


@settings(max_examples=300, deadline=None)
@given(marks=st.lists(st.tuples(st.integers(-1, 300), st.booleans()), max_size=120,
                      unique_by=lambda mark: mark[0]))
def test_positions_outside_quotes_are_those_after_an_even_number_of_toggles(
        marks: list[tuple[int, bool]]) -> None:
    """Line breaks and toggles drawn from the same range, in any proportion, spans holding
    line breaks or none (the shortcut): each position is outside when fewer than an odd
    number of toggles come before it, counted one by one."""
    marks.sort()
    toggles = np.array([at for at, toggle in marks if toggle], np.int64)
    positions = np.array([at for at, toggle in marks if not toggle and at >= 0], np.int64)
    expected = [sum(1 for t in toggles.tolist() if t < p) % 2 == 0 for p in positions.tolist()]
    assert csv_scan.outside(positions, toggles).tolist() == expected


@settings(max_examples=150, deadline=None)
@given(values=st.lists(texts, max_size=40), split=st.integers(0, 40))
def test_fixed_shapes_agree_with_re2(values: list[str], split: int) -> None:
    column = pa.chunked_array([values[:split], values[split:]], pa.string())
    for pattern in PATTERNS:
        expected = pc.fill_null(pc.match_substring_regex(column, pattern), False)
        assert matches_shape(column, fixed_shape(pattern)).tolist() == expected.to_pylist()


@settings(max_examples=150, deadline=None)
@given(values=st.lists(st.one_of(texts, st.none()), max_size=40), skip=st.integers(0, 3),
       large=st.booleans())
def test_fixed_shapes_agree_with_re2_on_nulls_and_sliced_columns(
        values: list[str | None], skip: int, large: bool) -> None:
    """Columns of mixed widths are checked on the rows of the width only, whatever the
    array's offset, type or null slots."""
    column = pa.array(values, pa.large_string() if large else pa.string())[skip:]
    for pattern in PATTERNS:
        expected = pc.fill_null(pc.match_substring_regex(column, pattern), False)
        assert matches_shape(column, fixed_shape(pattern)).tolist() == expected.to_pylist()


amounts = st.one_of(st.text(alphabet="0123456789.+-eE ٣é", max_size=12),
                    st.from_regex(r"\A[+-]?[0-9]{1,6}\.[0-9]{0,4}\Z"),
                    st.from_regex(r"\A[+-]?[0-9]{1,6}\Z"), st.none())


@settings(max_examples=300, deadline=None)
@given(values=st.lists(amounts, max_size=40), split=st.integers(0, 40), skip=st.integers(0, 3),
       large=st.booleans(), places=st.one_of(st.none(), st.integers(0, 3)))
def test_plain_numbers_told_from_the_bytes_agree_with_re2(
        values: list[str | None], split: int, skip: int, large: bool,
        places: int | None) -> None:
    """The number kind's first check: the values with exactly `places` decimals are told
    from the bytes, and with the regex run on the others the mask is RE2's, whatever the
    chunks, the array's offset, its type or its null slots."""
    kind = pa.large_string() if large else pa.string()
    column = pa.chunked_array([pa.array(values[:split], kind)[skip:],
                               pa.array(values[split:], kind)], kind)
    expected = pc.fill_null(pc.match_substring_regex(
        column, plain_number_pattern(places)), False).to_pylist()
    assert plain_numbers(column, places).tolist() == expected
    if places is not None:
        usual = rf"^[+-]?[0-9]+\.[0-9]{{{places}}}$" if places else INTEGER_RE
        assert written_with_places(column, places).tolist() == pc.fill_null(
            pc.match_substring_regex(column, usual), False).to_pylist()


def test_a_null_over_a_well_written_value_is_not_a_plain_number() -> None:
    """A validity bitmap laid over text (as `with_nulls_for_empty` does) hides the text."""
    texts = pa.array(["12.34", "-5.00", "7.10"])
    hidden = pa.Array.from_buffers(pa.string(), 3, [pa.array([True, False, True]).buffers()[1],
                                                    *texts.buffers()[1:]])
    assert written_with_places(hidden, 2).tolist() == [True, False, True]
    assert plain_numbers(pa.chunked_array([hidden]), 2).tolist() == [True, False, True]


@pytest.mark.parametrize("pattern", [r"^TX[0-9]+$", r"TX[0-9]{3}", r"^[^a]$", r"^(a|b)$",
                                     r"^a.b$", r"^[a-]$", r"^\w$", r"^a{2,3}$"])
def test_other_patterns_are_left_to_the_regex_engine(pattern: str) -> None:
    assert fixed_shape(pattern) is None


dates = st.one_of(st.dates().map(dt.date.isoformat),
                  st.from_regex(r"\A[0-9]{4}-[0-9]{1,2}-[0-9]{1,3}\Z"),
                  st.text(alphabet="0123456789-", max_size=11))


@settings(max_examples=150, deadline=None)
@given(values=st.lists(dates, max_size=40))
def test_dates_parse_like_the_calendar(values: list[str]) -> None:
    ok, days = parse_dates(pa.chunked_array([values], pa.string()))
    for text, valid, day in zip(values, ok.tolist(), days.tolist(), strict=True):
        try:
            real = dt.date.fromisoformat(text) if len(text) == 10 and text[4] == "-" \
                and text[7] == "-" and text.replace("-", "").isascii() \
                and text.replace("-", "").isdigit() else None
        except ValueError:
            real = None
        assert valid == (real is not None), text
        if real is not None:
            assert day == (real - dt.date(1970, 1, 1)).days
    assert np.asarray(days).dtype.kind == "i"


def test_valid_amounts_with_exponents_become_exact_decimals() -> None:
    from decimal import Decimal

    rows = [["TX0000000001", "AC00000001", "2024-01-31", amount, "USD", "Shop", "other"]
            for amount in ("0e40", "1.5e1", "-2.50", "12")]
    table = pa.table({name: [row[k] for row in rows] for k, name in enumerate(HEADER)})
    result = VALIDATOR.validate(table)
    assert result.rows_valid == 4
    assert result.typed.column("amount").to_pylist() == [
        Decimal("0.00"), Decimal("15.00"), Decimal("-2.50"), Decimal("12.00")]


def test_amounts_far_out_of_bounds_leave_the_valid_ones_exact() -> None:
    """Rows beyond the bounds (rejected) sit beside valid rows: those keep their exact
    decimals, the way a column of valid rows alone is typed."""
    from decimal import Decimal

    amounts = ("12.34", "99999999999.99", "-1000000", "-5", "1e12", "1000000.00", "0.07")
    rows = [["TX0000000001", "AC00000001", "2024-01-31", amount, "USD", "Shop", "other"]
            for amount in amounts]
    table = pa.table({name: [row[k] for row in rows] for k, name in enumerate(HEADER)})
    result = VALIDATOR.validate(table)
    assert result.valid.tolist() == [True, False, True, True, False, True, True]
    assert result.typed.column("amount").to_pylist() == [
        Decimal("12.34"), Decimal("-1000000.00"), Decimal("-5.00"), Decimal("1000000.00"),
        Decimal("0.07")]


def test_the_valid_rows_file_is_left_nowhere_once_uploaded_or_dropped(tmp_path: Path) -> None:
    """The store takes the uploaded file (a local one renames it into place); a file never
    uploaded (a chunk that failed) is removed when its block ends."""
    store = LocalObjectStore(tmp_path)
    rows = process.process_bytes(_body_rows(), 1000, HEADER, VALIDATOR, delimiter=",",
                                 encoding="utf-8", label="k", at_end_of_file=True).valid_table
    with ValidRowsFile("parquet", VALIDATOR.output_schema) as uploaded:
        uploaded.write(rows)
        uploaded.upload(store, "staging/part.parquet")
    with ValidRowsFile("parquet", VALIDATOR.output_schema) as dropped:
        dropped.write(rows)
    assert not Path(uploaded.path).exists() and not Path(dropped.path).exists()
    assert pq.read_table(tmp_path / "staging/part.parquet").to_pylist() == rows.to_pylist()
    assert [path.name for path in (tmp_path / "staging").iterdir()] == ["part.parquet"]


def _body_rows() -> bytes:
    data, _ = build_file(mixed_rows(50, seed=9))
    return data[data.index(b"\n") + 1:]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.one_of(st.none(), st.text(max_size=5)), max_size=6), max_size=5),
       st.data())
def test_rows_taken_chunk_by_chunk_are_the_rows_a_whole_column_gives(
        chunks: list[list[str | None]], data: st.DataObject) -> None:
    """Any ascending rows, across any chunk boundaries (empty chunks too), from a chunked
    column or a plain array: the same values, type and nulls as the concatenated column's
    `take`."""
    column = pa.chunked_array([pa.array(chunk, pa.string()) for chunk in chunks], pa.string())
    rows = np.array(sorted(data.draw(st.lists(
        st.integers(0, len(column) - 1), max_size=12))) if len(column) else [], np.int64)
    expected = column.combine_chunks().take(pa.array(rows, pa.int64()))
    assert rows_taken(column, rows).equals(expected)
    assert rows_taken(column.combine_chunks(), rows).equals(expected)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.one_of(st.none(), st.booleans()), max_size=40), max_size=4),
       st.integers(0, 9))
def test_masks_of_boolean_results_are_their_values_with_nulls_false(
        chunks: list[list[bool | None]], skip: int) -> None:
    """Chunked or not, sliced at any bit, with nulls: the mask is each value, False for a
    null."""
    column = pa.chunked_array([pa.array(chunk, pa.bool_()) for chunk in chunks], pa.bool_())
    expected = [bool(value) for chunk in chunks for value in chunk]
    assert mask_of(column).tolist() == expected
    whole = column.combine_chunks()
    assert mask_of(whole.slice(skip)).tolist() == expected[skip:]
    assert mask_of(whole).dtype == bool


def test_enum_and_constant_lineage_columns_are_written_as_dictionaries_and_read_as_text(
        tmp_path: Path) -> None:
    """The enum columns come out of the checks as dictionaries of their members and the
    constant lineage columns as dictionaries of their one value: the Parquet part stores
    them dictionary-encoded with min/max statistics, holds no Arrow schema, and reads back
    (pyarrow and DuckDB alike) as the plain text and values the rows hold."""
    import duckdb

    from handlers.lineage import Lineage, output_schema

    body, _ = build_file(mixed_rows(3000))
    body = body[body.index(b"\n") + 1:]
    lineage = Lineage.of("incoming/tx.csv", None, "2026-01-02T03:04:05.000006Z")
    schema = output_schema(VALIDATOR.output_schema, True)
    store = LocalObjectStore(tmp_path)
    with ValidRowsFile("parquet", schema, VALIDATOR.dictionary_columns) as valid_rows:
        result = process.process_bytes(body, 0, HEADER, VALIDATOR, delimiter=",",
                                       encoding="utf-8", label="k", at_end_of_file=True,
                                       lineage=lineage)
        valid_rows.write(result.valid_table)
        valid_rows.upload(store, "part.parquet")
    path = tmp_path / "part.parquet"
    assert pa.types.is_dictionary(result.valid_table.schema.field("currency").type)
    table = pq.read_table(path)
    assert table.schema == stored_schema(schema) and table.num_rows == result.rows_valid > 0
    assert table.to_pylist() == result.valid_table.to_pylist()
    metadata = pq.ParquetFile(path).metadata
    assert b"ARROW:schema" not in (metadata.metadata or {})
    group = metadata.row_group(0)
    by_name = {group.column(i).path_in_schema: group.column(i) for i in range(group.num_columns)}
    for name in ("currency", "category", "_source_key"):
        assert "RLE_DICTIONARY" in by_name[name].encodings or \
            "PLAIN_DICTIONARY" in by_name[name].encodings, name
    currencies = pc.unique(table.column("currency")).to_pylist()
    assert by_name["currency"].statistics.min == min(c for c in currencies if c)
    assert by_name["_source_key"].statistics.max == "incoming/tx.csv"
    assert by_name["_source_version"].statistics.null_count == table.num_rows
    with duckdb.connect() as con:
        found = con.execute(f"SELECT count(*), min(currency), max(_source_key) FROM "
                            f"'{path}' WHERE category = 'dining'").fetchone()
    assert found == (
        sum(1 for row in table.to_pylist() if row["category"] == "dining"),
        min(row["currency"] for row in table.to_pylist() if row["category"] == "dining"),
        "incoming/tx.csv")


def _parsed(body: bytes, share: float) -> object:
    """What `parse_chunk` gives (or raises) when a sample with `share` ragged rows or more
    has every record's fields counted first (0: always, above 1: never)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(chunk_parse, "RAGGED_SHARE", share)
        try:
            parsed = chunk_parse.parse_chunk(body, GENERATED_HEADER, ",", base_offset=7)
        except Exception as error:  # the same error either way
            return type(error).__name__, str(error)
    undecodable = parsed.undecodable
    return (parsed.table.to_pylist(), parsed.row_starts.tolist(), parsed.row_stops.tolist(),
            parsed.ragged_starts.tolist(), parsed.ragged_stops.tolist(),
            parsed.ragged_fields.tolist(), parsed.open_record,
            None if undecodable is None else (undecodable.starts.tolist(),
                                              undecodable.stops.tolist(), undecodable.errors))


def _body(generated: GeneratedFile) -> bytes:
    """The records after the header line (its terminator LF, CRLF or CR)."""
    data = generated.data
    end = min(at for at in (data.find(b"\n"), data.find(b"\r"), len(data)) if at >= 0)
    return data[end + (2 if data[end:end + 2] == b"\r\n" else 1):]


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(generated=st.one_of(csv_files(max_rows=40, long_max=400),
                           csv_files(max_rows=20, undecodable=2)))
def test_ragged_rows_cut_out_before_the_parse_give_what_pyarrow_skips_give(
        generated: GeneratedFile) -> None:
    """Rows with the wrong number of fields counted in the bytes and cut out before pyarrow
    parses: the same rows, offsets, field counts, unclosed record, undecodable records and
    errors as pyarrow skipping them itself, on any quoting, line ends and bytes."""
    body = _body(generated)
    assert _parsed(body, 0.0) == _parsed(body, 2.0)


def test_a_chunk_mostly_of_ragged_rows_is_cut_out_before_the_parse() -> None:
    """With a fifth of the rows ragged the fields are counted first and pyarrow is handed
    no row to skip (not for data above `RAGGED_COUNTED_MAX_BYTES`, whose copy would cost
    too much memory); the result is the skipping parse's."""
    rows = [[*fields, "x"] if n % 10 == 0 else fields[:-1] if n % 10 == 5 else fields
            for n, fields in enumerate(mixed_rows(2000, seed=4))]
    data, _ = build_file(rows)
    body = data[data.index(b"\n") + 1:]
    counted: list[object] = []
    real = chunk_parse._parsed_without_ragged

    def spy(*args: Any, **kwargs: Any) -> object:
        counted.append(real(*args, **kwargs))
        return counted[-1]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(chunk_parse, "_parsed_without_ragged", spy)
        fast = chunk_parse.parse_chunk(body, HEADER, ",")
        patch.setattr(chunk_parse, "RAGGED_COUNTED_MAX_BYTES", len(body) - 1)
        large = chunk_parse.parse_chunk(body, HEADER, ",")  # too large to copy: skipped
        patch.setattr(chunk_parse, "RAGGED_COUNTED_MAX_BYTES", len(body))
        patch.setattr(chunk_parse, "RAGGED_SHARE", 2.0)
        plain = chunk_parse.parse_chunk(body, HEADER, ",")
    assert len(counted) == 1 and counted[0] is not None
    assert large.table.equals(plain.table)
    assert fast.ragged_starts.size == sum(len(fields) != len(HEADER) for fields in rows)
    assert fast.table.equals(plain.table)
    for name in ("row_starts", "row_stops", "ragged_starts", "ragged_stops", "ragged_fields"):
        assert getattr(fast, name).tolist() == getattr(plain, name).tolist()


def test_records_cut_out_leave_their_terminators_as_blank_lines() -> None:
    """The second and fourth records go; every other byte stays, in order (a lone CR and
    the LF after a record cut out read as one CRLF: the same records either way)."""
    data = b"a,1\nbb,2\r\nc,3\rdd,4\ne,5"
    starts, stops = np.array([4, 14]), np.array([8, 18])
    assert bytes(csv_scan.without(data, starts, stops)) == b"a,1\n\r\nc,3\r\ne,5"
    assert bytes(csv_scan.without(data, np.array([0]), np.array([3]))) == data[3:]
    assert bytes(csv_scan.without(data, np.empty(0, np.int64), np.empty(0, np.int64))) == data


@settings(max_examples=300, deadline=None)
@given(texts=st.lists(st.one_of(st.none(), st.text(st.characters(exclude_categories=["Cs"]))),
                      max_size=30),
       cut=st.integers(0, 5), times=st.sampled_from([1, 2]))
def test_escaped_columns_read_as_json_dumps_writes_them(
        texts: list[str | None], cut: int, times: int) -> None:
    """Any text (control characters, quotes, backslashes, any plane), nulls, a sliced
    array: each value escaped as `json.dumps` writes the inside of a string, `times`
    over."""
    values = pa.array(texts, pa.large_string()).slice(min(cut, len(texts)))
    expected = [None if value is None else escaped_text(value, times)
                for value in values.to_pylist()]
    escapes = {1: ONCE, 2: TWICE}[times]
    assert escaped(values, escapes).to_pylist() == expected
    assert escaped(values.cast(pa.string()), escapes).to_pylist() == expected
