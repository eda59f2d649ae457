"""The status table in one SQLite file (the local runner's), with the same items and rules."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import cast

from handlers.status.rules import FILE_SK, Change, ChunkItem, FileItem, Item, _StatusRules
from handlers.status.values import plain, storable

Mutation = Callable[[Item | None], Item | None]
"""The item as it is (None: no item) -> the item to write, or None to leave it as it is."""


class SqliteStatusStore(_StatusRules):
    """The same items in one SQLite file, safe for several processes writing at once.

    WAL journal, a generous busy timeout, and `BEGIN IMMEDIATE` around every
    read-check-write, so conditional updates are atomic across processes.

    One connection per store (and process), kept open: a connection per call cost a few
    milliseconds to open and, closed as the file's last one, a WAL checkpoint with its fsync
    (20 ms on a plain disk) on every status update of every chunk. `close` ends it; the
    last connection to close folds the WAL back into the file.
    """

    def __init__(self, path: str | os.PathLike[str], ttl_days: int = 90,
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__(ttl_days, clock)
        self.path = os.fspath(path)
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None
        with self._connected() as connection:
            connection.execute("CREATE TABLE IF NOT EXISTS items (pk TEXT NOT NULL, "
                               "sk TEXT NOT NULL, item TEXT NOT NULL, PRIMARY KEY (pk, sk))")

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, timeout=60, isolation_level=None,
                                     check_same_thread=False)
        connection.execute("PRAGMA busy_timeout = 60000")
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = NORMAL")
        return connection

    @contextmanager
    def _connected(self) -> Iterator[sqlite3.Connection]:
        """The store's connection, one caller at a time. (A store is not for a forked
        child: each process builds its own, as the local runner's spawned workers do.)"""
        with self._lock:
            if self._connection is None:
                self._connection = self._connect()
            yield self._connection

    def close(self) -> None:
        """Close the connection (a later call opens a new one)."""
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    @staticmethod
    def _read(connection: sqlite3.Connection, key: dict[str, str]) -> Item | None:
        row = connection.execute("SELECT item FROM items WHERE pk = ? AND sk = ?",
                                 (key["pk"], key["sk"])).fetchone()
        item: Item | None = json.loads(row[0]) if row else None
        return item

    def transact(self, key: dict[str, str], mutate: Mutation) -> tuple[Item, bool]:
        """Read one item, let `mutate` decide, write its answer: one transaction, so no other
        process writes the item in between. An exception from `mutate` leaves the item as
        it was. Returns (the item as it now is, written)."""
        with self._connected() as connection:
            connection.execute("BEGIN IMMEDIATE")
            try:
                existing = self._read(connection, key)
                updated = mutate(existing)
                if updated is None:
                    connection.execute("ROLLBACK")
                    return existing or {}, False
                connection.execute(
                    "INSERT INTO items (pk, sk, item) VALUES (?, ?, ?) "
                    "ON CONFLICT (pk, sk) DO UPDATE SET item = excluded.item",
                    (key["pk"], key["sk"], json.dumps(updated, sort_keys=True)))
                connection.execute("COMMIT")
                return updated, True
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise

    def _apply(self, key: dict[str, str], change: Change) -> tuple[Item, bool]:
        def mutate(existing: Item | None) -> Item | None:
            if not change.allows(existing):
                return None
            item = dict(existing or {})
            item.update(key)
            for name in change.remove:
                item.pop(name, None)
            item.update(plain(storable(change.set)))
            for name, amount in change.add.items():
                item[name] = int(item.get(name, 0)) + amount
            return item

        return self.transact(key, mutate)

    def get_file(self, file_id: str) -> FileItem | None:
        with self._connected() as connection:
            return cast(FileItem | None, self._read(connection, {"pk": file_id, "sk": FILE_SK}))

    def list_chunks(self, file_id: str) -> list[ChunkItem]:
        with self._connected() as connection:
            rows = connection.execute(
                "SELECT item FROM items WHERE pk = ? AND sk LIKE 'CHUNK#%' ORDER BY sk",
                (file_id,)).fetchall()
        return [cast(ChunkItem, json.loads(row[0])) for row in rows]
