"""A whole local run with nullable columns, at random chunk sizes, against Python's csv module
and jsonschema: the same rows rejected, the valid ones with nulls where the field was empty."""

from __future__ import annotations

import csv
import io
import json
import random
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from etlgen.config import load_config
from etlgen.local.runner import run_file
from tests.handlers.handler_expected import records_with_offsets
from tests.handlers.handler_oracle import Oracle

from .csv_samples import ROOT

SCHEMA = json.loads((ROOT / "schemas" / "transactions.schema.json").read_text())
SCHEMA["properties"]["amount"]["type"] = ["number", "null"]  # required, may be empty
SCHEMA["properties"]["merchant"]["type"] = ["null", "string"]  # optional, minLength 1
SCHEMA["properties"]["category"]["type"] = ["string", "null"]
SCHEMA["properties"]["category"]["enum"] = [*SCHEMA["properties"]["category"]["enum"], None]
HEADER = list(SCHEMA["properties"])


def _rows(count: int, rng: random.Random) -> list[list[str]]:
    def pick(*choices: str) -> str:
        return rng.choice(choices)

    rows = []
    for number in range(count):
        rows.append([
            f"TX{number:010d}", pick(f"AC{number:08d}", f"AC{number:08d}", ""),
            pick("2024-01-31", "2024-02-30", "2024-03-05"),
            pick("12.30", "", "", "-0.5", "1.234", "x", "1000001"),
            pick("EUR", "USD", "", "XXX"),
            pick("Shop", "", "Shop, \"Main\"\nSt", "x" * 101),
            pick("groceries", "", "Groceries"),
        ])
    return rows


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_nullable_columns_end_to_end(seed: int, tmp_path: Path) -> None:
    rng = random.Random(seed)
    (tmp_path / "row.schema.json").write_text(json.dumps(SCHEMA))
    config_path = tmp_path / "pipeline.yaml"
    config_path.write_text("name: nullable\nschema: row.schema.json\n"
                           "output:\n  max_reject_rate: 1\n")
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(_rows(400, rng))
    source = tmp_path / "in" / "nullable.csv"
    source.parent.mkdir()
    source.write_bytes(text.getvalue().encode())

    report = run_file(load_config(config_path), source, tmp_path / "work", workers=2,
                      retry_scale=0.0, chunk_size_bytes=rng.randrange(300, 5000))
    assert report.status == "SUCCEEDED", report.message

    _, records = records_with_offsets(source.read_bytes())
    oracle = Oracle(SCHEMA)
    expected_valid, expected_rejects = [], set()
    for record in records:
        fields = dict(zip(HEADER, record.fields, strict=True))
        if oracle.failing_fields(fields):
            expected_rejects.add((record.offset, record.raw))
        else:
            expected_valid.append(fields)
    rejected = {(line["offset"], line["raw"])
                for part in sorted(Path(report.outputs["rejected"]).rglob("*.jsonl"))
                for line in map(json.loads, part.read_text().splitlines())}
    assert rejected == expected_rejects
    table = pq.read_table(sorted(Path(report.outputs["processed"]).rglob("*.parquet")))
    assert table.num_rows == len(expected_valid) == report.rows_valid
    typed = table.to_pylist()
    for column in ("amount", "merchant", "category"):
        assert [row[column] is None for row in typed] == \
            [fields[column] == "" for fields in expected_valid]
    assert any(row["amount"] is None for row in typed), "the sample must hold an empty amount"
