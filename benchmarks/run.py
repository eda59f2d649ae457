"""Measures the process step against raw pyarrow parsing and per-row jsonschema, the
split planner's bytes read and time on 1 GiB files (and 10 GiB with --plan-10gb), and
(optionally) `etlgen run` end to end. One command:

    python -m benchmarks.run [--size-mb 50] [--run-mb 500] [--plan-10gb]

The process step runs in a fresh interpreter: "cold" is the first call there including the
handlers' imports (module init and warm-up), "warm" the best of the next calls (a Lambda
container handles many chunks and pays init once). Peak RSS is taken after the first call
and again after all calls.

Everything printed is measured in this run (nothing is copied from elsewhere).
"""

from __future__ import annotations

import argparse
import contextlib
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

from benchmarks.generate import generate, tiled  # noqa: E402

DATA = ROOT / "benchmarks" / ".data"
SCHEMA_FILE = ROOT / "schemas" / "transactions.schema.json"
MIB = 1024 * 1024
MB = 1_000_000  # throughput is reported in MB/s of 10^6 bytes, like `etlgen run`


def environment(chunk_bytes: int) -> dict[str, str]:
    return {"PIPELINE_NAME": "bench", "CHUNK_SIZE_MB": "64", "CHUNK_SIZE_BYTES": str(chunk_bytes),
            "MAX_CHUNKS": "2000", "CSV_DELIMITER": ",", "CSV_ENCODING": "utf-8",
            "INCOMING_PREFIX": "incoming/", "PROCESSED_PREFIX": "processed/",
            "REJECTED_PREFIX": "rejected/", "STAGING_PREFIX": "staging/",
            "OUTPUT_FORMAT": "parquet",
            "MAX_REJECT_RATE": "1", "STATUS_TTL_DAYS": "1", "METRICS_NAMESPACE": "bench",
            "SCHEMA_FILE": str(SCHEMA_FILE)}


def process_child(csv_path: str, warm_runs: int) -> None:
    """Runs in a fresh interpreter: process-step calls over the whole file as one chunk."""
    importing = time.perf_counter()
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
        imports = time.perf_counter() - importing
        started = time.perf_counter()
        result = process.handle({"file": file, "chunk": chunk_of(0, head.data_offset, size)},
                                deps)
        first = time.perf_counter() - started
        peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        warm = []
        for index in range(1, warm_runs + 1):
            started = time.perf_counter()
            again = process.handle({"file": file, "chunk": chunk_of(index, head.data_offset,
                                                                    size)}, deps)
            warm.append(time.perf_counter() - started)
            if again != {**result, "index": index}:
                raise SystemExit(f"warm run {index} gave {again}, first gave {result}")
    peak_all_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"imports": imports, "first": first, "warm": min(warm) if warm else first,
                      "bytes": size - head.data_offset, "peak_rss_mib": peak_kib / 1024,
                      "peak_rss_all_mib": peak_all_kib / 1024,
                      **result}))


def chunk_of(index: int, start: int, end: int) -> dict:
    return {"index": index, "start": start, "end": end}


def measure_process(path: Path, warm_runs: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    reply = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--process-child",
                            str(path), "--warm-runs", str(warm_runs)],
                           capture_output=True, text=True, env=env, check=True)
    return json.loads(reply.stdout.strip().splitlines()[-1])


def measure_run(size_mb: float, workers: int) -> dict:
    """`etlgen run` over a generated file in a temporary folder (deleted afterwards)."""
    from etlgen.cli import main as etlgen_main

    with tempfile.TemporaryDirectory(prefix="etlgen-bench-") as work:
        csv_path = generate(Path(work) / "transactions.csv", size_mb)
        size = csv_path.stat().st_size
        out = io.StringIO()
        started = time.perf_counter()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            code = etlgen_main(["run", str(ROOT / "pipeline.yaml"), str(csv_path),
                                "--workdir", str(Path(work) / "run"),
                                "--workers", str(workers), "--json"])
        elapsed = time.perf_counter() - started
        report = json.loads(out.getvalue())
    if code != 0:
        raise SystemExit(f"etlgen run failed: {report.get('error')}: {report.get('message')}")
    return {"bytes": size, "seconds": elapsed, "report": report}


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
    return len(data) / best / MB


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
    return len(data) / (time.perf_counter() - started) / MB


def measure_plan(path: Path, chunk_size: int, max_chunks: int = 1000) -> dict:
    """Plan a file on disk with ranged reads, as the split function reads S3 (the pipeline's
    default max_chunks, 1000)."""
    from handlers.chunk_plan import plan_chunks

    size = path.stat().st_size
    with path.open("rb") as handle:
        header_end = handle.readline().__len__()

        def read(start: int, end: int) -> bytes:
            handle.seek(start)
            return handle.read(end - start)

        started = time.perf_counter()
        plan = plan_chunks(read, header_end, size, chunk_size, max_chunks, ",")
        seconds = time.perf_counter() - started
    return {"size": size, "chunks": len(plan.ranges), "bytes_read": plan.bytes_read,
            "requests": plan.requests, "per_chunk_kib": plan.bytes_read / len(plan.ranges) / 1024,
            "seconds": seconds, "read_back": plan.proven_by_reading_back}


def plan_files(gigabytes: list[int]) -> list[tuple[str, Path]]:
    """(description, path) of the files the split plan is measured on (generated once)."""
    quoted = generate(DATA / "block-quoted-8mb.csv", 8)
    plain = generate(DATA / "block-unquoted-8mb.csv", 8, quoted=False)
    files = []
    for size in gigabytes:
        files.append((f"{size} GiB transactions (quoted merchants)",
                      tiled(DATA / f"plan-quoted-{size}gb.csv", size * 1024, quoted)))
    files.append(("1 GiB without any quote (worst case: one pass)",
                  tiled(DATA / "plan-unquoted-1gb.csv", 1024, plain)))
    files.append(("1 GiB, a 4.5 MiB quoted note (lines, no quote) every 12.5 MiB",
                  tiled(DATA / "plan-long-notes-1gb.csv", 1024, quoted, long_note_mb=4.5)))
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, default=50.0)
    parser.add_argument("--slice-mb", type=float, default=2.0,
                        help="size of the slice validated row by row with jsonschema")
    parser.add_argument("--warm-runs", type=int, default=3,
                        help="process-step calls after the first one (best is reported)")
    parser.add_argument("--run-mb", type=float, default=0.0,
                        help="also time `etlgen run` on a generated file of this size (MiB)")
    parser.add_argument("--run-workers", type=int, default=2)
    parser.add_argument("--plan-10gb", action="store_true",
                        help="also plan a 10 GiB file (written once to benchmarks/.data)")
    parser.add_argument("--process-child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.process_child:
        process_child(args.process_child, args.warm_runs)
        return 0

    path = generate(DATA / f"transactions-{args.size_mb:g}mb.csv", args.size_mb)
    data = path.read_bytes()
    header_end = data.index(b"\n") + 1
    header = data[:header_end].decode().strip().split(",")
    body = data[header_end:]
    print(f"file: {path} ({len(data) / MIB:.1f} MiB), cores: {os.cpu_count()}")

    proc = measure_process(path, args.warm_runs)
    process_mbs = proc["bytes"] / proc["warm"] / MB
    cold_mbs = proc["bytes"] / (proc["imports"] + proc["first"]) / MB
    raw_mbs = measure_raw_parse(body, header)
    cut = body.index(b"\nTX", int(args.slice_mb * MIB)) + 1
    schema_mbs = measure_jsonschema(body[:cut], header)
    print(f"process step, warm (one {proc['bytes'] / MIB:.1f} MiB chunk, best of "
          f"{args.warm_runs} calls after the first): {process_mbs:.0f} MB/s, "
          f"{proc['warm']:.2f} s; rows in {proc['rows_in']}, valid {proc['rows_valid']}, "
          f"rejected {proc['rows_rejected']}")
    print(f"process step, cold (fresh process: handlers imports {proc['imports']:.2f} s + "
          f"first call {proc['first']:.2f} s): {cold_mbs:.0f} MB/s; first call alone "
          f"{proc['bytes'] / proc['first'] / MB:.0f} MB/s; peak RSS after it "
          f"{proc['peak_rss_mib']:.0f} MiB, after all {args.warm_runs + 1} calls "
          f"{proc['peak_rss_all_mib']:.0f} MiB")
    print(f"raw pyarrow.csv parse: {raw_mbs:.0f} MB/s")
    print(f"per-row jsonschema ({cut / MIB:.1f} MiB slice): {schema_mbs:.2f} MB/s")
    print(f"ratios (warm process step): process / jsonschema = {process_mbs / schema_mbs:.0f}x, "
          f"raw parse / process = {raw_mbs / process_mbs:.2f}x")
    for description, plan_path in plan_files([1, 10] if args.plan_10gb else [1]):
        for chunk_mb in (64, 8):
            split = measure_plan(plan_path, chunk_mb * MIB)
            print(f"split plan, {description}, {chunk_mb} MiB chunks: {split['chunks']} chunks, "
                  f"{split['bytes_read']:,} bytes read in {split['requests']} requests "
                  f"({split['per_chunk_kib']:.1f} KiB per chunk, "
                  f"{split['bytes_read'] / split['size']:.1%} of the file), "
                  f"{split['read_back']} cuts proven by reading back, {split['seconds']:.2f} s")
    if args.run_mb > 0:
        run = measure_run(args.run_mb, args.run_workers)
        report = run["report"]
        print(f"etlgen run, {run['bytes'] / MIB:.0f} MiB file, {args.run_workers} workers: "
              f"{run['bytes'] / run['seconds'] / MB:.0f} MB/s end to end "
              f"({run['seconds']:.1f} s, {report['chunks']} chunks; the runner's own figure "
              f"{report['mb_per_second']:.0f} MB/s of 10^6 bytes); rows in "
              f"{report['rows_in']}, rejected {report['rows_rejected']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
