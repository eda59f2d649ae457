"""DuckDB doing etlgen's validation: SQL built from the row schema (`row_rules`).

One pass of DuckDB's CSV reader (every column text, quoted line breaks, rows with the
wrong number of fields kept aside with DuckDB's reason in its rejects table) into a
temporary table with a `reason` column (the failing checks joined with "; ", empty for a
valid row); the valid rows go to Parquet with etlgen's output types, the invalid and
ragged rows to a second Parquet file with their reason.

An empty field is read as the empty text, not NULL (`nullstr` is a text no file holds):
with empty fields read as NULL, DuckDB drops empty fields past the last column without a
word, so a row with too many fields would pass.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from benchmarks.contenders.counts import Counts
from benchmarks.contenders.row_rules import Check, Column, compile_rules
from handlers.cores import usable_cores


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _decimals(c: str, places: int) -> str:
    """A plain number fails when a digit past `places` decimals is not 0; a number with an
    exponent is scaled on floats."""
    scaled = f"TRY_CAST({c} AS DOUBLE) * {10 ** places}"
    beyond = _quote(rf"\.[0-9]{{{places}}}[0-9]*[1-9]")
    return (f"CASE WHEN regexp_matches({c}, '[eE]') THEN {scaled} <> round({scaled}) "
            f"ELSE regexp_matches({c}, {beyond}) END")


NO_NULL_TEXT = "\x01no null text\x01"
# SQL that is true when the value `c` (an identifier, not empty here) fails the check.
FAILS: dict[str, Callable[[str, Any], str]] = {
    "required": lambda c, _a: f"{c} = ''",
    "syntax": lambda c, regex: f"NOT regexp_matches({c}, {_quote(regex)})",
    "date": lambda c, regex: (f"NOT (regexp_matches({c}, {_quote(regex)}) AND NOT "
                              f"starts_with({c}, '0000') AND "
                              f"try_strptime({c}, '%Y-%m-%d') IS NOT NULL)"),
    "enum": lambda c, members: f"{c} NOT IN ({', '.join(map(_quote, members))})",
    "pattern": lambda c, regex: f"NOT regexp_matches({c}, {_quote(regex)})",
    "minLength": lambda c, n: f"length({c}) < {n}",
    "maxLength": lambda c, n: f"length({c}) > {n}",
    "minimum": lambda c, x: f"TRY_CAST({c} AS DOUBLE) < {x!r}",
    "exclusiveMinimum": lambda c, x: f"TRY_CAST({c} AS DOUBLE) <= {x!r}",
    "maximum": lambda c, x: f"TRY_CAST({c} AS DOUBLE) > {x!r}",
    "exclusiveMaximum": lambda c, x: f"TRY_CAST({c} AS DOUBLE) >= {x!r}",
    "decimals": _decimals,
}


def _sql_type(kind: pa.DataType) -> str:
    if pa.types.is_decimal(kind):
        return f"DECIMAL({kind.precision}, {kind.scale})"
    return {pa.date32(): "DATE", pa.int64(): "BIGINT", pa.float64(): "DOUBLE",
            pa.string(): "VARCHAR"}[kind]


def _reason(column: Column, check: Check) -> str:
    c = _ident(column.name)
    condition = FAILS[check.kind](c, check.argument)
    if check.kind != "required":
        guard = [f"{c} <> ''"]
        syntax = next((k for k in column.checks if k.kind == "syntax"), None)
        if check.needs_syntax and syntax is not None:
            guard.append(f"NOT ({FAILS['syntax'](c, syntax.argument)})")
        condition = " AND ".join([*guard, f"({condition})"])
    return f"CASE WHEN {condition} THEN {_quote(check.reason)} END"


def validation_sql(columns: list[Column], source: str) -> str:
    """SELECT of every field as text plus its `reason` from `source` (a FROM item)."""
    reasons = [_reason(column, check) for column in columns for check in column.checks]
    return f"SELECT *, concat_ws('; ', {', '.join(reasons)}) AS reason FROM {source}"


def validate(csv_path: Path, out_dir: Path, schema: dict[str, Any]) -> Counts:
    """DuckDB runs one thread per CPU this process may use."""
    columns = compile_rules(schema)
    names = [column.name for column in columns]
    source = (f"read_csv({_quote(str(csv_path))}, header = true, all_varchar = true, "
              "delim = ',', quote = '\"', escape = '\"', strict_mode = true, "
              "store_rejects = true, rejects_table = 'rejected_rows', "
              "rejects_scan = 'rejected_scans', "
              f"nullstr = {_quote(NO_NULL_TEXT)}, "
              f"names = [{', '.join(map(_quote, names))}])")
    typed = ", ".join(f"CAST(NULLIF({_ident(c.name)}, '') AS {_sql_type(c.output_type)}) AS "
                      f"{_ident(c.name)}" for c in columns)
    with duckdb.connect(config={"threads": usable_cores()}) as con:
        con.execute(f"CREATE TEMP TABLE checked AS {validation_sql(columns, source)}")
        valid = _copied(con, f"SELECT {typed} FROM checked WHERE reason = ''",
                        out_dir / "valid.parquet")
        rejected = _copied(con, "SELECT * EXCLUDE (reason), NULL AS raw, reason FROM checked "
                                "WHERE reason <> '' UNION ALL BY NAME "
                                "SELECT ANY_VALUE(csv_line) AS raw, "
                                "string_agg(error_message, '; ') AS reason "
                                "FROM rejected_rows GROUP BY scan_id, file_id, line",
                           out_dir / "rejected.parquet")
    return Counts(rows_in=valid + rejected, rows_valid=valid, rows_rejected=rejected)


def _copied(con: duckdb.DuckDBPyConnection, query: str, path: Path) -> int:
    row = con.execute(f"COPY ({query}) TO {_quote(str(path))} "
                      "(FORMAT parquet, COMPRESSION snappy)").fetchone()
    return int(row[0]) if row else 0
