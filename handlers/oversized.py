"""The verdict on a chunk the plan flagged `oversized`: one record larger than the process
function can hold. Loading it would run the function out of memory or /tmp and fail the
whole file after its retries, so it is rejected unread: one rejected row with its source
offset, the first `RAW_PREFIX_CHARS` characters of its text (decoded like every rejected
row's, then `TRUNCATION_MARK`) and a reason naming the limit and the config key behind it.
Only the record's first few KiB and its last two bytes are read.
"""

from __future__ import annotations

import codecs
from typing import Any

from handlers.chunk_parse import text_encoding
from handlers.objects import Reader
from handlers.settings import MIB, Settings

RAW_PREFIX_CHARS = 1000
# Each character takes at most 4 bytes in the ASCII-compatible encodings the handlers
# accept (a byte that does not decode becomes the 4 characters `\xNN`).
RAW_PREFIX_BYTES = 4 * RAW_PREFIX_CHARS
OVERSIZED_RULE = "oversized"  # the reject's `kind`
TRUNCATION_MARK = "[... truncated: the record has {size} bytes, {shown} characters shown]"


def oversized_reject(read: Reader, start: int, end: int,
                     settings: Settings) -> dict[str, Any]:
    """The rejected row for the record in bytes [start, end) of the source (its line
    break included); `read` returns exactly the bytes asked for."""
    head = read(start, min(end, start + RAW_PREFIX_BYTES))
    tail = head[-2:] if end - start <= len(head) else read(max(start, end - 2), end)
    stop = end - _line_break_length(tail)
    decoder = codecs.getincrementaldecoder(text_encoding(settings.csv_encoding))(
        errors="backslashreplace")
    whole = start + len(head) >= stop
    text = decoder.decode(head[:stop - start], final=True) if whole else \
        decoder.decode(head, final=False)
    raw = text[:RAW_PREFIX_CHARS]
    truncated = not whole or len(text) > RAW_PREFIX_CHARS
    if truncated:
        raw += TRUNCATION_MARK.format(size=f"{stop - start:,}", shown=len(raw))
    return {"offset": start, "raw": raw, "truncated": truncated,
            "errors": [{"field": None, "kind": OVERSIZED_RULE,
                        "message": oversized_message(start, stop, settings)}]}


def oversized_message(start: int, stop: int, settings: Settings) -> str:
    limit = settings.largest_chunk_bytes()
    held = f"the {_mib(limit[0])} the process function can hold ({limit[1]})" if limit \
        else "what the process function can hold"
    return (f"record of {stop - start:,} bytes at bytes {start}-{stop} of the source is "
            f"larger than {held}: not loaded; raise functions.memory_mb to load it")


def _line_break_length(tail: bytes) -> int:
    """Bytes of one final LF, CR or CRLF (the record's terminator, if any)."""
    if tail.endswith(b"\r\n"):
        return 2
    return 1 if tail[-1:] in (b"\n", b"\r") else 0


def _mib(size: int) -> str:
    """384 MiB, 1.5 MiB; below 1 MiB (tests' tiny limits) in KiB."""
    value, unit = (size / MIB, "MiB") if size >= MIB else (size / 1024, "KiB")
    return f"{value:,.1f}".removesuffix(".0") + " " + unit
