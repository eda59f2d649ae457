"""`etlgen run CONFIG CSV`: run the pipeline locally and print what it did."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from etlgen.local.pool import HANDLER_MODULES, LambdaPool
from handlers.cores import usable_cores

if TYPE_CHECKING:
    from etlgen.local.runner import RunReport


def run_command(args: argparse.Namespace) -> int:
    workers = args.workers if args.workers is not None else usable_cores()
    # The first worker starts before anything else: its imports (pyarrow, the handlers)
    # are the longest part of a small run's start, and now overlap reading the config,
    # importing the runner and staging the file. A refused run stops it at once.
    pool = LambdaPool(None, workers, preload=HANDLER_MODULES) if workers >= 1 else None
    try:
        if pool is not None:
            pool.start(1)
        report = _run(args, workers, pool)
    finally:
        if pool is not None:
            pool.close()
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        print(summary_text(report))
    if report.status == "FAILED":
        print(f"etlgen: {report.file} failed: {failure_reason(report)}", file=sys.stderr)
        return 1
    return 0


def _run(args: argparse.Namespace, workers: int, pool: LambdaPool | None) -> RunReport:
    from etlgen.config import load_config
    from etlgen.local.progress import RunProgress
    from etlgen.local.runner import run_file

    config = load_config(args.config)
    progress = RunProgress(sys.stderr)
    try:
        return run_file(config, args.csv, args.workdir, workers=workers,
                        retry_scale=args.retry_scale, listener=progress, pool=pool)
    finally:
        progress.finish()


def failure_reason(report: RunReport) -> str:
    """`Error: message`, with Lambda's JSON cause reduced to its message."""
    return f"{report.error or 'Failed'}: {report.message}"


def summary_text(report: RunReport) -> str:
    if report.status == "ALREADY_PROCESSED":
        return (f"{report.file}: already processed (version {report.version_id}); "
                "nothing added")
    rows: list[tuple[str, str]] = [
        ("status", report.status),
        ("file", f"{report.file} -> {report.key} (version {report.version_id})"),
        ("rows in", f"{report.rows_in:,}"),
        ("valid", f"{report.rows_valid:,}"),
        ("rejected", f"{report.rows_rejected:,}"),
        ("chunks", f"{report.chunks_done}/{report.chunks}"),
        ("retries", f"{report.retries}"
         + (f" ({report.worker_restarts} worker restarts)" if report.worker_restarts else "")),
        ("time", f"{report.seconds:.2f} s"),
        ("throughput", f"{report.mb_per_second:.3g} MB/s ({_size(report.size_bytes)})"),
    ]
    if report.partitions is not None:
        rows.append(("partitions", f"{report.partitions:,}"))
    if report.status == "FAILED":
        rows.append(("error", failure_reason(report)))
    rows.extend(("rejected for" if position == 0 else "", reason_text(reason))
                for position, reason in enumerate(report.top_rejections))
    rows.extend((f"{name.replace('_', ' ')} at", path) for name, path in report.outputs.items())
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def reason_text(reason: dict[str, Any]) -> str:
    """`amount: type, 3 rows`; a row-level reason (a bad record) has no field."""
    rows = int(reason.get("rows", 0))
    return (f"{reason.get('field') or '(row)'}: {reason.get('kind')}, "
            f"{rows:,} row{'' if rows == 1 else 's'}")


def _size(size_bytes: int) -> str:
    if size_bytes >= 1e6:
        return f"{size_bytes / 1e6:,.1f} MB"
    return f"{size_bytes / 1e3:,.1f} kB"
