"""Handler calls in worker processes: results, errors named like Lambda's, a dead worker."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from etlgen.asl import StatesError, TaskCall
from etlgen.config import load_config
from etlgen.local.pool import LambdaPool
from etlgen.local.runner import WorkFolder, handler_environment
from etlgen.local.worker import WorkerSpec

ROOT = Path(__file__).resolve().parents[2]
TARGET = __name__.rpartition(".")[0] + ".pool_target"


def _pool(tmp_path: Path, plan: list[dict] | None = None) -> LambdaPool:
    config = load_config(ROOT / "tests" / "configs" / "minimal.yaml")
    folder = WorkFolder(tmp_path)
    plan_path = None
    if plan is not None:
        plan_path = tmp_path / "plan.json"
        plan_path.write_text(json.dumps({"faults": plan}))
    spec = WorkerSpec(
        environment=tuple(sorted(handler_environment(config, folder).items())),
        bucket_root=str(folder.bucket), status_path=str(folder.status), queue_path="",
        schema_json=json.dumps(config.schema),
        fault_plan=str(plan_path) if plan_path else None)
    return LambdaPool(spec, workers=2)


def _call(state: str = "Work") -> TaskCall:
    return TaskCall(state, "arn:local", 0)


def test_results_errors_and_a_dead_worker(tmp_path: Path) -> None:
    pool = _pool(tmp_path, plan=[{"state": "Dies", "times": 1, "action": "exit"}])
    try:
        result = pool(TARGET, {"n": 1}, _call())
        assert result["echo"] == {"n": 1}
        assert result["pipeline"]

        with pytest.raises(StatesError) as raised:
            pool(TARGET, {"fail": "row 3"}, _call())
        assert raised.value.name == "CsvTrouble"
        cause = json.loads(raised.value.cause)
        assert (cause["errorType"], cause["errorMessage"]) == ("CsvTrouble", "bad input row 3")

        with pytest.raises(StatesError) as raised:
            pool(TARGET, {"unserializable": True}, _call())
        assert raised.value.name == "Runtime.MarshalError"

        with pytest.raises(StatesError) as raised:
            pool(TARGET, {"n": 2}, _call("Dies"))
        assert raised.value.name == "Runtime.ExitError"
        assert "exited unexpectedly" in raised.value.cause
        # the pool was replaced: the retry runs in a fresh worker process
        assert pool(TARGET, {"n": 3}, _call("Dies"))["echo"] == {"n": 3}
        assert pool.restarts == 1
    finally:
        pool.close()


def test_workers_preload_every_functions_handler_module() -> None:
    """The preload list is spelled out (the first worker starts before the function specs
    are imported); it names exactly the template's handler modules."""
    from etlgen.local.pool import HANDLER_MODULES
    from etlgen.template.function_specs import FUNCTIONS

    assert sorted(HANDLER_MODULES) == sorted(spec.handler_module for spec in FUNCTIONS.values())
