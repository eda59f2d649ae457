"""The split plan: ranges tile [data_offset, size) and every range parses into whole rows."""

from __future__ import annotations

import io
import itertools

import pyarrow as pa
import pyarrow.csv as pv
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handlers.chunk_parse import parse_chunk
from handlers.chunk_plan import effective_chunk_size, plan_chunks
from handlers.errors import ChunkPlanError

HEADER = ["a", "b", "c"]
cell = st.one_of(
    st.text(alphabet="xyz 1", max_size=6),
    st.text(alphabet='xy,"\n\r ', max_size=12),
    st.just("line one\nline two, \"quoted\"\r\nthree"),
)
row = st.lists(cell, min_size=3, max_size=3)


def render(fields: list[str]) -> str:
    out = []
    for f in fields:
        out.append('"' + f.replace('"', '""') + '"' if any(c in f for c in ',"\r\n') else f)
    return ",".join(out)


def whole_file_rows(data: bytes, offset: int) -> list[dict]:
    return parse_chunk(data[offset:], HEADER, ",").table.to_pylist()


def reader_of(data: bytes):
    return lambda start, end: data[start:end]


def check_plan(data: bytes, offset: int, plan) -> None:
    bounds = [(s, e) for s, e in plan.ranges]
    assert bounds[0][0] == offset and bounds[-1][1] == len(data)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(bounds))
    pieces = []
    for start, end in bounds:
        parsed = parse_chunk(data[start:end], HEADER, ",", at_end_of_file=end == len(data))
        assert parsed.ragged_starts.size == 0  # a row cut in two would leave ragged halves
        pieces.extend(parsed.table.to_pylist())
    assert pieces == whole_file_rows(data, offset)


def parse_ranges(data: bytes, plan) -> list[dict] | None:
    """Rows of every range in order, or None when a range is refused (ChunkPlanError)."""
    pieces = []
    for start, end in plan.ranges:
        try:
            parsed = parse_chunk(data[start:end], HEADER, ",", at_end_of_file=end == len(data))
        except ChunkPlanError:
            return None
        pieces.extend(parsed.table.to_pylist())
    return pieces


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(row, min_size=1, max_size=60), newline=st.sampled_from(["\n", "\r\n"]),
       chunk=st.integers(min_value=1, max_value=600),
       window=st.sampled_from([4, 16, 100, 400]), exact=st.booleans())
def test_plan_covers_the_data_and_keeps_rows_whole(rows, newline, chunk, window, exact) -> None:
    """Exact when no quoted value is longer than half the window; with smaller windows a
    wrong cut is refused by the process step, never turned into wrong rows."""
    text = ",".join(HEADER) + newline + "".join(render(r) + newline for r in rows)
    data = text.encode()
    offset = len(",".join(HEADER) + newline)
    plan = plan_chunks(reader_of(data), offset, len(data), chunk, 10_000, ",",
                       lookback=window, lookahead=window, force_exact=exact)
    bounds = plan.ranges
    assert bounds[0][0] == offset and bounds[-1][1] == len(data)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(bounds))
    longest_quoted = max(len(render([c])) for r in rows for c in r)
    pieces = parse_ranges(data, plan)
    if exact or plan.exact or window // 2 > longest_quoted:
        assert pieces == whole_file_rows(data, offset)
    else:
        assert pieces is None or pieces == whole_file_rows(data, offset)


def test_a_mark_inside_a_long_quoted_value_falls_back_to_the_exact_plan() -> None:
    long_value = "\n".join(f'line {n} says "hi", ok' for n in range(40))
    rows = [["1", render([long_value]), "x"] for _ in range(6)]
    data = ("a,b,c\n" + "".join(",".join(r) + "\n" for r in rows)).encode()
    plan = plan_chunks(reader_of(data), 6, len(data), 300, 100, ",", lookback=200,
                       lookahead=50)
    assert plan.exact
    check_plan(data, 6, plan)


def test_fast_plan_reads_a_small_window_per_chunk() -> None:
    """A 1 GiB object is planned reading no more than 64 KiB per chunk."""
    line = b"TX0000000001,AC00000001,2024-01-01,12.30,USD,\"Shop, Inc.\",dining\n"
    size = 1 << 30

    def read(start: int, end: int) -> bytes:
        first = start - start % len(line)
        reps = (end - first) // len(line) + 2
        return (line * reps)[start - first:end - first]

    plan = plan_chunks(read, len(line), size, 64 << 20, 2000, ",")
    assert not plan.exact and len(plan.ranges) == 16
    assert plan.bytes_read <= 64 * 1024 * len(plan.ranges)
    assert all((s - len(line)) % len(line) == 0 for s, _ in plan.ranges)


def test_max_chunks_grows_the_chunk_size() -> None:
    assert effective_chunk_size(10_000, 100, 10) == 1000
    assert effective_chunk_size(10_000, 100, 1000) == 100
    data = b"a,b,c\n" + b"1,2,3\n" * 500
    plan = plan_chunks(reader_of(data), 6, len(data), 10, 7, ",")
    assert len(plan.ranges) <= 7 and plan.chunk_size == 429
    check_plan(data, 6, plan)


def test_unterminated_quote_cannot_be_planned() -> None:
    data = b'a,b,c\n1,2,3\n4,"never closed,6\n7,8,9\n' + b"1,2,3\n" * 20
    with pytest.raises(ChunkPlanError, match="byte 14 is never closed"):
        plan_chunks(reader_of(data), 6, len(data), 20, 100, ",", force_exact=True)


def test_process_refuses_a_range_that_ends_inside_a_quoted_value() -> None:
    data = b'1,"a\nb",3\n'
    with pytest.raises(ChunkPlanError, match="opened at byte 102"):
        parse_chunk(data[:6], HEADER, ",", base_offset=100, label="x", at_end_of_file=False)


def test_whole_file_parse_helper_matches_pyarrow() -> None:
    data = b'a,b,c\n1,"x\ny",3\n'
    table = pv.read_csv(io.BytesIO(data), parse_options=pv.ParseOptions(newlines_in_values=True),
                        convert_options=pv.ConvertOptions(
                            column_types={n: pa.string() for n in HEADER}))
    assert whole_file_rows(data, 6) == table.to_pylist()
