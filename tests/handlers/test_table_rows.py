"""The rows the table holds: one part per partition value per chunk, lineage columns that
lead back to the source bytes, rejects with a kind and the file's lineage."""

from __future__ import annotations

import datetime as dt
import random

import pyarrow as pa
import pytest

from handlers.lineage import Lineage
from handlers.partitions import HIVE_DEFAULT_PARTITION, PartitionBy
from handlers.settings import SettingsError
from tests.handlers.conftest import Pipeline
from tests.handlers.handler_expected import split_expected
from tests.handlers.handler_rows import build_file, mixed_rows, valid_row


def test_rows_split_by_month_in_row_order_with_nulls_in_the_default_partition() -> None:
    days = [dt.date(2024, 1, 5), None, dt.date(2023, 12, 31), dt.date(2024, 1, 1), None,
            dt.date(2024, 2, 29)]
    table = pa.table({"n": list(range(6)), "day": pa.array(days, pa.date32())})
    split = PartitionBy.parse("day:month").split(table, "2099-01-01")
    assert [(value, rows.column("n").to_pylist()) for value, rows in split] == [
        (HIVE_DEFAULT_PARTITION, [1, 4]), ("2023-12", [2]), ("2024-01", [0, 3]),
        ("2024-02", [5])]
    assert [v for v, _ in PartitionBy.parse("day:year").split(table, "x")] == [
        HIVE_DEFAULT_PARTITION, "2023", "2024"]
    assert [v for v, _ in PartitionBy.parse("day:day").split(table, "x")][1:3] == [
        "2023-12-31", "2024-01-01"]
    assert PartitionBy.parse("ingest_date").split(table, "2099-01-01")[0][0] == "2099-01-01"
    assert PartitionBy.parse("day:month").split(table.slice(0, 0), "x") == []


def test_partitioning_by_a_column_that_is_not_a_date_is_refused() -> None:
    schema = pa.schema([("day", pa.date32()), ("name", pa.string())])
    with pytest.raises(SettingsError, match=r"output.partition_by.column in pipeline.yaml: "
                                            r"'name' is not a format: date column of the row "
                                            r"schema \(date columns: day\)"):
        PartitionBy.parse("name:day").check(schema)


def test_lineage_columns_are_built_without_a_python_loop_per_row() -> None:
    lineage = Lineage.of("incoming/a.csv", None, "2024-05-01T23:59:59.123456Z")
    table = lineage.add_columns(pa.table({"x": [1, 2]}), [10, 20])
    assert table.to_pylist() == [
        {"x": 1, "_source_key": "incoming/a.csv", "_source_version": None,
         "_source_offset": 10,
         "_ingested_at": dt.datetime(2024, 5, 1, 23, 59, 59, 123456, tzinfo=dt.UTC)},
        {"x": 2, "_source_key": "incoming/a.csv", "_source_version": None,
         "_source_offset": 20,
         "_ingested_at": dt.datetime(2024, 5, 1, 23, 59, 59, 123456, tzinfo=dt.UTC)}]
    assert lineage.reject_fields()["_ingested_at"] == "2024-05-01 23:59:59.123456"


def test_a_monthly_table_holds_the_oracles_rows_with_offsets_into_the_source(
        pipeline: Pipeline) -> None:
    data, rows = build_file(mixed_rows(300, seed=51))
    source = pipeline.upload(data)
    deps = pipeline.deps(CHUNK_SIZE_BYTES="1500", MAX_REJECT_RATE="1",
                         PARTITION_BY="transaction_date:month")
    outcome = pipeline.run(source, deps)
    assert outcome.error is None, outcome.error
    valid, rejects = split_expected(rows)
    found = pipeline.valid_rows(source, deps, lineage=True)
    assert [{k: v for k, v in row.items() if not k.startswith("_")} for row in found] == valid
    by_offset = {row.offset: row.raw for row in rows}
    for row in found:
        raw = by_offset[row["_source_offset"]]
        assert data[row["_source_offset"]:].startswith(raw.encode())
        assert (row["_source_key"], row["_source_version"]) == (source["key"],
                                                                source["version_id"])
    manifest = pipeline.manifest(source, deps)
    months = sorted({row["transaction_date"].strftime("%Y-%m") for row in found})
    assert manifest["partition_key"] == "transaction_date_month"
    assert manifest["partitions"] == months
    for part in manifest["parts"]:
        assert len({o["partition"] for o in part["outputs"]}) == len(part["outputs"]), \
            "one part per partition value per chunk"
    for prefix in manifest["prefixes"][:-1]:
        month = prefix.split("transaction_date_month=", 1)[1][:7]
        assert f"/source_file={manifest['source_file']}/" in prefix
        offsets = _offsets_under(pipeline, prefix)
        assert offsets and all(month == row["transaction_date"].strftime("%Y-%m")
                               for row in found if row["_source_offset"] in offsets)
    committed = pipeline.rejects(source, deps)
    assert [(r["offset"], r["raw"]) for r in committed] == rejects
    assert all(r["_source_key"] == source["key"] and "_source_offset" not in r
               and r["_ingested_at"].startswith(outcome.file["ingested_at"][:10])
               and all(set(e) == {"field", "kind", "message"} for e in r["errors"])
               for r in committed)


def _offsets_under(pipeline: Pipeline, prefix: str) -> set[int]:
    import io

    import pyarrow.parquet as pq

    return {offset for key in pipeline.keys(prefix)
            for offset in pq.read_table(io.BytesIO(pipeline.body(key)),
                                        columns=["_source_offset"]).column(0).to_pylist()}


def test_without_lineage_the_rows_have_the_schema_columns_only(pipeline: Pipeline) -> None:
    rng = random.Random(52)
    data, _ = build_file([valid_row(rng, n) for n in range(20)])
    source = pipeline.upload(data)
    deps = pipeline.deps(LINEAGE="false")
    assert pipeline.run(source, deps).error is None
    found = pipeline.valid_rows(source, deps, lineage=True)
    assert len(found) == 20 and not any(name.startswith("_") for name in found[0])
