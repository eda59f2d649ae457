"""Measures the process step against raw pyarrow parsing and per-row jsonschema, and the
split planner's bytes read per chunk. One command:

    python -m benchmarks.run [--size-mb 50]

Everything printed is measured in this run (nothing is copied from elsewhere).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.generate import generate  # noqa: E402

DATA = ROOT / "benchmarks" / ".data"
SCHEMA_FILE = ROOT / "schemas" / "transactions.schema.json"
MIB = 1024 * 1024


def environment(chunk_bytes: int) -> dict[str, str]:
    return {"PIPELINE_NAME": "bench", "CHUNK_SIZE_MB": "64", "CHUNK_SIZE_BYTES": str(chunk_bytes),
            "MAX_CHUNKS": "2000", "CSV_DELIMITER": ",", "CSV_ENCODING": "utf-8",
            "INCOMING_PREFIX": "incoming/", "PROCESSED_PREFIX": "processed/",
            "REJECTED_PREFIX": "rejected/", "OUTPUT_FORMAT": "parquet",
            "MAX_REJECT_RATE": "1", "STATUS_TTL_DAYS": "1", "METRICS_NAMESPACE": "bench",
            "SCHEMA_FILE": str(SCHEMA_FILE)}


def process_child(csv_path: str) -> None:
    """Runs in a fresh interpreter: one process-step call over the whole file as one chunk."""
    from handlers import process
    from handlers.deps import Deps
    from handlers.file_head import inspect_head
    from handlers.metrics import CollectingMetrics
    from handlers.objects import LocalObjectStore
    from handlers.schema_file import load_schema
    from handlers.settings import Settings
    from handlers.status import SqliteStatusStore

    path = Path(csv_path)
    size = path.stat().st_size
    with tempfile.TemporaryDirectory() as work:
        bucket = Path(work) / "bucket"
        (bucket / "incoming").mkdir(parents=True)
        os.link(path, bucket / "incoming" / "tx.csv")
        settings = Settings.from_env(environment(size))
        schema = load_schema(str(SCHEMA_FILE))
        deps = Deps(settings=settings, objects=LocalObjectStore(bucket),
                    status=SqliteStatusStore(Path(work) / "status.sqlite"), queue=None,
                    metrics=CollectingMetrics(), schema=schema)
        with path.open("rb") as handle:
            head = inspect_head(lambda s, e: (handle.seek(s), handle.read(e - s))[1], size,
                                key="tx.csv", delimiter=",", encoding="utf-8",
                                columns=list(schema["properties"]), required=schema["required"])
        file = {"file_id": "incoming/tx.csv#bench", "bucket": "bench", "key": "incoming/tx.csv",
                "version_id": "bench", "size": size, "header": head.header,
                "data_offset": head.data_offset, "status": "RUNNING"}
        chunk = {"index": 0, "start": head.data_offset, "end": size}
        started = time.perf_counter()
        result = process.handle({"file": file, "chunk": chunk}, deps)
        elapsed = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": elapsed, "bytes": size - head.data_offset,
                      "peak_rss_mib": peak_kib / 1024, **result}))


def measure_process(path: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    reply = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--process-child",
                            str(path)], capture_output=True, text=True, env=env, check=True)
    return json.loads(reply.stdout.strip().splitlines()[-1])


def measure_raw_parse(data: bytes, header: list[str]) -> float:
    import pyarrow as pa
    import pyarrow.csv as pv

    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        pv.read_csv(pa.py_buffer(data),
                    read_options=pv.ReadOptions(column_names=header),
                    parse_options=pv.ParseOptions(newlines_in_values=True,
                                                  invalid_row_handler=lambda row: "skip"),
                    convert_options=pv.ConvertOptions(
                        column_types={name: pa.string() for name in header},
                        strings_can_be_null=False))
        best = min(best, time.perf_counter() - started)
    return len(data) / best / MIB


def measure_jsonschema(data: bytes, header: list[str]) -> float:
    """Per-row jsonschema (Decimal numbers, strict dates) on a slice of the data."""
    sys.path.insert(0, str(ROOT / "tests" / "handlers"))
    from handler_oracle import Oracle

    schema = json.loads(SCHEMA_FILE.read_text(), parse_float=Decimal)
    oracle = Oracle(schema)
    text = data.decode("utf-8")
    started = time.perf_counter()
    for fields in csv.reader(io.StringIO(text, newline="")):
        if len(fields) == len(header):
            oracle.failing_fields(dict(zip(header, fields, strict=True)))
    return len(data) / (time.perf_counter() - started) / MIB


def measure_split(sample: bytes, total: int, chunk_size: int) -> dict:
    """Plan a synthetic object of `total` bytes that repeats `sample` (never written to disk)."""
    from handlers.chunk_plan import plan_chunks

    header_end = sample.index(b"\n") + 1
    body = sample[header_end:sample.rindex(b"\nTX") + 1]

    def read(start: int, end: int) -> bytes:
        out = bytearray()
        position = start
        while position < end:
            if position < header_end:
                piece = sample[position:min(end, header_end)]
            else:
                offset = (position - header_end) % len(body)
                piece = body[offset:offset + (end - position)]
            out += piece
            position += len(piece)
        return bytes(out)

    started = time.perf_counter()
    plan = plan_chunks(read, header_end, total, chunk_size, 2000, ",")
    return {"chunks": len(plan.ranges), "bytes_read": plan.bytes_read, "exact": plan.exact,
            "per_chunk_kib": plan.bytes_read / len(plan.ranges) / 1024,
            "seconds": time.perf_counter() - started, "assumed_cuts": plan.assumed_cuts}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, default=50.0)
    parser.add_argument("--slice-mb", type=float, default=2.0,
                        help="size of the slice validated row by row with jsonschema")
    parser.add_argument("--process-child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.process_child:
        process_child(args.process_child)
        return 0

    path = generate(DATA / f"transactions-{args.size_mb:g}mb.csv", args.size_mb)
    data = path.read_bytes()
    header_end = data.index(b"\n") + 1
    header = data[:header_end].decode().strip().split(",")
    body = data[header_end:]
    print(f"file: {path} ({len(data) / MIB:.1f} MiB), cores: {os.cpu_count()}")

    proc = measure_process(path)
    process_mbs = proc["bytes"] / proc["seconds"] / MIB
    raw_mbs = measure_raw_parse(body, header)
    cut = body.index(b"\nTX", int(args.slice_mb * MIB)) + 1
    schema_mbs = measure_jsonschema(body[:cut], header)
    print(f"process step (one {proc['bytes'] / MIB:.1f} MiB chunk, fresh process): "
          f"{process_mbs:.0f} MB/s, {proc['seconds']:.2f} s, peak RSS "
          f"{proc['peak_rss_mib']:.0f} MiB; rows in {proc['rows_in']}, valid "
          f"{proc['rows_valid']}, rejected {proc['rows_rejected']}")
    print(f"raw pyarrow.csv parse: {raw_mbs:.0f} MB/s")
    print(f"per-row jsonschema ({cut / MIB:.1f} MiB slice): {schema_mbs:.2f} MB/s")
    print(f"ratios: process / jsonschema = {process_mbs / schema_mbs:.0f}x, "
          f"raw parse / process = {raw_mbs / process_mbs:.2f}x")
    for chunk_mb in (64, 8):
        split = measure_split(data[: min(len(data), 8 * MIB)], 1 << 30, chunk_mb * MIB)
        print(f"split plan of a 1 GiB object, {chunk_mb} MiB chunks: {split['chunks']} chunks, "
              f"{split['bytes_read']} bytes read ({split['per_chunk_kib']:.1f} KiB per chunk), "
              f"{'exact' if split['exact'] else 'fast'} plan, {split['seconds']:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
