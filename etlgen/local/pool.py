"""Runs handler calls in worker processes, so chunk work uses every core.

Processes are started with `spawn`: pyarrow and pandas keep threads, which `fork` would copy
in a broken state. When a worker dies (the pool breaks), the calls that were in flight fail
with Lambda's own error for a crashed runtime, `Runtime.ExitError`, which the state
machine's Retry treats as any transient error; the pool is replaced for the next attempts.
"""

from __future__ import annotations

import concurrent.futures
import json
import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from etlgen.asl import StatesError, TaskCall
from etlgen.local.worker import WorkerSpec, invoke, start_worker


class LambdaPool:
    """A replaceable process pool; `__call__` is the interpreter's Lambda runner."""

    def __init__(self, spec: WorkerSpec, workers: int) -> None:
        self.spec = spec
        self.workers = workers
        self.restarts = 0
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None
        self._generation = 0

    def _current(self) -> tuple[ProcessPoolExecutor, int]:
        with self._lock:
            if self._executor is None:
                self._executor = ProcessPoolExecutor(
                    max_workers=self.workers,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=start_worker,
                    initargs=(self.spec.log_path, self.spec.handler_modules),
                )
            return self._executor, self._generation

    def start(self) -> None:
        """Start every worker now (they import pandas and pyarrow, about half a second), so
        that happens while the caller does other work instead of before the first task."""
        executor, _ = self._current()
        for _ in range(self.workers):
            executor.submit(_ready)

    def _replace(self, generation: int) -> None:
        with self._lock:
            if generation != self._generation or self._executor is None:
                return  # another caller already replaced it
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
            self._generation += 1
            self.restarts += 1

    def __call__(self, module: str, event: Any, call: TaskCall) -> Any:
        executor, generation = self._current()
        try:
            future = executor.submit(invoke, self.spec, module, event, call.state)
            status, value, cause = future.result(timeout=call.timeout_seconds)
        except BrokenProcessPool:
            self._replace(generation)
            raise StatesError("Runtime.ExitError", json.dumps({
                "errorType": "Runtime.ExitError",
                "errorMessage": f"the worker process running {module} for state "
                                f"{call.state} exited unexpectedly",
            })) from None
        except concurrent.futures.TimeoutError:
            raise StatesError("States.Timeout", f"{call.state} did not finish within "
                              f"{call.timeout_seconds} s") from None
        if status == "error":
            raise StatesError(value, cause)
        return value

    def close(self) -> None:
        with self._lock:
            if self._executor is not None:
                self._executor.shutdown(wait=True, cancel_futures=True)
                self._executor = None


def _ready() -> bool:
    return True
