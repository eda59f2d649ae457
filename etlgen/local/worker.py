"""What runs inside a worker process: build the local back ends once per process, then
call one handler's `handle(event, deps)` the way Lambda would call `lambda_handler`.

Outcomes cross the process boundary as plain tuples: handler exceptions may not pickle,
and Step Functions only ever sees the error name and a JSON cause anyway.

Workers are `WorkerProcess`es: spawned (pyarrow threads are not fork-safe), but they end
the way a forked process does, with `os._exit` once their work, threads and output are
done. The interpreter's teardown of pandas, pyarrow and numpy would otherwise take 0.1 to
0.3 s per worker, and `etlgen run` waits for its workers before it returns.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import json
import multiprocessing.context
import os
import sys
import traceback
import uuid
from dataclasses import dataclass
from typing import Any

from etlgen.local import faults

Outcome = tuple[str, Any, Any]  # ("ok", result, None) | ("error", name, cause)


@dataclass(frozen=True)
class WorkerSpec:
    """Everything a fresh process needs to build its `Deps`; picklable and hashable."""

    environment: tuple[tuple[str, str], ...]
    bucket_root: str
    status_path: str
    queue_path: str  # "" when the results queue is off
    schema_json: str
    fault_plan: str | None = None
    log_path: str | None = None  # handler logs (Lambda's stdout/stderr) go here
    catalog_path: str = ""  # the local catalog; "" when the catalog is off


class WorkerProcess(multiprocessing.context.SpawnProcess):
    """A spawned process that exits as a forked one does (`multiprocessing`'s fork start
    calls `os._exit(process._bootstrap())`): after the target returned, non-daemon threads
    were joined and the standard streams flushed, skipping only the interpreter teardown."""

    def _bootstrap(self, *args: Any, **kwargs: Any) -> int:
        exitcode: int = super()._bootstrap(*args, **kwargs)  # type: ignore[misc]
        os._exit(exitcode)


class WorkerContext(multiprocessing.context.SpawnContext):
    """The `spawn` start method with `WorkerProcess` processes (a pool's `mp_context`); it
    keeps the processes it made, so a pool that never ran a call can stop them at once."""

    def __init__(self) -> None:
        super().__init__()
        self.processes: list[WorkerProcess] = []

    def Process(self, *args: Any, **kwargs: Any) -> WorkerProcess:  # type: ignore[override]
        process = WorkerProcess(*args, **kwargs)
        self.processes.append(process)
        return process


_DEPS: dict[WorkerSpec, Any] = {}


def build_deps(spec: WorkerSpec) -> Any:
    from handlers.catalog import LocalCatalog
    from handlers.deps import Deps
    from handlers.local_objects import LocalObjectStore
    from handlers.metrics import CollectingMetrics
    from handlers.results_queue import JsonlResultsQueue
    from handlers.settings import Settings
    from handlers.status import SqliteStatusStore

    settings = Settings.from_env(dict(spec.environment))
    return Deps(
        settings=settings,
        objects=LocalObjectStore(spec.bucket_root),
        status=SqliteStatusStore(spec.status_path, ttl_days=settings.status_ttl_days),
        queue=JsonlResultsQueue(spec.queue_path) if spec.queue_path else None,
        metrics=CollectingMetrics(),
        schema=json.loads(spec.schema_json),
        catalog=LocalCatalog(spec.catalog_path) if spec.catalog_path else None,
    )


def deps_for(spec: WorkerSpec) -> Any:
    if spec not in _DEPS:
        _DEPS[spec] = build_deps(spec)
    return _DEPS[spec]


def lambda_cause(error: BaseException) -> str:
    """The cause Step Functions records for a Lambda error: Lambda's JSON error object."""
    frames = traceback.format_list([frame for frame in traceback.extract_tb(error.__traceback__)
                                    if frame.filename != __file__])
    return json.dumps({
        "errorMessage": str(error),
        "errorType": type(error).__name__,
        "requestId": str(uuid.uuid4()),
        "stackTrace": frames,
    })


def start_worker(handler_modules: tuple[str, ...] = ()) -> None:
    """Per process, before its first task: import the handlers (the runner names every
    function's handler module, from `etlgen.template.function_specs.FUNCTIONS`)."""
    for module in handler_modules:
        with contextlib.suppress(ImportError):
            importlib.import_module(module)


_output: dict[str, str] = {}  # "log": the log this process writes to, once it has one


def send_output_to(log_path: str | None) -> None:
    """Send the handlers' output (Lambda's stdout/stderr) to the log file, as Lambda sends
    it to CloudWatch, instead of the terminal. Done with a process's first call: the pool
    may start its workers before the run has a work folder."""
    if not log_path or _output.get("log") == log_path:
        return
    descriptor = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os.dup2(descriptor, 1)
    os.dup2(descriptor, 2)
    os.close(descriptor)
    sys.stdout = open(1, "w", encoding="utf-8", closefd=False, buffering=1)  # noqa: SIM115
    sys.stderr = open(2, "w", encoding="utf-8", closefd=False, buffering=1)  # noqa: SIM115
    _output["log"] = log_path


def invoke(spec: WorkerSpec, module: str, event: Any, state: str) -> Outcome:
    """Run one handler call; never raises for the handler's own errors."""
    send_output_to(spec.log_path)
    fault = faults.matching_fault(spec.fault_plan, state, event)
    try:
        if fault and fault.get("action") == "exit":
            os._exit(faults.EXIT_STATUS)
        if fault and fault.get("action", "raise") == "raise":
            raise faults.injected_error(fault)
        try:
            handler = importlib.import_module(module)
        except ImportError as error:  # Lambda's name for a handler module that cannot load
            return ("error", "Runtime.ImportModuleError", lambda_cause(error))
        deps = deps_for(spec)
        if fault and fault.get("action") in faults.WRITE_ACTIONS:
            deps = dataclasses.replace(deps, objects=faults.CrashingObjects(deps.objects, fault))
        result = handler.handle(event, deps)
    except Exception as error:
        return ("error", type(error).__name__, lambda_cause(error))
    try:
        result = json.loads(json.dumps(result))
    except (TypeError, ValueError) as error:  # Lambda cannot return it either
        return ("error", "Runtime.MarshalError", lambda_cause(error))
    if fault and fault.get("action") == "exit_after":
        os._exit(faults.EXIT_STATUS)
    return ("ok", result, None)
