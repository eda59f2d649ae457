"""Parses one chunk's bytes into string columns plus the byte position of every record.

`handlers.csv_scan` first finds every record's byte range with pyarrow's quoting rules; then
pyarrow parses (newline-in-value support only when a quoted value holds a line break) and
hands rows with the wrong number of fields to the invalid-row handler, which skips them and
notes their record number. Each parsed row and each skipped row is so tied to its offset and
raw text. The two passes must agree (counts, and the skipped rows' text), else the fields of
every record are counted from the bytes; if they still disagree the chunk fails loudly.
When the first records show many rows with the wrong number of fields, those are found by
counting fields in the bytes first and cut out of a copy (each leaves a blank line), so
pyarrow skips nothing (its skips call into Python, one by one, under the GIL).

A record holding bytes that do not decode is no row of the table: when pyarrow refuses the
text (and only then), `handlers.undecodable` finds those records, which become rejected
rows, and the others are parsed from a copy where those records are blank lines.

Every byte reaches the table as it is: pyarrow drops a UTF-8 byte order mark at the start of
each buffer it parses (never inside one, at any block size), so a buffer that starts with
U+FEFF is parsed behind a blank line (not a row). Only the file's own first three bytes are a
BOM, and those belong to the header, never to a chunk. UTF-8 text is decoded as plain UTF-8
(never `utf-8-sig`, which would drop a leading U+FEFF of a record as well).

A quoted field still open at the end of the file (an unterminated quote) makes its record
one rejected row that runs to the end of the file; the records before it are parsed as usual.
Offsets in messages are offsets in the source object (`base_offset` is where `data` starts).
"""

from __future__ import annotations

import codecs
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pv

from handlers import arrow_compute as compute
from handlers import byte_spans, csv_scan
from handlers.errors import ChunkPlanError, EncodingError
from handlers.undecodable import UndecodableRows, undecodable_rows

BLOCK_SIZE = 4 * 1024 * 1024
RAGGED_SAMPLE = 512
RAGGED_SHARE = 0.03
"""From this share of rows with the wrong number of fields among a chunk's first
`RAGGED_SAMPLE` records, the fields of every record are counted before pyarrow parses
(`_parsed_without_ragged`); below it pyarrow's own skips are cheaper (on 64 MiB chunks of
the benchmark's rows, 3 % ragged rows cost the same both ways, 5 % a tenth less counted).
"""
RAGGED_COUNTED_MAX_BYTES = 16 * 1024 * 1024
"""Counting first takes a copy of the bytes and the delimiters' positions (8 bytes each):
fine for the process step's pieces of a few MiB, not for a whole 512 MiB chunk parsed in
one piece (as after an error in a piece), which keeps pyarrow's skips."""
UTF8_BOM = b"\xef\xbb\xbf"
Data = bytes | memoryview


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
    open_record: OpenRecord | None = None  # the last record, when its quote never closes
    undecodable: UndecodableRows | None = None  # records with bytes that do not decode

    @property
    def rows_in(self) -> int:
        rows: int = self.table.num_rows
        return rows + int(self.ragged_starts.size) + (
            1 if self.open_record is not None else 0) + (
            self.undecodable.count if self.undecodable is not None else 0)


@dataclass(frozen=True)
class OpenRecord:
    """A record whose quoted field is never closed: it runs to the end of the file."""

    start: int  # in the chunk
    stop: int  # end of the data, without one final line break
    quote: int  # where the quoted field opens, in the chunk

    def message(self, base_offset: int) -> str:
        return (f"the quoted field opened at byte {base_offset + self.quote} is never closed "
                "(an unterminated quote): the row runs to the end of the file")


@dataclass
class _Skipped:
    """What pyarrow's invalid-row handler saw: record number (1-based), fields, text."""

    numbers: list[int | None]
    fields: list[int]
    texts: list[str]


@dataclass
class _Records:
    starts: np.ndarray
    stops: np.ndarray
    toggles: np.ndarray
    multiline: bool  # a quoted value holds a line break
    open_record: OpenRecord | None = None


def parse_chunk(data: Data, header: list[str], delimiter: str, encoding: str = "utf-8",
                *, base_offset: int = 0, label: str = "chunk",
                at_end_of_file: bool = True) -> ParsedChunk:
    """Parse `data` (whole records, no header line); `base_offset` is the source offset of
    `data[0]`, so messages name bytes of the source object."""
    encoding = text_encoding(encoding)
    arr = csv_scan.as_array(data)
    delim = ord(delimiter)
    records = _scan_records(arr, data, delim, base_offset, label, at_end_of_file)
    open_record = records.open_record
    if open_record is not None:  # parse what comes before it
        data, arr = data[:open_record.start], arr[:open_record.start]
        records = _scan_records(arr, data, delim, base_offset, label, at_end_of_file)
    starts, stops = records.starts, records.stops
    if starts.size == 0:
        empty = np.empty(0, np.int64)
        return ParsedChunk(table=_empty_table(header),
                           row_starts=empty, row_stops=empty, ragged_starts=empty,
                           ragged_stops=empty, ragged_fields=empty, open_record=open_record)
    if encoding == "utf-8" and arr.size <= RAGGED_COUNTED_MAX_BYTES and \
            _many_ragged(arr, delim, records, len(header)):
        cleared = _parsed_without_ragged(data, arr, delim, records, header, delimiter,
                                         base_offset, label, open_record)
        if cleared is not None:
            return cleared
    undecodable = None
    try:
        table, skipped = _read_with_pyarrow(data, header, delimiter, encoding, base_offset,
                                            label, records.multiline)
    except EncodingError:  # reject the records that do not decode, parse the others
        undecodable = undecodable_rows(data, arr, starts, stops, records.toggles, delim,
                                       header, encoding, base_offset)
        if not undecodable.count:
            raise
        arr = undecodable.blanked(arr)
        data = arr.data
        records = _scan_records(arr, data, delim, base_offset, label, at_end_of_file)
        starts, stops = records.starts, records.stops
        table, skipped = _read_with_pyarrow(data, header, delimiter, encoding, base_offset,
                                            label, records.multiline) if starts.size else \
            (_empty_table(header), _Skipped([], [], []))
    ragged, counts = _ragged_from_parser(data, starts, stops, skipped, encoding)
    if ragged is None:
        counts = csv_scan.field_counts(arr, delim, records.toggles, starts, stops)
        ragged = counts != len(header)
    if int(ragged.sum()) != len(skipped.fields) or table.num_rows != starts.size - len(
            skipped.fields):
        raise ParserDisagreement(
            f"{label}: pyarrow parsed {table.num_rows} rows and skipped "
            f"{len(skipped.fields)}, but the record scan found {starts.size} records of which "
            f"{int(ragged.sum())} ragged")
    return ParsedChunk(
        table=table,
        row_starts=starts[~ragged], row_stops=stops[~ragged],
        ragged_starts=starts[ragged], ragged_stops=stops[ragged],
        ragged_fields=counts[ragged], open_record=open_record, undecodable=undecodable,
    )


def _many_ragged(arr: np.ndarray, delim: int, records: _Records, fields: int) -> bool:
    """Whether `RAGGED_SHARE` or more of the first `RAGGED_SAMPLE` records have the wrong
    number of fields (a guess for the whole piece: either answer gives the same rows)."""
    count = min(int(records.starts.size), RAGGED_SAMPLE)
    if count == 0:
        return False
    end = int(records.stops[count - 1])
    toggles = records.toggles[records.toggles < end]
    counts = csv_scan.field_counts(arr[:end], delim, toggles, records.starts[:count],
                                   records.stops[:count])
    return int(np.count_nonzero(counts != fields)) >= RAGGED_SHARE * count


def _parsed_without_ragged(data: Data, arr: np.ndarray, delim: int, records: _Records,
                           header: list[str], delimiter: str, base_offset: int, label: str,
                           open_record: OpenRecord | None) -> ParsedChunk | None:
    """The rows with the wrong number of fields found by counting fields in the bytes and
    cut out before pyarrow parses the rest, so pyarrow hands it no row to skip.
    Each skipped row is a call into Python under the GIL, which the other pieces' threads
    hold most of the time when most rows are rejected: with a fifth of the rows ragged,
    those calls cost more than the count. None when pyarrow still sees a ragged row or
    refuses the bytes, or a byte does not decode (a record that does not decode is rejected
    as such, not for its fields): the usual path then decides, and words any error."""
    starts, stops = records.starts, records.stops
    counts = csv_scan.field_counts(arr, delim, records.toggles, starts, stops)
    ragged = counts != len(header)
    if not _decodes(data, starts[ragged], stops[ragged]):
        return None
    try:
        table, skipped = _read_with_pyarrow(
            csv_scan.without(data, starts[ragged], stops[ragged]), header, delimiter,
            "utf-8", base_offset, label, records.multiline)
    except (EncodingError, pa.ArrowInvalid):  # read again as it is, to word the error
        return None
    if skipped.fields or table.num_rows != starts.size - int(np.count_nonzero(ragged)):
        return None
    return ParsedChunk(
        table=table, row_starts=starts[~ragged], row_stops=stops[~ragged],
        ragged_starts=starts[ragged], ragged_stops=stops[ragged],
        ragged_fields=counts[ragged], open_record=open_record)


def _decodes(data: Data, starts: np.ndarray, stops: np.ndarray) -> bool:
    """Whether the records [starts, stops) are all UTF-8: the bytes from the first one's
    start to the last one's stop are checked in one pass (the records between are checked
    by pyarrow's parse anyway)."""
    if not starts.size:
        return True
    try:
        compute.cast(byte_spans.spans(data, starts[:1], stops[-1:]), pa.large_string())
    except pa.ArrowInvalid:
        return False
    return True


def _empty_table(header: list[str]) -> pa.Table:
    return pa.table({name: pa.array([], pa.string()) for name in header})


def text_encoding(encoding: str) -> str:
    """The codec for the data: UTF-8 with or without a BOM is plain UTF-8 past the header."""
    name = codecs.lookup(encoding).name
    return "utf-8" if name in ("utf-8", "utf-8-sig") else name


def _ragged_from_parser(data: Data, starts: np.ndarray, stops: np.ndarray, skipped: _Skipped,
                        encoding: str) -> tuple[np.ndarray | None, np.ndarray]:
    """(ragged mask, field counts) from the record numbers pyarrow reported, when they are
    complete, in range, increasing and name records with the very text pyarrow skipped;
    (None, _) otherwise."""
    count = starts.size
    counts = np.zeros(count, np.int64)
    ragged = np.zeros(count, bool)
    if not skipped.numbers:
        return ragged, counts
    if any(number is None for number in skipped.numbers):
        return None, counts
    index = np.asarray(skipped.numbers, np.int64) - 1
    if index[0] < 0 or index[-1] >= count or np.any(np.diff(index) <= 0):
        return None, counts
    texts = raw_texts(data, starts[index], stops[index], encoding)
    if not compute.all(compute.equal(texts, pa.array(skipped.texts, pa.large_string()))).as_py():
        return None, counts
    ragged[index] = True
    counts[index] = skipped.fields
    return ragged, counts


def _scan_records(arr: np.ndarray, data: Data, delim: int, base_offset: int, label: str,
                  at_end_of_file: bool) -> _Records:
    wanted = [csv_scan.LF] + ([csv_scan.QUOTE] if csv_scan.contains(arr, csv_scan.QUOTE)
                              else []) + \
        ([csv_scan.CR] if csv_scan.contains(arr, csv_scan.CR) else [])
    found = dict(zip(wanted, csv_scan.positions_of(arr, *wanted), strict=True))
    empty = np.empty(0, np.int64)
    quotes = found.get(csv_scan.QUOTE, empty)
    toggles = csv_scan.quote_toggles(arr, delim, quotes=quotes) if quotes.size else empty
    lf, cr = found[csv_scan.LF], found.get(csv_scan.CR, empty)
    ends = csv_scan.terminators(arr, toggles, lf, cr)
    if csv_scan.ends_in_quote(toggles):
        quote = int(toggles[-1])
        if not at_end_of_file:
            raise ChunkPlanError(
                f"{label}: the chunk ends inside the quoted field opened at byte "
                f"{base_offset + quote}, so it was not cut on a record boundary")
        start = int(ends[-1]) + 1 if ends.size else 0
        return _Records(starts=empty, stops=empty, toggles=empty, multiline=False,
                        open_record=OpenRecord(start, _without_line_break(data), quote))
    # without CR every LF ends a record unless it is quoted
    multiline = bool(toggles.size) and (
        (ends.size != lf.size if not cr.size else
         not bool(np.all(csv_scan.outside(lf, toggles))))
        or not bool(np.all(csv_scan.outside(cr, toggles))))
    starts, stops = csv_scan.record_bounds(arr, ends, has_cr=bool(cr.size))
    return _Records(starts=starts, stops=stops, toggles=toggles, multiline=multiline)


def _without_line_break(data: Data) -> int:
    """Length of `data` without one final LF, CR or CRLF."""
    stop = len(data)
    if stop and data[stop - 1] == csv_scan.LF:
        stop -= 1
        if stop and data[stop - 1] == csv_scan.CR:
            stop -= 1
    elif stop and data[stop - 1] == csv_scan.CR:
        stop -= 1
    return stop


def _read_with_pyarrow(data: Data, header: list[str], delimiter: str, encoding: str,
                       base_offset: int, label: str,
                       multiline: bool = True) -> tuple[pa.Table, _Skipped]:
    """One thread: the caller runs chunks (or pieces of one) side by side when that helps,
    and the skipped rows' record numbers are only known to a single-threaded parse."""
    skipped = _Skipped([], [], [])
    source = data
    if bytes(data[:3]) == UTF8_BOM:  # pyarrow would drop it; record numbers stay the same
        data = b"\n" + bytes(data)

    numbers, fields, texts = skipped.numbers.append, skipped.fields.append, \
        skipped.texts.append

    def skip(row: pv.InvalidRow) -> str:
        """Called with the GIL for every skipped row: kept to a few bytecodes (a third of
        the time of attribute look-ups)."""
        _expected, actual, number, text = row
        numbers(number if number is not None and number >= 0 else None)
        fields(actual)
        texts(text)
        return "skip"

    block = BLOCK_SIZE
    while True:
        skipped.numbers.clear()
        skipped.fields.clear()
        skipped.texts.clear()
        try:
            table = pv.read_csv(
                pa.py_buffer(data),
                read_options=pv.ReadOptions(column_names=header, block_size=block,
                                            encoding=encoding, use_threads=False),
                parse_options=pv.ParseOptions(delimiter=delimiter, quote_char='"',
                                              double_quote=True, escape_char=False,
                                              newlines_in_values=multiline,
                                              ignore_empty_lines=True,
                                              invalid_row_handler=skip),
                convert_options=pv.ConvertOptions(
                    column_types={name: pa.string() for name in header},
                    strings_can_be_null=False, quoted_strings_can_be_null=False,
                    check_utf8=True),
            )
            return table, skipped
        except pa.ArrowInvalid as error:
            text = str(error)
            if "UTF8" in text or "utf8" in text.lower():
                raise _encoding_error(source, encoding, base_offset, label) or EncodingError(
                    f"{label}: the text is not valid {encoding}") from None
            if "straddl" in text and block < len(data) + 1:
                block = max(block * 4, len(data) + 1)
                continue
            encoding_error = _encoding_error(source, encoding, base_offset, label)
            if encoding_error is not None:  # a ragged row pyarrow could not hand to `skip`
                raise encoding_error from None
            raise
        except UnicodeDecodeError:
            raise _encoding_error(source, encoding, base_offset, label) or EncodingError(
                f"{label}: the text is not valid {encoding}") from None


def _encoding_error(data: Data, encoding: str, base_offset: int,
                    label: str) -> EncodingError | None:
    """The error naming the first byte that does not decode; None when all do."""
    try:
        codecs.decode(data, encoding)
    except UnicodeDecodeError as error:
        return EncodingError(
            f"{label}: byte {base_offset + error.start} is not valid {encoding}: "
            f"{error.reason}")
    return None


def _quiet_undecodable_skips(hook: Callable[[Any], object]) -> Callable[[Any], object]:
    """pyarrow decodes a ragged row's text before it calls `skip`, and reports a failure
    there as an unraisable error before it stops the parse: that parse is redone without
    the records that do not decode, so such a report is noise."""
    def filtered(unraisable: Any) -> object:
        if isinstance(unraisable.exc_value, UnicodeDecodeError) and getattr(
                unraisable.object, "__qualname__", "") == _SKIP_NAME:
            return None
        return hook(unraisable)
    return filtered


_SKIP_NAME = f"{_read_with_pyarrow.__qualname__}.<locals>.skip"
sys.unraisablehook = _quiet_undecodable_skips(sys.unraisablehook)


def raw_text(data: Data, start: int, stop: int, encoding: str) -> str:
    """A record's text, unchanged (bytes that do not decode are shown as \\xNN)."""
    return bytes(data[start:stop]).decode(text_encoding(encoding), errors="backslashreplace")


def raw_texts(data: Data, starts: np.ndarray, stops: np.ndarray, encoding: str) -> pa.Array:
    """Each record's text, unchanged (`raw_text` per record: bytes that do not decode are
    shown as \\xNN). UTF-8 records are sliced from the bytes in one copy; other encodings,
    or bytes that are not UTF-8, are decoded one record at a time."""
    count = int(starts.size)
    if count == 0:
        return pa.array([], pa.large_string())
    if text_encoding(encoding) == "utf-8":
        try:
            return compute.cast(byte_spans.spans(data, starts, stops), pa.large_string())
        except pa.ArrowInvalid:
            pass
    return pa.array([raw_text(data, int(a), int(b), encoding)
                     for a, b in zip(starts.tolist(), stops.tolist(), strict=True)],
                    pa.large_string())
