"""Checks the start of a source object: is it text, and does its header fit the schema?

Reads only the head of the object (64 KiB, more when the header line is longer). Only the
header line must decode: a data row with bytes that do not is rejected by the process step.
"""

from __future__ import annotations

import codecs
import csv
from dataclasses import dataclass

import numpy as np

from handlers import csv_scan
from handlers.errors import BinaryFile, EmptyFile, EncodingError, HeaderMismatch, NoDataRows
from handlers.objects import Reader

HEAD_BYTES = 64 * 1024
MAX_HEADER_BYTES = 4 * 1024 * 1024
UTF8_BOM = b"\xef\xbb\xbf"
MAGIC = {
    b"\x1f\x8b": "a gzip archive",
    b"PK\x03\x04": "a zip archive (or an Excel workbook)",
    b"%PDF": "a PDF document",
    b"PAR1": "a Parquet file",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"BZh": "a bzip2 archive",
    b"\xfd7zXZ": "an xz archive",
    b"\xd0\xcf\x11\xe0": "an Office document",
}
TEXT_CONTROLS = {9, 10, 12, 13}
OTHER_DELIMITERS = (",", ";", "\t", "|")


@dataclass(frozen=True)
class FileHead:
    header: list[str]
    data_offset: int


def inspect_head(read: Reader, size: int, *, key: str, delimiter: str, encoding: str,
                 columns: list[str], required: list[str]) -> FileHead:
    """Raise the permanent error that fits, or return the header and where data starts."""
    if size <= 0:
        raise EmptyFile(f"{key}: the file is empty (0 bytes)")
    head = read(0, min(size, HEAD_BYTES))
    _refuse_binary(head, key)
    is_utf8 = codecs.lookup(encoding).name in ("utf-8", "utf-8-sig")
    bom = len(UTF8_BOM) if is_utf8 and head.startswith(UTF8_BOM) else 0
    start, stop, data_offset = _header_line(head, size, bom, ord(delimiter))
    while stop is None and len(head) < min(size, MAX_HEADER_BYTES):
        head = read(0, min(size, MAX_HEADER_BYTES, len(head) * 4))
        start, stop, data_offset = _header_line(head, size, bom, ord(delimiter))
    if stop is None:
        if len(head) >= size:
            stop, data_offset = len(head), size
        else:
            raise HeaderMismatch(f"{key}: no end of the header line in the first "
                                 f"{MAX_HEADER_BYTES} bytes")
    _check_text(head[:data_offset], bom, encoding, key)
    header_text = head[start:stop].decode(encoding)
    if not header_text.strip():
        raise EmptyFile(f"{key}: the file has no header line (only blank lines)")
    header = _fields(header_text, delimiter)
    _check_header(header, header_text, key=key, delimiter=delimiter, columns=columns,
                  required=required)
    if not _has_data(read, head, size, data_offset):
        raise NoDataRows(f"{key}: the file has a header but no data rows")
    return FileHead(header=header, data_offset=data_offset)


def _refuse_binary(head: bytes, key: str) -> None:
    for prefix, what in MAGIC.items():
        if head.startswith(prefix):
            raise BinaryFile(f"{key}: the file is {what}, not CSV text")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise EncodingError(f"{key}: the file is UTF-16 text (byte order mark); "
                            "save it as UTF-8")
    nul = head.find(b"\x00")
    if nul >= 0:
        raise BinaryFile(f"{key}: the file is binary, not CSV text (NUL byte at offset {nul})")
    sample = np.frombuffer(head[:8192], np.uint8)
    controls = int(np.count_nonzero((sample < 32) & ~np.isin(sample, list(TEXT_CONTROLS))))
    if sample.size and controls > max(8, sample.size // 20):
        raise BinaryFile(f"{key}: the file is binary, not CSV text "
                         f"({controls} control bytes in the first {sample.size})")


def _header_line(head: bytes, size: int, bom: int,
                 delim: int) -> tuple[int, int | None, int]:
    """(start, end of the header text, first data byte); end is None when not in `head`.

    Blank lines before the header are skipped.
    """
    whole = len(head) >= size
    start = bom
    while start < len(head) and head[start] in (csv_scan.CR, csv_scan.LF):
        start += 1
    buf = head[start:]
    usable = len(buf)
    if not whole:
        while usable > 0 and buf[usable - 1] in (csv_scan.QUOTE, csv_scan.CR):
            usable -= 1
    arr = csv_scan.as_array(buf)[:usable]
    toggles = csv_scan.quote_toggles(arr, delim, final=whole) if b'"' in buf[:usable] \
        else np.empty(0, np.int64)
    ends = csv_scan.terminators(arr, toggles)
    if ends.size == 0:
        return start, None, 0
    first = int(ends[0])
    stop = first - 1 if first > 0 and buf[first] == csv_scan.LF and \
        buf[first - 1] == csv_scan.CR else first
    return start, start + stop, start + first + 1


def _check_text(head: bytes, bom: int, encoding: str, key: str) -> None:
    """The header line must decode; a data row that does not is that row's reject."""
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        decoder.decode(head[bom:], final=True)
    except UnicodeDecodeError as error:
        offset = bom + error.start
        line = head.count(b"\n", 0, offset) + 1
        raise EncodingError(f"{key}: byte {offset} (line {line}) is not valid {encoding}: "
                            f"{error.reason}") from None


def _fields(header_text: str, delimiter: str) -> list[str]:
    rows = list(csv.reader([header_text], delimiter=delimiter, quotechar='"', strict=False))
    return [name.strip() for name in rows[0]] if rows else []


def _check_header(header: list[str], header_text: str, *, key: str, delimiter: str,
                  columns: list[str], required: list[str]) -> None:
    problems = []
    known = set(columns)
    seen: set[str] = set()
    duplicates = []
    for name in header:
        if name in seen and name not in duplicates:
            duplicates.append(name)
        seen.add(name)
    unknown = [name for name in dict.fromkeys(header) if name not in known]
    missing = [name for name in required if name not in seen]
    if missing:
        problems.append(f"missing required column{_s(missing)} {_names(missing)}")
    if unknown:
        problems.append(f"unknown column{_s(unknown)} {_names(unknown)} "
                        f"(the schema has {_names(columns)})")
    if duplicates:
        problems.append(f"duplicate column{_s(duplicates)} {_names(duplicates)}")
    if not problems:
        return
    hint = _delimiter_hint(header, header_text, delimiter, known)
    raise HeaderMismatch(f"{key}: header {'; '.join(problems)}{hint}")


def _delimiter_hint(header: list[str], header_text: str, delimiter: str,
                    known: set[str]) -> str:
    if len(header) > 1:
        return ""
    for other in OTHER_DELIMITERS:
        if other != delimiter and other in header_text:
            names = _fields(header_text, other)
            if sum(name in known for name in names) >= max(1, len(names) // 2):
                shown = "\\t" if other == "\t" else other
                return f"; the header splits on {shown!r}: is the delimiter {shown!r}?"
    return ""


def _has_data(read: Reader, head: bytes, size: int, data_offset: int) -> bool:
    """Is there a non-blank byte after the header line?"""
    position = data_offset
    block = head[data_offset:]
    while position < size:
        if block.strip(b"\r\n"):
            return True
        position += len(block)
        if position >= size:
            break
        block = read(position, min(size, position + HEAD_BYTES))
        if not block:
            break
    return False


def _names(names: list[str]) -> str:
    return ", ".join(repr(name) for name in names)


def _s(items: list[str]) -> str:
    return "" if len(items) == 1 else "s"
