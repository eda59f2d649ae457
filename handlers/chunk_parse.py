"""Parses one chunk's bytes into string columns plus the byte position of every record.

pyarrow parses (fast, multi-threaded) and hands rows with the wrong number of fields to the
invalid-row handler, which skips them; `handlers.csv_scan` finds every record's byte range
with the same quoting rules, so each parsed row and each skipped row is tied to its offset
and raw text. The two passes must agree on the counts, or the chunk fails loudly.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.csv as pv

from handlers import csv_scan
from handlers.errors import ChunkPlanError, EncodingError

BLOCK_SIZE = 4 * 1024 * 1024
_PARSER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="csv-parse")


class ParserDisagreement(RuntimeError):
    """pyarrow and the record scan saw different rows: never guess, fail the attempt."""


@dataclass
class ParsedChunk:
    table: pa.Table  # the rows with the right number of fields, every column a string
    row_starts: np.ndarray  # byte offset (in the chunk) of each table row
    row_stops: np.ndarray
    ragged_starts: np.ndarray  # rows with the wrong number of fields
    ragged_stops: np.ndarray
    ragged_fields: np.ndarray

    @property
    def rows_in(self) -> int:
        return self.table.num_rows + int(self.ragged_starts.size)


def parse_chunk(data: bytes, header: list[str], delimiter: str, encoding: str = "utf-8",
                *, base_offset: int = 0, label: str = "chunk",
                at_end_of_file: bool = True) -> ParsedChunk:
    """Parse `data` (whole records, no header line); offsets in messages add `base_offset`."""
    arr = csv_scan.as_array(data)
    delim = ord(delimiter)
    # pyarrow parses on its own threads (GIL released) while the record scan runs here
    parsing = _PARSER.submit(_read_with_pyarrow, data, header, delimiter, encoding,
                             base_offset, label) if data else None
    try:
        starts, stops, toggles = _scan_records(arr, data, delim, base_offset, label,
                                               at_end_of_file)
        # counted while pyarrow is still busy: usually free, needed only for ragged rows
        counts = csv_scan.field_counts(arr, delim, toggles, starts, stops)
    except BaseException:
        if parsing is not None:
            parsing.cancel()
            _quietly_wait(parsing)
        raise
    if parsing is None or starts.size == 0:
        if parsing is not None:
            _quietly_wait(parsing)
        table = pa.table({name: pa.array([], pa.string()) for name in header})
        skipped = 0
    else:
        table, skipped = parsing.result()
    ragged = counts != len(header)
    if int(ragged.sum()) != skipped or table.num_rows != starts.size - skipped:
        raise ParserDisagreement(
            f"{label}: pyarrow parsed {table.num_rows} rows and skipped {skipped}, but the "
            f"record scan found {starts.size} records of which {int(ragged.sum())} ragged")
    return ParsedChunk(
        table=table,
        row_starts=starts[~ragged], row_stops=stops[~ragged],
        ragged_starts=starts[ragged], ragged_stops=stops[ragged],
        ragged_fields=counts[ragged],
    )


def _quietly_wait(future: Future) -> None:
    try:
        future.result()
    except Exception:  # the scan's error is the one to report
        return


def _scan_records(arr: np.ndarray, data: bytes, delim: int, base_offset: int, label: str,
                  at_end_of_file: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    wanted = [csv_scan.LF] + ([csv_scan.QUOTE] if b'"' in data else []) + \
        ([csv_scan.CR] if b"\r" in data else [])
    found = dict(zip(wanted, csv_scan.positions_of(arr, *wanted), strict=True))
    empty = np.empty(0, np.int64)
    quotes = found.get(csv_scan.QUOTE, empty)
    toggles = csv_scan.quote_toggles(arr, delim, quotes=quotes) if quotes.size else empty
    if csv_scan.ends_in_quote(toggles):
        opened = base_offset + int(toggles[-1])
        where = "the end of the file" if at_end_of_file else "the end of the chunk"
        raise ChunkPlanError(
            f"{label}: the quoted field opened at byte {opened} is still open at {where} "
            "(an unterminated quote, or a chunk cut inside a quoted value)")
    ends = csv_scan.terminators(arr, toggles, found[csv_scan.LF], found.get(csv_scan.CR, empty))
    starts, stops = csv_scan.record_bounds(arr, ends)
    return starts, stops, toggles


def _read_with_pyarrow(data: bytes, header: list[str], delimiter: str, encoding: str,
                       base_offset: int, label: str) -> tuple[pa.Table, int]:
    lock = threading.Lock()
    skipped = [0]

    def skip(_row: object) -> str:
        with lock:
            skipped[0] += 1
        return "skip"

    block = BLOCK_SIZE
    while True:
        skipped[0] = 0
        try:
            table = pv.read_csv(
                pa.py_buffer(data),
                read_options=pv.ReadOptions(column_names=header, block_size=block,
                                            encoding=encoding, use_threads=True),
                parse_options=pv.ParseOptions(delimiter=delimiter, quote_char='"',
                                              double_quote=True, escape_char=False,
                                              newlines_in_values=True, ignore_empty_lines=True,
                                              invalid_row_handler=skip),
                convert_options=pv.ConvertOptions(
                    column_types={name: pa.string() for name in header},
                    strings_can_be_null=False, quoted_strings_can_be_null=False,
                    check_utf8=True),
            )
            return table, skipped[0]
        except pa.ArrowInvalid as error:
            text = str(error)
            if "UTF8" in text or "utf8" in text.lower():
                raise _encoding_error(data, encoding, base_offset, label) from None
            if "straddl" in text and block < len(data) + 1:
                block = max(block * 4, len(data) + 1)
                continue
            raise
        except UnicodeDecodeError:
            raise _encoding_error(data, encoding, base_offset, label) from None


def _encoding_error(data: bytes, encoding: str, base_offset: int, label: str) -> EncodingError:
    try:
        data.decode(encoding)
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        return EncodingError(
            f"{label}: byte {base_offset + error.start} is not valid {encoding} "
            f"(line {line} of the chunk): {error.reason}")
    return EncodingError(f"{label}: the text is not valid {encoding}")


def raw_text(data: bytes, start: int, stop: int, encoding: str) -> str:
    """A record's text, unchanged (bytes that do not decode are shown as \\xNN)."""
    return data[start:stop].decode(encoding, errors="backslashreplace")
