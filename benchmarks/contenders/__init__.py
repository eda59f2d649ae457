"""Everything the process step is measured against, by name: one row each in the table.

A contender is a function `(csv_path, out_dir, schema) -> Counts` in its own module
(imported only in the subprocess that measures it, so each pays for and reports only its
own libraries). `validates` says whether its valid/rejected counts must equal etlgen's.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.contenders.counts import Counts

Run = Callable[[Path, Path, dict[str, Any]], Counts]


@dataclass(frozen=True)
class Contender:
    name: str
    label: str
    target: str  # "module:function"
    validates: bool

    def load(self) -> Run:
        module, function = self.target.split(":")
        run: Run = getattr(importlib.import_module(module), function)
        return run


CONTENDERS: dict[str, Contender] = {c.name: c for c in (
    Contender("etlgen", "etlgen process step", "benchmarks.contenders.etlgen_process:validate",
              True),
    Contender("pyarrow-parse", "pyarrow parse only",
              "benchmarks.contenders.pyarrow_parse:parse", False),
    Contender("pyarrow-parquet", "pyarrow parse + Parquet write",
              "benchmarks.contenders.pyarrow_parse:parse_and_write", False),
    Contender("duckdb", "DuckDB, same validation",
              "benchmarks.contenders.duckdb_validate:validate", True),
    Contender("polars", "polars, same validation",
              "benchmarks.contenders.polars_validate:validate", True),
    Contender("etlgen-remote", "etlgen process step, source as from S3",
              "benchmarks.contenders.etlgen_remote:validate", True),
    Contender("etlgen-remote-one-read", "etlgen, source as from S3, read in one request",
              "benchmarks.contenders.etlgen_remote:validate_in_one_read", True),
)}
REFERENCE = "etlgen"
