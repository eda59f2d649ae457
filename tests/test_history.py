"""The history budget behind processing.max_chunks: the arithmetic the config reference
states is the one counted from the generated definition."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from etlgen.config import load_config
from etlgen.config.schema import PIPELINE_SCHEMA
from etlgen.history import HISTORY_LIMIT, history_budget, max_chunks_bound
from etlgen.model import AlertsConfig, RetryConfig
from etlgen.template.workflow import state_machine_definition

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = [ROOT / "pipeline.yaml", *sorted((ROOT / "tests" / "configs").glob("*.yaml"))]


@pytest.mark.parametrize("attempts", range(11))
def test_counted_budget_is_the_documented_formula(attempts: int) -> None:
    config = dataclasses.replace(load_config(ROOT / "pipeline.yaml"),
                                 retries=RetryConfig(max_attempts=attempts))
    per_chunk, fixed = history_budget(state_machine_definition(config))
    assert per_chunk == 25 + 3 * attempts == 7 + 3 * (6 + attempts)
    assert fixed == 192 + 9 * attempts
    assert max_chunks_bound(attempts) == (HISTORY_LIMIT - fixed) // per_chunk


def test_the_bound_holds_with_alerts_off_too() -> None:
    config = dataclasses.replace(load_config(ROOT / "pipeline.yaml"),
                                 alerts=AlertsConfig(enabled=False))
    per_chunk, fixed = history_budget(state_machine_definition(config))
    assert fixed <= 192 + 9 * config.retries.max_attempts and per_chunk == 34


def test_schema_maximum_and_default_fit_the_budget() -> None:
    chunks = PIPELINE_SCHEMA["properties"]["processing"]["properties"]["max_chunks"]
    assert chunks["maximum"] == max_chunks_bound(0)
    assert chunks["default"] <= max_chunks_bound(3)
    for text in ("728 with 3 retries", "992 with none", "449 with 10",
                 "192 + 9 x retries.max_attempts", "25 + 3 x retries.max_attempts"):
        assert text in chunks["description"]


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_every_shipped_config_fits_with_every_retry_used(path: Path) -> None:
    config = load_config(path)
    per_chunk, fixed = history_budget(state_machine_definition(config))
    assert config.processing.max_chunks * per_chunk + fixed <= HISTORY_LIMIT
