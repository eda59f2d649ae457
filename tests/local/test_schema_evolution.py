"""A compatible row-schema change (a new optional column, wider bounds) keeps the table
readable: files committed before the change stay in it, read by column name, the new
column null for their rows; `etlgen diff` calls the change compatible (exit 0)."""

from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from tests.handlers.handler_expected import records_with_offsets
from tests.local.test_query import etlgen, project, query_json, sample_expected

__all__ = ["project"]  # the fixture, shared with the query tests

WIDE_AMOUNT = Decimal("25000000.50")  # beyond the old maximum of 1,000,000


def _widen(project: Path) -> Path:
    """The schema with a new optional `note` column and a 100 x wider amount range."""
    path = project / "schemas" / "transactions.schema.json"
    schema = json.loads(path.read_text(encoding="utf-8"))
    schema["properties"]["amount"].update(minimum=-100_000_000, maximum=100_000_000)
    schema["properties"]["note"] = {"type": "string", "maxLength": 40}
    path.write_text(json.dumps(schema, indent=2), encoding="utf-8")
    return path


def _new_file(project: Path) -> Path:
    """Rows under the new schema: a note on some, an amount the old schema refused."""
    lines = ["transaction_id,account_id,transaction_date,amount,currency,merchant,category,"
             "note"]
    for n in range(12):
        note = f"note {n}" if n % 3 else ""
        amount = WIDE_AMOUNT if n == 0 else Decimal(n) + Decimal("0.25")
        lines.append(f"TX20000000{n:02d},AC000000{n:02d},2024-06-{n + 1:02d},{amount},EUR,"
                     f"Shop {n},other,{note}")
    path = project / "samples" / "more.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_files_committed_before_a_compatible_change_stay_readable(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert etlgen(capsys, "run", "pipeline.yaml", "samples/transactions.csv")[0] == 0
    old_valid, _ = sample_expected()
    committed = project / "templates"
    committed.mkdir()
    code, template, err = etlgen(capsys, "render", "pipeline.yaml")
    assert code == 0, err
    (committed / "before.json").write_text(template, encoding="utf-8")

    _widen(project)
    code, out, err = etlgen(capsys, "diff", str(committed / "before.json"), "pipeline.yaml")
    assert code == 0, f"a compatible change is not breaking: {out}{err}"
    assert "BREAKING" not in out
    assert any("transactions.note" in line and "compatible" in line
               for line in out.splitlines()), out
    new = _new_file(project)
    code, out, err = etlgen(capsys, "run", "pipeline.yaml", str(new))
    assert code == 0, out + err

    _, new_rows = records_with_offsets(new.read_bytes())
    rows = query_json(capsys, "SELECT transaction_id, amount, note, _source_key "
                              "FROM transactions ORDER BY transaction_id")
    by_key = Counter(row["_source_key"] for row in rows)
    assert by_key == {"incoming/transactions.csv": len(old_valid),
                      "incoming/more.csv": len(new_rows)}
    old_ids = {row["transaction_id"] for row in old_valid}
    for row in rows:
        if row["transaction_id"] in old_ids:
            assert row["note"] is None, "a column the old parts lack reads as null"
    notes = {row["transaction_id"]: row["note"] for row in rows
             if row["_source_key"] == "incoming/more.csv"}
    assert notes == {f"TX20000000{n:02d}": (f"note {n}" if n % 3 else None) for n in range(12)}
    amounts = {row["transaction_id"]: Decimal(str(row["amount"])) for row in rows}
    assert amounts["TX2000000000"] == WIDE_AMOUNT
    assert sum(amounts[tx] for tx in old_ids) == sum(row["amount"] for row in old_valid), \
        "old amounts read unchanged through the wider decimal"


def test_old_rows_are_still_filtered_and_grouped_by_name(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert etlgen(capsys, "run", "pipeline.yaml", "samples/transactions.csv")[0] == 0
    _widen(project)
    assert etlgen(capsys, "run", "pipeline.yaml", str(_new_file(project)))[0] == 0
    old_valid, _ = sample_expected()
    rows = query_json(capsys, "SELECT note IS NULL AS without_note, count(*) AS n "
                              "FROM transactions GROUP BY 1 ORDER BY 1")
    assert rows == [{"without_note": False, "n": 8},
                    {"without_note": True, "n": len(old_valid) + 4}]
