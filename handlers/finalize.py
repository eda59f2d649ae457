"""Step 4: check every chunk's counts, publish the staged parts, write the manifest (the
commit point), close the file.

The file is COMPLETED only when all planned chunks SUCCEEDED under this run's identity,
their ranges tile the data, rows_in = rows_valid + rows_rejected holds per chunk and in
total, and the reject rate is within MAX_REJECT_RATE; otherwise it is recorded FAILED, a
permanent error is raised and nothing is published. Publishing (`handlers.publish`) leaves
the file's output prefixes holding exactly the new parts; the manifest is written last and
records the run identity. A retry after the commit publishes nothing again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from handlers.deps import Deps
from handlers.errors import CountMismatch, RejectRateExceeded
from handlers.events import FileRecord, FinalizeEvent
from handlers.identity import RunIdentity, run_identity
from handlers.layout import OutputLayout
from handlers.logs import log
from handlers.publish import Part, check_published, part_of, publish, remove_staged
from handlers.runtime import container_deps
from handlers.status import COMPLETED, COUNT_FIELDS, FAILED, SUCCEEDED, utc_now_text


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
        rows_in, valid, rejected = (int(item.get(name, -1)) for name in COUNT_FIELDS)
        if rows_in != valid + rejected or min(rows_in, valid, rejected) < 0:
            problems.append(f"chunk {index}: rows_in {rows_in} != rows_valid {valid} + "
                            f"rows_rejected {rejected}")
        if int(item["start"]) != position:
            problems.append(f"chunk {index} starts at byte {item['start']}, expected {position}")
        position = int(item["end"])
        parts.append({"index": index, "start": int(item["start"]), "end": int(item["end"]),
                      "rows_in": rows_in, "rows_valid": valid, "rows_rejected": rejected,
                      "staged_output_key": item.get("staged_output_key", ""),
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
    summary: dict[str, Any] = {
        "file_id": file_id, "bucket": file.bucket, "key": file.key,
        "version_id": file.version_id, "execution_id": execution_id,
        "chunk_count": chunk_count, "processed_prefix": layout.processed_prefix,
        "rejected_prefix": layout.rejected_prefix,
    }
    items = deps.status.list_chunks(file_id)
    current = deps.status.get_file(file_id) or {}
    if current.get("status") == COMPLETED and current.get("identity") == identity.file:
        return _already_committed(deps, layout, file, chunk_count, items, identity, summary,
                                  current)
    try:
        parts = _checked_parts(file, chunk_count, items, identity)
    except CountMismatch as error:
        deps.status.finish_file(file_id, FAILED, {"error_name": "CountMismatch",
                                                  "error_cause": str(error)[:4000]})
        logger.error("counts do not add up", error=str(error))
        raise
    totals = {name: sum(part[name] for part in parts) for name in COUNT_FIELDS}
    rate = totals["rows_rejected"] / totals["rows_in"] if totals["rows_in"] else 0.0
    summary.update(totals, reject_rate=round(rate, 6))
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
        _announce(deps, summary)
        logger.error("reject rate exceeded", **totals, reject_rate=rate)
        raise RejectRateExceeded(cause)
    published = _parts(layout, parts)
    publish(deps.objects, layout, published)
    manifest = {
        "file_id": file_id,
        "source": {"bucket": file.bucket, "key": file.key, "version_id": file.version_id,
                   "size": file.size, "header": list(file.header),
                   "data_offset": file.data_offset},
        "identity": identity.describe(),
        "schema_sha256": identity.parts["schema_sha256"],
        "output_format": deps.settings.output_format,
        "counts": totals,
        "chunk_count": chunk_count,
        "parts": [_manifest_part(part, target) for part, target in
                  zip(parts, published, strict=True)],
        "processed_prefix": layout.processed_prefix,
        "rejected_prefix": layout.rejected_prefix,
        "execution_id": execution_id,
        "committed_at": utc_now_text(),
    }
    deps.objects.put_bytes(layout.manifest_key,
                           json.dumps(manifest, indent=2, sort_keys=True).encode("utf-8"),
                           "application/json")
    check_published(deps.objects, layout, published)
    deps.status.finish_file(file_id, COMPLETED, {**common, "identity": identity.file,
                                                 "manifest_key": layout.manifest_key})
    summary.update(status=COMPLETED, manifest_key=layout.manifest_key)
    _announce(deps, summary)
    remove_staged(deps.objects, published)
    logger.info("file completed", **totals, chunk_count=chunk_count)
    return summary


def _parts(layout: OutputLayout, parts: list[dict[str, Any]]) -> list[Part]:
    return [part_of(layout, part["index"], part["staged_output_key"],
                    part["staged_rejected_key"]) for part in parts]


def _manifest_part(part: dict[str, Any], published: Part) -> dict[str, Any]:
    return {"index": part["index"], "start": part["start"], "end": part["end"],
            "rows_in": part["rows_in"], "rows_valid": part["rows_valid"],
            "rows_rejected": part["rows_rejected"], "output_key": published.output_key,
            "rejected_key": published.rejected_key}


def _already_committed(deps: Deps, layout: OutputLayout, file: FileRecord, chunk_count: int,
                       items: Sequence[Mapping[str, Any]], identity: RunIdentity,
                       summary: dict[str, Any], current: Mapping[str, Any]) -> dict[str, Any]:
    """A retry after the commit: the outputs stand; finish what the first attempt may not
    have (the summary message, removing the staged parts)."""
    totals = {name: int(current.get(name, 0)) for name in COUNT_FIELDS}
    rate = totals["rows_rejected"] / totals["rows_in"] if totals["rows_in"] else 0.0
    summary.update(totals, reject_rate=round(rate, 6), status=COMPLETED,
                   manifest_key=layout.manifest_key)
    _announce(deps, summary)
    by_index = {int(item["index"]): item for item in items if "index" in item}
    staged = [part_of(layout, index, str(item.get("staged_output_key", "")),
                      item.get("staged_rejected_key") or None)
              for index, item in by_index.items()
              if index < chunk_count and item.get("identity") == identity.chunks]
    remove_staged(deps.objects, [part for part in staged if part.staged_output_key])
    log.bind(step="finalize", file_id=file.file_id).info("already committed", **totals)
    return summary


def _announce(deps: Deps, summary: dict[str, Any]) -> None:
    if deps.queue is not None:
        deps.queue.send(summary)


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, container_deps())
