"""What a whole local run must have committed, computed without the handlers' code.

The expected rows come from Python's `csv` module and `jsonschema` (Draft 2020-12, numbers as
`Decimal`: tests/handlers/handler_oracle.py); the committed outputs are read back through
the manifest, and the committed prefixes must hold exactly the manifest's parts.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from etlgen.local.runner import RunReport
from tests.handlers.handler_expected import records_with_offsets
from tests.handlers.handler_oracle import Oracle, decimal_column_digits


@dataclass
class Expected:
    valid: list[dict[str, Any]]  # typed, in file order
    rejects: list[tuple[int, str]]  # (source offset, raw text)


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
                     unterminated: tuple[int, str] | None = None) -> Expected:
    """`unterminated`: (offset, raw) of a last record whose quote never closes (rejected)."""
    header, rows = records_with_offsets(data)
    oracle = Oracle(schema)
    columns = schema["properties"]
    valid, rejects = [], []
    for row in rows:
        if len(row.fields) != len(header):
            rejects.append((row.offset, row.raw))
            continue
        fields = dict(zip(header, row.fields, strict=True))
        if oracle.failing_fields(fields):
            rejects.append((row.offset, row.raw))
            continue
        valid.append({name: typed_value(spec, fields.get(name, ""))
                      for name, spec in columns.items()})
    if unterminated is not None:
        rejects.append(unterminated)
    return Expected(valid, rejects)


@dataclass
class Committed:
    manifest: dict[str, Any]
    valid: list[dict[str, Any]]
    rejects: list[dict[str, Any]]


def committed_outputs(report: RunReport) -> Committed:
    """The outputs through the manifest; the prefixes must hold exactly its parts."""
    bucket = Path(report.outputs["manifest"]).parents[0]
    while bucket.name != "bucket":
        bucket = bucket.parent
    manifest = json.loads(Path(report.outputs["manifest"]).read_text(encoding="utf-8"))
    listed = {path.relative_to(bucket).as_posix()
              for prefix in (manifest["processed_prefix"], manifest["rejected_prefix"])
              if (bucket / prefix).is_dir()
              for path in (bucket / prefix).rglob("*") if path.is_file()}
    parts = manifest["parts"]
    wanted = {part["output_key"] for part in parts} | {
        part["rejected_key"] for part in parts if part["rejected_key"]} | {
        manifest["processed_prefix"] + "_manifest.json"}
    assert listed == wanted, f"committed prefixes differ from the manifest: {listed ^ wanted}"
    valid: list[dict[str, Any]] = []
    rejects: list[dict[str, Any]] = []
    for part in parts:
        valid.extend(pq.read_table(bucket / part["output_key"]).to_pylist())
        if part["rejected_key"]:
            text = (bucket / part["rejected_key"]).read_text(encoding="utf-8")
            rejects.extend(json.loads(line) for line in text.splitlines() if line)
    return Committed(manifest, valid, rejects)


def assert_exact(report: RunReport, expected: Expected) -> Committed:
    assert report.status == "SUCCEEDED", (report.error, report.message)
    committed = committed_outputs(report)
    assert committed.valid == expected.valid
    assert [(r["offset"], r["raw"]) for r in committed.rejects] == expected.rejects
    counts = committed.manifest["counts"]
    assert counts == {"rows_in": len(expected.valid) + len(expected.rejects),
                      "rows_valid": len(expected.valid),
                      "rows_rejected": len(expected.rejects)}
    return committed
