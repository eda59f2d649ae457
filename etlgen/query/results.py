"""A query's result and how it is printed: an aligned table, CSV or JSON.

Both engines hand over Python values (DuckDB's own; Athena's text converted by column
type), so the same SQL prints the same table locally and on AWS.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from etlgen.errors import EtlgenError

FORMATS = ("table", "csv", "json")
NULL_TEXT = "NULL"


class QueryError(EtlgenError):
    """The engine refused or failed the SQL: one line, exit 1."""

    exit_code = 1


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    rows: list[tuple[Any, ...]]


def _text(value: Any) -> str:
    if value is None:
        return NULL_TEXT
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (dt.date, Decimal, int, float, str)):
        return str(value)
    return json.dumps(value, default=str, ensure_ascii=False)


def _numeric(value: Any) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


def as_table(result: QueryResult) -> str:
    """Columns padded to their widest value; numbers right-aligned; a row count below."""
    texts = [[_text(value) for value in row] for row in result.rows]
    widths = [max([len(name), *(len(row[k]) for row in texts)])
              for k, name in enumerate(result.columns)]
    numeric = [bool(result.rows) and all(_numeric(row[k]) or row[k] is None
                                         for row in result.rows)
               for k in range(len(result.columns))]

    def line(cells: list[str]) -> str:
        return "  ".join(cell.rjust(width) if right else cell.ljust(width)
                         for cell, width, right in zip(cells, widths, numeric, strict=True)
                         ).rstrip()

    lines = [line(list(result.columns)), line(["-" * width for width in widths])]
    lines.extend(line(row) for row in texts)
    count = len(result.rows)
    lines.append(f"({count} row{'' if count == 1 else 's'})")
    return "\n".join(lines) + "\n"


def as_csv(result: QueryResult) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(result.columns)
    writer.writerows([["" if value is None else _text(value) for value in row]
                      for row in result.rows])
    return out.getvalue()


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        number = float(value)
        return number if Decimal(repr(number)) == value else str(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return _text(value)
    if isinstance(value, list):
        return [_json_value(item) for item in value]
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    return value


def as_json(result: QueryResult) -> str:
    """One object per row; a decimal that a JSON number cannot hold exactly stays text."""
    rows = [{name: _json_value(value) for name, value in zip(result.columns, row, strict=True)}
            for row in result.rows]
    return json.dumps(rows, indent=2, ensure_ascii=False) + "\n"


PRINTERS = {"table": as_table, "csv": as_csv, "json": as_json}
