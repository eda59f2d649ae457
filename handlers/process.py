"""Step 3 (one call per chunk): parse, validate, coerce, stage valid and rejected rows.

A chunk already SUCCEEDED over the same byte range under the same identity (code, schema,
CSV dialect, output format: `handlers.identity`) is not redone while its staged parts are
still there: its recorded counts come back unchanged. Anything else is new work. Parts are
staged under keys fixed per identity, chunk and range, so a retry overwrites instead of
adding; nothing is written under the output prefixes (finalize publishes at commit).

A chunk the plan flagged `oversized` is one record larger than this function can hold: it
is rejected without being loaded (`handlers.oversized`) and staged like any other chunk.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, Protocol

import pyarrow as pa

from handlers.chunk_outputs import PartitionedRows, write_rejects
from handlers.chunk_parse import parse_chunk, raw_text
from handlers.deps import Deps
from handlers.errors import CountMismatch
from handlers.events import ChunkCounts, FileRecord, ProcessEvent
from handlers.identity import run_identity
from handlers.layout import OutputLayout
from handlers.lineage import CONSTANT_COLUMNS, Lineage, output_schema
from handlers.logs import log
from handlers.memory import tune_allocator
from handlers.metrics import Reason
from handlers.objects import Reader, source_reader
from handlers.oversized import oversized_reject
from handlers.partitions import PartitionBy, ingest_day
from handlers.row_validator import RowValidator, compiled_validator, warm_up
from handlers.runtime import container_deps
from handlers.status import COMPLETED, COUNT_FIELDS

tune_allocator()
warm_up()


PIECE_MIN_BYTES = 4 * 1024 * 1024
PIECE_TARGET_BYTES = 7 * 1024 * 1024
PIECES = max(1, min(4, os.cpu_count() or 1))
_PIECE_POOL = ThreadPoolExecutor(max_workers=PIECES, thread_name_prefix="chunk-piece")
_QUOTE = b'"'
RECORD_RULE = "record"
"""The `kind` of a reject whose record is malformed (wrong number of fields, a quote never
closed)."""


class RowSink(Protocol):
    """Where valid rows go, piece by piece in row order."""

    def write(self, table: pa.Table) -> None: ...

    def restart(self) -> None: ...


@dataclass
class ChunkResult:
    rows_in: int
    rows_valid: int
    rows_rejected: int
    valid_table: Any  # None when the rows went to a sink
    rejects: list[dict[str, Any]]
    dictionary_columns: list[str]


def process_bytes(data: bytes, start: int, header: list[str], validator: RowValidator, *,
                  delimiter: str, encoding: str, label: str, at_end_of_file: bool,
                  sink: RowSink | None = None, lineage: Lineage | None = None) -> ChunkResult:
    """The chunk's verdict; `start` is the chunk's offset in the source object. With
    `lineage`, the valid rows carry the lineage columns (`handlers.lineage`), each row's
    `_source_offset` taken from the record scan's row starts (no per-row Python).

    A large chunk is cut on record boundaries into pieces of a few MiB, parsed and checked
    on one thread per core (pyarrow and numpy release the GIL) while this thread hands
    the finished pieces, in order, to `sink` (or joins them into one table without one).
    Small pieces keep the peak of memory low and leave little work after the last check.
    Any error in a piece sends the whole chunk down the one-piece path, so errors read
    exactly as for an uncut chunk.
    """
    cuts = _piece_cuts(data, _piece_count(len(data)))
    if len(cuts) > 2:
        view = memoryview(data)
        jobs = [_PIECE_POOL.submit(_piece, view[a:b], a, start, header, validator,
                                   delimiter=delimiter, encoding=encoding, label=label,
                                   at_end_of_file=at_end_of_file and b == len(data),
                                   lineage=lineage)
                for a, b in pairwise(cuts)]
        pieces: list[_Piece] = []
        failed = False
        try:
            for job in jobs:
                try:
                    piece = job.result()
                except Exception:  # redone whole below, which raises the real error
                    failed = True
                    break
                _deliver(piece, sink)
                pieces.append(piece)
        finally:
            if failed or len(pieces) < len(jobs):  # no piece left running
                for job in jobs:
                    job.cancel()
                wait(jobs)
        if not failed:
            return _joined(pieces, start, validator, label, sink)
        if sink is not None:
            sink.restart()
    whole = _piece(data, 0, start, header, validator, delimiter=delimiter, encoding=encoding,
                   label=label, at_end_of_file=at_end_of_file, parallel=True, lineage=lineage)
    _deliver(whole, sink)
    return _joined([whole], start, validator, label, sink)


def _piece_count(size: int) -> int:
    if size < 2 * PIECE_MIN_BYTES:
        return 1
    return max(PIECES, -(-size // PIECE_TARGET_BYTES))


def _deliver(piece: _Piece, sink: RowSink | None) -> None:
    if sink is not None:
        sink.write(piece.typed)
        piece.typed = None  # written: let its memory go


@dataclass
class _Piece:
    rows_in: int
    rows_valid: int
    typed: Any  # None once handed to a sink
    typed_rows: int
    rejects: list[tuple[int, dict[str, Any]]]  # (offset in the chunk, reject)


def _piece(data: bytes | memoryview, offset: int, start: int, header: list[str],
           validator: RowValidator, *, delimiter: str, encoding: str, label: str,
           at_end_of_file: bool, parallel: bool = False,
           lineage: Lineage | None = None) -> _Piece:
    """One run of whole records; `offset` is where it sits in the chunk, `start` where the
    chunk sits in the source object (messages name source offsets)."""
    parsed = parse_chunk(data, header, delimiter, encoding, base_offset=start + offset,
                         label=label, at_end_of_file=at_end_of_file)
    verdict = validator.validate(parsed.table, parallel=parallel)
    rejects: list[tuple[int, dict[str, Any]]] = []
    expected = len(header)
    for begin, stop, fields in zip(parsed.ragged_starts.tolist(), parsed.ragged_stops.tolist(),
                                   parsed.ragged_fields.tolist(), strict=True):
        rejects.append((offset + begin, {
            "raw": raw_text(data, begin, stop, encoding),
            "errors": [{"field": None, "kind": RECORD_RULE,
                        "message": f"row has {fields} field{'s' if fields != 1 else ''}, "
                                   f"expected {expected}"}]}))
    unclosed = parsed.open_record
    if unclosed is not None:
        rejects.append((offset + unclosed.start, {
            "raw": raw_text(data, unclosed.start, unclosed.stop, encoding),
            "errors": [{"field": None, "kind": RECORD_RULE,
                        "message": unclosed.message(start + offset)}]}))
    for row, errors in verdict.reasons(parsed.table):
        begin, stop = int(parsed.row_starts[row]), int(parsed.row_stops[row])
        rejects.append((offset + begin, {"raw": raw_text(data, begin, stop, encoding),
                                         "errors": errors}))
    rejects.sort(key=lambda pair: pair[0])
    typed = verdict.typed
    if lineage is not None:
        typed = lineage.add_columns(typed, start + offset + parsed.row_starts[verdict.valid])
    return _Piece(rows_in=parsed.rows_in, rows_valid=verdict.rows_valid, typed=typed,
                  typed_rows=typed.num_rows, rejects=rejects)


def _joined(pieces: list[_Piece], start: int, validator: RowValidator, label: str,
            sink: RowSink | None) -> ChunkResult:
    rows_in = sum(piece.rows_in for piece in pieces)
    rows_valid = sum(piece.rows_valid for piece in pieces)
    rejects = [{"offset": start + at, **reject}
               for piece in pieces for at, reject in piece.rejects]
    typed = None if sink is not None else pieces[0].typed if len(pieces) == 1 else \
        pa.concat_tables([piece.typed for piece in pieces])
    typed_rows = sum(piece.typed_rows for piece in pieces)
    if rows_in != rows_valid + len(rejects) or typed_rows != rows_valid:
        raise CountMismatch(f"{label}: {rows_in} rows in but {rows_valid} valid and "
                            f"{len(rejects)} rejected")
    return ChunkResult(rows_in=rows_in, rows_valid=rows_valid, rows_rejected=len(rejects),
                       valid_table=typed, rejects=rejects,
                       dictionary_columns=validator.dictionary_columns)


def _piece_cuts(data: bytes, pieces: int) -> list[int]:
    """[0, cut..., len(data)]: each cut just past a line feed with an even number of quotes
    before it, so most likely a record boundary (the piece's own scan makes sure)."""
    cuts = [0]
    quotes, counted_to = 0, 0  # a running count: marks only move forward
    for k in range(1, pieces):
        mark = max(cuts[-1], len(data) * k // pieces)
        for _attempt in range(64):
            newline = data.find(b"\n", mark)
            if newline < 0 or newline + 1 >= len(data):
                break
            mark = newline + 1
            quotes += data.count(_QUOTE, counted_to, mark)
            counted_to = mark
            if quotes % 2 == 0:
                cuts.append(mark)
                break
    cuts.append(len(data))
    return cuts


def _counts(item: Mapping[str, Any], index: int) -> dict[str, int]:
    """The result: the counts a chunk's status item records."""
    rows_in, rows_valid, rows_rejected = (int(item.get(name, 0)) for name in COUNT_FIELDS)
    return ChunkCounts(index=index, rows_in=rows_in, rows_valid=rows_valid,
                       rows_rejected=rows_rejected).to_event()


def handle(event: dict[str, Any], deps: Deps) -> dict[str, Any]:
    request = ProcessEvent.from_event(event)
    file, chunk = request.file, request.chunk
    index, start, end = chunk.index, chunk.start, chunk.end
    key, version_id = file.key, file.version_id
    file_id = file.file_id
    logger = log.bind(step="process", file_id=file_id, chunk=index)
    identity = run_identity(deps.settings, deps.schema)
    identity.check(file)
    layout = OutputLayout.of(deps.settings, key, version_id)
    item, started = deps.status.start_chunk(file_id, index, start, end, identity.chunks)
    if not started and not _reusable(deps, layout, identity.short, item, file) and \
            not _committed(deps, file_id, identity.file):
        logger.info("chunk succeeded before but its staged parts are gone or carry another "
                    "ingest: redoing it")
        item, started = deps.status.start_chunk(file_id, index, start, end, identity.chunks,
                                                redo=True)
    if not started:
        logger.info("chunk already succeeded: nothing to do", **_counts(item, index))
        return _counts(item, index)
    try:
        settings = deps.settings
        validator = compiled_validator(deps.schema)
        partition_by = PartitionBy.parse(settings.partition_by)
        partition_by.check(validator.output_schema)
        lineage = Lineage.of(key, version_id, file.ingested_at) if settings.lineage else None
        with PartitionedRows(settings.output_format,
                             output_schema(validator.output_schema, settings.lineage),
                             validator.dictionary_columns
                             + (CONSTANT_COLUMNS if settings.lineage else []), partition_by,
                             ingest_day(file.ingested_at)) as valid_rows:
            run = _run_oversized if chunk.oversized else _run
            result = run(deps, file, index, start, end, validator, valid_rows, lineage)
            partitions = valid_rows.upload(
                deps.objects,
                lambda value: layout.staged_output_key(identity.short, index, start, end,
                                                       value))
            if valid_rows.rows != result.rows_valid:
                raise CountMismatch(f"{key} chunk {index}: {result.rows_valid} valid rows but "
                                    f"{valid_rows.rows} written")
        staged_rejected = ""
        if result.rejects:
            staged_rejected = layout.staged_rejected_key(identity.short, index, start, end)
            write_rejects(deps.objects, staged_rejected, result.rejects,
                          lineage.reject_fields() if lineage else None)
        reasons = reason_counts(result.rejects)
        counts = {"rows_in": result.rows_in, "rows_valid": result.rows_valid,
                  "rows_rejected": result.rows_rejected}
        item, changed = deps.status.complete_chunk(file_id, index, start, end, identity.chunks, {
            **counts, "ingested_at": file.ingested_at, "partitions": partitions,
            "reasons": [list(reason) for reason in reasons],
            "staged_rejected_key": staged_rejected})
    except Exception as error:
        deps.status.fail_chunk(file_id, index, type(error).__name__, str(error))
        raise
    if changed:
        deps.metrics.put_counts({"RowsIn": counts["rows_in"], "RowsValid": counts["rows_valid"],
                                 "RowsRejected": counts["rows_rejected"]})
        deps.metrics.put_rejections(reasons)
    logger.info("chunk processed", bytes=end - start, recorded=changed,
                partitions=len(partitions), **_counts(item, index))
    return _counts(item, index)


def reason_counts(rejects: list[dict[str, Any]]) -> list[Reason]:
    """(field, kind, rejected rows) per reason, most rows first; a row counts once under
    each (field, kind) among its errors."""
    counted: Counter[tuple[str | None, str]] = Counter()
    for reject in rejects:
        counted.update({(error.get("field"), str(error.get("kind")))
                        for error in reject["errors"]})
    return [(field, kind, rows) for (field, kind), rows in
            sorted(counted.items(), key=lambda pair: (-pair[1], str(pair[0][0]), pair[0][1]))]


def _committed(deps: Deps, file_id: str, identity: str) -> bool:
    """The file is committed under this identity: its chunks' parts are published (and
    their staged copies removed), so a late call has nothing to redo."""
    item = deps.status.get_file(file_id) or {}
    return item.get("status") == COMPLETED and item.get("identity") == identity


def _reusable(deps: Deps, layout: OutputLayout, identity: str, item: Mapping[str, Any],
              file: FileRecord) -> bool:
    """The chunk's staged parts are all there and carry this ingest's lineage."""
    partitions = item.get("partitions")
    if not isinstance(partitions, list) or item.get("ingested_at") != file.ingested_at:
        return False
    index, start, end = int(item["index"]), int(item["start"]), int(item["end"])
    keys = [layout.staged_output_key(identity, index, start, end, str(value))
            for value in partitions]
    if item.get("staged_rejected_key"):
        keys.append(str(item["staged_rejected_key"]))
    return all(deps.objects.exists(key) for key in keys)


def _reader(deps: Deps, file: FileRecord) -> Reader:
    """Ranged reads of the planned object version, which must still hold those bytes."""
    return source_reader(deps.objects, file.key, file.version_id)


def _run_oversized(deps: Deps, file: FileRecord, index: int, start: int, end: int,
                   validator: RowValidator, sink: RowSink,
                   lineage: Lineage | None) -> ChunkResult:
    """One record too large to load: one rejected row, no valid row (the staged output
    holds the columns only)."""
    reject = oversized_reject(_reader(deps, file), start, end, deps.settings)
    log.bind(step="process", file_id=file.file_id, chunk=index).warning(
        "record too large to load: rejected", bytes=end - start,
        reason=reject["errors"][0]["message"])
    return ChunkResult(rows_in=1, rows_valid=0, rows_rejected=1, valid_table=None,
                       rejects=[reject], dictionary_columns=validator.dictionary_columns)


def _run(deps: Deps, file: FileRecord, index: int, start: int, end: int,
         validator: RowValidator, sink: RowSink, lineage: Lineage | None) -> ChunkResult:
    key = file.key
    data = _reader(deps, file)(start, end)
    return process_bytes(data, start, list(file.header), validator,
                         delimiter=deps.settings.csv_delimiter,
                         encoding=deps.settings.csv_encoding,
                         label=f"{key} chunk {index} (bytes {start}-{end})",
                         at_end_of_file=end >= file.size, sink=sink, lineage=lineage)


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, container_deps())

