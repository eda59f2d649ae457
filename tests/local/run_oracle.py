"""What a whole local run must have committed, computed without the handlers' code.

The expected rows come from Python's `csv` module and `jsonschema` (Draft 2020-12, numbers as
`Decimal`: tests/handlers/handler_oracle.py); the committed outputs are read back through
the manifest, and the committed prefixes must hold exactly the manifest's parts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from etlgen.local.runner import RunReport
from etlgen.model import PipelineConfig
from etlgen.query.local import run_local
from handlers.lineage import LINEAGE_NAMES
from tests.handlers.handler_expected import Expected, expected_outputs

__all__ = ["Expected", "assert_exact", "committed_outputs", "expected_outputs"]


@dataclass
class Committed:
    manifest: dict[str, Any]
    valid: list[dict[str, Any]]  # in source order, without the lineage columns
    rejects: list[dict[str, Any]]
    lineage: list[dict[str, Any]]  # each valid row's lineage columns, in the same order


def committed_outputs(report: RunReport) -> Committed:
    """The outputs through the manifest; the prefixes must hold exactly its parts."""
    bucket = Path(report.outputs["manifest"]).parents[0]
    while bucket.name != "bucket":
        bucket = bucket.parent
    manifest = json.loads(Path(report.outputs["manifest"]).read_text(encoding="utf-8"))
    listed = {path.relative_to(bucket).as_posix()
              for prefix in manifest["prefixes"] if (bucket / prefix).is_dir()
              for path in (bucket / prefix).rglob("*") if path.is_file()}
    parts = manifest["parts"]
    wanted = {output["key"] for part in parts for output in part["outputs"]} | {
        part["rejected_key"] for part in parts if part["rejected_key"]}
    assert listed == wanted, f"committed prefixes differ from the manifest: {listed ^ wanted}"
    rows: list[dict[str, Any]] = []
    rejects: list[dict[str, Any]] = []
    for part in parts:
        for output in part["outputs"]:
            rows.extend(pq.ParquetFile(bucket / output["key"]).read().to_pylist())
        if part["rejected_key"]:
            text = (bucket / part["rejected_key"]).read_text(encoding="utf-8")
            rejects.extend(json.loads(line) for line in text.splitlines() if line)
    if rows and "_source_offset" in rows[0]:
        rows.sort(key=lambda row: row["_source_offset"])
    valid = [{k: v for k, v in row.items() if k not in LINEAGE_NAMES} for row in rows]
    lineage = [{k: v for k, v in row.items() if k in LINEAGE_NAMES} for row in rows]
    return Committed(manifest, valid, rejects, lineage)


def assert_exact(report: RunReport, expected: Expected,
                 config: PipelineConfig | None = None) -> Committed:
    """With `config`, the file must also be all `etlgen query` sees of the table (the work
    folder holds one source file)."""
    assert report.status == "SUCCEEDED", (report.error, report.message)
    committed = committed_outputs(report)
    assert committed.valid == expected.valid
    assert [(r["offset"], r["raw"]) for r in committed.rejects] == expected.rejects
    if expected.valid_offsets:
        assert [row["_source_offset"] for row in committed.lineage] == expected.valid_offsets
    counts = committed.manifest["counts"]
    assert counts == {"rows_in": len(expected.valid) + len(expected.rejects),
                      "rows_valid": len(expected.valid),
                      "rows_rejected": len(expected.rejects)}
    if config is not None:
        assert_table_holds(config, Path(report.outputs["catalog"]).parent, expected)
    return committed


def assert_table_holds(config: PipelineConfig, workdir: Path, expected: Expected) -> None:
    """DuckDB over the local catalog sees exactly the expected rows, once each, with
    lineage offsets at their records, and exactly the expected rejects."""
    columns = ", ".join(f'"{name}"' for name in config.schema["properties"])
    table = config.table_name
    result = run_local(config, workdir, f'SELECT {columns}, "_source_offset" FROM "{table}" '
                                        'ORDER BY "_source_offset"')
    rows = [dict(zip(result.columns, row, strict=True)) for row in result.rows]
    assert [row.pop("_source_offset") for row in rows] == expected.valid_offsets
    assert rows == expected.valid
    rejected = run_local(config, workdir, 'SELECT "offset", raw FROM '
                                          f'"{config.rejected_table_name}" ORDER BY 1')
    assert [tuple(row) for row in rejected.rows] == expected.rejects
    files = run_local(config, workdir, f'SELECT count(DISTINCT source_file) FROM "{table}"')
    assert files.rows == [(1 if expected.valid else 0,)]


def pipeline_project(root: Path, schema: dict[str, Any], *, name: str, max_chunks: int) -> Path:
    """A project folder for whole runs: the row schema and a pipeline.yaml keeping every
    reject (no reject-rate failure), no retries, no queue or alerts."""
    (root / "row.schema.json").write_text(json.dumps(schema), encoding="utf-8")
    config = root / "pipeline.yaml"
    config.write_text(f"name: {name}\nschema: row.schema.json\n"
                      "output:\n  max_reject_rate: 1\n"
                      f"processing:\n  max_chunks: {max_chunks}\n"
                      "retries:\n  max_attempts: 0\n"
                      "results_queue:\n  enabled: false\nalerts:\n  enabled: false\n",
                      encoding="utf-8")
    return config

