"""Rendering: deterministic bytes, both formats, and the committed template kept current."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from etlgen.config import load_config
from etlgen.model import PipelineConfig
from etlgen.packaging import build_package
from etlgen.render import DEPLOY_BODY_LIMIT, build_template, render, state_machine_definition
from etlgen.template import workflow

ROOT = Path(__file__).resolve().parent.parent
PIPELINE = ROOT / "pipeline.yaml"
COMMITTED = ROOT / "templates" / "pipeline.json"
RENDER_COMMAND = "etlgen render pipeline.yaml -o templates/pipeline.json"


@pytest.fixture(scope="module")
def config() -> PipelineConfig:
    return load_config(PIPELINE)


def test_rendering_twice_gives_identical_bytes(config: PipelineConfig) -> None:
    assert render(config).encode() == render(config).encode()
    assert render(config, fmt="yaml").encode() == render(config, fmt="yaml").encode()


def test_a_freshly_loaded_config_renders_the_same(config: PipelineConfig) -> None:
    assert render(load_config(PIPELINE)) == render(config)


def test_yaml_and_json_describe_the_same_template(config: PipelineConfig) -> None:
    assert yaml.safe_load(render(config, fmt="yaml")) == json.loads(render(config))


def test_unknown_format_is_refused(config: PipelineConfig) -> None:
    with pytest.raises(ValueError, match="toml"):
        render(config, fmt="toml")  # type: ignore[arg-type]


def test_functions_load_the_package_key(config: PipelineConfig) -> None:
    template = json.loads(render(config))
    keys = {r["Properties"]["Code"]["S3Key"] for r in template["Resources"].values()
            if r["Type"] == "AWS::Lambda::Function"}
    assert keys == {build_package(config).key}
    given = build_template(config, handlers_key="handlers/x.zip").to_dict()
    assert given["Resources"]["ProcessFunction"]["Properties"]["Code"]["S3Key"] == (
        "handlers/x.zip")


def test_render_reexports_the_workflow_definition() -> None:
    assert state_machine_definition is workflow.state_machine_definition


def test_committed_template_is_current(config: PipelineConfig) -> None:
    assert COMMITTED.exists(), f"templates/pipeline.json is missing: run `{RENDER_COMMAND}`"
    assert COMMITTED.read_text(encoding="utf-8") == render(config), (
        f"templates/pipeline.json is stale (pipeline.yaml, the generator or the handlers "
        f"changed; the handlers' content hash is in every function's S3Key): run "
        f"`{RENDER_COMMAND}`"
    )


def test_default_output_deploys_without_an_s3_upload() -> None:
    """`etlgen render` output goes straight to `deploy --template-file` (51,200-byte cap)."""
    text = render(load_config(PIPELINE))
    size = len(text.encode())
    print(f"rendered template: {size} bytes")
    assert size < DEPLOY_BODY_LIMIT
    assert text.count("\n") > 30, "one line per resource keeps diffs readable"
    assert json.loads(text) == json.loads(render(load_config(PIPELINE), fmt="json-pretty"))
