"""Step 4: check every chunk's counts, write the manifest (the commit point), close the file.

The file is COMPLETED only when all planned chunks SUCCEEDED, their ranges tile the data,
rows_in = rows_valid + rows_rejected holds per chunk and in total, and the reject rate is
within MAX_REJECT_RATE; otherwise it is recorded FAILED and a permanent error is raised.
"""

from __future__ import annotations

import json
from typing import Any

from handlers.deps import Deps
from handlers.errors import CountMismatch, RejectRateExceeded
from handlers.layout import OutputLayout
from handlers.logs import log
from handlers.runtime import container_deps
from handlers.schema_file import schema_sha256
from handlers.status import COMPLETED, COUNT_FIELDS, FAILED, SUCCEEDED, utc_now_text


def _checked_parts(file: dict, chunk_count: int, items: list[dict[str, Any]]) -> list[dict]:
    by_index = {int(item["index"]): item for item in items if "index" in item}
    problems = []
    parts = []
    position = int(file["data_offset"])
    for index in range(chunk_count):
        item = by_index.get(index)
        if item is None:
            problems.append(f"chunk {index} has no status record")
            continue
        if item.get("status") != SUCCEEDED:
            problems.append(f"chunk {index} is {item.get('status')}")
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
                      "output_key": item.get("output_key", ""),
                      "rejected_key": item.get("rejected_key") or None})
    if not problems and chunk_count and position != int(file["size"]):
        problems.append(f"the chunks end at byte {position}, the file at {file['size']}")
    if problems:
        raise CountMismatch(f"{file['key']}: " + "; ".join(problems))
    return parts


def handle(event: dict, deps: Deps) -> dict:
    file = event["file"]
    chunk_count = int(event["chunk_count"])
    file_id = file["file_id"]
    logger = log.bind(step="finalize", file_id=file_id)
    layout = OutputLayout.of(deps.settings, file["key"], file.get("version_id") or None)
    try:
        parts = _checked_parts(file, chunk_count, deps.status.list_chunks(file_id))
    except CountMismatch as error:
        deps.status.finish_file(file_id, FAILED, {"error_name": "CountMismatch",
                                                  "error_cause": str(error)[:4000]})
        logger.error("counts do not add up", error=str(error))
        raise
    totals = {name: sum(part[name] for part in parts) for name in COUNT_FIELDS}
    rate = totals["rows_rejected"] / totals["rows_in"] if totals["rows_in"] else 0.0
    summary = {
        "file_id": file_id, "bucket": file.get("bucket"), "key": file["key"],
        "version_id": file.get("version_id"), "execution_id": event.get("execution_id", ""),
        "chunk_count": chunk_count, **totals, "reject_rate": round(rate, 6),
        "processed_prefix": layout.processed_prefix, "rejected_prefix": layout.rejected_prefix,
    }
    common = {"chunk_count": chunk_count, **totals}
    if rate > deps.settings.max_reject_rate:
        cause = (f"{file['key']}: {totals['rows_rejected']} of {totals['rows_in']} rows "
                 f"rejected ({rate:.2%}), more than output.max_reject_rate "
                 f"{deps.settings.max_reject_rate:.2%}; rejected rows are under "
                 f"{layout.rejected_prefix}")
        deps.status.finish_file(file_id, FAILED, {**common, "error_name": "RejectRateExceeded",
                                                  "error_cause": cause})
        summary.update(status=FAILED, manifest_key=None, error=cause)
        _announce(deps, summary)
        logger.error("reject rate exceeded", **totals, reject_rate=rate)
        raise RejectRateExceeded(cause)
    manifest = {
        "file_id": file_id,
        "source": {"bucket": file.get("bucket"), "key": file["key"],
                   "version_id": file.get("version_id"), "size": int(file["size"]),
                   "header": list(file.get("header", [])),
                   "data_offset": int(file["data_offset"])},
        "schema_sha256": schema_sha256(deps.schema),
        "output_format": deps.settings.output_format,
        "counts": totals,
        "chunk_count": chunk_count,
        "parts": parts,
        "processed_prefix": layout.processed_prefix,
        "rejected_prefix": layout.rejected_prefix,
        "execution_id": event.get("execution_id", ""),
        "committed_at": utc_now_text(),
    }
    deps.objects.put_bytes(layout.manifest_key,
                           json.dumps(manifest, indent=2, sort_keys=True).encode("utf-8"),
                           "application/json")
    deps.status.finish_file(file_id, COMPLETED, {**common,
                                                 "manifest_key": layout.manifest_key})
    summary.update(status=COMPLETED, manifest_key=layout.manifest_key)
    _announce(deps, summary)
    logger.info("file completed", **totals, chunk_count=chunk_count)
    return summary


def _announce(deps: Deps, summary: dict) -> None:
    if deps.queue is not None:
        deps.queue.send(summary)


def lambda_handler(event: dict, context: Any) -> dict:
    return handle(event, container_deps())
