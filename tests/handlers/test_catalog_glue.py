"""Finalize commits a file for readers in Glue (moto): all its partitions of both storage
tables are registered first (invisible), then one PutObject of the source key's commit
pointer shows them through the views, then the key's earlier partitions are retired. Never
a pointer for a failed file; idempotent; in batches Glue accepts; an earlier commit of the
same source key replaced atomically and nothing else touched."""

from __future__ import annotations

import datetime as dt
import json
import random
from typing import Any

from handlers import finalize, process, split, validate
from handlers.catalog import CatalogChange, FilePartitions, GlueCatalog, Superseded
from handlers.catalog.glue import CREATE_BATCH, DELETE_BATCH
from handlers.errors import CatalogError, CountMismatch
from handlers.objects import ObjectStore
from tests.handlers.conftest import BUCKET, CATALOG_DATABASE, Pipeline, create_catalog
from tests.handlers.handler_rows import build_file, mixed_rows, valid_row

TABLE, REJECTED = "transactions_parts", "transactions_rejected_parts"
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


def visible(pipeline: Pipeline, table: str = TABLE) -> list[list[str]]:
    """The partitions the view over `table` shows: those whose source_file a pointer names
    (`WHERE source_file IN (SELECT source_file FROM <table>_commits)`)."""
    committed = pipeline.committed_source_files()
    return [v for v in values(pipeline, table) if v[-1] in committed]


class Spy:
    """Wraps a catalog: records each call and whether the manifest and the pointer were
    there at that moment (and which source_file the pointer named)."""

    def __init__(self, inner: GlueCatalog, pipeline: Pipeline, source: dict[str, Any]) -> None:
        self.inner, self.pipeline, self.source = inner, pipeline, source
        self.calls: list[tuple[str, str, bool, str | None]] = []

    def _record(self, name: str, file: FilePartitions) -> None:
        pointer = self.pipeline.pointer(self.source)
        self.calls.append((name, file.table, self.pipeline.manifest(self.source) is not None,
                           pointer["source_file"] if pointer else None))

    def register(self, file: FilePartitions) -> CatalogChange:
        self._record("register", file)
        return self.inner.register(file)

    def retire(self, file: FilePartitions) -> tuple[Superseded, ...]:
        self._record("retire", file)
        return self.inner.retire(file)


class FailingPointer:
    """An object store whose write of the commit pointers fails (an S3 outage, a crash)."""

    def __init__(self, inner: ObjectStore) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def put_bytes(self, key: str, data: bytes, content_type: str = "") -> None:
        if "/_commits/" in key:
            raise ConnectionError("S3 is unreachable")
        self.inner.put_bytes(key, data, content_type)


def _spied(pipeline: Pipeline, source: dict[str, Any], **env: str) -> tuple[Any, Spy]:
    deps = pipeline.deps(**catalog_env(**env))
    assert isinstance(deps.catalog, GlueCatalog)
    spy = Spy(deps.catalog, pipeline, source)
    deps.catalog = spy
    return deps, spy


def test_partitions_are_registered_before_the_pointer_shows_them(pipeline: Pipeline) -> None:
    create_catalog(pipeline.glue)
    data, _ = build_file(mixed_rows(120, seed=31))
    source = pipeline.upload(data)
    deps, spy = _spied(pipeline, source, CHUNK_SIZE_BYTES="2000")
    outcome = pipeline.run(source, deps)
    assert outcome.error is None, outcome.error
    manifest = pipeline.manifest(source)
    ours = manifest["source_file"]
    assert spy.calls == [("register", TABLE, True, None), ("register", REJECTED, True, None),
                         ("retire", TABLE, True, ours), ("retire", REJECTED, True, ours)]
    pointer = pipeline.pointer(source)
    assert pointer is not None
    assert {k: pointer[k] for k in ("source_key", "source_version", "source_file")} == {
        "source_key": source["key"], "source_version": source["version_id"],
        "source_file": ours}
    assert dt.datetime.strptime(pointer["committed_at"], "%Y-%m-%d %H:%M:%S.%f")
    assert {k: pointer[k] for k in ("rows_in", "rows_valid", "rows_rejected")} == \
        manifest["counts"]
    day = outcome.file["ingested_at"][:10]
    assert visible(pipeline) == values(pipeline) == [[day, ours]]
    assert visible(pipeline, REJECTED) == [[day, ours]]
    [data_partition] = partitions(pipeline)
    assert data_partition["StorageDescriptor"]["Location"] == \
        f"s3://{BUCKET}/{manifest['prefixes'][0]}"
    assert data_partition["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"] == \
        "ParquetHiveSerDe", "the partition copies its table's storage descriptor"
    assert data_partition["Parameters"]["etlgen_source_key"] == source["key"]
    assert pipeline.layout(source).commit_key.startswith("processed/_commits/transactions/")


def test_a_failed_pointer_write_leaves_the_file_invisible_and_the_retry_shows_it(
        pipeline: Pipeline) -> None:
    create_catalog(pipeline.glue)
    source = pipeline.upload(build_file(mixed_rows(90, seed=42))[0])
    deps = pipeline.deps(CHUNK_SIZE_BYTES="2000", **catalog_env())
    real = deps.objects
    deps.objects = FailingPointer(real)
    file, plan, error = _run_with(pipeline, source, deps)
    assert isinstance(error, ConnectionError)
    assert pipeline.pointer(source) is None
    registered = values(pipeline), values(pipeline, REJECTED)
    assert registered[0] and registered[1], "registered in both storage tables"
    assert visible(pipeline) == visible(pipeline, REJECTED) == [], "but no view shows them"
    assert pipeline.deps().status.get_file(file["file_id"])["status"] == "RUNNING"
    deps.objects = real
    summary = finalize.handle({"file": file, "chunk_count": plan["chunk_count"],
                               "execution_id": "exec-2"}, deps)
    assert summary["status"] == "COMPLETED"
    assert (values(pipeline), values(pipeline, REJECTED)) == registered, "no duplicate"
    assert (visible(pipeline), visible(pipeline, REJECTED)) == registered


def _run_with(pipeline: Pipeline, source: dict[str, Any], deps: Any,
              chunk_count_offset: int = 0) -> tuple[dict[str, Any], dict[str, Any],
                                                    Exception | None]:
    """The steps, with finalize's error (of any kind) returned."""
    file = validate.handle({"source": source, "execution_id": "exec-1"}, deps)
    plan = split.handle({"file": file}, deps)
    for chunk in plan["chunks"]:
        process.handle({"file": file, "chunk": chunk}, deps)
    try:
        finalize.handle({"file": file, "chunk_count": plan["chunk_count"] + chunk_count_offset,
                         "execution_id": "exec-1"}, deps)
    except Exception as error:
        return file, plan, error
    return file, plan, None


def test_never_a_pointer_for_a_failed_file(pipeline: Pipeline) -> None:
    create_catalog(pipeline.glue)
    source = pipeline.upload(build_file(mixed_rows(80, seed=32))[0])
    outcome = pipeline.run(source, pipeline.deps(CHUNK_SIZE_BYTES="500",
                                                 **catalog_env(MAX_REJECT_RATE="0.01")))
    assert type(outcome.error).__name__ == "RejectRateExceeded"
    assert pipeline.pointer(source) is None
    assert values(pipeline) == values(pipeline, REJECTED) == []
    other = pipeline.upload(build_file(mixed_rows(40, seed=43))[0], key="incoming/other.csv")
    *_, error = _run_with(pipeline, other, pipeline.deps(**catalog_env()),
                          chunk_count_offset=1)
    assert isinstance(error, CountMismatch)
    assert pipeline.pointer(other) is None and pipeline.committed_source_files() == set()
    assert values(pipeline) == values(pipeline, REJECTED) == []


def test_a_missing_storage_table_fails_before_the_pointer(pipeline: Pipeline) -> None:
    create_catalog(pipeline.glue)
    pipeline.glue.delete_table(DatabaseName=CATALOG_DATABASE, Name=REJECTED)
    source = pipeline.upload(build_file(mixed_rows(60, seed=33))[0])
    outcome = pipeline.run(source, pipeline.deps(**catalog_env()))
    assert isinstance(outcome.error, CatalogError)
    assert f"{CATALOG_DATABASE}.{REJECTED} does not exist" in str(outcome.error)
    assert pipeline.pointer(source) is None
    assert values(pipeline) and visible(pipeline) == [], "registered, shown by no view"
    assert pipeline.deps().status.get_file(outcome.file["file_id"])["status"] == "RUNNING"


def test_a_rerun_of_a_committed_file_is_idempotent(pipeline: Pipeline) -> None:
    create_catalog(pipeline.glue)
    source = pipeline.upload(build_file(mixed_rows(100, seed=34))[0])
    deps = pipeline.deps(CHUNK_SIZE_BYTES="3000", **catalog_env())
    outcome = pipeline.run(source, deps)
    assert outcome.error is None
    registered = values(pipeline), values(pipeline, REJECTED)
    pointer = pipeline.pointer(source)
    again = pipeline.run(source, deps)
    assert again.file["status"] == "COMPLETED" and again.plan is None
    finalize.handle({"file": outcome.file, "chunk_count": outcome.plan["chunk_count"],
                     "execution_id": "exec-2"}, deps)
    assert pipeline.pointer(source) == pointer, "a retry after the commit writes nothing"
    catalog = GlueCatalog(CATALOG_DATABASE, BUCKET, lambda: pipeline.glue)
    for file in finalize.catalog_partitions(deps, _record(outcome.file),
                                            _commit(pipeline, source, deps)):
        change = catalog.register(file)
        assert (change.added, change.kept) == (0, len(file.partitions))
        assert catalog.retire(file) == ()
    assert (values(pipeline), values(pipeline, REJECTED)) == registered
    assert (visible(pipeline), visible(pipeline, REJECTED)) == registered


def test_a_rerun_under_another_identity_switches_the_pointer_then_retires(
        pipeline: Pipeline) -> None:
    create_catalog(pipeline.glue)
    source = pipeline.upload(build_file(mixed_rows(100, seed=35))[0])
    first = pipeline.run(source, pipeline.deps(**catalog_env()))
    old = pipeline.manifest(source)
    deps, spy = _spied(pipeline, source, MAX_REJECT_RATE="0.9")
    second = pipeline.run(source, deps)
    assert first.error is None and second.error is None
    new = pipeline.manifest(source)
    assert new["source_file"] != old["source_file"]
    assert spy.calls == [
        ("register", TABLE, True, old["source_file"]),
        ("register", REJECTED, True, old["source_file"]),
        ("retire", TABLE, True, new["source_file"]),
        ("retire", REJECTED, True, new["source_file"])], \
        "the pointer still names the old commit while the new one registers"
    assert [v[1] for v in values(pipeline)] == [new["source_file"]]
    assert [v[1] for v in values(pipeline, REJECTED)] == [new["source_file"]]
    assert pipeline.committed_source_files() == {new["source_file"]}
    assert not [key for prefix in old["prefixes"] for key in pipeline.keys(prefix)], \
        "the superseded commit's objects are gone"


def test_a_new_version_replaces_the_old_one_and_other_keys_stay(pipeline: Pipeline) -> None:
    create_catalog(pipeline.glue)
    deps = pipeline.deps(**catalog_env())
    one = pipeline.upload(build_file(mixed_rows(50, seed=36))[0], key="incoming/a/tx.csv")
    other = pipeline.upload(build_file(mixed_rows(50, seed=37))[0], key="incoming/b/tx.csv")
    assert pipeline.run(one, deps).error is None and pipeline.run(other, deps).error is None
    both = {v[1] for v in visible(pipeline)}
    assert len(both) == 2 and all(value.startswith("tx-") for value in both)
    assert pipeline.layout(one).commit_key != pipeline.layout(other).commit_key
    newer = pipeline.upload(build_file(mixed_rows(50, seed=38))[0], key="incoming/a/tx.csv")
    assert pipeline.layout(newer).commit_key == pipeline.layout(one).commit_key
    assert pipeline.run(newer, deps).error is None
    expected = {pipeline.manifest(newer)["source_file"], pipeline.manifest(other)["source_file"]}
    assert {v[1] for v in values(pipeline)} == {v[1] for v in visible(pipeline)} == expected
    assert pipeline.pointer(newer)["source_version"] == newer["version_id"]
    old = pipeline.manifest(one)
    assert old is not None and pipeline.committed_keys(one), \
        "the old version keeps its objects and manifest, out of the table"


class Recording:
    """Glue client and object store wrappers writing one shared log of the calls."""

    def __init__(self, glue: Any, objects: ObjectStore, log: list[tuple[str, int]]) -> None:
        self.glue, self.objects, self.log = glue, objects, log

    def client(self) -> Any:
        real, log = self.glue, self.log

        class Counting:
            def __getattr__(self, name: str) -> Any:
                return getattr(real, name)

            def batch_create_partition(self, **kwargs: Any) -> Any:
                log.append(("create", len(kwargs["PartitionInputList"])))
                return real.batch_create_partition(**kwargs)

            def batch_delete_partition(self, **kwargs: Any) -> Any:
                log.append(("delete", len(kwargs["PartitionsToDelete"])))
                return real.batch_delete_partition(**kwargs)

        return Counting()

    def store(self) -> Any:
        inner, log = self.objects, self.log

        class Store:
            def __getattr__(self, name: str) -> Any:
                return getattr(inner, name)

            def put_bytes(self, key: str, data: bytes, content_type: str = "") -> None:
                if "/_commits/" in key:
                    log.append(("pointer", 1))
                inner.put_bytes(key, data, content_type)

        return Store()


def _daily_deps(pipeline: Pipeline, log: list[tuple[str, int]], **env: str) -> Any:
    # two chunks of the 40 kB file, each holding rows of every day: the days are
    # registered once, whichever chunks wrote them (more chunks only cost moto's time)
    deps = pipeline.deps(CHUNK_SIZE_BYTES="20000", **catalog_env(**DAILY, **env))
    recording = Recording(pipeline.glue, deps.objects, log)
    deps.catalog = GlueCatalog(CATALOG_DATABASE, BUCKET, recording.client)
    deps.objects = recording.store()
    return deps


def test_more_partitions_than_one_call_takes_all_before_the_pointer(
        pipeline: Pipeline) -> None:
    """Partitioned by day over 150 days: every partition registered (calls of <= 100)
    before the one pointer write; a re-run retires the old ones (deletes of <= 25) after
    its pointer."""
    create_catalog(pipeline.glue, partition_key="transaction_date_day")
    rng = random.Random(39)
    start = dt.date(2024, 1, 1)
    rows = []
    for n in range(600):
        row = valid_row(rng, n)
        row[2] = (start + dt.timedelta(days=n % 150)).isoformat()
        rows.append(row)
    source = pipeline.upload(build_file(rows)[0])
    log: list[tuple[str, int]] = []
    outcome = pipeline.run(source, _daily_deps(pipeline, log))
    assert outcome.error is None, outcome.error
    assert len(outcome.chunks) == 2
    days = sorted({row[2] for row in rows})
    assert len(days) == 150 > CREATE_BATCH
    assert [v[0] for v in visible(pipeline)] == days
    pointer_at = log.index(("pointer", 1))
    creates = [size for action, size in log[:pointer_at] if action == "create"]
    assert max(creates) == CREATE_BATCH and sum(creates) == len(days)  # no reject: no other
    assert [action for action, _ in log[pointer_at:]] == ["pointer"], "nothing to retire"
    manifest = pipeline.manifest(source)
    assert manifest["partitions"] == days and outcome.summary["partitions"] == len(days)
    log.clear()
    rerun = pipeline.run(source, _daily_deps(pipeline, log, MAX_REJECT_RATE="0.9"))
    assert rerun.error is None
    pointer_at = log.index(("pointer", 1))
    assert {action for action, _ in log[:pointer_at]} == {"create"}
    assert sum(size for _, size in log[:pointer_at]) == len(days)
    deletes = [size for action, size in log[pointer_at + 1:] if action == "delete"]
    assert max(deletes) == DELETE_BATCH and sum(deletes) == len(days)
    assert {v[1] for v in values(pipeline)} == {pipeline.manifest(source)["source_file"]}
    assert len(visible(pipeline)) == len(values(pipeline)) == len(days)


def test_a_table_with_other_partition_keys_is_refused(pipeline: Pipeline) -> None:
    create_catalog(pipeline.glue, partition_key="transaction_date_month")
    source = pipeline.upload(build_file(mixed_rows(20, seed=40))[0])
    outcome = pipeline.run(source, pipeline.deps(**catalog_env()))
    assert isinstance(outcome.error, CatalogError)
    assert f"{CATALOG_DATABASE}.{TABLE} has the partition keys (transaction_date_month, " \
           "source_file), the handlers write (ingest_date, source_file)" in str(outcome.error)
    assert pipeline.pointer(source) is None


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
