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

import json
import threading
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from queue import SimpleQueue
from typing import Any, Protocol

import numpy as np
import pyarrow as pa

from handlers import csv_scan
from handlers.arriving import ArrivingBytes
from handlers.chunk_outputs import PartitionedRows
from handlers.chunk_parse import parse_chunk
from handlers.cores import usable_cores
from handlers.deps import Deps
from handlers.errors import CountMismatch
from handlers.events import ChunkCounts, FileRecord, ProcessEvent
from handlers.identity import run_identity
from handlers.in_order import InOrderWrites
from handlers.layout import OutputLayout
from handlers.lineage import Lineage, output_schema
from handlers.logs import log
from handlers.memory import tune_allocator
from handlers.metrics import Reason, ReasonKey
from handlers.objects import Reader, source_filler, source_reader
from handlers.oversized import OVERSIZED_RULE, oversized_reject
from handlers.partitions import PartitionBy, ingest_day
from handlers.reject_lines import Emit, PieceRejects, line_bytes
from handlers.row_validator import RowValidator, compiled_validator, warm_up
from handlers.runtime import container_deps
from handlers.status import COMPLETED, COUNT_FIELDS

tune_allocator()
warm_up()


PIECE_MIN_BYTES = 4 * 1024 * 1024
PIECE_TARGET_BYTES = 7 * 1024 * 1024
PIECES = min(4, usable_cores())
"""Pieces checked side by side when the settings do not say (`process_threads`): one per
core of a Lambda container, at most 4."""
_PIECE_POOLS: dict[int, ThreadPoolExecutor] = {}
_CUT_POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chunk-cut")
_QUOTE = b'"'
REJECTED_CONTENT_TYPE = "application/x-ndjson"
RECORD_RULE = "record"
"""The `kind` of a reject whose record is malformed (wrong number of fields, a quote never
closed)."""


class RowSink(Protocol):
    """Where valid rows go, piece by piece in row order."""

    def write(self, table: pa.Table) -> None: ...

    def restart(self) -> None: ...


class RejectSink(Protocol):
    """Where rejected rows' JSON lines go, in offset order, batch by batch."""

    def write(self, data: bytes | memoryview) -> None: ...

    def restart(self) -> None: ...


class CollectedLines:
    """Rejected lines held in memory (tests, and callers without a sink)."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data: bytes | memoryview) -> None:
        if len(data):
            self.parts.append(bytes(data))

    def restart(self) -> None:
        self.parts.clear()

    def data(self) -> bytes:
        return b"".join(self.parts)


@dataclass
class ChunkResult:
    rows_in: int
    rows_valid: int
    rows_rejected: int
    valid_table: Any  # None when the rows went to a sink
    reasons: list[Reason]
    dictionary_columns: list[str]
    lines: bytes | None = None  # the rejected lines, when no sink took them

    @property
    def rejects(self) -> list[dict[str, Any]]:
        """The rejected rows decoded (for callers that kept the lines)."""
        return [json.loads(line) for line in (self.lines or b"").split(b"\n") if line]


def process_bytes(data: bytes | bytearray, start: int, header: list[str],
                  validator: RowValidator, *, delimiter: str, encoding: str, label: str,
                  at_end_of_file: bool, sink: RowSink | None = None,
                  lineage: Lineage | None = None, rejects: RejectSink | None = None,
                  ready: Ready | None = None, threads: int = 0) -> ChunkResult:
    """The chunk's verdict; `start` is the chunk's offset in the source object. With
    `lineage`, the valid rows carry the lineage columns (`handlers.lineage`), each row's
    `_source_offset` taken from the record scan's row starts (no per-row Python).

    A large chunk is cut on record boundaries into pieces of a few MiB, parsed and checked
    on one thread per core (pyarrow and numpy release the GIL); those threads also hand
    the finished pieces' valid rows to `sink`, in piece order (`handlers.in_order`).
    Without a sink this thread joins them into one table. Small pieces keep the peak of
    memory low and leave little work after the last check.
    Any error in a piece sends the whole chunk down the one-piece path, so errors read
    exactly as for an uncut chunk.

    Rejected rows go to `rejects` as JSON lines in offset order (held in the result's
    `lines` without one): each piece builds them in batches on its own thread, and this
    thread writes them piece by piece, so at most a few batches wait at any time.

    `ready(n)` returns once data[:n] is there (`handlers.arriving`: the chunk is still being
    read): each piece starts as soon as its bytes are in; without it, all of them are.
    `threads`: pieces checked at once (0: `PIECES`).
    """
    collected = CollectedLines() if rejects is None else None
    out: RejectSink = collected if collected is not None else rejects  # type: ignore[assignment]
    extra = lineage.reject_fields() if lineage is not None else None
    ready = ready or _all_there
    threads = threads or PIECES
    pool = _piece_pool(threads)
    marks = _piece_marks(len(data), _piece_shares(len(data), threads))
    if marks:
        view = memoryview(data)
        submitted: SimpleQueue[tuple[_Batches, Future[_Piece]] | None] = SimpleQueue()
        stop = threading.Event()
        writes = InOrderWrites(sink) if sink is not None else None

        def submit_pieces() -> None:
            """Each piece handed to the pool as soon as its cut is found in the bytes that
            are there; None last, also after an error (raised by `cutting.result()`)."""
            try:
                previous = 0
                for number, cut in enumerate(_arriving_cuts(data, marks, ready)):
                    if stop.is_set():
                        break
                    channel = _Batches()
                    submitted.put((channel, pool.submit(
                        _piece_job, channel, writes, number, view[previous:cut], previous,
                        start, header,
                        validator, delimiter=delimiter, encoding=encoding, label=label,
                        at_end_of_file=at_end_of_file and cut == len(data),
                        lineage=lineage, extra=extra)))
                    previous = cut
            finally:
                submitted.put(None)

        cutting = _CUT_POOL.submit(submit_pieces)
        jobs: list[tuple[_Batches, Future[_Piece]]] = []
        pieces: list[_Piece] = []
        failed = False
        try:
            while (item := submitted.get()) is not None:
                jobs.append(item)
                channel, job = item
                channel.drain(out.write)
                try:
                    piece = job.result()
                except Exception:  # redone whole below, which raises the real error
                    failed = True
                    break
                pieces.append(piece)  # its valid rows written by the piece threads
        finally:
            if failed or item is not None:  # stopped early: no piece left running
                stop.set()
                while (item := submitted.get()) is not None:
                    jobs.append(item)
                for channel, job in jobs:
                    channel.close()
                    job.cancel()
                wait([job for _, job in jobs])
        cutting.result()  # a read that failed: its error, not a piece's
        if not failed:
            return _joined(pieces, validator, label, sink, collected)
        if sink is not None:
            sink.restart()
        out.restart()
    ready(len(data))
    whole = _piece(memoryview(data), 0, start, header, validator, delimiter=delimiter,
                   encoding=encoding, label=label, at_end_of_file=at_end_of_file,
                   parallel=threads > 1, lineage=lineage, emit=out.write, extra=extra)
    _deliver(whole, sink)
    return _joined([whole], validator, label, sink, collected)


Ready = Callable[[int], None]


def _all_there(_upto: int) -> None:
    """The whole chunk is in memory already."""


class _Cancelled(Exception):
    """The chunk stopped waiting for this piece's lines."""


class _Batches:
    """One piece's line batches on their way from its thread to the writing thread: the
    piece waits while `LIMIT` bytes are queued, so a piece far ahead holds little."""

    LIMIT = 16 * 1024 * 1024

    def __init__(self) -> None:
        self._items: deque[memoryview] = deque()
        self._size = 0
        self._finished = self._closed = False
        self._changed = threading.Condition()

    def put(self, data: memoryview) -> None:
        with self._changed:
            while self._items and self._size >= self.LIMIT and not self._closed:
                self._changed.wait()
            if self._closed:
                raise _Cancelled
            self._items.append(data)
            self._size += len(data)
            self._changed.notify_all()

    def finish(self) -> None:
        with self._changed:
            self._finished = True
            self._changed.notify_all()

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._items.clear()
            self._changed.notify_all()

    def drain(self, write: Emit) -> None:
        """Write every batch until the piece is done."""
        while True:
            with self._changed:
                while not self._items and not self._finished:
                    self._changed.wait()
                if not self._items:
                    return
                data = self._items.popleft()
                self._size -= len(data)
                self._changed.notify_all()
            write(data)


def _piece_job(channel: _Batches, writes: InOrderWrites | None, number: int, *args: Any,
               **kwargs: Any) -> _Piece:
    """Piece `number`, its lines sent to `channel` and its valid rows to `writes` (in
    piece order, `handlers.in_order`)."""
    try:
        piece = _piece(*args, emit=channel.put, **kwargs)
    finally:
        channel.finish()
    if writes is not None:
        typed, piece.typed = piece.typed, None  # let its memory go once written
        writes.finished(number, typed)
    return piece


def _piece_pool(threads: int) -> ThreadPoolExecutor:
    """The threads pieces are checked on, one pool per size (a container uses one)."""
    pool = _PIECE_POOLS.get(threads)
    if pool is None:
        pool = _PIECE_POOLS.setdefault(threads, ThreadPoolExecutor(
            max_workers=threads, thread_name_prefix="chunk-piece"))
    return pool


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
    rows_rejected: int
    reasons: Counter[ReasonKey] = field(default_factory=Counter)


def _piece(data: bytes | memoryview, offset: int, start: int, header: list[str],
           validator: RowValidator, *, delimiter: str, encoding: str, label: str,
           at_end_of_file: bool, emit: Emit, parallel: bool = False,
           lineage: Lineage | None = None, extra: dict[str, Any] | None = None) -> _Piece:
    """One run of whole records; `offset` is where it sits in the chunk, `start` where the
    chunk sits in the source object (messages name source offsets). Its rejected lines go
    to `emit`, in offset order."""
    base = start + offset
    parsed = parse_chunk(data, header, delimiter, encoding, base_offset=base,
                         label=label, at_end_of_file=at_end_of_file)
    verdict = validator.validate(parsed.table, parallel=parallel)
    unclosed = parsed.open_record
    rejected = PieceRejects(
        data=data, parsed=parsed, invalid=np.flatnonzero(~verdict.valid),
        failures=verdict.failures, expected_fields=len(header), encoding=encoding, base=base,
        record_rule=RECORD_RULE,
        unclosed_message=unclosed.message(base) if unclosed is not None else None)
    reasons = rejected.write(emit, extra)
    typed = verdict.typed
    if lineage is not None:
        typed = lineage.add_columns(typed, base + parsed.row_starts[verdict.valid])
    return _Piece(rows_in=parsed.rows_in, rows_valid=verdict.rows_valid, typed=typed,
                  typed_rows=typed.num_rows, rows_rejected=rejected.count, reasons=reasons)


def _joined(pieces: list[_Piece], validator: RowValidator, label: str,
            sink: RowSink | None, collected: CollectedLines | None) -> ChunkResult:
    rows_in = sum(piece.rows_in for piece in pieces)
    rows_valid = sum(piece.rows_valid for piece in pieces)
    rows_rejected = sum(piece.rows_rejected for piece in pieces)
    reasons: Counter[ReasonKey] = Counter()
    for piece in pieces:
        reasons.update(piece.reasons)
    typed = None if sink is not None else pieces[0].typed if len(pieces) == 1 else \
        pa.concat_tables([piece.typed for piece in pieces])
    typed_rows = sum(piece.typed_rows for piece in pieces)
    if rows_in != rows_valid + rows_rejected or typed_rows != rows_valid:
        raise CountMismatch(f"{label}: {rows_in} rows in but {rows_valid} valid and "
                            f"{rows_rejected} rejected")
    return ChunkResult(rows_in=rows_in, rows_valid=rows_valid, rows_rejected=rows_rejected,
                       valid_table=typed, reasons=sorted_reasons(reasons),
                       dictionary_columns=validator.dictionary_columns,
                       lines=collected.data() if collected is not None else None)


TAIL_SHARE = 0.25
"""The last pieces' size next to the others', one such piece per thread: each thread ends
on a small one, so the threads finish close together and little work is left once the
other threads are done."""


def _piece_shares(size: int, threads: int) -> list[float]:
    """Relative sizes of a chunk's pieces, in order: a whole number of full pieces per
    thread (at most `PIECE_TARGET_BYTES` each), then one `TAIL_SHARE` piece per thread.
    With 9 full pieces and one small one, two threads ended 5 against 4.25 pieces apart."""
    if size < 2 * PIECE_MIN_BYTES:
        return [1.0]
    rounds = max(1, -(-size // (PIECE_TARGET_BYTES * threads)))
    return [1.0] * (rounds * threads) + [TAIL_SHARE] * threads


def _piece_marks(size: int, shares: list[float]) -> list[int]:
    """Nominal cut positions between pieces of these relative sizes."""
    whole = sum(shares)
    marks, reached = [], 0.0
    for share in shares[:-1]:
        reached += share
        marks.append(min(size, int(size * reached / whole)))
    return marks


def _arriving_cuts(data: bytes | bytearray, marks: list[int], ready: Ready) -> Iterator[int]:
    """Each cut after 0, then len(data): each just past a line feed with an even number of
    quotes before it, so most likely a record boundary (the piece's own scan makes sure);
    `marks` are the nominal cuts, ascending. A cut is given as soon as the bytes up to it
    are there (`ready`), so its piece can start while later bytes are still being read.

    The quotes are counted once, moving forward: up to each nominal mark (numpy), then over
    the few lines to the next line feed with an even count."""
    size = len(data)
    arr = csv_scan.as_array(data)
    quotes, counted_to, previous = 0, 0, 0
    for nominal in marks:
        if counted_to <= nominal:
            ready(nominal)
            quotes += csv_scan.count_of(arr[counted_to:nominal], csv_scan.QUOTE)
            counted_to = nominal
        mark = max(previous, nominal)
        for _attempt in range(64):
            newline = _next_line_feed(data, mark, ready)
            if newline < 0 or newline + 1 >= size:
                break
            mark = newline + 1
            quotes += data.count(_QUOTE, counted_to, mark)
            counted_to = mark
            if quotes % 2 == 0:
                yield mark
                previous = mark
                break
    ready(size)
    yield size


LOOK_AHEAD = 1 << 20


def _next_line_feed(data: bytes | bytearray, start: int, ready: Ready) -> int:
    """Position of the first LF at or after `start` (-1 if none), looking only at bytes
    that are there."""
    size, look = len(data), LOOK_AHEAD
    while True:
        stop = min(size, start + look)
        ready(stop)
        found = data.find(b"\n", start, stop)
        if found >= 0 or stop >= size:
            return found
        start, look = stop, look * 2


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
        rejected_key = layout.staged_rejected_key(identity.short, index, start, end)
        # streamed out as the pieces are checked: a chunk's rejects can be far larger than
        # the chunk (a 7-byte row can make a line of hundreds), so never held whole
        rejected = deps.objects.open_writer(rejected_key, REJECTED_CONTENT_TYPE)
        try:
            with PartitionedRows(settings.output_format,
                                 output_schema(validator.output_schema, settings.lineage),
                                 validator.dictionary_columns,
                                 partition_by, ingest_day(file.ingested_at)) as valid_rows:
                run = _run_oversized if chunk.oversized else _run
                result = run(deps, file, index, start, end, validator, valid_rows, rejected,
                             lineage)
                partitions = valid_rows.upload(
                    deps.objects,
                    lambda value: layout.staged_output_key(identity.short, index, start, end,
                                                           value))
                if valid_rows.rows != result.rows_valid:
                    raise CountMismatch(f"{key} chunk {index}: {result.rows_valid} valid rows "
                                        f"but {valid_rows.rows} written")
            written = rejected.commit()
        finally:
            rejected.abort()
        if bool(written) != bool(result.rows_rejected):
            raise CountMismatch(f"{key} chunk {index}: {result.rows_rejected} rejected rows "
                                f"but {written} bytes of them written")
        staged_rejected = rejected_key if result.rows_rejected else ""
        reasons = result.reasons
        counts = {"rows_in": result.rows_in, "rows_valid": result.rows_valid,
                  "rows_rejected": result.rows_rejected}
        item, changed = deps.status.complete_chunk(file_id, index, start, end, identity.chunks, {
            **counts, "ingested_at": file.ingested_at, "partitions": partitions,
            "reasons": [list(reason) for reason in reasons],
            "staged_rejected_key": staged_rejected})
    except Exception as error:
        deps.status.fail_chunk(file_id, index, type(error).__name__, str(error))
        raise
    logger.info("chunk processed", bytes=end - start, recorded=changed,
                partitions=len(partitions), **_counts(item, index))
    return _counts(item, index)


def sorted_reasons(counted: Mapping[ReasonKey, int]) -> list[Reason]:
    """(field, kind, rejected rows) per reason, most rows first; a row counts once under
    each (field, kind) among its errors."""
    return [(name, kind, rows) for (name, kind), rows in
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
                   validator: RowValidator, sink: RowSink, rejects: RejectSink,
                   lineage: Lineage | None) -> ChunkResult:
    """One record too large to load: one rejected row, no valid row (the staged output
    holds the columns only)."""
    reject = oversized_reject(_reader(deps, file), start, end, deps.settings)
    log.bind(step="process", file_id=file.file_id, chunk=index).warning(
        "record too large to load: rejected", bytes=end - start,
        reason=reject["errors"][0]["message"])
    rejects.write(line_bytes(reject, lineage.reject_fields() if lineage else None))
    return ChunkResult(rows_in=1, rows_valid=0, rows_rejected=1, valid_table=None,
                       reasons=[(None, OVERSIZED_RULE, 1)],
                       dictionary_columns=validator.dictionary_columns)


def _run(deps: Deps, file: FileRecord, index: int, start: int, end: int,
         validator: RowValidator, sink: RowSink, rejects: RejectSink,
         lineage: Lineage | None) -> ChunkResult:
    key = file.key
    arriving = ArrivingBytes(source_filler(deps.objects, file.key, file.version_id), start, end)
    try:
        result = process_bytes(arriving.data, start, list(file.header), validator,
                               delimiter=deps.settings.csv_delimiter,
                               encoding=deps.settings.csv_encoding,
                               label=f"{key} chunk {index} (bytes {start}-{end})",
                               at_end_of_file=end >= file.size, sink=sink, lineage=lineage,
                               rejects=rejects, ready=arriving.wait_for,
                               threads=deps.settings.process_threads)
    finally:
        arriving.close()
    arriving.recycle()
    return result


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, container_deps())

