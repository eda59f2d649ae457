"""One measurement in a fresh interpreter, so its peak RSS is its own:

    python -m benchmarks.child CONTENDER FILE.csv [--cores 2] [--schema FILE]

Pins the process to `--cores` CPUs and sets every engine's thread count to match, loads
the contender, calls it once untimed (a warm container, loaded libraries, warm caches),
then once timed. Prints one JSON line: seconds of the timed call, the counts, peak RSS
(`ru_maxrss`, the largest the process ever was).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCHEMA_FILE = ROOT / "schemas" / "transactions.schema.json"


def pin(cores: int) -> None:
    """The first `cores` CPUs of those allowed, and engine thread pools of that size
    (set before any engine is imported)."""
    if hasattr(os, "sched_setaffinity"):
        allowed = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, allowed[:cores])
    for name in ("POLARS_MAX_THREADS", "OMP_NUM_THREADS"):  # polars, Arrow's CPU pool
        os.environ[name] = str(cores)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("contender")
    parser.add_argument("csv", type=Path)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--schema", type=Path, default=SCHEMA_FILE)
    args = parser.parse_args(argv)
    pin(args.cores)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from benchmarks.contenders import CONTENDERS

    run = CONTENDERS[args.contender].load()
    schema = json.loads(args.schema.read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory(prefix="etlgen-bench-") as work:
        (Path(work) / "warm").mkdir()
        (Path(work) / "timed").mkdir()
        warm = run(args.csv, Path(work) / "warm", schema)
        started = time.perf_counter()
        counts = run(args.csv, Path(work) / "timed", schema)
        seconds = time.perf_counter() - started
    if counts != warm:
        raise SystemExit(f"{args.contender}: the timed call counted {counts}, the first "
                         f"{warm}")
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"contender": args.contender, "seconds": seconds,
                      "peak_rss_mib": peak_kib / 1024, **counts.to_json()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
