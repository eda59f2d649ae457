"""`etlgen run` as a user runs it, and the process function's cold start, each in a fresh
interpreter (wall time from process start to exit):

- fixed cost: the 200-row sample (`samples/transactions.csv`), where nearly all the time is
  what every run pays whatever its size;
- per-chunk overhead: the same file as one chunk and as many small chunks
  (`ETLGEN_CHUNK_SIZE_BYTES`), the difference divided by the extra chunks;
- end to end: a large 1 %-invalid file with 2 workers, run twice, the second measured;
- Lambda init: `import handlers.process` (its module init and warm-up), as a cold start:
  from the files of the handlers zip the template deploys, which holds sources only (AWS
  advises against shipping `__pycache__`, and a function's code directory is read-only), so
  every cold start compiles each module it imports, and so does this measure.
"""

from __future__ import annotations

import compileall
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "pipeline.yaml"
SAMPLE = ROOT / "samples" / "transactions.csv"
MB = 1_000_000
LAMBDA_INIT = """
import json, sys, time
started = time.perf_counter()
import handlers.process
seconds = time.perf_counter() - started
print(json.dumps({"seconds": seconds, "pandas": "pandas" in sys.modules,
                  "boto3": "boto3" in sys.modules, "file": handlers.process.__file__,
                  "compiled": handlers.process.__cached__ is not None and
                  __import__("os").path.exists(handlers.process.__cached__)}))
"""


@dataclass(frozen=True)
class Timed:
    wall: float  # process start to exit, seconds
    reply: dict[str, Any]  # the program's JSON output
    cpu: float = 0.0  # CPU seconds (user + system) of the process and its workers


def compile_sources() -> None:
    """Byte-compile etlgen and handlers once, as an installed package ships them: with
    PYTHONDONTWRITEBYTECODE set no run writes its own, and every fresh process (the runner and
    each worker) would compile the project from source, ~0.1-0.15 s each, which no user pays."""
    for package in ("etlgen", "handlers"):
        compileall.compile_dir(ROOT / package, quiet=1)


def _children_cpu() -> float:
    """CPU seconds of the waited-for children so far: on a shared machine a steadier
    measure of the work done than the wall time, which includes waiting for a core."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _pinned(cores: int) -> Any:
    def pin() -> None:
        if hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:cores])
    return pin


def timed(command: list[str], cores: int, env: dict[str, str] | None = None,
          root: Path = ROOT) -> Timed:
    """`command` run from `root`, which comes first on its `sys.path`."""
    cpu = _children_cpu()
    started = time.perf_counter()
    reply = subprocess.run(command, capture_output=True, text=True, cwd=root,
                           env={**os.environ, "PYTHONPATH": str(root), **(env or {})},
                           preexec_fn=_pinned(cores))
    wall = time.perf_counter() - started
    cpu = _children_cpu() - cpu
    if reply.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:4])}... exited {reply.returncode}:\n"
                           f"{reply.stdout[-2000:]}{reply.stderr[-2000:]}")
    return Timed(wall, json.loads(reply.stdout), cpu)


def etlgen_run(csv_path: Path, workers: int, cores: int, chunk_bytes: int | None = None) -> Timed:
    with tempfile.TemporaryDirectory(prefix="etlgen-bench-run-") as work:
        run = timed([sys.executable, "-m", "etlgen.cli", "run", str(CONFIG), str(csv_path),
                     "--workdir", work, "--workers", str(workers), "--json"], cores,
                    {"ETLGEN_CHUNK_SIZE_BYTES": str(chunk_bytes)} if chunk_bytes else None)
    if run.reply.get("status") != "SUCCEEDED":
        raise RuntimeError(f"etlgen run on {csv_path.name}: {run.reply}")
    return run


def fixed_cost(runs: int, workers: int, cores: int) -> dict[str, Any]:
    timings = [etlgen_run(SAMPLE, workers, cores) for _ in range(runs)]
    return {"wall": statistics.median(t.wall for t in timings),
            "cpu": statistics.median(t.cpu for t in timings),
            "runner": statistics.median(float(t.reply["seconds"]) for t in timings),
            "rows": timings[0].reply["rows_in"]}


def per_chunk_overhead(csv_path: Path, small_chunk: int, runs: int, workers: int,
                       cores: int) -> dict[str, Any]:
    size = csv_path.stat().st_size
    one, many = [], []
    for _ in range(runs):  # interleaved
        one.append(etlgen_run(csv_path, workers, cores, chunk_bytes=size))
        many.append(etlgen_run(csv_path, workers, cores, chunk_bytes=small_chunk))
    chunks_one, chunks_many = one[0].reply["chunks"], many[0].reply["chunks"]
    wall_one = statistics.median(t.wall for t in one)
    wall_many = statistics.median(t.wall for t in many)
    cpu_one = statistics.median(t.cpu for t in one)
    cpu_many = statistics.median(t.cpu for t in many)
    extra = max(1, chunks_many - chunks_one)
    return {"size": size, "chunks_one": chunks_one, "chunks_many": chunks_many,
            "wall_one": wall_one, "wall_many": wall_many,
            "per_chunk": (wall_many - wall_one) / extra,
            "cpu_one": cpu_one, "cpu_many": cpu_many, "cpu_per_chunk": (cpu_many - cpu_one) / extra}


def end_to_end(csv_path: Path, workers: int, cores: int) -> dict[str, Any]:
    """Two runs of the file, the second measured: the first warms the page cache and the
    machine's memory, as the process step's untimed call does (on a virtual machine whose
    memory has not been used, the first run pays the host for every page it touches). Both
    are reported."""
    first = etlgen_run(csv_path, workers, cores)
    run = etlgen_run(csv_path, workers, cores)
    size = csv_path.stat().st_size
    return {"size": size, "wall": run.wall, "cpu": run.cpu, "mb_per_second": size / run.wall / MB,
            "first_wall": first.wall, "first_mb_per_second": size / first.wall / MB,
            "runner_mb_per_second": run.reply["mb_per_second"], "chunks": run.reply["chunks"],
            "rows_in": run.reply["rows_in"], "rows_rejected": run.reply["rows_rejected"]}


def deployed_code(directory: Path) -> Path:
    """The files of the handlers zip for `pipeline.yaml`, written under `directory`, as
    Lambda unpacks them into the function's code directory."""
    from etlgen.config import load_config
    from etlgen.packaging import package_entries

    for name, data in package_entries(load_config(CONFIG)).items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return directory


def lambda_init(runs: int, cores: int) -> dict[str, Any]:
    """Each cold start from a fresh copy of the deployed code, writing no bytecode (a code
    directory that is read-only): nothing compiled by an earlier start helps the next."""
    timings = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="etlgen-bench-init-") as work:
            code = deployed_code(Path(work))
            run = timed([sys.executable, "-c", LAMBDA_INIT], cores,
                        {"PYTHONDONTWRITEBYTECODE": "1"}, root=code)
        if not Path(run.reply["file"]).is_relative_to(code) or run.reply["compiled"]:
            raise RuntimeError(f"Lambda init imported {run.reply['file']} (compiled: "
                               f"{run.reply['compiled']}), not the deployed sources in {code}")
        timings.append(run)
    return {"seconds": statistics.median(t.reply["seconds"] for t in timings),
            "wall": statistics.median(t.wall for t in timings),
            "pandas": timings[0].reply["pandas"], "boto3": timings[0].reply["boto3"]}
