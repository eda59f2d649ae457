"""The config's tags reach every resource whose type accepts tags."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

from etlgen.model import PipelineConfig

from .conftest import CONFIG_FILES, template_of


def _taggable(resource_type: str) -> bool:
    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", resource_type).schema
    return "Tags" in schema.get("properties", {})


@pytest.mark.parametrize("label", sorted(CONFIG_FILES))
def test_every_taggable_resource_carries_the_config_tags(
    label: str, configs: dict[str, PipelineConfig], templates: dict[str, dict[str, Any]],
) -> None:
    expected = [{"Key": k, "Value": v} for k, v in sorted(configs[label].tags)]
    resources = templates[label]["Resources"]
    taggable = {rid: r for rid, r in resources.items() if _taggable(r["Type"])}
    assert len(taggable) > 20
    for resource_id, resource in taggable.items():
        tags = resource["Properties"].get("Tags")
        assert tags is not None, f"{resource_id} ({resource['Type']}) has no tags"
        assert tags == expected, resource_id


def test_changing_the_tags_changes_every_tag_list(base_config: PipelineConfig) -> None:
    config = dataclasses.replace(base_config, tags=(("Owner", "data"), ("Tier", "gold")))
    template = template_of(config)
    for resource_id in ("DataBucket", "StatusTable", "ProcessFunction", "StateMachine",
                        "ProcessRole", "ObjectCreatedRule", "Dashboard"):
        assert template["Resources"][resource_id]["Properties"]["Tags"] == [
            {"Key": "Owner", "Value": "data"}, {"Key": "Tier", "Value": "gold"}
        ]
