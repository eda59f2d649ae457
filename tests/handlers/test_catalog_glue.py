"""Finalize registers a committed file's partitions in Glue (moto): only after the commit,
never for a failed file, idempotently, in batches Glue accepts, replacing the partitions of
an earlier commit of the same source key and nothing else."""

from __future__ import annotations

import json
from typing import Any

import pytest

from handlers import finalize
from handlers.catalog import CatalogChange, FilePartitions, GlueCatalog
from handlers.catalog.glue import CREATE_BATCH, DELETE_BATCH
from handlers.errors import CatalogError
from tests.handlers.conftest import BUCKET, CATALOG_DATABASE, Pipeline, create_catalog
from tests.handlers.handler_rows import build_file, mixed_rows, valid_row

TABLE, REJECTED = "transactions", "transactions_rejected"
DAILY = {"PARTITION_BY": "transaction_date:day"}


def catalog_env(**env: str) -> dict[str, str]:
    return {"CATALOG_DATABASE": CATALOG_DATABASE, "MAX_REJECT_RATE": "1", **env}


def partitions(pipeline: Pipeline, table: str = TABLE) -> list[dict[str, Any]]:
    pages = pipeline.glue.get_paginator("get_partitions").paginate(
        DatabaseName=CATALOG_DATABASE, TableName=table)
    return sorted((p for page in pages for p in page["Partitions"]),
                  key=lambda p: p["Values"])


def values(pipeline: Pipeline, table: str = TABLE) -> list[list[str]]:
    return [p["Values"] for p in partitions(pipeline, table)]


class Spy:
    """Wraps a catalog: records each call and what the bucket held at that moment."""

    def __init__(self, inner: GlueCatalog, pipeline: Pipeline, source: dict[str, Any]) -> None:
        self.inner, self.pipeline, self.source = inner, pipeline, source
        self.calls: list[tuple[str, FilePartitions, bool]] = []

    def replace_file(self, file: FilePartitions) -> CatalogChange:
        committed = self.pipeline.manifest(self.source) is not None
        self.calls.append(("replace", file, committed))
        return self.inner.replace_file(file)

    def remove_file(self, file: FilePartitions) -> None:
        self.calls.append(("remove", file, False))
        self.inner.remove_file(file)


def test_partitions_are_registered_only_after_the_commit(pipeline: Pipeline) -> None:
    create_catalog(pipeline.glue)
    data, _ = build_file(mixed_rows(120, seed=31))
    source = pipeline.upload(data)
    deps = pipeline.deps(CHUNK_SIZE_BYTES="2000", **catalog_env())
    assert isinstance(deps.catalog, GlueCatalog)
    spy = Spy(deps.catalog, pipeline, source)
    deps.catalog = spy
    outcome = pipeline.run(source, deps)
    assert outcome.error is None, outcome.error
    assert [(name, file.table, committed) for name, file, committed in spy.calls] == [
        ("replace", TABLE, True), ("replace", REJECTED, True)]
    manifest = pipeline.manifest(source)
    day = outcome.file["ingested_at"][:10]
    assert values(pipeline) == [[day, manifest["source_file"]]]
    assert values(pipeline, REJECTED) == [[day, manifest["source_file"]]]
    [data_partition] = partitions(pipeline)
    assert data_partition["StorageDescriptor"]["Location"] == \
        f"s3://{BUCKET}/{manifest['prefixes'][0]}"
    assert data_partition["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"] == \
        "ParquetHiveSerDe", "the partition copies its table's storage descriptor"
    assert data_partition["Parameters"]["etlgen_source_key"] == source["key"]


def test_nothing_is_registered_for_a_failed_file(pipeline: Pipeline) -> None:
    create_catalog(pipeline.glue)
    data, _ = build_file(mixed_rows(80, seed=32))
    source = pipeline.upload(data)
    outcome = pipeline.run(source, pipeline.deps(CHUNK_SIZE_BYTES="500",
                                                 **catalog_env(MAX_REJECT_RATE="0.01")))
    assert type(outcome.error).__name__ == "RejectRateExceeded"
    assert values(pipeline) == values(pipeline, REJECTED) == []


def test_a_registration_failing_half_way_takes_the_files_partitions_out(
        pipeline: Pipeline) -> None:
    create_catalog(pipeline.glue)
    pipeline.glue.delete_table(DatabaseName=CATALOG_DATABASE, Name=REJECTED)
    data, _ = build_file(mixed_rows(60, seed=33))
    source = pipeline.upload(data)
    outcome = pipeline.run(source, pipeline.deps(**catalog_env()))
    assert isinstance(outcome.error, CatalogError)
    assert f"{CATALOG_DATABASE}.{REJECTED} does not exist" in str(outcome.error)
    assert values(pipeline) == [], "the data table's partition was taken out again"
    assert pipeline.deps().status.get_file(outcome.file["file_id"])["status"] == "RUNNING"


def test_registration_is_idempotent(pipeline: Pipeline) -> None:
    create_catalog(pipeline.glue)
    data, _ = build_file(mixed_rows(100, seed=34))
    source = pipeline.upload(data)
    deps = pipeline.deps(CHUNK_SIZE_BYTES="3000", **catalog_env())
    outcome = pipeline.run(source, deps)
    assert outcome.error is None
    registered = values(pipeline), values(pipeline, REJECTED)
    again = pipeline.run(source, deps)
    assert again.file["status"] == "COMPLETED" and again.plan is None
    finalize.handle({"file": outcome.file, "chunk_count": outcome.plan["chunk_count"],
                     "execution_id": "exec-2"}, deps)
    catalog = GlueCatalog(CATALOG_DATABASE, BUCKET, lambda: pipeline.glue)
    for file in finalize.catalog_partitions(deps, _record(outcome.file),
                                            _commit(pipeline, source, deps)):
        change = catalog.replace_file(file)
        assert (change.added, change.removed) == (0, ())
    assert (values(pipeline), values(pipeline, REJECTED)) == registered


def test_a_rerun_under_another_identity_replaces_the_partitions(pipeline: Pipeline) -> None:
    create_catalog(pipeline.glue)
    data, _ = build_file(mixed_rows(100, seed=35))
    source = pipeline.upload(data)
    first = pipeline.run(source, pipeline.deps(**catalog_env()))
    old = pipeline.manifest(source)
    second = pipeline.run(source, pipeline.deps(**catalog_env(MAX_REJECT_RATE="0.9")))
    assert first.error is None and second.error is None
    new = pipeline.manifest(source)
    assert new["source_file"] != old["source_file"]
    assert [v[1] for v in values(pipeline)] == [new["source_file"]]
    assert [v[1] for v in values(pipeline, REJECTED)] == [new["source_file"]]
    assert not [key for prefix in old["prefixes"] for key in pipeline.keys(prefix)], \
        "the superseded commit's objects are gone"


def test_a_new_version_replaces_the_old_one_and_other_keys_stay(pipeline: Pipeline) -> None:
    create_catalog(pipeline.glue)
    deps = pipeline.deps(**catalog_env())
    one = pipeline.upload(build_file(mixed_rows(50, seed=36))[0], key="incoming/a/tx.csv")
    other = pipeline.upload(build_file(mixed_rows(50, seed=37))[0], key="incoming/b/tx.csv")
    assert pipeline.run(one, deps).error is None and pipeline.run(other, deps).error is None
    both = {v[1] for v in values(pipeline)}
    assert len(both) == 2 and all(value.startswith("tx-") for value in both)
    newer = pipeline.upload(build_file(mixed_rows(50, seed=38))[0], key="incoming/a/tx.csv")
    assert pipeline.run(newer, deps).error is None
    assert {v[1] for v in values(pipeline)} == {pipeline.manifest(newer)["source_file"],
                                                pipeline.manifest(other)["source_file"]}
    old = pipeline.manifest(one)
    assert old is not None and pipeline.committed_keys(one), \
        "the old version keeps its objects and manifest, out of the table"


def test_more_partitions_than_one_call_takes(pipeline: Pipeline,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Partitioned by day: >100 partitions registered in batches of <= 100, and replaced
    by a re-run in deletes of <= 25."""
    create_catalog(pipeline.glue, partition_key="transaction_date_day")
    import random

    rng = random.Random(39)
    rows = [valid_row(rng, n) for n in range(700)]
    source = pipeline.upload(build_file(rows)[0])
    batches: list[tuple[str, int]] = []
    real = pipeline.glue

    class Counting:
        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        def batch_create_partition(self, **kwargs: Any) -> Any:
            batches.append(("create", len(kwargs["PartitionInputList"])))
            return real.batch_create_partition(**kwargs)

        def batch_delete_partition(self, **kwargs: Any) -> Any:
            batches.append(("delete", len(kwargs["PartitionsToDelete"])))
            return real.batch_delete_partition(**kwargs)

    monkeypatch.setattr(pipeline, "glue", Counting())
    outcome = pipeline.run(source, pipeline.deps(CHUNK_SIZE_BYTES="9000",
                                                 **catalog_env(**DAILY)))
    assert outcome.error is None, outcome.error
    days = sorted({row[2] for row in rows})
    assert len(days) > CREATE_BATCH
    monkeypatch.setattr(pipeline, "glue", real)
    assert [v[0] for v in values(pipeline)] == days
    creates = [size for action, size in batches if action == "create"]
    assert max(creates) == CREATE_BATCH and sum(creates) == len(days)  # no reject: no other
    manifest = pipeline.manifest(source)
    assert manifest["partitions"] == days and outcome.summary["partitions"] == len(days)
    batches.clear()
    monkeypatch.setattr(pipeline, "glue", Counting())
    rerun = pipeline.run(source, pipeline.deps(CHUNK_SIZE_BYTES="9000",
                                               **catalog_env(MAX_REJECT_RATE="0.9", **DAILY)))
    assert rerun.error is None
    deletes = [size for action, size in batches if action == "delete"]
    assert max(deletes) == DELETE_BATCH and sum(deletes) == len(days)
    monkeypatch.setattr(pipeline, "glue", real)
    assert {v[1] for v in values(pipeline)} == {pipeline.manifest(source)["source_file"]}
    assert len(values(pipeline)) == len(days)


def test_a_table_with_other_partition_keys_is_refused(pipeline: Pipeline) -> None:
    create_catalog(pipeline.glue, partition_key="transaction_date_month")
    source = pipeline.upload(build_file(mixed_rows(20, seed=40))[0])
    outcome = pipeline.run(source, pipeline.deps(**catalog_env()))
    assert isinstance(outcome.error, CatalogError)
    assert "(transaction_date_month, source_file), the handlers write (ingest_date, " \
           "source_file)" in str(outcome.error)


def _record(file: dict[str, Any]) -> Any:
    from handlers.events import FileRecord

    return FileRecord.from_event(file)


def _commit(pipeline: Pipeline, source: dict[str, Any], deps: Any) -> Any:
    """The commit the manifest describes, rebuilt from it."""
    from handlers.publish import Commit, Output, Part

    manifest = pipeline.manifest(source)
    layout = pipeline.layout(source, deps)
    parts = tuple(Part(p["index"], tuple(Output(o["partition"], "", o["key"])
                                         for o in p["outputs"]),
                       "x" if p["rejected_key"] else None, p["rejected_key"])
                  for p in manifest["parts"])
    return Commit(layout, manifest["source_file"], manifest["ingested_at"][:10], parts)


def test_the_summary_names_the_top_rejection_reasons(pipeline: Pipeline) -> None:
    data, _ = build_file(mixed_rows(200, seed=41))
    source = pipeline.upload(data)
    outcome = pipeline.run(source, pipeline.deps(CHUNK_SIZE_BYTES="2000", MAX_REJECT_RATE="1",
                                                 RESULTS_QUEUE_URL=pipeline.queue_url))
    reasons = outcome.summary["top_rejections"]
    rejects = pipeline.rejects(source)
    counted: dict[tuple[Any, str], int] = {}
    for reject in rejects:
        for pair in {(e["field"], e["kind"]) for e in reject["errors"]}:
            counted[pair] = counted.get(pair, 0) + 1
    expected = sorted(counted.items(), key=lambda kv: (-kv[1], kv[0][0] or "(row)", kv[0][1]))
    assert [(r["field"], r["kind"], r["rows"]) for r in reasons] == \
        [(field, kind, rows) for (field, kind), rows in expected][:10]
    assert {"record", "type", "enum"} <= {r["kind"] for r in reasons}
    emitted: dict[tuple[Any, str], int] = {}
    for field, kind, rows in pipeline.metrics.rejections:
        emitted[(field, kind)] = emitted.get((field, kind), 0) + rows
    assert emitted == counted, "the metric counts every reason once per rejected row"
    [message] = pipeline.sqs.receive_message(QueueUrl=pipeline.queue_url)["Messages"]
    assert json.loads(message["Body"])["top_rejections"] == reasons
