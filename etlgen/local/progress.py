"""Progress of a local run, fed by the interpreter's history events.

On a terminal it redraws one line (chunks done / total, rows, rows per second); elsewhere it
writes a plain line now and then, so logs of CI runs stay readable.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any, TextIO

from etlgen.local.tally import ChunkTally

BAR_WIDTH = 24
REDRAW_SECONDS = 0.1
PLAIN_LINE_SECONDS = 10.0


class RunProgress:
    """History listener: counts chunks, rows and retries as they happen (thread-safe)."""

    def __init__(self, stream: TextIO | None = None, enabled: bool = True) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.interactive = enabled and self.stream.isatty()
        self.tally = ChunkTally()
        self.started = time.monotonic()
        self._lock = threading.Lock()
        self._last_draw = 0.0
        self._drawn = False

    def __call__(self, event: dict[str, Any]) -> None:
        with self._lock:
            if self.tally.add(event):
                self._show(final=event["type"] == "MapStateStarted" and not self.interactive)

    @property
    def total(self) -> int:
        return self.tally.chunks

    @property
    def done(self) -> int:
        return self.tally.chunks_done

    @property
    def rows(self) -> int:
        return self.tally.rows_in

    @property
    def retries(self) -> int:
        return self.tally.retries

    def line(self) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = self.rows / elapsed
        share = self.done / self.total if self.total else 0.0
        filled = int(share * BAR_WIDTH)
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        return (f"[{bar}] {self.done}/{self.total} chunks  {self.rows:,} rows  "
                f"{rate:,.0f} rows/s  {elapsed:.1f}s"
                + (f"  {self.retries} retries" if self.retries else ""))

    def _show(self, final: bool = False) -> None:
        if not self.enabled or not self.total:
            return
        now = time.monotonic()
        if self.interactive:
            if final or now - self._last_draw >= REDRAW_SECONDS or self.done == self.total:
                self.stream.write("\r" + self.line() + "\x1b[K")
                self.stream.flush()
                self._last_draw = now
                self._drawn = True
        elif final or now - self._last_draw >= PLAIN_LINE_SECONDS:
            self.stream.write(self.line() + "\n")
            self.stream.flush()
            self._last_draw = now

    def finish(self) -> None:
        with self._lock:
            if self.interactive and self._drawn:
                self.stream.write("\r" + self.line() + "\x1b[K\n")
                self.stream.flush()
            elif self.enabled and not self.interactive and self.total and self._last_draw:
                self.stream.write(self.line() + "\n")
                self.stream.flush()
