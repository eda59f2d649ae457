"""The handlers' contracts: the JSON each step receives and returns, as frozen dataclasses.

The state machine passes these objects between the steps (docs/architecture.md, "State
machine"): `source` (from the `Init` state), the `file` record (validate), the plan and its
chunk ranges (split), the chunk counts (process). `from_event` reads one and names the
first missing or mistyped field in a one-line `MalformedEvent`; `to_event` gives back
exactly the JSON the steps exchange (same keys, same order), so the definition's paths
never change. Optional fields the event lacks stay absent in `to_event`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from handlers.errors import MalformedEvent

ROW_COUNTS = ("rows_in", "rows_valid", "rows_rejected")

Event = dict[str, Any]


# ----- reading fields ---------------------------------------------------------------------
def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the text {value[:40]!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _object(value: Any, path: str) -> Mapping[str, Any]:
    """`path` is "" for a step's whole event."""
    if not isinstance(value, Mapping):
        raise MalformedEvent(f"{path + ': ' if path else ''}expected an object, "
                             f"got {_kind(value)}")
    return value


def _at(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _get(data: Mapping[str, Any], name: str, path: str, required: bool) -> Any:
    value = data.get(name)
    if value is None and required:
        state = "is null" if name in data else "is missing"
        raise MalformedEvent(f"{_at(path, name)} {state}")
    return value


def _text(data: Mapping[str, Any], name: str, path: str) -> str:
    value = _get(data, name, path, required=True)
    if not isinstance(value, str):
        raise MalformedEvent(f"{_at(path, name)}: expected text, got {_kind(value)}")
    return value


def _optional_text(data: Mapping[str, Any], name: str, path: str) -> str | None:
    """Absent, null and "" are all None (S3 and the steps write no version as either)."""
    value = _get(data, name, path, required=False)
    if value is not None and not isinstance(value, str):
        raise MalformedEvent(f"{_at(path, name)}: expected text, got {_kind(value)}")
    return value or None


def _as_count(value: Any, where: str) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise MalformedEvent(f"{where}: expected a whole number of at least 0, "
                             f"got {_kind(value)}")
    return value


def _count(data: Mapping[str, Any], name: str, path: str) -> int:
    return _as_count(_get(data, name, path, required=True), _at(path, name))


def _optional_count(data: Mapping[str, Any], name: str, path: str) -> int | None:
    value = _get(data, name, path, required=False)
    return None if value is None else _as_count(value, _at(path, name))


def _flag(data: Mapping[str, Any], name: str, path: str) -> bool:
    value = _get(data, name, path, required=False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise MalformedEvent(f"{_at(path, name)}: expected true or false, got {_kind(value)}")
    return value


def _texts(data: Mapping[str, Any], name: str, path: str) -> tuple[str, ...]:
    value = _get(data, name, path, required=True)
    if not isinstance(value, list):
        raise MalformedEvent(f"{_at(path, name)}: expected a list of text, got {_kind(value)}")
    for position, item in enumerate(value):
        if not isinstance(item, str):
            raise MalformedEvent(f"{_at(path, name)}[{position}]: expected text, "
                                 f"got {_kind(item)}")
    return tuple(value)


def _instant(data: Mapping[str, Any], name: str, path: str) -> str:
    """An ISO 8601 UTC time such as `2024-05-01T12:30:00.000000Z`."""
    value = _text(data, name, path)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = None
    if parsed is None or parsed.utcoffset() != timedelta(0):
        raise MalformedEvent(f"{_at(path, name)}: expected an ISO 8601 UTC time such as "
                             f"2024-05-01T12:30:00.000000Z, got {_kind(value)}")
    return value


def _member(data: Mapping[str, Any], name: str) -> Any:
    """A step event's object field (`file`, `chunk`, `source`), which must be there."""
    return _get(data, name, "", required=True)


def _without_none(pairs: dict[str, Any]) -> Event:
    return {name: value for name, value in pairs.items() if value is not None}


# ----- the objects the steps exchange -----------------------------------------------------
@dataclass(frozen=True)
class SourceRef:
    """The object version an execution is about: `$.source`, built by the `Init` state
    from the S3 `Object Created` event (`detail.bucket.name`, `detail.object.key`,
    `.size`, `.version-id`). Only the key is required of a hand-made one."""

    key: str
    bucket: str | None = None
    size: int | None = None
    version_id: str | None = None

    @classmethod
    def from_event(cls, data: Any, path: str = "source") -> SourceRef:
        fields = _object(data, path)
        return cls(key=_text(fields, "key", path),
                   bucket=_optional_text(fields, "bucket", path),
                   size=_optional_count(fields, "size", path),
                   version_id=_optional_text(fields, "version_id", path))

    def to_event(self) -> Event:
        return _without_none({"bucket": self.bucket, "key": self.key, "size": self.size,
                              "version_id": self.version_id})


@dataclass(frozen=True)
class FileRecord:
    """`$.file`: what validate learned about the source object, read by every later step.

    `version_id` is None for an object without versions (the status store and the keys
    call it "null"); `to_event` always carries it, as validate does. `identity` is the run
    identity validate computed (`handlers.identity`); absent, the later steps skip the
    check. `ingested_at` (ISO 8601 UTC, microseconds) is when the file's ingest started:
    the lineage column `_ingested_at` of its rows and its `ingest_date` partition."""

    file_id: str
    bucket: str
    key: str
    version_id: str | None
    size: int
    header: tuple[str, ...]
    data_offset: int
    status: str
    ingested_at: str
    identity: str | None = None

    @classmethod
    def from_event(cls, data: Any, path: str = "file") -> FileRecord:
        fields = _object(data, path)
        record = cls(file_id=_text(fields, "file_id", path),
                     bucket=_text(fields, "bucket", path),
                     key=_text(fields, "key", path),
                     version_id=_optional_text(fields, "version_id", path),
                     size=_count(fields, "size", path),
                     header=_texts(fields, "header", path),
                     data_offset=_count(fields, "data_offset", path),
                     status=_text(fields, "status", path),
                     ingested_at=_instant(fields, "ingested_at", path),
                     identity=_optional_text(fields, "identity", path))
        if record.data_offset > record.size:
            raise MalformedEvent(f"{path}.data_offset: {record.data_offset} is past the end "
                                 f"of the file ({path}.size {record.size})")
        return record

    def to_event(self) -> Event:
        event: Event = {"file_id": self.file_id, "bucket": self.bucket, "key": self.key,
                        "version_id": self.version_id, "size": self.size,
                        "header": list(self.header), "data_offset": self.data_offset,
                        "status": self.status, "ingested_at": self.ingested_at}
        if self.identity is not None:
            event["identity"] = self.identity
        return event


@dataclass(frozen=True)
class ChunkRange:
    """One item of `$.plan.chunks`: bytes [start, end) of the source object, on record
    boundaries; `oversized` when it is one record larger than the process function can
    hold (the key is present only then)."""

    index: int
    start: int
    end: int
    oversized: bool = False

    @classmethod
    def from_event(cls, data: Any, path: str = "chunk") -> ChunkRange:
        fields = _object(data, path)
        chunk = cls(index=_count(fields, "index", path), start=_count(fields, "start", path),
                    end=_count(fields, "end", path), oversized=_flag(fields, "oversized", path))
        if chunk.end < chunk.start:
            raise MalformedEvent(f"{path}.end: {chunk.end} is before {path}.start "
                                 f"{chunk.start}")
        return chunk

    def to_event(self) -> Event:
        event: Event = {"index": self.index, "start": self.start, "end": self.end}
        if self.oversized:
            event["oversized"] = True
        return event


@dataclass(frozen=True)
class PlanResult:
    """`$.plan`, the split step's result: the chunk ranges covering the data, and the chunk
    size they were planned with (a chunk is larger when a record is)."""

    chunk_size: int
    chunks: tuple[ChunkRange, ...]

    @property
    def chunk_count(self) -> int:
        return len(self.chunks)

    @classmethod
    def from_event(cls, data: Any, path: str = "plan") -> PlanResult:
        fields = _object(data, path)
        chunk_count = _count(fields, "chunk_count", path)
        items = _get(fields, "chunks", path, required=True)
        if not isinstance(items, list):
            raise MalformedEvent(f"{path}.chunks: expected a list, got {_kind(items)}")
        chunks = tuple(ChunkRange.from_event(item, f"{path}.chunks[{position}]")
                       for position, item in enumerate(items))
        if chunk_count != len(chunks):
            raise MalformedEvent(f"{path}.chunk_count: {chunk_count}, but {path}.chunks has "
                                 f"{len(chunks)} items")
        return cls(chunk_size=_count(fields, "chunk_size", path), chunks=chunks)

    def to_event(self) -> Event:
        return {"chunk_count": self.chunk_count, "chunk_size": self.chunk_size,
                "chunks": [chunk.to_event() for chunk in self.chunks]}


@dataclass(frozen=True)
class ChunkCounts:
    """The process step's result for one chunk (the Map keeps only `index`)."""

    index: int
    rows_in: int
    rows_valid: int
    rows_rejected: int

    @classmethod
    def from_event(cls, data: Any, path: str = "counts") -> ChunkCounts:
        fields = _object(data, path)
        return cls(index=_count(fields, "index", path),
                   rows_in=_count(fields, "rows_in", path),
                   rows_valid=_count(fields, "rows_valid", path),
                   rows_rejected=_count(fields, "rows_rejected", path))

    def to_event(self) -> Event:
        return {"index": self.index, "rows_in": self.rows_in, "rows_valid": self.rows_valid,
                "rows_rejected": self.rows_rejected}


# ----- what each step receives ------------------------------------------------------------
@contextmanager
def _naming_step(step: str) -> Iterator[None]:
    """Prefix the step to a field error: `process event: chunk.end is missing`."""
    try:
        yield
    except MalformedEvent as error:
        raise MalformedEvent(f"{step} event: {error}") from None


@dataclass(frozen=True)
class ValidateEvent:
    """`ValidateHeader`'s Parameters: `{"source", "execution_id"}`."""

    source: SourceRef
    execution_id: str | None = None

    @classmethod
    def from_event(cls, data: Any) -> ValidateEvent:
        with _naming_step("validate"):
            fields = _object(data, "")
            return cls(source=SourceRef.from_event(_member(fields, "source")),
                       execution_id=_optional_text(fields, "execution_id", ""))

    def to_event(self) -> Event:
        return _without_none({"source": self.source.to_event(),
                              "execution_id": self.execution_id})


@dataclass(frozen=True)
class SplitEvent:
    """`PlanChunks`' Parameters: `{"file"}`."""

    file: FileRecord

    @classmethod
    def from_event(cls, data: Any) -> SplitEvent:
        with _naming_step("split"):
            fields = _object(data, "")
            return cls(file=FileRecord.from_event(_member(fields, "file")))

    def to_event(self) -> Event:
        return {"file": self.file.to_event()}


@dataclass(frozen=True)
class ProcessEvent:
    """One Map item, from the ItemSelector: `{"file", "chunk"}`."""

    file: FileRecord
    chunk: ChunkRange

    @classmethod
    def from_event(cls, data: Any) -> ProcessEvent:
        with _naming_step("process"):
            fields = _object(data, "")
            file = FileRecord.from_event(_member(fields, "file"))
            chunk = ChunkRange.from_event(_member(fields, "chunk"))
            if chunk.end > file.size:
                raise MalformedEvent(f"chunk.end: {chunk.end} is past the end of the file "
                                     f"(file.size {file.size})")
            return cls(file=file, chunk=chunk)

    def to_event(self) -> Event:
        return {"file": self.file.to_event(), "chunk": self.chunk.to_event()}


@dataclass(frozen=True)
class FinalizeEvent:
    """`Finalize`'s Parameters: `{"file", "chunk_count", "execution_id"}`."""

    file: FileRecord
    chunk_count: int
    execution_id: str | None = None

    @classmethod
    def from_event(cls, data: Any) -> FinalizeEvent:
        with _naming_step("finalize"):
            fields = _object(data, "")
            return cls(file=FileRecord.from_event(_member(fields, "file")),
                       chunk_count=_count(fields, "chunk_count", ""),
                       execution_id=_optional_text(fields, "execution_id", ""))

    def to_event(self) -> Event:
        return _without_none({"file": self.file.to_event(), "chunk_count": self.chunk_count,
                              "execution_id": self.execution_id})
