"""Pieces finished in any order, on any thread, reach the sink in piece order, one write
at a time; a write that fails stops the turn there."""

from __future__ import annotations

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from handlers.in_order import InOrderWrites


class RecordingSink:
    def __init__(self, fail_on: int | None = None) -> None:
        self.tables: list[int] = []
        self.writers: list[str] = []
        self.fail_on = fail_on
        self._busy = threading.Lock()

    def write(self, table: int) -> None:
        if not self._busy.acquire(blocking=False):
            raise AssertionError("two writes at once")
        try:
            time.sleep(random.random() / 2000)
            if table == self.fail_on:
                raise OSError("disk full")
            self.tables.append(table)
            self.writers.append(threading.current_thread().name)
        finally:
            self._busy.release()


@pytest.mark.parametrize("seed", range(5))
def test_pieces_finished_out_of_order_are_written_in_order_one_at_a_time(seed: int) -> None:
    rng = random.Random(seed)
    sink = RecordingSink()
    writes = InOrderWrites(sink)
    delays = [rng.random() / 500 for _ in range(60)]

    def piece(number: int) -> None:
        time.sleep(delays[number])
        writes.finished(number, number)

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(piece, range(60)))
    assert sink.tables == list(range(60))
    assert writes.written == 60


def test_the_thread_whose_piece_is_next_writes_it_and_the_ones_waiting() -> None:
    sink = RecordingSink()
    writes = InOrderWrites(sink)

    def finish(number: int, name: str) -> None:
        thread = threading.Thread(target=writes.finished, args=(number, number), name=name)
        thread.start()
        thread.join()

    finish(1, "first")  # its turn has not come: left waiting
    finish(0, "second")  # writes 0, then the waiting 1
    finish(2, "third")
    assert sink.tables == [0, 1, 2]
    assert sink.writers == ["second", "second", "third"]


def test_a_failed_write_raises_where_it_was_made_and_nothing_after_it_is_written() -> None:
    sink = RecordingSink(fail_on=2)
    writes = InOrderWrites(sink)
    writes.finished(1, 1)  # waits for piece 0
    assert sink.tables == []
    writes.finished(0, 0)
    assert sink.tables == [0, 1]
    with pytest.raises(OSError, match="disk full"):
        writes.finished(2, 2)
    writes.finished(3, 3)
    writes.finished(4, 4)
    assert sink.tables == [0, 1]
    assert writes.written == 2
