"""The process step against its contenders on the same files, runs interleaved.

Round after round, every contender measures every variant file in its own subprocess
(`benchmarks.child`), so a slow spell of a shared machine hits all of them alike; the
table gives each one's median MB/s over the rounds (10^6 bytes of the file per second),
that over etlgen's, its largest peak RSS, and whether its counts equal etlgen's.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.contenders import CONTENDERS, REFERENCE

ROOT = Path(__file__).resolve().parents[1]
MB = 1_000_000
MIB = 1024 * 1024


@dataclass
class Cell:
    """One contender on one variant, over all rounds."""

    contender: str
    invalid_percent: float
    size: int
    runs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def mb_per_second(self) -> float:
        return float(self.size / statistics.median(r["seconds"] for r in self.runs) / MB)

    @property
    def spread(self) -> tuple[float, float]:
        rates = [self.size / r["seconds"] / MB for r in self.runs]
        return min(rates), max(rates)

    @property
    def peak_rss_mib(self) -> float:
        return float(max(r["peak_rss_mib"] for r in self.runs))

    def counts(self) -> set[tuple[Any, ...]]:
        return {(r["rows_in"], r["rows_valid"], r["rows_rejected"]) for r in self.runs}


def measure(contender: str, csv_path: Path, cores: int) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    reply = subprocess.run([sys.executable, "-m", "benchmarks.child", contender,
                            str(csv_path), "--cores", str(cores)],
                           capture_output=True, text=True, env=env, cwd=ROOT)
    if reply.returncode != 0:
        raise RuntimeError(f"{contender} on {csv_path.name} failed:\n{reply.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(reply.stdout.strip().splitlines()[-1])
    return result


def compare(files: dict[float, Path], contenders: list[str], rounds: int,
            cores: int) -> list[Cell]:
    cells = {(name, percent): Cell(name, percent, path.stat().st_size)
             for percent, path in files.items() for name in contenders}
    for round_number in range(1, rounds + 1):
        for percent, path in files.items():
            path.read_bytes()  # page cache warm for whoever comes first
            for name in contenders:
                run = measure(name, path, cores)
                cells[name, percent].runs.append(run)
                print(f"round {round_number}/{rounds}, {percent:g} % invalid, {name}: "
                      f"{path.stat().st_size / run['seconds'] / MB:.0f} MB/s",
                      file=sys.stderr, flush=True)
    return list(cells.values())


def agreement(cell: Cell, reference: Cell) -> str:
    """'yes', or what differs ('rows only' for a contender that does not validate)."""
    ours, theirs = cell.counts(), reference.counts()
    if len(ours) != 1 or len(theirs) != 1:
        return f"NO: counts vary between runs ({sorted(ours)} vs {sorted(theirs)})"
    (rows_in, valid, rejected), (ref_in, ref_valid, ref_rejected) = ours.pop(), theirs.pop()
    if not CONTENDERS[cell.contender].validates:
        return "rows only: yes" if rows_in == ref_in else f"NO: rows {rows_in} vs {ref_in}"
    if (valid, rejected) == (ref_valid, ref_rejected):
        return "yes"
    return f"NO: valid {valid} vs {ref_valid}, rejected {rejected} vs {ref_rejected}"


def disagreements(cells: list[Cell]) -> list[str]:
    reference = {c.invalid_percent: c for c in cells if c.contender == REFERENCE}
    return [f"{c.contender} at {c.invalid_percent:g} % invalid: {agreement(c, ref)}"
            for c in cells for ref in [reference[c.invalid_percent]]
            if agreement(c, ref).startswith("NO")]


def table(cells: list[Cell], rounds: int) -> str:
    reference = {c.invalid_percent: c for c in cells if c.contender == REFERENCE}
    lines = [f"| invalid rows | contender | MB/s (median of {rounds}; range) | ratio to etlgen "
             "| peak RSS | counts agree with etlgen |",
             "| --- | --- | --- | --- | --- | --- |"]
    for cell in cells:
        ref = reference[cell.invalid_percent]
        low, high = cell.spread
        rate = f"{cell.mb_per_second:.0f}" + (f" ({low:.0f}-{high:.0f})" if rounds > 1 else "")
        ratio = "1" if cell is ref else f"{cell.mb_per_second / ref.mb_per_second:.2f}"
        agree = "(reference)" if cell is ref else agreement(cell, ref)
        lines.append(f"| {cell.invalid_percent:g} % ({cell.size / MIB:.0f} MiB) | "
                     f"{CONTENDERS[cell.contender].label} | {rate} | {ratio} | "
                     f"{cell.peak_rss_mib:.0f} MiB | {agree} |")
    return "\n".join(lines)
