"""The progress display: one redrawn line on a terminal, occasional plain lines elsewhere."""

from __future__ import annotations

import io

from etlgen.local.progress import RunProgress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _feed(progress: RunProgress) -> None:
    progress({"type": "MapStateStarted", "length": 4})
    for index in range(4):
        progress({"type": "TaskSucceeded", "scope": (("Map", index),),
                  "output": {"rows_in": 250}})
        progress({"type": "MapIterationSucceeded", "index": index})
    progress({"type": "RetryScheduled"})
    progress.finish()


def test_terminal_shows_chunks_rows_and_rate_on_one_redrawn_line() -> None:
    stream = Terminal()
    _feed(RunProgress(stream))
    text = stream.getvalue()
    assert text.startswith("\r[")
    final = text.rstrip("\n").split("\r")[-1]
    assert "4/4 chunks" in final and "1,000 rows" in final and "rows/s" in final
    assert "1 retries" in final
    assert text.endswith("\n") and text.count("\n") == 1


def test_plain_output_writes_occasional_lines_without_control_characters() -> None:
    stream = io.StringIO()
    _feed(RunProgress(stream))
    lines = stream.getvalue().splitlines()
    assert 1 <= len(lines) <= 3
    assert "\r" not in stream.getvalue() and "\x1b" not in stream.getvalue()
    assert "0/4 chunks" in lines[0]


def test_disabled_progress_writes_nothing() -> None:
    stream = Terminal()
    _feed(RunProgress(stream, enabled=False))
    assert stream.getvalue() == ""
