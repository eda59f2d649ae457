"""How many CPUs this process may run on: its CPU affinity where the system keeps one (a
`taskset`, a container's cpuset), else the machine's count. Thread and worker counts are
sized from it, so a process confined to 2 of 8 cores starts threads for 2."""

from __future__ import annotations

import os


def usable_cores() -> int:
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1
