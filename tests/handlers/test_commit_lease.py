"""The source key's commit lease: its rules in both status stores, and two finalizes of two
versions of one key interleaved at the worst moment (moto S3, DynamoDB and Glue)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from handlers import finalize, process, split, validate
from handlers.deps import Deps
from handlers.errors import CommitBusy
from handlers.status import COMMIT_SK, COMPLETED, DynamoStatusStore, SqliteStatusStore
from tests.handlers.conftest import TABLE, Pipeline, create_catalog, create_status_table
from tests.handlers.handler_rows import build_file, mixed_rows
from tests.handlers.test_catalog_glue import REJECTED, catalog_env, values, visible

KEY = "incoming/tx.csv"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["dynamodb", "sqlite"])
def store_and_clock(request: pytest.FixtureRequest,
                    tmp_path: Path) -> Iterator[tuple[Any, Clock]]:
    clock = Clock()
    if request.param == "sqlite":
        store = SqliteStatusStore(tmp_path / "status.db", clock=clock)
        yield store, clock
        store.close()
        return
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_status_table(client)
        yield DynamoStatusStore(client, TABLE, clock=clock), clock


def test_the_lease_is_held_refused_taken_over_after_expiry_and_released(
        store_and_clock: tuple[Any, Clock]) -> None:
    store, clock = store_and_clock
    lease, acquired = store.acquire_commit(KEY, "file-a", "a1", 960)
    assert acquired and lease["holder"] == "file-a"
    assert (lease["pk"], lease["sk"]) == (KEY, COMMIT_SK)
    assert lease["lease_until"] == int(clock.now) + 960
    lease, acquired = store.acquire_commit(KEY, "file-b", "b1", 960)
    assert not acquired and lease["holder"] == "file-a", "refused while held"
    clock.now += 959
    assert not store.acquire_commit(KEY, "file-b", "b1", 960)[1], "not expired yet"
    lease, acquired = store.acquire_commit(KEY, "file-a", "a2", 960)
    assert acquired and lease["token"] == "a2", "the same commit's retry takes it again"
    store.release_commit(KEY, "file-a", "a1")
    assert not store.acquire_commit(KEY, "file-b", "b1", 960)[1], \
        "an attempt that no longer holds it does not release it"
    clock.now += 961
    lease, acquired = store.acquire_commit(KEY, "file-b", "b1", 960)
    assert acquired and lease["holder"] == "file-b", "taken over after expiry"
    store.release_commit(KEY, "file-b", "b1")
    lease, acquired = store.acquire_commit(KEY, "file-c", "c1", 960)
    assert acquired and lease["holder"] == "file-c", "free once released"
    assert store.acquire_commit("incoming/other.csv", "file-d", "d1", 960)[1], "per key"
    assert store.get_file(KEY) is None, "the lease is not a file item"


def _prepared(pipeline: Pipeline, deps: Deps, source: dict[str, Any],
              execution: str) -> dict[str, Any]:
    """Validate, split and process the file: the finalize event, ready to run."""
    file = validate.handle({"source": source, "execution_id": execution}, deps)
    plan = split.handle({"file": file}, deps)
    for chunk in plan["chunks"]:
        process.handle({"file": file, "chunk": chunk}, deps)
    return {"file": file, "chunk_count": plan["chunk_count"], "execution_id": execution}


class AfterPointer:
    """An object store that runs `then` right after the first commit pointer's write:
    the other finalize gets in between this one's pointer write and its retire."""

    def __init__(self, inner: Any, then: Callable[[], None]) -> None:
        self.inner, self.then, self.fired = inner, then, False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def put_bytes(self, key: str, data: bytes, content_type: str = "") -> None:
        self.inner.put_bytes(key, data, content_type)
        if "/_commits/" in key and not self.fired:
            self.fired = True
            self.then()


def test_a_finalize_between_anothers_pointer_and_retire_waits_then_wins(
        pipeline: Pipeline) -> None:
    create_catalog(pipeline.glue)
    deps_a, deps_b = pipeline.deps(**catalog_env()), pipeline.deps(**catalog_env())
    one = pipeline.upload(build_file(mixed_rows(80, seed=51))[0], key=KEY)
    two = pipeline.upload(build_file(mixed_rows(60, seed=52))[0], key=KEY)
    event_a = _prepared(pipeline, deps_a, one, "exec-a")
    event_b = _prepared(pipeline, deps_b, two, "exec-b")
    busy: list[CommitBusy] = []

    def finalize_b() -> None:
        try:
            finalize.handle(event_b, deps_b)
        except CommitBusy as error:
            busy.append(error)

    deps_a.objects = AfterPointer(deps_a.objects, finalize_b)
    finalize.handle(event_a, deps_a)
    assert len(busy) == 1 and KEY in str(busy[0]), "B waits while A holds the key"
    finalize.handle(event_b, deps_b)  # the state machine's retry
    b_file = pipeline.manifest(two)["source_file"]
    assert pipeline.pointer(two)["source_file"] == b_file
    assert {v[1] for v in values(pipeline)} == {b_file}, "A's partitions retired, B's all kept"
    assert {v[1] for v in values(pipeline, REJECTED)} <= {b_file}
    assert visible(pipeline) == values(pipeline) and visible(pipeline), \
        "the committed file is fully visible"
    assert pipeline.committed_keys(two), "B's objects stand"
    status = deps_b.status
    assert status.get_file(event_b["file"]["file_id"])["status"] == COMPLETED
    assert status.get_file(event_a["file"]["file_id"])["status"] == COMPLETED
    _, acquired = status.acquire_commit(KEY, "another", "t", 60)
    assert acquired, "released after the retire"


def test_an_older_version_finishing_after_a_newer_one_committed_leaves_the_newer_visible(
        pipeline: Pipeline) -> None:
    """Three uploads of one key: the second commits first, the first finishes after it
    (the state machine's executions run in any order), then the third. Readers see the
    second's rows until the third commits, never the first's, whose run publishes nothing
    and is COMPLETED as superseded."""
    create_catalog(pipeline.glue)
    deps = [pipeline.deps(**catalog_env()) for _ in range(3)]
    sources = [pipeline.upload(build_file(mixed_rows(rows, seed=60 + rows))[0], key=KEY)
               for rows in (70, 50, 40)]
    events = [_prepared(pipeline, deps[n], sources[n], f"exec-{n}") for n in range(3)]
    first, second, third = sources
    finalize.handle(events[1], deps[1])
    seen = values(pipeline), values(pipeline, REJECTED), pipeline.pointer(second)

    for attempt in ("first", "retry"):
        summary = finalize.handle(events[0], deps[0])
        assert (summary["status"], summary["outcome"]) == (COMPLETED, "superseded"), attempt
        assert summary["superseded_by"] == {
            "source_version": second["version_id"],
            "source_file": pipeline.manifest(second)["source_file"]}
        assert summary["manifest_key"] is None and summary["partitions"] == 0
        assert summary["rows_in"] == 70 == summary["rows_valid"] + summary["rows_rejected"]
        assert (values(pipeline), values(pipeline, REJECTED), pipeline.pointer(second)) == \
            seen, f"{attempt}: readers still see the second version, nothing else changed"
        assert pipeline.manifest(first) is None, "the older version published nothing"
        layout = pipeline.layout(first, deps[0])
        assert pipeline.keys(layout.staging_prefix) == [], "its staged parts are removed"
        item = deps[0].status.get_file(events[0]["file"]["file_id"])
        assert (item["status"], item["outcome"], item["superseded_by"]) == (
            COMPLETED, "superseded", second["version_id"])
    assert deps[0].status.acquire_commit(KEY, "another", "t", 60)[1], "the lease is released"
    deps[0].status.release_commit(KEY, "another", "t")

    summary = finalize.handle(events[2], deps[2])
    assert summary["outcome"] == "committed"
    assert pipeline.pointer(third)["source_version"] == third["version_id"]
    assert {v[1] for v in values(pipeline)} == {pipeline.manifest(third)["source_file"]}
    assert visible(pipeline) == values(pipeline), "the newest upload is what readers see"
