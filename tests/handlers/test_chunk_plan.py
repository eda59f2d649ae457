"""The split plan: exact cuts on record boundaries for every RFC 4180 file, cheaply.

The reference is a plain byte-by-byte state machine of the quoting rules (independent of
`handlers.csv_scan`), run from the start of the data; the plan must give exactly its cuts
with any window and block sizes, and the ranges must parse into the file's rows.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handlers.chunk_parse import parse_chunk
from handlers.chunk_plan import effective_chunk_size, plan_chunks

HEADER = ["a", "b", "c"]
QUOTE, LF, CR = 0x22, 0x0A, 0x0D


def record_ends(data: bytes, offset: int, delimiter: int = 0x2C) -> list[int]:
    """Position of the last byte of every record terminator, by the quoting rules."""
    ends, state, n = [], "field start", len(data)
    for i in range(offset, n):
        byte = data[i]
        if state == "quoted":
            state = "quote in quoted" if byte == QUOTE else "quoted"
            continue
        if state == "quote in quoted" and byte == QUOTE:
            state = "quoted"
            continue
        if byte == QUOTE and state == "field start":
            state = "quoted"
        elif byte == delimiter:
            state = "field start"
        elif byte == LF or (byte == CR and not (i + 1 < n and data[i + 1] == LF)):
            ends.append(i)
            state = "field start"
        elif byte == CR:
            state = "field start"
        else:
            state = "unquoted"
    return ends


def reference_ranges(data: bytes, offset: int, chunk_size: int) -> list[tuple[int, int]]:
    ends = record_ends(data, offset)
    cuts: list[int] = []
    for k in range(1, math.ceil((len(data) - offset) / chunk_size)):
        mark = offset + k * chunk_size
        if cuts and cuts[-1] > mark:
            continue
        at = bisect.bisect_left(ends, mark)
        cuts.append(ends[at] + 1 if at < len(ends) else len(data))
    bounds = [offset] + [c for c in cuts if offset < c < len(data)] + [len(data)]
    return [(a, b) for a, b in itertools.pairwise(bounds) if b > a]


def reader_of(data: bytes):
    return lambda start, end: data[start:end]


def plan_of(data: bytes, offset: int, chunk_size: int, **sizes: int):
    return plan_chunks(reader_of(data), offset, len(data), chunk_size, 100_000, ",", **sizes)


def render(fields: list[str]) -> str:
    return ",".join('"' + f.replace('"', '""') + '"' if any(c in f for c in ',"\r\n') else f
                    for f in fields)


cell = st.one_of(
    st.text(alphabet="xyz 1", max_size=6),
    st.text(alphabet='xy,"\n\r ', max_size=12),
    st.builds(lambda n, text: text * n, st.integers(1, 400), st.sampled_from(
        ["line\n", "a,b\r\n", '""', '"', "\r", "no quote here "])),
    st.just('""'),
)
row = st.lists(cell, min_size=1, max_size=4)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(row, min_size=1, max_size=40),
       newline=st.sampled_from(["\n", "\r\n", "\r"]),
       chunk=st.integers(min_value=1, max_value=700),
       lookback=st.sampled_from([1, 3, 16, 200, 16384]),
       lookahead=st.sampled_from([1, 4, 100, 16384]),
       back_block=st.sampled_from([1, 5, 64, 65536]), max_block=st.sampled_from([8, 1 << 23]),
       unterminated=st.booleans())
def test_the_plan_is_exact_for_any_window(rows, newline, chunk, lookback, lookahead,
                                          back_block, max_block, unterminated) -> None:
    text = ",".join(HEADER) + newline + "".join(render(r) + newline for r in rows)
    if unterminated:
        text += 'x,"never closed\n' + newline.join("a,b" for _ in range(5))
    data = text.encode()
    offset = len(",".join(HEADER) + newline)
    plan = plan_of(data, offset, chunk, lookback=lookback, lookahead=lookahead,
                   back_block=back_block, max_block=max_block)
    assert plan.ranges == reference_ranges(data, offset, plan.chunk_size)


def check_ranges_parse(data: bytes, offset: int, plan) -> None:
    """Every range parses into whole rows that together are the file's rows."""
    whole = parse_chunk(data[offset:], HEADER, ",").table.to_pylist()
    pieces = []
    for start, end in plan.ranges:
        parsed = parse_chunk(data[start:end], HEADER, ",", at_end_of_file=end == len(data))
        pieces.extend(parsed.table.to_pylist())
    assert pieces == whole


def transactions_reader(size: int):
    line = b"TX0000000001,AC00000001,2024-01-01,12.30,USD,\"Shop, Inc.\",dining\n"

    def read(start: int, end: int) -> bytes:
        first = start - start % len(line)
        reps = (end - first) // len(line) + 2
        return (line * reps)[start - first:end - first]

    return line, read


def test_quoted_values_every_row_read_one_small_window_per_cut() -> None:
    """A 1 GiB object is planned reading at most 64 KiB per chunk, one request each."""
    size = 1 << 30
    line, read = transactions_reader(size)
    plan = plan_chunks(read, len(line), size, 64 << 20, 2000, ",")
    assert len(plan.ranges) == 16
    assert plan.bytes_read <= 64 * 1024 * len(plan.ranges)
    assert plan.requests == 15 and plan.proven_by_reading_back == 0
    assert all((s - len(line)) % len(line) == 0 for s, _ in plan.ranges)


def test_a_quoted_field_longer_than_a_chunk_is_one_record() -> None:
    """4 MiB of quoted lines without a quote: every mark inside it is proven by reading
    back to its opening quote, and the chunk grows to hold the record."""
    rng = random.Random(3)
    before = "".join(f'{n},"shop {n}",x\n' for n in range(3000))
    long_value = "".join(rng.choice("abc ,\n\r") for _ in range(4 << 20))
    after = "".join(f"{n},plain,y\n" for n in range(3000))
    data = ("a,b,c\n" + before + f'9,"{long_value}",z\n' + after).encode()
    plan = plan_of(data, 6, 1 << 20)
    assert plan.ranges == reference_ranges(data, 6, 1 << 20)
    opening = data.index(b'9,"') + 2
    holding = [(s, e) for s, e in plan.ranges if s <= opening < e]
    assert len(holding) == 1 and holding[0][1] - holding[0][0] > 4 << 20
    assert plan.proven_by_reading_back >= 1
    assert plan.bytes_read < 3 * len(data)
    check_ranges_parse(data, 6, plan)


def test_a_file_without_quotes_is_read_about_once() -> None:
    """Nothing tells a quote-free stretch from the inside of a quoted field but the bytes
    back to the last proven point: the worst case is one pass over the data."""
    data = b"a,b,c\n" + b"".join(b"%d,plain,value\n" % n for n in range(200_000))
    plan = plan_of(data, 6, 256 << 10)
    assert plan.ranges == reference_ranges(data, 6, 256 << 10)
    assert len(data) * 0.9 < plan.bytes_read < 1.3 * len(data)


def test_an_unterminated_quote_leaves_the_last_chunk_to_the_end_of_the_file() -> None:
    data = b'a,b,c\n1,2,3\n4,"never closed,6\n7,8,9\n' + b"1,2,3\n" * 20
    plan = plan_of(data, 6, 3)
    assert plan.ranges == reference_ranges(data, 6, 3) == [(6, 12), (12, len(data))]


def test_max_chunks_grows_the_chunk_size() -> None:
    assert effective_chunk_size(10_000, 100, 10) == 1000
    assert effective_chunk_size(10_000, 100, 1000) == 100
    data = b"a,b,c\n" + b"1,2,3\n" * 500
    plan = plan_chunks(reader_of(data), 6, len(data), 10, 7, ",")
    assert len(plan.ranges) <= 7 and plan.chunk_size == 429
    check_ranges_parse(data, 6, plan)


@pytest.mark.parametrize("chunk", [1, 7, 50, 1000])
def test_marks_on_quoted_line_breaks_are_cut_after_the_record(chunk: int) -> None:
    long_value = "\n".join(f'line {n} says "hi", ok' for n in range(40))
    data = ("a,b,c\n" + "".join(f"1,{render([long_value])},x\n" for _ in range(6))).encode()
    plan = plan_of(data, 6, chunk, lookback=200, lookahead=50)
    assert plan.ranges == reference_ranges(data, 6, plan.chunk_size)
    check_ranges_parse(data, 6, plan)
