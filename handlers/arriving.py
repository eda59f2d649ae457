"""A chunk's bytes read into one buffer a block at a time, a few blocks side by side, so the
process step checks its first pieces while the rest is still being read.

From S3 each block is a ranged GET of the same object version: a few at once also read
faster than one stream. `wait_for(n)` returns once the first `n` bytes are all there, or
raises the error of a read that failed (`SourceChanged` for a version that is gone or came
back short): the reads are checked as every step's reads of the source are
(`objects.source_filler`), and go straight into the buffer where the store can.

A chunk of one block has nothing to overlap: the first `wait_for` reads it in the calling
thread, which saves two thread hand-offs on every small chunk.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait

from handlers.objects import Filler, Reader

BLOCK_BYTES = 8 * 1024 * 1024
READERS = 2
_READ_POOL = ThreadPoolExecutor(max_workers=READERS, thread_name_prefix="chunk-read")


class SpareBuffer:
    """One chunk buffer kept for the next step of this process (a warm Lambda container, a
    local worker): a fresh 64 MiB bytearray costs about 50 ms of page faults and zeroing, a
    kept one nothing. A buffer is kept only when nothing refers to it any more (no
    memoryview, numpy array or Arrow buffer of it is alive), so the next chunk's bytes can
    never show through data an earlier step handed out; the next step reads only what its
    own reads filled (`ArrivingBytes.wait_for`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buffer: bytearray | None = None

    def take(self, size: int) -> bytearray:
        with self._lock:
            buffer, self._buffer = self._buffer, None
        if buffer is None or size > len(buffer) + len(buffer) // 8:
            return bytearray(size)  # none kept, or one far too small to grow cheaply
        if size < len(buffer):
            del buffer[size:]  # keeps its memory unless it shrinks below half
        else:
            buffer.extend(bytes(size - len(buffer)))
        return buffer

    def give(self, buffer: bytearray) -> None:
        if not _unreferenced(buffer):
            return
        with self._lock:
            if self._buffer is None or len(buffer) > len(self._buffer):
                self._buffer = buffer

    def clear(self) -> None:
        with self._lock:
            self._buffer = None


def _unreferenced(buffer: bytearray) -> bool:
    """No export of the buffer is alive: a bytearray that has one refuses to change size."""
    try:
        buffer.append(0)
    except BufferError:
        return False
    buffer.pop()
    return True


SPARE = SpareBuffer()


class ArrivingBytes:
    """`data` is the chunk, filled in the background; read it only up to `wait_for`."""

    def __init__(self, fill: Filler, start: int, end: int,
                 block: int | None = None) -> None:
        size = max(0, end - start)
        block = block or BLOCK_BYTES
        self.data = SPARE.take(size)
        self._view = memoryview(self.data)
        self._fill, self._start = fill, start
        self._bounds = [(a, min(a + block, size)) for a in range(0, size, block)]
        self._done = [False] * len(self._bounds)
        self._next = 0  # the first block not yet there: those before it all are
        self._error: BaseException | None = None
        self._changed = threading.Condition()
        self._inline = len(self._bounds) == 1  # read by the first wait_for
        self._jobs: list[Future[None]] = [] if self._inline else \
            [_READ_POOL.submit(self._fetch, k) for k in range(len(self._bounds))]

    def _fetch(self, index: int) -> None:
        a, b = self._bounds[index]
        try:
            if self._error is None:  # once one read failed, the others are not needed
                self._fill(self._start + a, self._view[a:b])
        except BaseException as error:  # handed to the waiting thread
            with self._changed:
                self._error = self._error or error
                self._changed.notify_all()
            return
        with self._changed:
            self._done[index] = True
            while self._next < len(self._done) and self._done[self._next]:
                self._next += 1
            self._changed.notify_all()

    @classmethod
    def of_reader(cls, reader: Reader, start: int, end: int,
                  block: int | None = None) -> ArrivingBytes:
        """From a reader of bytes (one copy more per block than a filler)."""
        def fill(at: int, into: memoryview) -> None:
            into[:] = reader(at, at + len(into))
        return cls(fill, start, end, block)

    def _arrived(self) -> int:
        """Bytes from the start that are all there (with the lock held)."""
        return self._bounds[self._next - 1][1] if self._next else 0

    def wait_for(self, upto: int) -> None:
        """Return once data[:upto] is there; raise the first read's error otherwise."""
        upto = min(upto, len(self.data))
        if self._inline and upto > 0:
            with self._changed:
                mine, self._inline = self._inline, False
            if mine:  # another caller reading it meanwhile is waited for below
                self._fetch(0)
        with self._changed:
            while self._arrived() < upto:
                if self._error is not None:
                    raise self._error
                self._changed.wait()

    def close(self) -> None:
        """No read is left running or waiting after this (an error stops the step early)."""
        for job in self._jobs:
            job.cancel()
        wait(self._jobs)

    def recycle(self) -> None:
        """Done with `data` (the step's outputs are written): offer it to the next step."""
        self._view.release()
        SPARE.give(self.data)
