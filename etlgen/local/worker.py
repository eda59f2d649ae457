"""What runs inside a worker process: build the local back ends once per process, then
call one handler's `handle(event, deps)` the way Lambda would call `lambda_handler`.

Outcomes cross the process boundary as plain tuples: handler exceptions may not pickle,
and Step Functions only ever sees the error name and a JSON cause anyway.
"""

from __future__ import annotations

import contextlib
import importlib
import json
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
    # imported when a worker starts, before its first task (the runner names every
    # function's handler module, from `etlgen.template.function_specs.FUNCTIONS`)
    handler_modules: tuple[str, ...] = ()
    catalog_path: str = ""  # the local catalog; "" when the catalog is off


_DEPS: dict[WorkerSpec, Any] = {}


def build_deps(spec: WorkerSpec) -> Any:
    from handlers.catalog import LocalCatalog
    from handlers.deps import Deps
    from handlers.metrics import CollectingMetrics
    from handlers.objects import LocalObjectStore
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


def start_worker(log_path: str | None, handler_modules: tuple[str, ...] = ()) -> None:
    """Per process: send the handlers' log lines to the log file (as Lambda sends them to
    CloudWatch) instead of the terminal, then import the handlers before the first task."""
    if log_path:
        descriptor = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(descriptor, 1)
        os.dup2(descriptor, 2)
        os.close(descriptor)
        sys.stdout = open(1, "w", encoding="utf-8", closefd=False, buffering=1)  # noqa: SIM115
        sys.stderr = open(2, "w", encoding="utf-8", closefd=False, buffering=1)  # noqa: SIM115
    for module in handler_modules:
        with contextlib.suppress(ImportError):
            importlib.import_module(module)


def invoke(spec: WorkerSpec, module: str, event: Any, state: str) -> Outcome:
    """Run one handler call; never raises for the handler's own errors."""
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
        result = handler.handle(event, deps_for(spec))
    except Exception as error:
        return ("error", type(error).__name__, lambda_cause(error))
    try:
        result = json.loads(json.dumps(result))
    except (TypeError, ValueError) as error:  # Lambda cannot return it either
        return ("error", "Runtime.MarshalError", lambda_cause(error))
    if fault and fault.get("action") == "exit_after":
        os._exit(faults.EXIT_STATUS)
    return ("ok", result, None)
