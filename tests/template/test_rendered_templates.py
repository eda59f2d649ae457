"""Rules CloudFormation enforces on the whole template that cfn-lint and moto do not:
checked on every rendered template (every test config and pipeline.yaml, every format)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from etlgen.model import PipelineConfig
from etlgen.render import render

from .conftest import CONFIG_FILES

FORMATS = ("json", "json-pretty", "yaml")


def _parse(text: str, fmt: str) -> Any:
    return yaml.safe_load(text) if fmt == "yaml" else json.loads(text)


def _nulls(value: Any, where: str = "") -> Iterator[str]:
    if value is None:
        yield where or "(the template)"
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _nulls(item, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _nulls(item, f"{where}[{index}]")


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


@pytest.fixture(scope="module")
def every_render(configs: dict[str, PipelineConfig]) -> dict[tuple[str, str], Any]:
    return {(label, fmt): _parse(render(config, fmt), fmt)
            for label, config in configs.items() for fmt in FORMATS}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("label", sorted(CONFIG_FILES))
def test_no_null_anywhere(label: str, fmt: str, every_render: dict) -> None:
    """CloudFormation: "'null' values are not allowed in templates" (state machine
    definitions included)."""
    assert list(_nulls(every_render[label, fmt])) == []


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("label", sorted(CONFIG_FILES))
def test_every_arn_takes_the_stacks_partition(label: str, fmt: str, every_render: dict) -> None:
    literal = [s for s in _strings(every_render[label, fmt]) if "arn:aws:" in s]
    assert literal == []


def test_the_null_walk_finds_a_null_where_there_is_one() -> None:
    assert list(_nulls({"a": [{"ResultPath": None}]})) == ["a[0].ResultPath"]
