"""Map (inline): runs its ItemProcessor once per item, in threads, at most MaxConcurrency
(and `Options.max_parallel`) at once; the first failed iteration fails the Map."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from etlgen.asl import jsonpath, payload
from etlgen.asl.dataflow import check_size, input_path, next_state, output_path, result_path
from etlgen.asl.engine import (
    COMMON_FIELDS,
    FLOW_FIELDS,
    IO_FIELDS,
    MachineFailed,
    Mode,
    Outcome,
    Site,
    State,
    StateType,
    Visit,
)
from etlgen.asl.errors import StatesError, runtime_error
from etlgen.asl.fields import check_path, check_payload, fail


def run(visit: Visit) -> Outcome:
    state = visit.state
    result = _iterate(visit)
    output = result_path(state.get("ResultPath", "$"), visit.input, result)
    return output_path(state, output, visit.context), next_state(state)


def _iterate(visit: Visit) -> Any:
    state, name, engine, scope, context = (visit.state, visit.name, visit.engine, visit.scope,
                                           visit.context)
    effective = input_path(state, visit.input, context)
    items = jsonpath.read(state.get("ItemsPath", "$"), effective, context, what="ItemsPath")
    if not isinstance(items, list):
        raise runtime_error(f"Map state '{name}': ItemsPath must select an array, got "
                            f"{type(items).__name__}")
    engine.record("MapStateStarted", name, length=len(items), scope=scope)
    processor: State = (state["ItemProcessor"] if "ItemProcessor" in state
                        else state["Iterator"])
    selector = state.get("ItemSelector", state.get("Parameters"))
    base = {key: value for key, value in context.items() if key in ("Execution",
                                                                     "StateMachine")}
    results: list[Any] = [None] * len(items)

    def iteration(index: int) -> None:
        item_context = {**context, "Map": {"Item": {"Index": index, "Value": items[index]}}}
        value = items[index]
        if selector is not None:
            value = payload.resolve(selector, effective, item_context)
        engine.record("MapIterationStarted", name, index=index, scope=scope)
        try:
            results[index] = engine.run_machine(processor, value, base,
                                                (*scope, (name, index)))
        except MachineFailed as failed:
            engine.record("MapIterationFailed", name, index=index, error=failed.error.name,
                          scope=scope)
            raise failed.error from None
        engine.record("MapIterationSucceeded", name, index=index, scope=scope)

    limit = state.get("MaxConcurrency", 0) or len(items)
    limit = max(1, min(limit, len(items), engine.options.max_parallel))
    failure = _run_bounded(iteration, len(items), limit)
    if failure is not None:
        engine.record("MapStateFailed", name, error=failure.name, scope=scope)
        raise failure
    engine.record("MapStateSucceeded", name, scope=scope)
    check_size(name, results)
    if "ResultSelector" in state:
        return payload.resolve(state["ResultSelector"], results, context)
    return results


def _run_bounded(work: Callable[[int], None], count: int, limit: int) -> StatesError | None:
    """Run work(0..count-1), at most `limit` at once; after the first failure start no more,
    let the running ones finish, and return that failure."""
    if count == 0:
        return None
    failure: StatesError | None = None
    with ThreadPoolExecutor(max_workers=limit, thread_name_prefix="map") as pool:
        pending: set[Future[None]] = set()
        next_index = 0
        while pending or (failure is None and next_index < count):
            while failure is None and next_index < count and len(pending) < limit:
                pending.add(pool.submit(work, next_index))
                next_index += 1
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in sorted(done, key=id):
                error = future.exception()
                if error is None:
                    continue
                if not isinstance(error, StatesError):
                    raise error
                if error.terminal:
                    failure = error if failure is None or not failure.terminal else failure
                elif failure is None:
                    failure = error
    return failure


def check(site: Site) -> None:
    state = site.state
    if "ItemsPath" in state:
        check_path(site.where, "ItemsPath", state["ItemsPath"], nullable=False)
    if "ItemSelector" in state:
        check_payload(f"{site.where} ItemSelector", state["ItemSelector"])
    processor = state.get("ItemProcessor", state.get("Iterator"))
    if processor is None:
        raise fail(site.where, "needs ItemProcessor (or Iterator)")
    site.check_machine(processor, f"{site.where} ItemProcessor")


MAP = StateType(
    "Map",
    jsonpath=Mode(COMMON_FIELDS | IO_FIELDS | FLOW_FIELDS
                  | {"ItemsPath", "ItemSelector", "Parameters", "ItemProcessor", "Iterator",
                     "MaxConcurrency", "ResultSelector", "ResultPath", "Retry", "Catch"},
                  run, check),
    retries=True,
)
