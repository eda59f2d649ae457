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

from .conftest import CONFIG_FILES, ROOT

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


DIRECT_UPLOAD_LIMIT = 51_200  # `deploy --template-file` without --s3-bucket


def test_the_readme_states_which_formats_fit_a_direct_deploy(
        configs: dict[str, PipelineConfig]) -> None:
    """README: the default JSON fits for every config; json-pretty and yaml of the
    bundled pipeline.yaml do not (deploy them with --s3-bucket)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "`--format\n  json-pretty` and `--format yaml` are for reading" in readme
    assert "--s3-bucket" in readme
    for label, config in configs.items():
        assert len(render(config).encode()) < DIRECT_UPLOAD_LIMIT, label
    bundled = configs["defaults"]
    for fmt in ("json-pretty", "yaml"):
        assert len(render(bundled, fmt).encode()) > DIRECT_UPLOAD_LIMIT, fmt
