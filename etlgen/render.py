"""Assemble the CloudFormation template from the config and render it deterministically.

Each `etlgen.template` module adds the resources of one concern; they refer to each other
only by logical id (`etlgen.template.names`). The same config always renders to the same
bytes: no timestamps, no absolute paths, keys in a fixed order.
"""

from __future__ import annotations

import json
from typing import Literal

import yaml
from troposphere import Template

from etlgen import __version__
from etlgen.model import PipelineConfig
from etlgen.packaging import build_package
from etlgen.template.athena import add_athena
from etlgen.template.catalog import add_catalog
from etlgen.template.events import add_events
from etlgen.template.functions import add_functions
from etlgen.template.iam import add_roles
from etlgen.template.monitoring import add_monitoring
from etlgen.template.notifications import add_notifications
from etlgen.template.outputs import add_outputs
from etlgen.template.parameters import add_parameters
from etlgen.template.scanner import add_scanner_notes
from etlgen.template.statemachine import add_state_machine
from etlgen.template.status import add_status_table
from etlgen.template.storage import add_storage
from etlgen.template.workflow import state_machine_definition

__all__ = ["build_template", "render", "state_machine_definition"]

Format = Literal["json", "json-pretty", "yaml"]
# `aws cloudformation deploy --template-file` sends the file as the template body, which
# CloudFormation caps at 51,200 bytes; indented JSON of this stack is well over that.
DEPLOY_BODY_LIMIT = 51_200
# Sections whose entries each get one line: diffs stay per resource, size stays minimal.
LINE_PER_ENTRY = ("Metadata", "Parameters", "Conditions", "Resources", "Outputs")
# Reading order: what it is, what it takes, what it creates, what it gives back.
SECTION_ORDER = ("AWSTemplateFormatVersion", "Description", "Metadata", "Parameters",
                 "Conditions", "Resources", "Outputs")


def build_template(config: PipelineConfig, handlers_key: str | None = None) -> Template:
    """The whole stack; `handlers_key` defaults to the key of `build_package(config)`."""
    if handlers_key is None:
        handlers_key = build_package(config).key
    template = Template(
        Description=f"etlgen {__version__}: serverless CSV ETL pipeline {config.name} "
        "(S3 -> EventBridge -> Step Functions -> Lambda)",
    )
    template.set_version("2010-09-09")
    template.set_metadata({
        "etlgen": {"version": __version__, "pipeline": config.name},
    })
    add_parameters(template, config)
    add_storage(template, config)
    add_status_table(template, config)
    add_catalog(template, config)
    add_athena(template, config)
    add_notifications(template, config)
    add_roles(template, config)
    add_functions(template, config, handlers_key)
    add_state_machine(template, config)
    add_events(template, config)
    add_monitoring(template, config)
    add_outputs(template, config)
    add_scanner_notes(template)
    return template


def render(config: PipelineConfig, fmt: Format = "json") -> str:
    """The template as deployable JSON (one line per resource), indented JSON or YAML."""
    built = build_template(config).to_dict()
    document = {key: built[key] for key in SECTION_ORDER if key in built}
    document.update({key: value for key, value in built.items() if key not in document})
    if fmt == "json":
        return _json_line_per_entry(document)
    if fmt == "json-pretty":
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if fmt == "yaml":
        return yaml.safe_dump(
            document, sort_keys=False, allow_unicode=True, default_flow_style=False, width=100
        )
    raise ValueError(
        f"unknown template format {fmt!r}: expected 'json', 'json-pretty' or 'yaml'"
    )


def _compact(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _json_line_per_entry(document: dict[str, object]) -> str:
    """Minified JSON but for a line break before each section and each entry of a section."""
    sections = []
    for key, value in document.items():
        if key in LINE_PER_ENTRY and isinstance(value, dict) and value:
            entries = ",\n".join(
                f"{_compact(name)}:{_compact(item)}" for name, item in value.items()
            )
            sections.append(f"{_compact(key)}:{{\n{entries}\n}}")
        else:
            sections.append(f"{_compact(key)}:{_compact(value)}")
    return "{\n" + ",\n".join(sections) + "\n}\n"
