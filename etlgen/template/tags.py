"""The config's tags, for every resource type that accepts them."""

from __future__ import annotations

from troposphere import Tags

from etlgen.model import PipelineConfig


def resource_tags(config: PipelineConfig) -> Tags:
    """Tags sorted by key, so the rendered template does not depend on YAML key order."""
    return Tags(dict(config.tags))
