"""Valid rows handed to their sink in piece order by the threads that check the pieces.

Encoding a piece's rows (a Parquet row group) is a third of its work. Done by one more
thread, it competed with the piece threads for the cores (three busy threads on two) and
fell behind them, and the last pieces' row groups were then written one after another on
one core while the others sat idle. Here the thread that finishes the piece whose turn it
is writes it, then any later ones already finished, so the same threads do all the work
and no core waits while a row group is still to be written.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol

_NOT_YET = object()


class TableSink(Protocol):
    def write(self, table: Any) -> None: ...


class InOrderWrites:
    """`finished(number, table)` for pieces 0, 1, 2, ... in any order, from any thread;
    `sink.write` sees the tables in piece order, from one thread at a time. A piece whose
    turn has not come is left for the thread writing the one before it.

    A write that raises leaves the turn where it was and raises in the thread that wrote:
    the caller then discards the sink's contents (the chunk is redone)."""

    def __init__(self, sink: TableSink) -> None:
        self._sink = sink
        self._next = 0
        self._waiting: dict[int, Any] = {}
        self._lock = threading.Lock()

    def finished(self, number: int, table: Any) -> None:
        """Only the thread that takes piece `_next` writes, and `_next` moves on only
        once that write is done: a thread finding its turn taken leaves its piece."""
        with self._lock:
            self._waiting[number] = table
        while True:
            with self._lock:
                table = self._waiting.pop(self._next, _NOT_YET)
            if table is _NOT_YET:
                return
            self._sink.write(table)  # raises: the turn stays, nothing after it is written
            with self._lock:
                self._next += 1

    @property
    def written(self) -> int:
        """Pieces written so far."""
        with self._lock:
            return self._next
