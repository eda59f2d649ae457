"""A chunk read a block at a time while its first pieces are checked gives exactly what the
chunk read whole gives, whatever order the blocks come in; a read that fails is that
read's error; and the first piece does start before the last block is there."""

from __future__ import annotations

import json
import random
import threading
import time

import pytest

from handlers import process
from handlers.arriving import SPARE, ArrivingBytes
from handlers.errors import SourceChanged
from handlers.objects import Reader
from handlers.row_validator import compiled_validator
from tests.handlers.handler_oracle import SCHEMA_PATH
from tests.handlers.handler_rows import HEADER, build_file, mixed_rows

VALIDATOR = compiled_validator(json.loads(SCHEMA_PATH.read_text()))


def _body(rows: int, seed: int) -> bytes:
    data, _ = build_file(mixed_rows(rows, seed=seed, invalid_every=5))
    return data[data.index(b"\n") + 1:]


def _verdict(result: process.ChunkResult) -> tuple:
    return (result.rows_in, result.rows_valid, result.rows_rejected,
            result.valid_table.to_pylist(), result.lines)


def _run(reader: Reader, size: int) -> process.ChunkResult:
    return _checked(ArrivingBytes.of_reader(reader, 0, size, block=4096))


def _checked(chunk: ArrivingBytes) -> process.ChunkResult:
    """The chunk's rows checked as they arrive; no read is left running afterwards."""
    try:
        return process.process_bytes(chunk.data, 1000, HEADER, VALIDATOR, delimiter=",",
                                     encoding="utf-8", label="k", at_end_of_file=True,
                                     ready=chunk.wait_for)
    finally:
        chunk.close()


@pytest.fixture
def small_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(process, "PIECE_MIN_BYTES", 2048)
    monkeypatch.setattr(process, "PIECE_TARGET_BYTES", 6000)
    monkeypatch.setattr(process, "LOOK_AHEAD", 64)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_blocks_arriving_in_any_order_give_the_rows_of_the_whole_chunk(
        small_pieces: None, seed: int) -> None:
    body = _body(600, seed)
    whole = process.process_bytes(body, 1000, HEADER, VALIDATOR, delimiter=",",
                                  encoding="utf-8", label="k", at_end_of_file=True)
    rng = random.Random(seed)

    def slow(start: int, end: int) -> bytes:
        time.sleep(rng.random() / 200)
        return body[start:end]

    assert _verdict(_run(slow, len(body))) == _verdict(whole)
    assert whole.rows_rejected and whole.rows_valid


def test_a_failed_read_is_its_own_error_and_no_read_is_left_running(
        small_pieces: None) -> None:
    body = _body(600, 4)
    reads: list[int] = []

    def failing(start: int, end: int) -> bytes:
        reads.append(start)
        if start >= len(body) // 2:
            raise SourceChanged("k: the object changed after the event")
        return body[start:end]

    with pytest.raises(SourceChanged, match="changed after the event"):
        _run(failing, len(body))
    count = len(reads)
    time.sleep(0.05)
    assert len(reads) == count  # close() waited for every read


def test_the_first_piece_starts_before_the_last_block_is_read(
        small_pieces: None, monkeypatch: pytest.MonkeyPatch) -> None:
    body = _body(600, 5)
    started = threading.Event()
    piece = process._piece

    def noting(data: object, offset: int, *args: object, **kwargs: object) -> object:
        if offset == 0:
            started.set()
        return piece(data, offset, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(process, "_piece", noting)
    overlapped: list[bool] = []

    def last_waits(start: int, end: int) -> bytes:
        if end == len(body):
            overlapped.append(started.wait(timeout=10))
        return body[start:end]

    result = _run(last_waits, len(body))
    assert overlapped == [True]
    assert result.rows_in == 600


def test_an_error_in_a_piece_reads_as_for_the_whole_chunk_read_at_once(
        small_pieces: None) -> None:
    body = _body(600, 6) + b'TX0000009999,AC00000001,2024-01-01,1.00,USD,"open\n'

    def at_once() -> str:
        with pytest.raises(Exception) as raised:
            process.process_bytes(body, 1000, HEADER, VALIDATOR, delimiter=",",
                                  encoding="utf-8", label="k", at_end_of_file=False)
        return f"{type(raised.value).__name__}: {raised.value}"

    def arriving() -> str:
        chunk = ArrivingBytes.of_reader(lambda a, b: (time.sleep(0.001), body[a:b])[1], 0,
                                        len(body), block=4096)
        try:
            with pytest.raises(Exception) as raised:
                process.process_bytes(chunk.data, 1000, HEADER, VALIDATOR, delimiter=",",
                                      encoding="utf-8", label="k", at_end_of_file=False,
                                      ready=chunk.wait_for)
        finally:
            chunk.close()
        return f"{type(raised.value).__name__}: {raised.value}"

    expected = at_once()
    assert expected.startswith("ChunkPlanError")
    assert arriving() == expected


def test_a_chunk_of_one_block_gives_its_bytes_its_read_error_and_no_read_when_unused(
        ) -> None:
    body = _body(40, 7)
    reads: list[tuple[int, int]] = []

    def reader(start: int, end: int) -> bytes:
        reads.append((start, end))
        return body[start:end]

    chunk = ArrivingBytes.of_reader(reader, 0, len(body))
    chunk.wait_for(10)
    chunk.wait_for(len(body))
    chunk.close()
    assert bytes(chunk.data) == body and reads == [(0, len(body))]

    def failing(start: int, end: int) -> bytes:
        raise SourceChanged("k: the object changed after the event")

    chunk = ArrivingBytes.of_reader(failing, 0, len(body))
    for _ in range(2):  # asked again, still the read's error
        with pytest.raises(SourceChanged, match="changed after the event"):
            chunk.wait_for(len(body))
    chunk.close()
    reads.clear()
    ArrivingBytes.of_reader(reader, 0, len(body)).close()  # a step that stopped first
    assert reads == []


def _run_and_recycle(body: bytes) -> tuple[process.ChunkResult, bytearray]:
    chunk = ArrivingBytes.of_reader(lambda a, b: body[a:b], 0, len(body), block=4096)
    result = _checked(chunk)
    chunk.recycle()
    return result, chunk.data


def test_a_kept_buffer_never_shows_an_earlier_chunks_bytes(small_pieces: None) -> None:
    """Chunks of other sizes and contents one after another in one process: each gives
    what it gives read on its own, although its bytes land in the previous chunk's
    buffer (shrunk, or grown a little)."""
    SPARE.clear()
    longer = _body(600, 4)
    shorter = longer[:longer.rindex(b"\n", 0, len(longer) - 2000) + 1]
    other = _body(560, 5)
    bodies = (longer, shorter, other, longer)
    runs = [_run_and_recycle(body) for body in bodies]
    for body, (result, _) in zip(bodies, runs, strict=True):  # after every later chunk
        whole = process.process_bytes(body, 1000, HEADER, VALIDATOR, delimiter=",",
                                      encoding="utf-8", label="k", at_end_of_file=True)
        assert _verdict(result) == _verdict(whole)
    assert all(buffer is runs[0][1] for _, buffer in runs)  # one buffer served them all


def test_a_buffer_something_still_refers_to_is_not_handed_out_again() -> None:
    SPARE.clear()
    first = SPARE.take(1000)
    first[:5] = b"12345"
    view = memoryview(first)  # e.g. an Arrow buffer made from the chunk's bytes
    SPARE.give(first)
    second = SPARE.take(1000)
    assert second is not first
    second[:5] = b"abcde"
    assert bytes(view[:5]) == b"12345"
    view.release()
    SPARE.give(first)
    assert SPARE.take(990) is first
