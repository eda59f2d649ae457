"""Configs and rendered templates shared by the template tests (rendered once per session)."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import pytest

from etlgen.config import load_config
from etlgen.model import PipelineConfig
from etlgen.render import build_template, render

ROOT = Path(__file__).resolve().parents[2]
CONFIG_FILES = {
    "defaults": ROOT / "pipeline.yaml",
    "minimal": ROOT / "tests" / "configs" / "minimal.yaml",
    "all_options": ROOT / "tests" / "configs" / "all_options.yaml",
    "all_off": ROOT / "tests" / "configs" / "all_off.yaml",
}
# A fixed key keeps these tests independent of the handler sources' current content.
HANDLERS_KEY = "handlers/etlgen-handlers-0123456789abcdef.zip"


def template_of(config: PipelineConfig) -> dict[str, Any]:
    return build_template(config, handlers_key=HANDLERS_KEY).to_dict()


def resources_of(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == resource_type
    }


def dashboard_text(template: dict[str, Any]) -> str:
    """The dashboard body with its own `Fn::Sub` variables (`${Name}`, the repeated
    fragments) put in, as CloudFormation does; the template's (`${AWS::Region}`, logical
    ids) stay."""
    text, variables = template["Resources"]["Dashboard"]["Properties"]["DashboardBody"][
        "Fn::Sub"]
    values = {name: value if isinstance(value, str) else value["Fn::Sub"]
              for name, value in variables.items()}
    return str(re.sub(r"\$\{([^}!]+)\}",
                      lambda match: values.get(match.group(1), match.group(0)), text))


def changed(config: PipelineConfig, section: str, **values: Any) -> PipelineConfig:
    """The config with some keys of one section replaced."""
    return dataclasses.replace(
        config, **{section: dataclasses.replace(getattr(config, section), **values)}
    )


@pytest.fixture(scope="session")
def configs() -> dict[str, PipelineConfig]:
    return {label: load_config(path) for label, path in CONFIG_FILES.items()}


@pytest.fixture(scope="session")
def base_config(configs: dict[str, PipelineConfig]) -> PipelineConfig:
    return configs["minimal"]


@pytest.fixture(scope="session")
def base_template(base_config: PipelineConfig) -> dict[str, Any]:
    return template_of(base_config)


@pytest.fixture(scope="session")
def rendered(configs: dict[str, PipelineConfig]) -> dict[str, str]:
    """The JSON text `render` produces for each config file."""
    return {label: render(config) for label, config in configs.items()}


@pytest.fixture(scope="session")
def templates(rendered: dict[str, str]) -> dict[str, dict[str, Any]]:
    return {label: json.loads(text) for label, text in rendered.items()}
