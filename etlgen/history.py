"""How many chunks one execution can take before Step Functions' history limit.

A Standard workflow execution fails once its history holds 25,000 events. Counted per
state type, as Step Functions writes them, with every retrier of a Task used to the full:
- Pass, Choice, Succeed: 2 (`...StateEntered`, `...StateExited`); Fail: 1;
- Task: 5 (`TaskStateEntered`, `...Scheduled`, `...Started`, `...Succeeded`,
  `TaskStateExited`; for a Lambda function ARN the middle three are `LambdaFunction...`),
  plus 3 per retry (`...Scheduled`, `...Started`, `...Failed` or `...TimedOut`);
- Map: 4 (`MapStateEntered`, `MapStateStarted`, `MapStateSucceeded`, `MapStateExited`);
  each iteration 2 (`MapIterationStarted`, `MapIterationSucceeded`) plus its states;
- the execution: 2 (`ExecutionStarted`, `ExecutionSucceeded`/`Failed`).
The fixed part counts every state outside the Map (the success and failure paths are
exclusive, so this bounds both): `192 + 9 x retries.max_attempts` for the generated
definition (three Lambda tasks with 6 Lambda-service retries and the configured ones,
finalize's 20 `CommitBusy` retries, the status write and the alert with 5 retries each).
Each chunk costs `7 + 3 x (6 + retries.max_attempts)`, so `processing.max_chunks` is at
most `(25,000 - fixed) / (25 + 3 x retries.max_attempts)`: 728 with the default 3
retries, 992 with none, 449 with 10.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from etlgen.model import PipelineConfig, RetryConfig
from etlgen.template.workflow import state_machine_definition

HISTORY_LIMIT = 25_000
EXECUTION_EVENTS = 2
ITERATION_EVENTS = 2
EVENTS_PER_RETRY = 3
STATE_EVENTS = {"Pass": 2, "Choice": 2, "Succeed": 2, "Wait": 2, "Fail": 1, "Task": 5,
                "Map": 4}


def _state_events(state: dict[str, Any]) -> int:
    retries: int = sum(retrier.get("MaxAttempts", 3) for retrier in state.get("Retry", []))
    return STATE_EVENTS[state["Type"]] + EVENTS_PER_RETRY * retries


def history_budget(definition: dict[str, Any]) -> tuple[int, int]:
    """(events per Map item, events of everything else) at most, for one execution."""
    fixed, per_item = EXECUTION_EVENTS, 0
    for state in definition["States"].values():
        fixed += _state_events(state)
        processor = state.get("ItemProcessor")
        if processor:
            per_item = ITERATION_EVENTS + sum(
                _state_events(inner) for inner in processor["States"].values())
    return per_item, fixed


@lru_cache(maxsize=32)
def max_chunks_bound(max_attempts: int) -> int:
    """The most chunks a file may have with `retries.max_attempts` retries per task."""
    config = PipelineConfig(name="bound", source=Path("pipeline.yaml"),
                            schema_path=Path("schema.json"), schema={"type": "object"},
                            retries=RetryConfig(max_attempts=max_attempts))
    per_chunk, fixed = history_budget(state_machine_definition(config))
    return (HISTORY_LIMIT - fixed) // per_chunk
