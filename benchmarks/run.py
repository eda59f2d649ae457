"""Measures etlgen's process step against DuckDB, polars and raw pyarrow on the same files,
and `etlgen run` as a whole. One command:

    python -m benchmarks.run [--variants 1,50,100] [--e2e-mb 1000] [--tiny] [--plan]

Process step: for each invalid-row percentage of `--variants` a transactions file of one
64 MiB chunk where that share of rows breaks the row schema in varied ways; each contender
(`benchmarks/contenders/`) processes it in its own subprocess pinned to `--cores` CPUs,
once untimed and once timed, `--rounds` rounds interleaved. Then the run-level numbers
(`benchmarks/run_level.py`) and, with `--plan`, the split planner on 1 GiB files.
`--tiny` runs all of it on tiny sizes as a smoke test (its numbers mean nothing).

Everything printed is measured in this run. The exit code is 1 when a contender's counts
differ from etlgen's, never because of a time.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import compare, run_level, split_plan  # noqa: E402
from benchmarks.contenders import CONTENDERS, REFERENCE  # noqa: E402
from benchmarks.generate import repeated, variant  # noqa: E402

DATA = ROOT / "benchmarks" / ".data"
MIB = 1024 * 1024
MB = 1_000_000
LIBRARIES = ("pyarrow", "duckdb", "polars", "numpy", "pandas")


def percentages(text: str) -> list[float]:
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected invalid-row percentages like 1,50,100, got {text!r}") from None
    if not values or any(not 0 <= value <= 100 for value in values):
        raise argparse.ArgumentTypeError(
            f"percentages must be between 0 and 100, got {text!r}")
    return values


def contender_names(text: str) -> list[str]:
    names = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [name for name in names if name not in CONTENDERS]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown contender {unknown[0]!r}: choose from {', '.join(CONTENDERS)}")
    return [REFERENCE] + [name for name in names if name != REFERENCE]


RUN_LEVEL_PARTS = ("fixed", "chunk", "e2e", "init")


def run_level_parts(text: str) -> list[str]:
    names = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [name for name in names if name not in RUN_LEVEL_PARTS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown run-level measure {(unknown or [text])[0]!r}: choose from "
            f"{', '.join(RUN_LEVEL_PARTS)}")
    return names


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--variants", type=percentages, default=[1.0, 50.0, 100.0],
                   help="invalid-row percentages, one file each (default 1,50,100)")
    p.add_argument("--chunk-mib", type=float, default=64.0,
                   help="size of each variant file, one chunk (default 64)")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    p.add_argument("--cores", type=int, default=2, help="CPUs per measurement (default 2)")
    p.add_argument("--contenders", type=contender_names, default=list(CONTENDERS),
                   help=f"comma-separated, etlgen always included (default "
                        f"{','.join(CONTENDERS)})")
    p.add_argument("--e2e-mb", type=float, default=1000.0,
                   help="size of the end-to-end file in MB of 10^6 bytes (default 1000)")
    p.add_argument("--workers", type=int, default=2, help="etlgen run --workers (default 2)")
    p.add_argument("--overhead-mib", type=float, default=16.0,
                   help="file of the per-chunk overhead measure (default 16)")
    p.add_argument("--small-chunk-kib", type=int, default=256,
                   help="its small chunks (default 256 KiB)")
    p.add_argument("--run-rounds", type=int, default=3,
                   help="runs of each run-level measure but end to end (twice, the second "
                        "measured) (default 3)")
    p.add_argument("--no-run-level", action="store_true", help="only the process step")
    p.add_argument("--only-run-level", action="store_true",
                   help="only the run-level numbers, no process step")
    p.add_argument("--run-level", type=run_level_parts, default=list(RUN_LEVEL_PARTS),
                   metavar="PARTS",
                   help=f"which run-level measures, comma-separated (default "
                        f"{','.join(RUN_LEVEL_PARTS)})")
    p.add_argument("--plan", action="store_true",
                   help="also the split plan on 1 GiB files (written once, about 3 GiB)")
    p.add_argument("--plan-10gb", action="store_true", help="and on a 10 GiB file")
    p.add_argument("--tiny", action="store_true",
                   help="tiny sizes, one round: a smoke test in well under a minute")
    p.add_argument("--json", type=Path, metavar="FILE", help="also write every number here")
    return p


def tiny(args: argparse.Namespace) -> None:
    args.chunk_mib, args.rounds, args.run_rounds = 1.0, 1, 1
    args.e2e_mb, args.overhead_mib, args.small_chunk_kib = 4.0, 1.0, 64


def machine() -> str:
    memory = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        kib = int(meminfo.read_text().split("MemTotal:")[1].split()[0])
        memory = f", {kib / MIB:.0f} GiB"
    versions = []
    for name in LIBRARIES:
        try:
            versions.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            versions.append(f"{name} (not installed)")
    return (f"{os.cpu_count()} cores{memory}, {platform.system()} {platform.machine()}"
            f"{cpu_model()}, Python {platform.python_version()}, {', '.join(versions)}")


def cpu_model() -> str:
    """` (<model name>)` from /proc/cpuinfo, where there is one: virtual machines of one
    size land on different processors, and figures from two of them do not compare."""
    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.exists():
        return ""
    for line in cpuinfo.read_text(errors="replace").splitlines():
        name, _, value = line.partition(":")
        if name.strip() == "model name" and value.strip():
            return f" ({value.strip()})"
    return ""


def load() -> str:
    """The 1-minute load average: how much else the machine was doing."""
    return f"{os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else "unknown"


def variant_files(args: argparse.Namespace) -> dict[float, Path]:
    size = int(args.chunk_mib * MIB)
    return {percent: variant(DATA / f"variant-{percent:g}pct-{size}b.csv", size, percent)
            for percent in args.variants}


def run_level_numbers(args: argparse.Namespace) -> dict[str, Any]:
    """The measures of `--run-level`, each under its report name."""
    run_level.compile_sources()
    parts: dict[str, Callable[[], dict[str, Any]]] = {
        "fixed": lambda: run_level.fixed_cost(args.run_rounds, args.workers, args.cores),
        "chunk": lambda: run_level.per_chunk_overhead(
            variant(DATA / f"variant-1pct-{int(args.overhead_mib * MIB)}b.csv",
                    int(args.overhead_mib * MIB), 1),
            args.small_chunk_kib * 1024, args.run_rounds, args.workers, args.cores),
        "e2e": lambda: run_level.end_to_end(_e2e_file(args), args.workers, args.cores),
        "init": lambda: run_level.lambda_init(args.run_rounds, args.cores),
    }
    return {REPORT_NAMES[name]: parts[name]() for name in args.run_level}


REPORT_NAMES = {"fixed": "fixed_cost", "chunk": "per_chunk", "e2e": "end_to_end",
                "init": "lambda_init"}


def _e2e_file(args: argparse.Namespace) -> Path:
    block = variant(DATA / f"variant-1pct-{int(args.chunk_mib * MIB)}b.csv",
                    int(args.chunk_mib * MIB), 1)
    return repeated(DATA / f"e2e-1pct-{int(args.e2e_mb * MB)}b.csv", int(args.e2e_mb * MB),
                    block)


def run_level_table(numbers: dict[str, Any], args: argparse.Namespace) -> str:
    rows = [ROW_OF[name](numbers[name], args) for name in ROW_OF if name in numbers]
    lines = ["| measure | result | target | met |", "| --- | --- | --- | --- |"]
    lines += [f"| {a} | {b} | {c} | {d if not args.tiny else '(tiny)'} |"
              for a, b, c, d in rows]
    return "\n".join(lines)


Row = tuple[str, str, str, str]


def _fixed_row(fixed: dict[str, Any], args: argparse.Namespace) -> Row:
    return (f"`etlgen run`, the {fixed['rows']}-row sample, fresh process, wall (fixed cost; "
            f"median of {args.run_rounds})",
            f"{fixed['wall']:.2f} s (the runner's own, workers start to stop: "
            f"{fixed['runner']:.2f} s; CPU {fixed['cpu']:.2f} s)", "≤ 0.4 s fixed, ≤ 0.5 s wall",
            _met(fixed["wall"] <= 0.4))


def _chunk_row(chunk: dict[str, Any], args: argparse.Namespace) -> Row:
    return (f"per-chunk overhead: {chunk['size'] / MIB:.0f} MiB as {chunk['chunks_many']} "
            f"chunks of {args.small_chunk_kib} KiB vs {chunk['chunks_one']}",
            f"{chunk['per_chunk'] * 1000:.1f} ms per chunk ({chunk['wall_many']:.2f} s vs "
            f"{chunk['wall_one']:.2f} s; CPU {chunk['cpu_per_chunk'] * 1000:.1f} ms per chunk)",
            "≤ 5 ms", _met(chunk["per_chunk"] <= 0.005))


def _e2e_row(e2e: dict[str, Any], args: argparse.Namespace) -> Row:
    return (f"`etlgen run` end to end, {e2e['size'] / MB:,.0f} MB, 1 % invalid, "
            f"{args.workers} workers",
            f"{e2e['mb_per_second']:.0f} MB/s ({e2e['wall']:.1f} s wall, CPU {e2e['cpu']:.1f} s, "
            f"{e2e['chunks']} chunks; runner's own figure {e2e['runner_mb_per_second']:.0f} MB/s; "
            f"the untimed run before it: {e2e['first_mb_per_second']:.0f} MB/s)",
            "≥ 170 MB/s on 1 GB", _met(e2e["mb_per_second"] >= 170))


def _init_row(init: dict[str, Any], args: argparse.Namespace) -> Row:
    return ("Lambda init: `import handlers.process` from the deployed zip's sources (module "
            "init and warm-up, each module compiled as a cold start does), fresh process",
            f"{init['seconds']:.2f} s ({init['wall']:.2f} s with the interpreter's start; "
            f"pulls in pandas: {_yes(init['pandas'])}, boto3: {_yes(init['boto3'])})",
            "≤ 0.25 s", _met(init["seconds"] <= 0.25))


ROW_OF: dict[str, Callable[[dict[str, Any], argparse.Namespace], Row]] = {
    "fixed_cost": _fixed_row, "per_chunk": _chunk_row, "end_to_end": _e2e_row,
    "lambda_init": _init_row,
}


def process_targets(cells: list[compare.Cell]) -> list[str]:
    """The issue's targets for the process step, set against this run."""
    by = {(c.contender, c.invalid_percent): c for c in cells}
    lines = []
    for percent in sorted({c.invalid_percent for c in cells}):
        ours = by[REFERENCE, percent]
        floor = 200 if percent <= 1 else 100
        lines.append(f"- {percent:g} % invalid: {ours.mb_per_second:.0f} MB/s, target ≥ "
                     f"{floor}: {_met(ours.mb_per_second >= floor)}; peak RSS "
                     f"{ours.peak_rss_mib:.0f} MiB, target ≤ 400 MiB: "
                     f"{_met(ours.peak_rss_mib <= 400)}")
        parse = by.get(("pyarrow-parse", percent))
        if percent <= 1 and parse is not None:  # the same target as a ratio, host aside
            times = parse.mb_per_second / ours.mb_per_second
            lines.append(f"  - within 2x the time of pyarrow's parse of the same bytes "
                         f"({parse.mb_per_second:.0f} MB/s): {times:.2f}x, "
                         f"{_met(times <= 2)}")
        for rival in ("duckdb", "polars"):
            if (rival, percent) in by:
                theirs = by[rival, percent]
                lines.append(f"  - faster than {CONTENDERS[rival].label} "
                             f"({theirs.mb_per_second:.0f} MB/s): "
                             f"{_met(ours.mb_per_second > theirs.mb_per_second)}")
    return lines


def _met(ok: bool) -> str:
    return "yes" if ok else "no"


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def process_step(args: argparse.Namespace) -> list[compare.Cell]:
    files = variant_files(args)
    print(f"process step: one {args.chunk_mib:g} MiB chunk per variant, {args.cores} cores, "
          f"{args.rounds} interleaved round(s), page cache warm, MB = 10^6 bytes; "
          "ratio = MB/s over etlgen's (above 1: faster than etlgen)")
    cells = compare.compare(files, args.contenders, args.rounds, args.cores)
    print(compare.table(cells, args.rounds))
    if not args.tiny:
        print("targets (process step):")
        print("\n".join(process_targets(cells)))
    return cells


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.tiny:
        tiny(args)
    print(f"machine: {machine()}; load average {load()} at the start")
    if args.tiny:
        print("tiny sizes: a smoke test of the harness and the counts; no time here means "
              "anything")
    report: dict[str, Any] = {"machine": machine()}
    cells: list[compare.Cell] = []
    if not args.only_run_level:
        cells = process_step(args)
        report["process_step"] = [
            {"contender": c.contender, "invalid_percent": c.invalid_percent, "bytes": c.size,
             "mb_per_second": c.mb_per_second, "peak_rss_mib": c.peak_rss_mib,
             "runs": c.runs}
            for c in cells]
    if not args.no_run_level:
        numbers = run_level_numbers(args)
        report["run_level"] = numbers
        print(run_level_table(numbers, args))
    if args.plan or args.plan_10gb:
        print("\n".join(split_plan.report(DATA, args.plan_10gb)))
    print(f"load average {load()} at the end")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    problems = compare.disagreements(cells)
    for problem in problems:
        print(f"counts disagree: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
