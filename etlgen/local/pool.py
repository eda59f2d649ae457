"""Runs handler calls in worker processes, so chunk work uses every core.

Processes are started with `spawn`: pyarrow and pandas keep threads, which `fork` would copy
in a broken state. When a worker dies (the pool breaks), the calls that were in flight fail
with Lambda's own error for a crashed runtime, `Runtime.ExitError`, which the state
machine's Retry treats as any transient error; the pool is replaced for the next attempts.

Start-up is most of a small run's time, so a pool can start before the run is ready
(`start`, before it has a `spec`): workers import the handlers while the caller reads the
config and prepares the work folder, the state machine and the staged file. Each worker
sends its output to the spec's log with its first call. Only as many workers start as
asked; the executor adds one whenever a call finds every started worker busy, so the Map's
parallel iterations still get theirs.
"""

from __future__ import annotations

import concurrent.futures
import json
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Any

from etlgen.local.worker import (
    WorkerContext,
    WorkerProcess,
    WorkerSpec,
    invoke,
    start_worker,
)

if TYPE_CHECKING:
    from etlgen.asl import TaskCall


# Every function's handler module (`function_specs.FUNCTIONS`, which a test holds this to):
# what a worker of a run imports before its first call. Spelled out here because `etlgen
# run` starts its first worker before anything else, and importing the function specs
# (awacs, the config model) would delay that start by 30-40 ms.
HANDLER_MODULES = ("handlers.validate", "handlers.split", "handlers.process",
                   "handlers.finalize")


class LambdaPool:
    """A replaceable process pool; `__call__` is the interpreter's Lambda runner.

    `spec` (the run's back ends and log) may come after `start`, but before the first call;
    `preload` names the modules each worker imports before its first call."""

    def __init__(self, spec: WorkerSpec | None, workers: int,
                 preload: tuple[str, ...] = ()) -> None:
        self.spec = spec
        self.workers = workers
        self.preload = preload
        self.restarts = 0
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None
        self._generation = 0
        self._context = WorkerContext()
        self._starting: list[Future[bool]] = []
        self._called = False

    def _current(self) -> tuple[ProcessPoolExecutor, int]:
        with self._lock:
            if self._executor is None:
                self._context = WorkerContext()
                self._executor = ProcessPoolExecutor(
                    max_workers=self.workers,
                    mp_context=self._context,
                    initializer=start_worker,
                    initargs=(self.preload,),
                )
            return self._executor, self._generation

    @property
    def processes(self) -> list[WorkerProcess]:
        """The worker processes the current executor started (alive or not)."""
        return list(self._context.processes)

    def start(self, count: int | None = None) -> None:
        """Have `count` workers (all by default) start now: each imports the handlers
        (pyarrow, a third of a second), which then happens while the caller does other
        work instead of before the first call. Asking again for more adds the difference,
        as far as the executor starts a process for it (it does while none is idle)."""
        executor, _ = self._current()
        wanted = self.workers if count is None else max(1, min(count, self.workers))
        started = len(self._context.processes)
        self._starting += [executor.submit(_ready) for _ in range(wanted - started)]

    def _replace(self, generation: int) -> None:
        with self._lock:
            if generation != self._generation or self._executor is None:
                return  # another caller already replaced it
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
            self._generation += 1
            self.restarts += 1

    def _await_a_started_worker(self) -> None:
        """A call made while the started workers still import would make the executor start
        one more (it adds a process whenever none is idle); the first ready one is as soon
        as any new one could be, so wait for it instead."""
        starting, self._starting = self._starting, []
        if starting:
            concurrent.futures.wait(starting, return_when=concurrent.futures.FIRST_COMPLETED)

    def __call__(self, module: str, event: Any, call: TaskCall) -> Any:
        from etlgen.asl import StatesError

        if self.spec is None:
            raise RuntimeError("LambdaPool: no WorkerSpec yet (set pool.spec before a call)")
        self._called = True
        self._await_a_started_worker()
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
        """Stop every worker and wait for it to exit: quick, as workers skip the
        interpreter's teardown (`etlgen.local.worker.WorkerProcess`), and a pool that never
        ran a call (a refused run) stops its workers in their start-up imports instead of
        waiting for them. Calling it again does nothing."""
        with self._lock:
            self._starting = []
            if self._executor is not None:
                if not self._called:
                    for process in self._context.processes:
                        process.terminate()
                self._executor.shutdown(wait=True, cancel_futures=True)
                self._executor = None


def _ready() -> bool:
    return True
