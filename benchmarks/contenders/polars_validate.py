"""polars doing etlgen's validation: expressions built from the row schema (`row_rules`).

polars' CSV reader pads a row with too few fields and (with `truncate_ragged_lines`) cuts
one with too many, without saying which rows it changed; so the number of fields of every
record is counted from the text as well, in polars: the file read as physical lines, the
quote parity carried from line to line (a record ends on a line that leaves the quotes
closed), quoted sections dropped and the delimiters left counted. Then one expression per
check gives each row its `reason` (the failing checks joined with "; ", empty for a valid
row); valid rows go to Parquet with etlgen's output types, the others to a second Parquet
file with their reason. polars' thread count is its `POLARS_MAX_THREADS` (set by the caller
before polars is imported).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa

from benchmarks.contenders.counts import Counts
from benchmarks.contenders.row_rules import Check, Column, compile_rules

LINE_SEPARATOR = "\x1f"  # a byte no transactions file holds: each line is one value


def _decimals(c: pl.Expr, places: int) -> pl.Expr:
    """A plain number fails when a digit past `places` decimals is not 0; a number with an
    exponent is scaled on floats."""
    scaled = c.cast(pl.Float64, strict=False) * 10 ** places
    return (pl.when(c.str.contains("[eE]")).then(scaled != scaled.round())
            .otherwise(c.str.contains(rf"\.[0-9]{{{places}}}[0-9]*[1-9]")))


def _float(c: pl.Expr) -> pl.Expr:
    return c.cast(pl.Float64, strict=False)


# An expression that is true when the value `c` (not empty here) fails the check.
FAILS: dict[str, Callable[[pl.Expr, Any], pl.Expr]] = {
    "required": lambda c, _a: c == "",
    "syntax": lambda c, regex: ~c.str.contains(regex),
    "date": lambda c, regex: ~(c.str.contains(regex) & ~c.str.starts_with("0000")
                               & c.str.strptime(pl.Date, "%Y-%m-%d", strict=False)
                               .is_not_null()),
    "enum": lambda c, members: ~c.is_in(members),
    "pattern": lambda c, regex: ~c.str.contains(regex),
    "minLength": lambda c, n: c.str.len_chars() < n,
    "maxLength": lambda c, n: c.str.len_chars() > n,
    "minimum": lambda c, x: _float(c) < x,
    "exclusiveMinimum": lambda c, x: _float(c) <= x,
    "maximum": lambda c, x: _float(c) > x,
    "exclusiveMaximum": lambda c, x: _float(c) >= x,
    "decimals": _decimals,
}


def _polars_type(kind: pa.DataType) -> pl.DataType:
    if pa.types.is_decimal(kind):
        return pl.Decimal(kind.precision, kind.scale)
    return {pa.date32(): pl.Date(), pa.int64(): pl.Int64(), pa.float64(): pl.Float64(),
            pa.string(): pl.String()}[kind]


def _reason(column: Column, check: Check) -> pl.Expr:
    c = pl.col(column.name)
    condition = FAILS[check.kind](c, check.argument)
    if check.kind != "required":
        guard = c != ""
        syntax = next((k for k in column.checks if k.kind == "syntax"), None)
        if check.needs_syntax and syntax is not None:
            guard = guard & ~FAILS["syntax"](c, syntax.argument)
        condition = guard & condition
    return pl.when(condition).then(pl.lit(check.reason))


def _typed(column: Column) -> pl.Expr:
    c = pl.when(pl.col(column.name) != "").then(pl.col(column.name))
    kind = _polars_type(column.output_type)
    if kind == pl.Date():
        return c.str.strptime(pl.Date, "%Y-%m-%d").alias(column.name)
    return c.cast(kind).alias(column.name)


def field_counts(csv_path: Path, delimiter: str = ",") -> pl.Series:
    """Fields of every record after the header line, in file order; 0 for an empty line
    between records (polars makes it a row, etlgen skips it). Only lines with a quote, or
    inside a quoted value, need their quoted sections dropped before the delimiters are
    counted."""
    lines = pl.read_csv(csv_path, has_header=False, separator=LINE_SEPARATOR,
                        quote_char=None, schema={"line": pl.String}, skip_rows=1,
                        truncate_ragged_lines=True).with_columns(pl.col("line").fill_null(""))
    lines = lines.with_columns(
        quotes=pl.col("line").str.count_matches('"', literal=True),
        commas=pl.col("line").str.count_matches(delimiter, literal=True),
    ).with_columns(parity=pl.col("quotes").cum_sum() % 2).with_columns(
        opens_inside=pl.col("parity").shift(1, fill_value=0) == 1,
        closes_record=pl.col("parity") == 0,
    )
    quoted = lines.with_row_index("at").filter(
        (pl.col("quotes") > 0) | pl.col("opens_inside")).select(
        "at", commas=pl.when(pl.col("opens_inside")).then(pl.lit('"') + pl.col("line"))
        .otherwise(pl.col("line")).str.replace_all('"[^"]*("|$)', "")
        .str.count_matches(delimiter, literal=True))
    commas = lines["commas"].scatter(quoted["at"], quoted["commas"])
    blank = ~pl.col("opens_inside") & (pl.col("line") == "")
    return lines.with_columns(commas=commas).with_columns(
        through=pl.col("commas").cum_sum()).filter(pl.col("closes_record")).select(
        fields=pl.when(blank).then(0).otherwise(
            pl.col("through").diff().fill_null(pl.col("through").first()) + 1),
    ).to_series()


def validate(csv_path: Path, out_dir: Path, schema: dict[str, Any]) -> Counts:
    columns = compile_rules(schema)
    names = [column.name for column in columns]
    table = pl.read_csv(csv_path, has_header=True, schema=dict.fromkeys(names, pl.String),
                        empty_string_is_null=False, truncate_ragged_lines=True,
                        missing_columns="insert")
    fields = field_counts(csv_path)
    if fields.len() != table.height:
        raise RuntimeError(f"{csv_path}: polars parsed {table.height} rows but the line "
                           f"scan found {fields.len()} records")
    table = table.with_columns(fields.alias("_fields"))
    if (fields == 0).any():
        table = table.filter(pl.col("_fields") > 0)
    checks = [_reason(column, check) for column in columns for check in column.checks]
    checked = table.with_columns(
        reason=pl.when(pl.col("_fields") != len(names)).then(
            pl.lit("row has ") + pl.col("_fields").cast(pl.String)
            + pl.lit(f" fields, expected {len(names)}"))
        .otherwise(pl.concat_str(checks, separator="; ", ignore_nulls=True)))
    valid = checked.filter(pl.col("reason") == "").select(_typed(c) for c in columns)
    valid.write_parquet(out_dir / "valid.parquet", compression="snappy")
    rejected = checked.filter(pl.col("reason") != "").drop("_fields")
    rejected.write_parquet(out_dir / "rejected.parquet", compression="snappy")
    return Counts(rows_in=table.height, rows_valid=valid.height, rows_rejected=rejected.height)
