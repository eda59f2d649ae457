"""Step 4: check every chunk's counts, publish the staged parts, write the manifest (the
commit point of the objects), register the partitions in the storage tables, write the
commit pointer (the commit point for readers), retire the key's earlier partitions, close
the file.

The file is COMPLETED only when all planned chunks SUCCEEDED under this run's identity and
ingest, their ranges tile the data, rows_in = rows_valid + rows_rejected holds per chunk
and in total, and the reject rate is within MAX_REJECT_RATE; otherwise it is recorded
FAILED, a permanent error is raised and nothing is published or registered. Publishing
(`handlers.publish`) leaves the file's partition prefixes holding exactly the new parts;
the manifest is written after them and records the run identity; then the storage tables
get all the file's partitions (invisible to readers), one PutObject of the source key's
commit pointer makes them visible in both views at once (and hides an earlier commit of the
key at the same moment), and only then are the earlier commit's partitions retired. A retry
after the commit publishes and registers nothing again.

Readers see the newest version of a key that committed: a version finishing after a newer
one of its key has committed (the order S3 stored them in, not the order they finish)
publishes nothing and leaves the pointer; it is COMPLETED with `outcome: superseded`.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from handlers.catalog import FilePartitions, Partition, Superseded
from handlers.deps import Deps
from handlers.errors import CommitBusy, CountMismatch, RejectRateExceeded
from handlers.events import FileRecord, FinalizeEvent
from handlers.identity import RunIdentity, run_identity
from handlers.layout import OutputLayout, parts_table, rejected_table, source_file_id
from handlers.logs import log
from handlers.metrics import ROW_FIELD, Reason
from handlers.partitions import SOURCE_FILE, ingest_day
from handlers.publish import Commit, Part, check_published, commit_of, publish, remove_staged
from handlers.runtime import container_deps
from handlers.settings import INGEST_DATE
from handlers.status import COMPLETED, COUNT_FIELDS, FAILED, SUCCEEDED, utc_now_text

TOP_REASONS = 10  # rejection reasons in the summary
# The summary's `outcome` of a COMPLETED file: its rows are what readers see of the key, or
# a newer version of the key was committed first and this one published nothing.
COMMITTED, SUPERSEDED = "committed", "superseded"


def _checked_parts(file: FileRecord, chunk_count: int, items: Sequence[Mapping[str, Any]],
                   identity: RunIdentity) -> list[dict[str, Any]]:
    by_index = {int(item["index"]): item for item in items if "index" in item}
    problems = []
    parts = []
    position = file.data_offset
    for index in range(chunk_count):
        item = by_index.get(index)
        if item is None:
            problems.append(f"chunk {index} has no status record")
            continue
        if item.get("status") != SUCCEEDED:
            problems.append(f"chunk {index} is {item.get('status')}")
            continue
        if item.get("identity") != identity.chunks:
            problems.append(f"chunk {index} was processed under another identity")
            continue
        if item.get("ingested_at") != file.ingested_at or not isinstance(
                item.get("partitions"), list):
            problems.append(f"chunk {index} was processed for another ingest of the file")
            continue
        rows_in, valid, rejected = (int(item.get(name, -1)) for name in COUNT_FIELDS)
        if rows_in != valid + rejected or min(rows_in, valid, rejected) < 0:
            problems.append(f"chunk {index}: rows_in {rows_in} != rows_valid {valid} + "
                            f"rows_rejected {rejected}")
        if int(item["start"]) != position:
            problems.append(f"chunk {index} starts at byte {item['start']}, expected {position}")
        position = int(item["end"])
        parts.append({"index": index, "start": int(item["start"]), "end": int(item["end"]),
                      "rows_in": rows_in, "rows_valid": valid, "rows_rejected": rejected,
                      "partitions": [str(value) for value in item.get("partitions") or []],
                      "reasons": item.get("reasons") or [],
                      "staged_rejected_key": item.get("staged_rejected_key") or None})
    if not problems and chunk_count and position != file.size:
        problems.append(f"the chunks end at byte {position}, the file at {file.size}")
    if problems:
        raise CountMismatch(f"{file.key}: " + "; ".join(problems))
    return parts


def handle(event: dict[str, Any], deps: Deps) -> dict[str, Any]:
    request = FinalizeEvent.from_event(event)
    file, chunk_count = request.file, request.chunk_count
    execution_id = request.execution_id or ""
    file_id = file.file_id
    logger = log.bind(step="finalize", file_id=file_id)
    identity = run_identity(deps.settings, deps.schema)
    identity.check(file)
    layout = OutputLayout.of(deps.settings, file.key, file.version_id)
    source_file = source_file_id(file.key, file.version_id, identity.file)
    summary: dict[str, Any] = {
        "file_id": file_id, "bucket": file.bucket, "key": file.key,
        "version_id": file.version_id, "execution_id": execution_id,
        "chunk_count": chunk_count, "table": deps.settings.catalog_table,
        "source_file": source_file, "ingested_at": file.ingested_at,
        "processed_prefix": layout.processed_root, "rejected_prefix": layout.rejected_root,
    }
    items = deps.status.list_chunks(file_id)
    current = deps.status.get_file(file_id) or {}
    if current.get("status") == COMPLETED and current.get("identity") == identity.file:
        return _already_committed(deps, layout, file, chunk_count, items, identity, summary,
                                  current, source_file)
    try:
        parts = _checked_parts(file, chunk_count, items, identity)
    except CountMismatch as error:
        deps.status.finish_file(file_id, FAILED, {"error_name": "CountMismatch",
                                                  "error_cause": str(error)[:4000]})
        logger.error("counts do not add up", error=str(error))
        raise
    totals = {name: sum(part[name] for part in parts) for name in COUNT_FIELDS}
    rate = totals["rows_rejected"] / totals["rows_in"] if totals["rows_in"] else 0.0
    summary.update(totals, reject_rate=round(rate, 6), top_rejections=top_reasons(parts))
    common = {"chunk_count": chunk_count, **totals}
    if rate > deps.settings.max_reject_rate:
        staged = layout.staging_prefix + identity.short + "/rejected/"
        cause = (f"{file.key}: {totals['rows_rejected']} of {totals['rows_in']} rows "
                 f"rejected ({rate:.2%}), more than output.max_reject_rate "
                 f"{deps.settings.max_reject_rate:.2%}; nothing was published, the rejected "
                 f"rows are staged under {staged}")
        deps.status.finish_file(file_id, FAILED, {**common, "error_name": "RejectRateExceeded",
                                                  "error_cause": cause})
        summary.update(status=FAILED, manifest_key=None, error=cause)
        _count_rows(deps, totals, parts)
        _announce(deps, summary)
        logger.error("reject rate exceeded", **totals, reject_rate=rate)
        raise RejectRateExceeded(cause)
    commit = commit_of(layout, identity.short, source_file, ingest_day(file.ingested_at),
                       parts)
    with _commit_lease(deps, file, source_file, execution_id):
        pointer = _pointer(deps, layout)
        newer = _newer_commit(deps, file, pointer)
        if newer is not None:
            return _superseded(deps, file, commit, identity, common, parts, summary, newer)
        manifest = _committed_manifest(deps, layout, identity, source_file, pointer)
        if manifest is None:
            _publish_and_commit(deps, file, commit, identity, execution_id, parts, totals)
        else:
            # Committed for readers by an attempt that stopped before the status write:
            # republishing would replace the parts readers see. Finish from the manifest.
            totals = {name: int(manifest["counts"][name]) for name in COUNT_FIELDS}
            chunk_count = int(manifest["chunk_count"])
            common = {"chunk_count": chunk_count, **totals}
            summary.update(totals, chunk_count=chunk_count)
            logger.info("already committed for readers", source_file=source_file)
            _delete_superseded(deps, file, commit, _retire(deps, file, commit))
            remove_staged(deps.objects, _manifest_commit(layout, identity, manifest).parts)
    deps.status.finish_file(file_id, COMPLETED, {**common, "identity": identity.file,
                                                 "outcome": COMMITTED,
                                                 "manifest_key": layout.manifest_key})
    summary.update(status=COMPLETED, outcome=COMMITTED, manifest_key=layout.manifest_key,
                   partitions=len(commit.partitions))
    _count_rows(deps, totals, parts)
    _announce(deps, summary)
    remove_staged(deps.objects, commit.parts)
    logger.info("file completed", **totals, chunk_count=chunk_count,
                partitions=len(commit.partitions))
    return summary


def _publish_and_commit(deps: Deps, file: FileRecord, commit: Commit, identity: RunIdentity,
                        execution_id: str, parts: list[dict[str, Any]],
                        totals: Mapping[str, int]) -> None:
    """Publish the parts, write the manifest, register, point, retire (holding the key's
    commit lease); `totals` are the parts' counts, summed once by the caller."""
    layout, file_id, source_file = commit.layout, file.file_id, commit.source_file
    publish(deps.objects, commit)
    manifest = {
        "file_id": file_id,
        "source": {"bucket": file.bucket, "key": file.key, "version_id": file.version_id,
                   "size": file.size, "header": list(file.header),
                   "data_offset": file.data_offset},
        "identity": identity.describe(),
        "schema_sha256": identity.parts["schema_sha256"],
        "output_format": deps.settings.output_format,
        "counts": dict(totals),
        "chunk_count": len(parts),
        "table": deps.settings.catalog_table,
        "source_file": source_file,
        "ingested_at": file.ingested_at,
        "partition_key": layout.partition_key,
        "partitions": commit.partitions,
        "prefixes": commit.prefixes,
        "parts": [_manifest_part(part, published) for part, published in
                  zip(parts, commit.parts, strict=True)],
        "processed_prefix": layout.processed_root,
        "rejected_prefix": layout.rejected_root,
        "execution_id": execution_id,
        "committed_at": utc_now_text(),
    }
    deps.objects.put_bytes(layout.manifest_key,
                           json.dumps(manifest, indent=2, sort_keys=True).encode("utf-8"),
                           "application/json")
    check_published(deps.objects, commit)
    superseded = _commit_for_readers(deps, file, commit, totals)
    _delete_superseded(deps, file, commit, superseded)


def ranked_reasons(parts: Sequence[Mapping[str, Any]]) -> list[Reason]:
    """The file's rejection reasons `(field, kind, rows)`, most rows first (a row counts once
    under each field and kind among its errors; a row-level reject has the field null)."""
    counted: Counter[tuple[str | None, str]] = Counter()
    for part in parts:
        for field, kind, rows in part.get("reasons") or []:
            counted[(field, str(kind))] += int(rows)
    ranked = sorted(counted.items(),
                    key=lambda pair: (-pair[1], pair[0][0] or ROW_FIELD, pair[0][1]))
    return [(field, kind, rows) for (field, kind), rows in ranked]


def top_reasons(parts: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The most frequent rejection reasons of the file: `{field, kind, rows}`."""
    return [{"field": field, "kind": kind, "rows": rows}
            for field, kind, rows in ranked_reasons(parts)[:TOP_REASONS]]


def catalog_partitions(deps: Deps, file: FileRecord, commit: Commit) -> list[FilePartitions]:
    """The file's partitions of the two storage tables (the rejected one may have none:
    then retiring still removes what an earlier commit of the key registered)."""
    layout, source_file = commit.layout, commit.source_file
    table = deps.settings.catalog_table
    data = tuple(Partition((value, source_file), layout.data_prefix(value, source_file))
                 for value in commit.partitions)
    rejected = (Partition((commit.ingest_day, source_file),
                          layout.rejected_prefix(commit.ingest_day, source_file)),) \
        if commit.has_rejects else ()
    return [FilePartitions(parts_table(table), (layout.partition_key, SOURCE_FILE), file.key,
                           file.version_id, source_file, data),
            FilePartitions(parts_table(rejected_table(table)), (INGEST_DATE, SOURCE_FILE),
                           file.key, file.version_id, source_file, rejected)]


def commit_pointer(file: FileRecord, source_file: str, totals: Mapping[str, int]) -> bytes:
    """The one JSON line of the commits table naming the key's committed `source_file`
    with the file's reconciled counts (`committed_at` in the form the OpenX JSON SerDe
    reads as a timestamp). The counts make a file's valid and rejected rows one read:
    a query joining the two views reads the commits table once per view."""
    line = {"source_key": file.key, "source_version": file.version_id,
            "source_file": source_file,
            "committed_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f"),
            **{name: int(totals[name]) for name in COUNT_FIELDS}}
    return (json.dumps(line, sort_keys=True) + "\n").encode("utf-8")


def _commit_for_readers(deps: Deps, file: FileRecord, commit: Commit,
                        totals: Mapping[str, int]) -> list[Superseded]:
    """Register every partition of both storage tables (idempotent, invisible to readers),
    then write the commit pointer: one PutObject, the moment the file appears in both views
    and an earlier commit of its key disappears from them. Then retire the earlier
    commit's partitions (returned). A failure before the pointer leaves registered
    partitions no view shows; the retry registers them again and writes the pointer."""
    if deps.catalog is None:
        return []
    logger = log.bind(step="finalize", file_id=file.file_id)
    tables = catalog_partitions(deps, file, commit)
    for table in tables:
        change = deps.catalog.register(table)
        logger.info("partitions registered", table=table.table, added=change.added,
                    kept=change.kept)
    deps.objects.put_bytes(commit.layout.commit_key,
                           commit_pointer(file, commit.source_file, totals), "application/json")
    logger.info("commit pointer written", key=commit.layout.commit_key,
                source_file=commit.source_file)
    return _retire(deps, file, commit)


def _retire(deps: Deps, file: FileRecord, commit: Commit) -> list[Superseded]:
    """Remove the key's partitions under other `source_file` values (the pointer names
    this commit now) and return them."""
    if deps.catalog is None:
        return []
    logger = log.bind(step="finalize", file_id=file.file_id)
    removed: list[Superseded] = []
    for table in catalog_partitions(deps, file, commit):
        retired = deps.catalog.retire(table)
        removed.extend(retired)
        if retired:
            logger.info("partitions retired", table=table.table, removed=len(retired))
    return removed


LEASE_MARGIN_SECONDS = 60
"""Added to the function timeout: Lambda stops a finalize at its timeout, so a lease past
its end has no live holder."""


@contextmanager
def _commit_lease(deps: Deps, file: FileRecord, source_file: str,
                  execution_id: str) -> Iterator[None]:
    """Hold the source key's commit lease (the status item `pk = <key>, sk = COMMIT`)
    around everything that touches the key's partitions and pointer: two finalizes of one
    key (two versions, two identities) never interleave their register, pointer write and
    retire. Held for another commit: `CommitBusy`, retried by the state machine. A retry
    or re-run of this same commit (`source_file`: version and identity) takes it over (an
    attempt that crashed holding it blocks nobody but other commits), and only the
    attempt holding it (its token) releases it."""
    if deps.catalog is None:
        yield
        return
    token = f"{execution_id}#{uuid.uuid4().hex}"
    seconds = deps.settings.function_timeout_seconds + LEASE_MARGIN_SECONDS
    lease, acquired = deps.status.acquire_commit(file.key, source_file, token, seconds)
    if not acquired:
        raise CommitBusy(f"{file.key}: the commit of {lease.get('holder')} holds this "
                         "source key's commit lease; retried")
    try:
        yield
    finally:
        deps.status.release_commit(file.key, source_file, token)


def _pointer(deps: Deps, layout: OutputLayout) -> dict[str, Any] | None:
    """The key's commit pointer: which commit readers see (None: none yet, or no catalog)."""
    if deps.catalog is None or not deps.objects.exists(layout.commit_key):
        return None
    pointer: dict[str, Any] = json.loads(_read_all(deps, layout.commit_key))
    return pointer


def _newer_commit(deps: Deps, file: FileRecord,
                  pointer: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """The pointer, when it names a version of the key that S3 stored after this one:
    committing now would bring the older data back. None when the pointer names this
    version or an older one, or either has no version id (an unversioned bucket: no
    order to go by)."""
    theirs = None if pointer is None else pointer.get("source_version")
    ours = file.version_id
    if not theirs or not ours or "null" in (theirs, ours) or theirs == ours:
        return None
    newest = deps.objects.newest_version(file.key, (ours, str(theirs)))
    return pointer if newest == theirs else None


def _superseded(deps: Deps, file: FileRecord, commit: Commit, identity: RunIdentity,
                common: Mapping[str, Any], parts: Sequence[Mapping[str, Any]],
                summary: dict[str, Any], newer: Mapping[str, Any]) -> dict[str, Any]:
    """A newer version of the key is committed: this older one publishes nothing and
    leaves the pointer alone (the table keeps the newest data); the file is COMPLETED,
    processed and reconciled, with the version that replaced it named."""
    replaced_by = {"source_version": str(newer["source_version"]),
                   "source_file": str(newer.get("source_file", ""))}
    deps.status.finish_file(file.file_id, COMPLETED, {
        **common, "identity": identity.file, "outcome": SUPERSEDED,
        "superseded_by": replaced_by["source_version"],
        "superseded_by_file": replaced_by["source_file"]})
    summary.update(status=COMPLETED, outcome=SUPERSEDED, superseded_by=replaced_by,
                   manifest_key=None, partitions=0)
    _count_rows(deps, {name: int(common[name]) for name in COUNT_FIELDS}, parts)
    _announce(deps, summary)
    remove_staged(deps.objects, commit.parts)
    log.bind(step="finalize", file_id=file.file_id).info(
        "superseded by a newer version", key=file.key, **replaced_by)
    return summary


def _committed_manifest(deps: Deps, layout: OutputLayout, identity: RunIdentity,
                        source_file: str,
                        pointer: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The version's manifest when the key's pointer already names `source_file` and the
    manifest records this identity: the file is committed for readers (an earlier attempt
    stopped before the status write)."""
    if pointer is None or pointer.get("source_file") != source_file or \
            not deps.objects.exists(layout.manifest_key):
        return None
    manifest: dict[str, Any] = json.loads(_read_all(deps, layout.manifest_key))
    if manifest.get("source_file") != source_file or \
            manifest.get("identity") != identity.describe():
        return None
    return manifest


def _manifest_commit(layout: OutputLayout, identity: RunIdentity,
                     manifest: Mapping[str, Any]) -> Commit:
    """The commit a manifest describes, with the staged keys its run published from."""
    chunks = [{"index": part["index"], "start": part["start"], "end": part["end"],
               "partitions": [output["partition"] for output in part["outputs"]],
               "staged_rejected_key": layout.staged_rejected_key(
                   identity.short, part["index"], part["start"], part["end"])
               if part.get("rejected_key") else ""}
              for part in manifest["parts"]]
    return commit_of(layout, identity.short, str(manifest["source_file"]),
                     ingest_day(str(manifest["ingested_at"])), chunks)


def _read_all(deps: Deps, key: str) -> bytes:
    return deps.objects.read_range(key, 0, deps.objects.head(key).size)


def _delete_superseded(deps: Deps, file: FileRecord, commit: Commit,
                       superseded: list[Superseded]) -> None:
    """The objects of an earlier commit of this same version (another identity), now out
    of the table: the manifest that described them is this commit's now, so they would be
    described by none. (An earlier version's objects stay with its own manifest.)"""
    ours = set(commit.prefixes)
    for partition in superseded:
        if partition.source_version != file.version_id or not partition.prefix \
                or partition.prefix in ours or not partition.prefix.startswith(
                    (commit.layout.processed_root, commit.layout.rejected_root)):
            continue
        for key in deps.objects.list_keys(partition.prefix):
            deps.objects.delete(key)


def _manifest_part(part: dict[str, Any], published: Part) -> dict[str, Any]:
    return {"index": part["index"], "start": part["start"], "end": part["end"],
            "rows_in": part["rows_in"], "rows_valid": part["rows_valid"],
            "rows_rejected": part["rows_rejected"],
            "outputs": [{"partition": output.partition, "key": output.key}
                        for output in published.outputs],
            "rejected_key": published.rejected_key}


def _already_committed(deps: Deps, layout: OutputLayout, file: FileRecord, chunk_count: int,
                       items: Sequence[Mapping[str, Any]], identity: RunIdentity,
                       summary: dict[str, Any], current: Mapping[str, Any],
                       source_file: str) -> dict[str, Any]:
    """A retry after the commit: the outputs and partitions stand; finish what the first
    attempt may not have (the summary message, removing the staged parts)."""
    totals = {name: int(current.get(name, 0)) for name in COUNT_FIELDS}
    rate = totals["rows_rejected"] / totals["rows_in"] if totals["rows_in"] else 0.0
    ours = [item for item in items if "index" in item and int(item["index"]) < chunk_count
            and item.get("identity") == identity.chunks and isinstance(
                item.get("partitions"), list)]
    commit = commit_of(layout, identity.short, source_file, ingest_day(file.ingested_at),
                       ours)
    summary.update(totals, reject_rate=round(rate, 6), top_rejections=top_reasons(ours),
                   status=COMPLETED, outcome=COMMITTED, manifest_key=layout.manifest_key,
                   partitions=len(commit.partitions))
    if current.get("outcome") == SUPERSEDED:
        summary.update(outcome=SUPERSEDED, manifest_key=None, partitions=0, superseded_by={
            "source_version": str(current.get("superseded_by", "")),
            "source_file": str(current.get("superseded_by_file", ""))})
    _announce(deps, summary)
    remove_staged(deps.objects, commit.parts)
    log.bind(step="finalize", file_id=file.file_id).info("already committed", **totals)
    return summary


def _count_rows(deps: Deps, totals: Mapping[str, int],
                parts: Sequence[Mapping[str, Any]]) -> None:
    """The row metrics of the file, once, when its run ends (committed, superseded or over
    the reject rate): chunks redone under another plan, or a run stopped before finalize,
    count nothing twice. A retry after the status write (`_already_committed`) counts
    nothing."""
    deps.metrics.put_counts({"RowsIn": int(totals["rows_in"]),
                             "RowsValid": int(totals["rows_valid"]),
                             "RowsRejected": int(totals["rows_rejected"])})
    deps.metrics.put_rejections(ranked_reasons(parts))


def _announce(deps: Deps, summary: dict[str, Any]) -> None:
    if deps.queue is not None:
        deps.queue.send(summary)


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, container_deps())
