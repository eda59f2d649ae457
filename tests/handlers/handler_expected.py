"""What the pipeline must produce for a file, computed without the handlers' code."""

from __future__ import annotations

import csv
import datetime as dt
import re
import sys
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tests.handlers.handler_oracle import Oracle, decimal_column_digits, load_schema
from tests.handlers.handler_rows import HEADER, Row

UNDECODED = re.compile("[\udc80-\udcff]")


def records_with_offsets(data: bytes, encoding: str = "utf-8") -> tuple[list[str], list[Row]]:
    """Header and data records, with byte offsets, parsed by Python's csv module. Each line
    is decoded on its own, a byte that does not decode kept as a lone surrogate
    (`undecodable`), and a record's raw text shows such bytes as `\\xNN`."""
    start = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    lines = data[start:].splitlines(keepends=True)
    positions = []
    position = start
    for line in lines:
        positions.append(position)
        position += len(line)
    consumed: list[int] = []

    def feed() -> Any:
        for n, line in enumerate(lines):
            consumed.append(n)
            yield line.decode(encoding, "surrogateescape")

    records: list[Row] = []
    csv.field_size_limit(sys.maxsize)  # quoted values of several MiB are one field
    reader = csv.reader(feed(), strict=False)
    first_line = 0
    for fields in reader:
        last = consumed[-1]
        if fields:
            begin = positions[first_line]
            end_line = lines[last]
            end = positions[last] + len(end_line.rstrip(b"\r\n"))
            records.append(Row(begin, data[begin:end].decode(encoding, "backslashreplace"),
                               fields))
        first_line = last + 1
    header, rows = records[0].fields, records[1:]
    return header, rows


def undecodable(row: Row) -> bool:
    """The record holds bytes that do not decode: rejected whatever its fields."""
    return any(UNDECODED.search(text) for text in row.fields)


def typed(fields: dict[str, str]) -> dict[str, Any]:
    """A valid transactions row as the Parquet output holds it."""
    out: dict[str, Any] = {name: None for name in HEADER}
    for name, text in fields.items():
        if text == "":
            continue
        if name == "transaction_date":
            out[name] = dt.date.fromisoformat(text)
        elif name == "amount":
            out[name] = Decimal(text).quantize(Decimal("0.01"))
        else:
            out[name] = text
    return out


def split_expected(rows: list[Row], header: list[str] = HEADER,
                   schema: dict | None = None) -> tuple[list[dict], list[tuple[int, str]]]:
    """(typed valid rows in file order, (offset, raw) of every reject)."""
    oracle = Oracle(schema or load_schema())
    valid, rejects = [], []
    for row in rows:
        if len(row.fields) != len(header) or undecodable(row):
            rejects.append((row.offset, row.raw))
            continue
        fields = dict(zip(header, row.fields, strict=True))
        if oracle.failing_fields(fields):
            rejects.append((row.offset, row.raw))
        else:
            valid.append(typed(fields))
    return valid, rejects


@dataclass
class Expected:
    valid: list[dict[str, Any]]  # typed, in file order
    rejects: list[tuple[int, str]]  # (source offset, raw text)
    valid_offsets: list[int] = field(default_factory=list)  # each valid row's source offset


def typed_value(spec: dict[str, Any], text: str) -> Any:
    """A valid cell as the Parquet output holds it (docs/architecture.md)."""
    if text == "":
        return None
    kind = spec["type"]
    if kind == "integer":
        return int(text)
    if kind == "boolean":
        return text == "true"
    if kind == "number":
        digits = decimal_column_digits(spec)
        if digits is None:
            return float(Decimal(text))
        return Decimal(text).quantize(Decimal(1).scaleb(-digits[1]))
    if spec.get("format") == "date":
        return dt.date.fromisoformat(text)
    if spec.get("format") == "date-time":
        raise NotImplementedError("the run oracle has no date-time conversion")
    return text


def expected_outputs(data: bytes, schema: dict[str, Any],
                     unterminated: tuple[int, str] | None = None,
                     skip: frozenset[int] = frozenset()) -> Expected:
    """`unterminated`: (offset, raw) of a last record whose quote never closes: rejected,
    and the records before it are the rest of the file's. Records starting at an offset in
    `skip` are left out (a test checks them on its own)."""
    if unterminated is not None:
        data = data[:unterminated[0]]
    header, rows = records_with_offsets(data)
    oracle = Oracle(schema)
    columns = schema["properties"]
    valid, rejects, offsets = [], [], []
    for row in rows:
        if row.offset in skip:
            continue
        if len(row.fields) != len(header) or undecodable(row):
            rejects.append((row.offset, row.raw))
            continue
        fields = dict(zip(header, row.fields, strict=True))
        if oracle.failing_fields(fields):
            rejects.append((row.offset, row.raw))
            continue
        valid.append({name: typed_value(spec, fields.get(name, ""))
                      for name, spec in columns.items()})
        offsets.append(row.offset)
    if unterminated is not None and unterminated[0] not in skip:
        rejects.append(unterminated)
    return Expected(valid, rejects, offsets)
