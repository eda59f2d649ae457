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


def reference_limited(data: bytes, offset: int, chunk_size: int,
                      limit: int) -> tuple[list[tuple[int, int]], list[int]]:
    """The reference ranges, each range longer than `limit` cut at the start of the record
    holding its mark (right after the last record end before the mark); that record's
    range is flagged when it alone is longer than `limit`."""
    ends = record_ends(data, offset)
    ranges: list[tuple[int, int]] = []
    flagged: list[int] = []
    position = offset
    for k in range(1, math.ceil((len(data) - offset) / chunk_size)):
        mark = offset + k * chunk_size
        if position > mark:
            continue
        at = bisect.bisect_left(ends, mark)
        cut = ends[at] + 1 if at < len(ends) else len(data)
        if cut - position > limit:
            record = ends[at - 1] + 1 if at else offset
            if record > position:
                ranges.append((position, record))
            if cut - record > limit:
                flagged.append(len(ranges))
            position = record
        ranges.append((position, cut))
        position = cut
    if position < len(data):
        ranges.append((position, len(data)))
    return ranges, flagged


def reader_of(data: bytes):
    return lambda start, end: data[start:end]


def plan_of(data: bytes, offset: int, chunk_size: int, **sizes: int | None):
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
       unterminated=st.booleans(),
       limit=st.one_of(st.none(), st.integers(min_value=1, max_value=3000)))
def test_the_plan_is_exact_for_any_window(rows, newline, chunk, lookback, lookahead,
                                          back_block, max_block, unterminated, limit) -> None:
    """With a process limit, ranges grown past it are cut at the start of their long
    record, found exactly whatever the windows and blocks."""
    text = ",".join(HEADER) + newline + "".join(render(r) + newline for r in rows)
    if unterminated:
        text += 'x,"never closed\n' + newline.join("a,b" for _ in range(5))
    data = text.encode()
    offset = len(",".join(HEADER) + newline)
    plan = plan_of(data, offset, chunk, lookback=lookback, lookahead=lookahead,
                   back_block=back_block, max_block=max_block, process_limit=limit)
    if limit is None:
        assert plan.ranges == reference_ranges(data, offset, plan.chunk_size)
        assert plan.oversized == ()
    else:
        ranges, flagged = reference_limited(data, offset, plan.chunk_size, limit)
        assert (plan.ranges, list(plan.oversized)) == (ranges, flagged)


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


LONG_NOTE = "\n".join(f"note line {n} without any quote" for n in range(3000))  # ~100 KB


def long_record_file(newline: str = "\n") -> tuple[bytes, int, int]:
    """(data, where the long record starts, where it ends): 300 rows, one record with a
    quoted ~100 KB multi-line field, 300 rows."""
    head = "a,b,c" + newline
    before = "".join(f"{n},before,x{newline}" for n in range(300))
    record = f'L,"{LONG_NOTE}",y{newline}'
    after = "".join(f"{n},after,\"q\"{newline}" for n in range(300))
    start = len(head) + len(before)
    return (head + before + record + after).encode(), start, start + len(record)


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
@pytest.mark.parametrize("chunk", [1000, 7000, 40_000])
def test_a_record_larger_than_the_limit_gets_a_chunk_of_its_own(newline: str,
                                                                chunk: int) -> None:
    data, start, end = long_record_file(newline)
    offset = len("a,b,c" + newline)
    plan = plan_of(data, offset, chunk, process_limit=50_000)
    flagged = [plan.ranges[i] for i in plan.oversized]
    assert flagged == [(start, end)]
    assert plan.as_result()["chunks"][plan.oversized[0]] == {
        "index": plan.oversized[0], "start": start, "end": end, "oversized": True}
    assert all(e - s <= 50_000 for i, (s, e) in enumerate(plan.ranges)
               if i not in plan.oversized)
    assert (plan.ranges, list(plan.oversized)) == reference_limited(
        data, offset, plan.chunk_size, 50_000)
    check_ranges_parse(data, offset, plan)


def test_a_grown_chunk_that_fits_the_limit_stays_as_it_is() -> None:
    data, start, _ = long_record_file()
    unlimited = plan_of(data, 6, 7000)
    grown = [(s, e) for s, e in unlimited.ranges if s < start < e]
    assert len(grown) == 1 and grown[0][1] - grown[0][0] > 7000
    fits = plan_of(data, 6, 7000, process_limit=grown[0][1] - grown[0][0])
    assert (fits.ranges, fits.oversized) == (unlimited.ranges, ())


def test_a_grown_chunk_past_the_limit_whose_record_fits_is_cut_but_not_flagged() -> None:
    data, start, end = long_record_file()
    grown = next((s, e) for s, e in plan_of(data, 6, 7000).ranges if s < start < e)
    limit = end - start + 10  # the record fits, the grown chunk does not
    assert grown[1] - grown[0] > limit
    plan = plan_of(data, 6, 7000, process_limit=limit)
    assert plan.oversized == ()
    assert (grown[0], start) in plan.ranges and (start, end) in plan.ranges


def test_finding_the_record_start_reads_only_what_the_scans_did_not_see() -> None:
    """Chunks of 1000 or 7000 bytes: the scans that found the cut after the long record
    saw a record end before its mark, so nothing more is read; with 40,000-byte chunks the
    mark's window lies inside the record and its start is read back for, from the window
    down to the record start, not down to the previous cut."""
    data, start, end = long_record_file()
    for chunk in (1000, 7000):
        assert plan_of(data, 6, chunk, process_limit=50_000).bytes_read == \
            plan_of(data, 6, chunk).bytes_read
    unlimited = plan_of(data, 6, 40_000)
    limited = plan_of(data, 6, 40_000, process_limit=50_000)
    window_start = 6 + 40_000 - 16 * 1024
    assert limited.ranges[limited.oversized[0]] == (start, end)
    assert 0 < limited.bytes_read - unlimited.bytes_read <= window_start - start + 64 * 1024


quoted_lines = st.builds(lambda n, tail: "\n".join(["in quotes"] * n) + tail,
                         st.integers(1, 60), st.sampled_from(["", '"', '""', "\r", ","]))
record_cell = st.one_of(cell, quoted_lines, st.just("plain"), st.just('say "hi"'))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(st.lists(record_cell, min_size=1, max_size=4), min_size=1, max_size=40),
       newline=st.sampled_from(["\n", "\r\n", "\r"]),
       chunk=st.integers(min_value=20, max_value=900),
       share=st.sampled_from([0.3, 0.9, 1.0, 1.5, 3.0]),
       lookback=st.sampled_from([1, 8, 40, 16384]), lookahead=st.sampled_from([1, 8, 16384]),
       back_block=st.sampled_from([1, 7, 64, 65536]))
def test_record_starts_are_exact_for_any_window(rows, newline, chunk, share, lookback,
                                                lookahead, back_block) -> None:
    """Limits around the chunk size, windows smaller than a record: every way the planner
    can come to know where a long record starts (a record end its scans saw, both window
    readings agreeing, reading back from a proven state) gives the reference's ranges."""
    text = "a,b,c" + newline + "".join(render(r).replace("\n", newline) + newline
                                       for r in rows)
    data = text.encode()
    offset = len("a,b,c" + newline)
    limit = max(1, int(chunk * share))
    plan = plan_of(data, offset, chunk, lookback=lookback, lookahead=lookahead,
                   back_block=back_block, process_limit=limit)
    ranges, flagged = reference_limited(data, offset, plan.chunk_size, limit)
    assert (plan.ranges, list(plan.oversized)) == (ranges, flagged)
    if limit >= 2 * chunk:  # each range cut in two covers a mark whose chunk it saves
        assert len(plan.ranges) <= math.ceil((len(data) - offset) / chunk)


def test_window_readings_that_agree_on_the_cut_but_not_before_the_mark() -> None:
    """The window starts inside `aaaa`: read from outside quotes, the record holding the
    mark starts at `b`; read from inside, a line later. Both give the same cut, so the plan
    proves the state at the window's start to tell where the record starts."""
    rows = b"1,2,3\n" * 20
    data = b"a,b,c\n" + rows + b'aaaa\nb,"c\nd",e\n' + rows
    mark = data.index(b",e")
    record = data.index(b'b,"c')
    window_start = data.index(b"aaaa") + 2
    plan = plan_of(data, 6, mark - 6, lookback=mark - window_start, lookahead=64,
                   process_limit=5)
    assert plan.proven_by_reading_back == 0  # the cut itself came from the window
    ranges, flagged = reference_limited(data, 6, plan.chunk_size, 5)
    assert (plan.ranges, list(plan.oversized)) == (ranges, flagged)
    assert (6, record) in plan.ranges and plan.ranges[plan.oversized[0]][0] == record
