"""The floor under any validated CSV → Parquet: pyarrow parsing the same bytes into text
columns (rows with the wrong number of fields skipped), and that plus writing the table to
Parquet. Neither validates, so only their row counts can be set beside etlgen's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pv
import pyarrow.parquet as pq

from benchmarks.contenders.counts import Counts


def _parse(csv_path: Path, schema: dict[str, Any]) -> tuple[pa.Table, int]:
    names = list(schema["properties"])
    skipped = 0

    def skip(_row: pv.InvalidRow) -> str:
        nonlocal skipped
        skipped += 1
        return "skip"

    table = pv.read_csv(
        csv_path,
        read_options=pv.ReadOptions(column_names=names, skip_rows=1),
        parse_options=pv.ParseOptions(newlines_in_values=True, invalid_row_handler=skip),
        convert_options=pv.ConvertOptions(column_types=dict.fromkeys(names, pa.string()),
                                          strings_can_be_null=False))
    return table, skipped


def parse(csv_path: Path, out_dir: Path, schema: dict[str, Any]) -> Counts:
    table, skipped = _parse(csv_path, schema)
    return Counts(rows_in=table.num_rows + skipped, rows_valid=None, rows_rejected=None)


def parse_and_write(csv_path: Path, out_dir: Path, schema: dict[str, Any]) -> Counts:
    table, skipped = _parse(csv_path, schema)
    pq.write_table(table, out_dir / "rows.parquet", compression="snappy")
    return Counts(rows_in=table.num_rows + skipped, rows_valid=None, rows_rejected=None)
