"""The status items and the conditional rules both stores apply to them.

One item per file and one per chunk (docs/architecture.md, "Status table"). Every rule
compares the run identity (`handlers.identity`), so a retried Lambda or a duplicate execution
never counts rows twice, and a change of configuration, schema or code is never mistaken for
work already done:
- a file version already COMPLETED under the same identity is never restarted;
- a chunk already SUCCEEDED over the same byte range under the same identity is never
  restarted nor re-completed (the caller gets the recorded counts back), unless the caller
  redoes it on purpose (its staged outputs are gone).

A rule is a `Change` written once; each store turns it into its own conditional write
(`_StatusRules._apply`): an `UpdateItem` with a `ConditionExpression` in DynamoDB, a
read-check-write transaction in SQLite.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, TypedDict, cast

FILE_SK = "FILE"
COMMIT_SK = "COMMIT"
RUNNING, COMPLETED, FAILED, SUCCEEDED = "RUNNING", "COMPLETED", "FAILED", "SUCCEEDED"
COUNT_FIELDS = ("rows_in", "rows_valid", "rows_rejected")


class FileItem(TypedDict, total=False):
    """`sk = "FILE"`: the latest run of one file version. Written by validate
    (`start_file`), finalize (`finish_file`) and the state machine's failure path."""

    pk: str  # file_id: `<key>#<version>`
    sk: str
    status: str  # RUNNING | COMPLETED | FAILED
    bucket: str
    key: str
    version_id: str
    size: int
    execution_id: str
    header: list[str]
    data_offset: int
    identity: str  # the file identity of the latest run
    ingested_at: str  # start of this version's ingest under that identity (ISO, UTC)
    chunk_count: int
    rows_in: int
    rows_valid: int
    rows_rejected: int
    manifest_key: str
    outcome: str  # COMPLETED: "committed", or "superseded" (a newer version committed first)
    superseded_by: str  # superseded: the version id readers see instead
    superseded_by_file: str  # and its source_file
    error_name: str
    error_cause: str
    started_at: str
    updated_at: str
    expires_at: int  # the TTL attribute, epoch seconds


class ChunkItem(TypedDict, total=False):
    """`sk = "CHUNK#%06d"`: one chunk of the file's plan, written by process."""

    pk: str
    sk: str
    status: str  # RUNNING | SUCCEEDED | FAILED
    index: int
    start: int
    end: int
    identity: str  # the chunk identity
    attempts: int
    rows_in: int
    rows_valid: int
    rows_rejected: int
    ingested_at: str  # the ingest whose lineage the staged rows carry
    partitions: list[str]  # partition values of the staged valid rows, one part each
    reasons: list[list[Any]]  # [field or None, kind, rejected rows] per first error
    staged_rejected_key: str  # "" without rejects
    error_name: str
    error_cause: str
    updated_at: str
    expires_at: int


class CommitLease(TypedDict, total=False):
    """`pk = <source key>`, `sk = "COMMIT"`: who may touch the key's partitions and commit
    pointer (finalize, from registering to retiring). Written by `acquire_commit` and
    `release_commit` only."""

    pk: str
    sk: str
    holder: str  # the holding commit's source_file (a re-run of the same file takes over)
    token: str  # the holding attempt: only it releases
    lease_until: int  # epoch seconds; 0 when released
    updated_at: str
    expires_at: int


def chunk_sk(index: int) -> str:
    return f"CHUNK#{index:06d}"


def utc_now_text() -> str:
    """ISO 8601 UTC with milliseconds, the form Step Functions writes (`updated_at`)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class StatusStore(Protocol):
    def get_file(self, file_id: str) -> FileItem | None: ...

    def start_file(self, file_id: str, attributes: dict[str, Any]) -> tuple[FileItem, bool]:
        """Mark RUNNING unless COMPLETED under `attributes["identity"]`; (item, started)."""

    def start_chunk(self, file_id: str, index: int, start: int, end: int, identity: str, *,
                    redo: bool = False) -> tuple[ChunkItem, bool]:
        """Count an attempt unless SUCCEEDED over the same range and identity (or `redo`);
        returns (item, started)."""

    def complete_chunk(self, file_id: str, index: int, start: int, end: int, identity: str,
                       attributes: dict[str, Any]) -> tuple[ChunkItem, bool]:
        """Record SUCCEEDED with counts unless already SUCCEEDED so; returns (item, changed)."""

    def fail_chunk(self, file_id: str, index: int, error_name: str, error_cause: str) -> None: ...

    def list_chunks(self, file_id: str) -> list[ChunkItem]: ...

    def finish_file(self, file_id: str, status: str, attributes: dict[str, Any]) -> FileItem: ...

    def acquire_commit(self, key: str, holder: str, token: str,
                       seconds: int) -> tuple[CommitLease, bool]:
        """Hold the source key's commit lease for `seconds` if it is free, expired or
        already `holder`'s (then `token` takes it over); returns (the lease as it now
        is, acquired)."""

    def release_commit(self, key: str, holder: str, token: str) -> None:
        """Free the lease if `holder` still holds it under `token`."""


Item = dict[str, Any]
"""An item as a store reads and writes it, before it is typed as a file or chunk item."""


@dataclass
class Change:
    """One conditional update, expressed once for both stores."""

    set: dict[str, Any] = field(default_factory=dict)
    add: dict[str, int] = field(default_factory=dict)
    remove: tuple[str, ...] = ()
    condition: str = ""  # DynamoDB ConditionExpression over #names / :values below
    condition_names: dict[str, str] = field(default_factory=dict)
    condition_values: dict[str, Any] = field(default_factory=dict)
    allows: Callable[[Item | None], bool] = lambda item: True


def _not_completed_as(identity: str) -> Callable[[Item | None], bool]:
    def allows(item: Item | None) -> bool:
        return not (item is not None and item.get("status") == COMPLETED
                    and item.get("identity") == identity)
    return allows


def _lease_free_for(holder: str, now: int) -> Callable[[Item | None], bool]:
    def allows(item: Item | None) -> bool:
        return item is None or item.get("holder") == holder \
            or int(item.get("lease_until", 0)) < now
    return allows


def _held_by(holder: str, token: str) -> Callable[[Item | None], bool]:
    def allows(item: Item | None) -> bool:
        return item is not None and item.get("holder") == holder \
            and item.get("token") == token
    return allows


def _same_work_done(start: int, end: int, identity: str) -> Callable[[Item | None], bool]:
    def allows(item: Item | None) -> bool:
        return not (item is not None and item.get("status") == SUCCEEDED
                    and item.get("start") == start and item.get("end") == end
                    and item.get("identity") == identity)
    return allows


def _chunk_condition(change: Change, start: int, end: int, identity: str) -> Change:
    change.condition = ("attribute_not_exists(pk) OR #c_status <> :c_succeeded "
                        "OR #c_start <> :c_start OR #c_end <> :c_end "
                        "OR attribute_not_exists(#c_identity) OR #c_identity <> :c_identity")
    change.condition_names = {"#c_status": "status", "#c_start": "start", "#c_end": "end",
                              "#c_identity": "identity"}
    change.condition_values = {":c_succeeded": SUCCEEDED, ":c_start": start, ":c_end": end,
                               ":c_identity": identity}
    change.allows = _same_work_done(start, end, identity)
    return change


class _StatusRules:
    """The item logic; subclasses supply `_apply` (conditional write) and the reads."""

    def __init__(self, ttl_days: int = 90, clock: Callable[[], float] = time.time) -> None:
        self.ttl_days = ttl_days
        self.clock = clock

    def _stamp(self) -> dict[str, Any]:
        return {"updated_at": utc_now_text(),
                "expires_at": int(self.clock()) + self.ttl_days * 86400}

    def _apply(self, key: dict[str, str], change: Change) -> tuple[Item, bool]:
        """Apply `change` unless its condition fails; (the item as it now is, changed)."""
        raise NotImplementedError

    def start_file(self, file_id: str, attributes: dict[str, Any]) -> tuple[FileItem, bool]:
        identity = str(attributes.get("identity", ""))
        change = Change(
            set={**attributes, "status": RUNNING, "started_at": utc_now_text(), **self._stamp()},
            remove=("error_name", "error_cause", "manifest_key"),
            condition=("attribute_not_exists(pk) OR #f_status <> :f_completed "
                       "OR attribute_not_exists(#f_identity) OR #f_identity <> :f_identity"),
            condition_names={"#f_status": "status", "#f_identity": "identity"},
            condition_values={":f_completed": COMPLETED, ":f_identity": identity},
            allows=_not_completed_as(identity),
        )
        item, started = self._apply({"pk": file_id, "sk": FILE_SK}, change)
        return cast(FileItem, item), started

    def start_chunk(self, file_id: str, index: int, start: int, end: int, identity: str, *,
                    redo: bool = False) -> tuple[ChunkItem, bool]:
        change = Change(set={"status": RUNNING, "index": index, "start": start, "end": end,
                             "identity": identity, **self._stamp()},
                        add={"attempts": 1}, remove=("error_name", "error_cause"))
        if not redo:
            change = _chunk_condition(change, start, end, identity)
        item, started = self._apply({"pk": file_id, "sk": chunk_sk(index)}, change)
        return cast(ChunkItem, item), started

    def complete_chunk(self, file_id: str, index: int, start: int, end: int, identity: str,
                       attributes: dict[str, Any]) -> tuple[ChunkItem, bool]:
        change = Change(set={**attributes, "status": SUCCEEDED, "index": index, "start": start,
                             "end": end, "identity": identity, **self._stamp()})
        item, changed = self._apply({"pk": file_id, "sk": chunk_sk(index)},
                                    _chunk_condition(change, start, end, identity))
        return cast(ChunkItem, item), changed

    def fail_chunk(self, file_id: str, index: int, error_name: str, error_cause: str) -> None:
        change = Change(
            set={"status": FAILED, "index": index, "error_name": error_name,
                 "error_cause": error_cause[:4000], **self._stamp()},
            condition="attribute_not_exists(pk) OR #c_status <> :c_succeeded",
            condition_names={"#c_status": "status"},
            condition_values={":c_succeeded": SUCCEEDED},
            allows=lambda item: item is None or item.get("status") != SUCCEEDED,
        )
        self._apply({"pk": file_id, "sk": chunk_sk(index)}, change)

    def finish_file(self, file_id: str, status: str, attributes: dict[str, Any]) -> FileItem:
        if status not in (COMPLETED, FAILED):
            raise ValueError(f"a file finishes COMPLETED or FAILED, not {status}")
        change = Change(set={**attributes, "status": status, **self._stamp()})
        item, _ = self._apply({"pk": file_id, "sk": FILE_SK}, change)
        return cast(FileItem, item)

    def acquire_commit(self, key: str, holder: str, token: str,
                       seconds: int) -> tuple[CommitLease, bool]:
        now = int(self.clock())
        change = Change(
            set={"holder": holder, "token": token, "lease_until": now + seconds,
                 **self._stamp()},
            condition=("attribute_not_exists(pk) OR #l_holder = :l_holder "
                       "OR #l_until < :l_now"),
            condition_names={"#l_holder": "holder", "#l_until": "lease_until"},
            condition_values={":l_holder": holder, ":l_now": now},
            allows=_lease_free_for(holder, now),
        )
        item, acquired = self._apply({"pk": key, "sk": COMMIT_SK}, change)
        return cast(CommitLease, item), acquired

    def release_commit(self, key: str, holder: str, token: str) -> None:
        change = Change(
            set={"lease_until": 0, **self._stamp()},
            condition="#l_holder = :l_holder AND #l_token = :l_token",
            condition_names={"#l_holder": "holder", "#l_token": "token"},
            condition_values={":l_holder": holder, ":l_token": token},
            allows=_held_by(holder, token),
        )
        self._apply({"pk": key, "sk": COMMIT_SK}, change)
