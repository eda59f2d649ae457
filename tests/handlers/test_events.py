"""The step contracts (`handlers.events`): what the handlers return reads back unchanged,
the state machine's paths name the contracts' fields, and a malformed event fails in one
line naming the field, before the step touches anything."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, cast

import pytest

from etlgen.asl import Interpreter
from etlgen.config import load_config
from etlgen.local.runner import object_created_event
from etlgen.template.workflow import state_machine_definition
from handlers import finalize, process, split, validate
from handlers.deps import Deps
from handlers.errors import PERMANENT_ERRORS, MalformedEvent, SourceChanged
from handlers.events import (
    ChunkCounts,
    ChunkRange,
    FileRecord,
    FinalizeEvent,
    PlanResult,
    ProcessEvent,
    SourceRef,
    SplitEvent,
    ValidateEvent,
)
from tests.handlers.conftest import Pipeline
from tests.handlers.handler_rows import build_file, mixed_rows

ROOT = Path(__file__).resolve().parents[2]

FILE = {"file_id": "incoming/tx.csv#v1", "bucket": "data", "key": "incoming/tx.csv",
        "version_id": "v1", "size": 500, "header": ["a", "b"], "data_offset": 4,
        "status": "RUNNING", "ingested_at": "2024-05-01T12:30:00.000000Z",
        "identity": "f" * 64}
CHUNK = {"index": 2, "start": 100, "end": 300}
OVERSIZED = {"index": 3, "start": 300, "end": 500, "oversized": True}
SOURCE = {"bucket": "data", "key": "incoming/tx.csv", "size": 500, "version_id": "v1"}
PLAN = {"chunk_count": 2, "chunk_size": 200, "chunks": [CHUNK, OVERSIZED]}
COUNTS = {"index": 2, "rows_in": 10, "rows_valid": 7, "rows_rejected": 3}

ROUND_TRIPS: list[tuple[Any, dict[str, Any]]] = [
    (SourceRef, SOURCE),
    (SourceRef, {"key": "incoming/tx.csv"}),
    (FileRecord, FILE),
    (FileRecord, {**FILE, "version_id": None}),
    (ChunkRange, CHUNK),
    (ChunkRange, OVERSIZED),
    (PlanResult, PLAN),
    (PlanResult, {"chunk_count": 0, "chunk_size": 200, "chunks": []}),
    (ChunkCounts, COUNTS),
    (ValidateEvent, {"source": SOURCE, "execution_id": "arn:exec"}),
    (SplitEvent, {"file": FILE}),
    (ProcessEvent, {"file": FILE, "chunk": OVERSIZED}),
    (FinalizeEvent, {"file": FILE, "chunk_count": 2, "execution_id": "arn:exec"}),
]


@pytest.mark.parametrize(("kind", "event"), ROUND_TRIPS,
                         ids=[f"{kind.__name__}-{n}" for n, (kind, _) in enumerate(ROUND_TRIPS)])
def test_an_event_reads_back_to_the_same_json(kind: Any, event: dict[str, Any]) -> None:
    parsed = kind.from_event(event)
    assert parsed.to_event() == event
    assert list(parsed.to_event()) == list(event), "same keys in the same order"
    assert kind.from_event(parsed.to_event()) == parsed


def test_what_the_handlers_return_reads_back_unchanged(pipeline: Pipeline) -> None:
    source = pipeline.upload(build_file(mixed_rows(400))[0])
    outcome = pipeline.run(source, pipeline.deps(CHUNK_SIZE_BYTES="4000"))
    assert outcome.error is None and outcome.file and outcome.plan
    assert len(outcome.plan["chunks"]) > 2
    assert list(outcome.file) == ["file_id", "bucket", "key", "version_id", "size", "header",
                                  "data_offset", "status", "ingested_at", "identity"]
    assert FileRecord.from_event(outcome.file).to_event() == outcome.file
    assert PlanResult.from_event(outcome.plan).to_event() == outcome.plan
    for counts in outcome.chunks:
        assert list(counts) == ["index", "rows_in", "rows_valid", "rows_rejected"]
        assert ChunkCounts.from_event(counts).to_event() == counts
    assert FileRecord.from_event(outcome.file).header == tuple(outcome.file["header"])


def test_the_state_machine_passes_exactly_the_contracts_fields() -> None:
    states = state_machine_definition(load_config(ROOT / "pipeline.yaml"))["States"]

    def fields(parameters: dict[str, Any]) -> list[str]:
        return [name.removesuffix(".$") for name in parameters]

    assert fields(states["Init"]["Parameters"]) == list(SourceRef.from_event(SOURCE).to_event())
    assert fields(states["ValidateHeader"]["Parameters"]) == list(ValidateEvent.from_event(
        {"source": SOURCE, "execution_id": "e"}).to_event())
    assert fields(states["PlanChunks"]["Parameters"]) == list(SplitEvent.from_event(
        {"file": FILE}).to_event())
    assert fields(states["ProcessChunks"]["ItemSelector"]) == list(ProcessEvent.from_event(
        {"file": FILE, "chunk": CHUNK}).to_event())
    assert fields(states["Finalize"]["Parameters"]) == list(FinalizeEvent.from_event(
        {"file": FILE, "chunk_count": 2, "execution_id": "e"}).to_event())
    # the paths into the results: $.file (FileRecord), $.plan (PlanResult), ChunkCounts
    assert states["IsAlreadyProcessed"]["Choices"][0]["Variable"] == "$.file.status"
    assert states["ProcessChunks"]["ItemsPath"] == "$.plan.chunks"
    assert states["Finalize"]["Parameters"]["chunk_count.$"] == "$.plan.chunk_count"
    process_chunk = states["ProcessChunks"]["ItemProcessor"]["States"]["ProcessChunk"]
    assert process_chunk["ResultSelector"] == {"index.$": "$.index"}
    assert "status" in FileRecord.from_event(FILE).to_event()
    assert {"chunks", "chunk_count"} <= set(PlanResult.from_event(PLAN).to_event())
    assert "index" in ChunkCounts.from_event(COUNTS).to_event()


def test_the_local_object_created_event_gives_the_source_back_through_init() -> None:
    init = dict(state_machine_definition(load_config(ROOT / "pipeline.yaml"))["States"]["Init"])
    del init["Next"]
    source = SourceRef(key="incoming/tx.csv", bucket="local", size=1234,
                       version_id="0123456789abcdef0123456789abcdef")
    result = Interpreter({"StartAt": "Init", "States": {"Init": {**init, "End": True}}}).run(
        object_created_event(source))
    assert result.status == "SUCCEEDED"
    assert result.output["source"] == source.to_event()
    assert SourceRef.from_event(result.output["source"]) == source


MALFORMED: list[tuple[Any, Any, str]] = [
    (process.handle, ["not", "an", "object"], "process event: expected an object, got a list"),
    (process.handle, {"file": FILE}, "process event: chunk is missing"),
    (process.handle, {"file": FILE, "chunk": [1, 2]},
     "process event: chunk: expected an object, got a list"),
    (process.handle, {"file": FILE, "chunk": {**CHUNK, "end": "300"}},
     "process event: chunk.end: expected a whole number of at least 0, got the text '300'"),
    (process.handle, {"file": FILE, "chunk": {**CHUNK, "start": -1}},
     "process event: chunk.start: expected a whole number of at least 0, got the number -1"),
    (process.handle, {"file": FILE, "chunk": {**CHUNK, "end": 50}},
     "process event: chunk.end: 50 is before chunk.start 100"),
    (process.handle, {"file": FILE, "chunk": {**CHUNK, "end": 501}},
     "process event: chunk.end: 501 is past the end of the file (file.size 500)"),
    (process.handle, {"file": FILE, "chunk": {**CHUNK, "oversized": "yes"}},
     "process event: chunk.oversized: expected true or false, got the text 'yes'"),
    (process.handle, {"file": {**FILE, "header": ["a", 7]}, "chunk": CHUNK},
     "process event: file.header[1]: expected text, got the number 7"),
    (split.handle, {"file": {k: v for k, v in FILE.items() if k != "data_offset"}},
     "split event: file.data_offset is missing"),
    (split.handle, {"file": {**FILE, "size": True}},
     "split event: file.size: expected a whole number of at least 0, got a boolean"),
    (split.handle, {"file": {**FILE, "data_offset": 600}},
     "split event: file.data_offset: 600 is past the end of the file (file.size 500)"),
    (split.handle, {"file": {**FILE, "ingested_at": "2024-05-01T12:30:00+02:00"}},
     "split event: file.ingested_at: expected an ISO 8601 UTC time such as "
     "2024-05-01T12:30:00.000000Z, got the text '2024-05-01T12:30:00+02:00'"),
    (split.handle, {"file": {k: v for k, v in FILE.items() if k != "ingested_at"}},
     "split event: file.ingested_at is missing"),
    (split.handle, {"file": {**FILE, "key": None}}, "split event: file.key is null"),
    (validate.handle, {"execution_id": "e"}, "validate event: source is missing"),
    (validate.handle, {"source": {"bucket": "data"}}, "validate event: source.key is missing"),
    (validate.handle, {"source": {**SOURCE, "version_id": 5}},
     "validate event: source.version_id: expected text, got the number 5"),
    (validate.handle, {"source": SOURCE, "execution_id": {"Id": 1}},
     "validate event: execution_id: expected text, got an object"),
    (finalize.handle, {"file": FILE, "chunk_count": None},
     "finalize event: chunk_count is null"),
    (finalize.handle, {"file": FILE, "chunk_count": 2.5},
     "finalize event: chunk_count: expected a whole number of at least 0, got the number 2.5"),
    (finalize.handle, {"file": {**FILE, "status": 1}, "chunk_count": 2},
     "finalize event: file.status: expected text, got the number 1"),
]


@pytest.mark.parametrize(("handle", "event", "message"), MALFORMED,
                         ids=[message for _, _, message in MALFORMED])
def test_a_malformed_event_fails_in_one_line_naming_the_field(
        handle: Any, event: Any, message: str) -> None:
    # no back ends at all: the step refuses the event before it reads or writes anything
    with pytest.raises(MalformedEvent) as raised:
        handle(event, cast(Deps, None))
    assert str(raised.value) == message
    assert "\n" not in str(raised.value)


def test_a_malformed_plan_names_the_item() -> None:
    with pytest.raises(MalformedEvent, match=r"^plan\.chunks\[1\]\.index is missing$"):
        PlanResult.from_event({**PLAN, "chunks": [CHUNK, {"start": 1, "end": 2}]})
    with pytest.raises(MalformedEvent,
                       match=r"^plan\.chunk_count: 3, but plan\.chunks has 2 items$"):
        PlanResult.from_event({**PLAN, "chunk_count": 3})
    with pytest.raises(MalformedEvent, match=r"^counts\.rows_valid is missing$"):
        ChunkCounts.from_event({"index": 0, "rows_in": 1, "rows_rejected": 1})


def test_a_malformed_event_is_never_retried() -> None:
    """The same event fails the same way on every attempt: a permanent error."""
    assert "MalformedEvent" in PERMANENT_ERRORS


def test_json_numbers_written_as_floats_and_missing_optionals_are_accepted() -> None:
    chunk = ChunkRange.from_event({"index": 1.0, "start": 0.0, "end": 10.0})
    assert chunk == ChunkRange(index=1, start=0, end=10) and chunk.to_event() == {
        "index": 1, "start": 0, "end": 10}
    source = SourceRef.from_event({"key": "k", "version_id": ""})
    assert source.version_id is None and source.to_event() == {"key": "k"}
    record = FileRecord.from_event({k: v for k, v in FILE.items() if k != "identity"})
    assert record.identity is None and "identity" not in record.to_event()


class ShortReads:
    """A store whose ranged reads come back one byte short, as when the object under an
    unversioned key was replaced by a shorter one."""

    def __init__(self, store: Any) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def read_range(self, key: str, start: int, end: int,
                   version_id: str | None = None) -> bytes:
        return bytes(self._store.read_range(key, start, end, version_id)[:-1])

    def read_into(self, key: str, start: int, into: memoryview,
                  version_id: str | None = None) -> int:
        return max(0, self._store.read_into(key, start, into, version_id) - 1)


def test_every_step_refuses_a_short_read_of_the_source(pipeline: Pipeline) -> None:
    deps = pipeline.deps(CHUNK_SIZE_BYTES="4000")
    source = pipeline.upload(build_file(mixed_rows(400))[0])
    short = dataclasses.replace(deps, objects=ShortReads(deps.objects))
    with pytest.raises(SourceChanged, match=r"expected bytes 0-\d+ but the object returned"):
        validate.handle({"source": source, "execution_id": "e"}, short)
    file = validate.handle({"source": source, "execution_id": "e"}, deps)
    with pytest.raises(SourceChanged, match="it changed after the event"):
        split.handle({"file": file}, short)
    plan = split.handle({"file": file}, deps)
    with pytest.raises(SourceChanged, match="expected bytes"):
        process.handle({"file": file, "chunk": plan["chunks"][0]}, short)
