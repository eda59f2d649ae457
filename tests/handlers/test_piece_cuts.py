"""The process step's piece cuts: each just past a line feed with an even number of quotes
before it, found with a running quote count; checked against counting from byte 0."""

from __future__ import annotations

import random
from itertools import pairwise

import pytest

from handlers.process import (
    PIECE_MIN_BYTES,
    PIECE_TARGET_BYTES,
    TAIL_SHARE,
    _all_there,
    _arriving_cuts,
    _piece_marks,
    _piece_shares,
)


def _cuts_counting_from_zero(data: bytes, pieces: int) -> list[int]:
    cuts = [0]
    for k in range(1, pieces):
        mark = max(cuts[-1], len(data) * k // pieces)
        for _attempt in range(64):
            newline = data.find(b"\n", mark)
            if newline < 0 or newline + 1 >= len(data):
                break
            mark = newline + 1
            if data.count(b'"', 0, mark) % 2 == 0:
                cuts.append(mark)
                break
    cuts.append(len(data))
    return cuts


def _piece_cuts(data: bytes, marks: list[int]) -> list[int]:
    """[0, cut..., len(data)] with every byte there."""
    return [0, *_arriving_cuts(data, marks, _all_there)]


def _equal_marks(size: int, pieces: int) -> list[int]:
    return [size * k // pieces for k in range(1, pieces)]


def test_running_count_gives_the_cuts_of_a_count_from_zero() -> None:
    rnd = random.Random(20261202)
    for _ in range(3000):
        data = bytes(rnd.choice(b'ab,"\n\n') for _ in range(rnd.randrange(0, 400)))
        pieces = rnd.randrange(1, 12)
        cuts = _piece_cuts(data, _equal_marks(len(data), pieces))
        assert cuts == _cuts_counting_from_zero(data, pieces), (data, pieces)


def test_cuts_never_fall_inside_a_quoted_field_with_line_feeds() -> None:
    record = b'1,"line one\nline two\nline three",x\n'
    data = record * 500
    cuts = _piece_cuts(data, _equal_marks(len(data), 8))
    assert len(cuts) > 2
    assert all(cut % len(record) == 0 for cut in cuts)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_each_thread_gets_as_many_full_pieces_and_ends_on_a_small_one(threads: int) -> None:
    record = b"TX0000000001,AC00000001,2024-01-31,12.30,USD,Shop,other\n"
    data = record * 20_000
    shares = _piece_shares(20 * PIECE_TARGET_BYTES, threads)
    assert shares[-threads:] == [TAIL_SHARE] * threads
    full = shares[:-threads]
    assert set(full) == {1.0} and len(full) % threads == 0
    assert 20 * PIECE_TARGET_BYTES / (len(full) + TAIL_SHARE * threads) <= PIECE_TARGET_BYTES
    cuts = _piece_cuts(data, _piece_marks(len(data), [1.0] * 4 + [TAIL_SHARE] * 2))
    sizes = [b - a for a, b in pairwise(cuts)]
    assert len(sizes) == 6
    assert max(sizes[:4]) - min(sizes[:4]) <= len(record)
    assert all(abs(size - TAIL_SHARE * sizes[0]) <= len(record) for size in sizes[4:])


def test_a_chunk_below_two_minimum_pieces_is_not_cut() -> None:
    assert _piece_shares(2 * PIECE_MIN_BYTES - 1, 4) == [1.0]
    assert len(_piece_shares(2 * PIECE_MIN_BYTES, 4)) == 8
