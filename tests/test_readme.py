"""The README shows what the code does."""

from __future__ import annotations

import re
from pathlib import Path

from etlgen.asl import to_mermaid
from etlgen.config import load_config
from etlgen.render import state_machine_definition

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_diagram_is_the_rendered_state_machine() -> None:
    diagram = re.search(r"```mermaid\n(.*?)```", README, re.DOTALL)
    assert diagram, "README has no mermaid diagram"
    expected = to_mermaid(state_machine_definition(load_config(ROOT / "pipeline.yaml")))
    assert diagram.group(1) == expected, "update README: etlgen graph pipeline.yaml"


def test_readme_quick_start_has_the_two_commands_ci_runs() -> None:
    quick_start = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```sh\n(.*?)\n```", quick_start, re.DOTALL)
    assert len(commands) == 2
    assert "etlgen run pipeline.yaml samples/transactions.csv" in commands[0]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert commands[1] in ci, ".ci/run must run the README's test command"


def test_readme_documents_every_config_key() -> None:
    reference = README.split("## Configuration reference", 1)[1].split("\n## ", 1)[0]
    schema_keys = re.findall(r"^\| `([a-z_.]+)` \|", reference, re.MULTILINE)
    from etlgen.config.schema import PIPELINE_SCHEMA

    def keys(node: dict, prefix: str = "") -> list[str]:
        found = []
        for name, child in node.get("properties", {}).items():
            path = f"{prefix}{name}"
            if child.get("type") == "object" and "properties" in child and name != "tags":
                found.extend(keys(child, path + "."))
            else:
                found.append(path)
        return found

    assert sorted(set(keys(PIPELINE_SCHEMA))) == sorted(set(schema_keys))


def test_readme_lists_the_regions_of_the_default_layer() -> None:
    from etlgen.layer_regions import RELEASES

    listed = re.search(r"Regions with the default layer \(([0-9.]+)\): (.*?)\.\n", README,
                       re.DOTALL)
    assert listed, "README lost the list of regions of the default layer"
    version = load_config(ROOT / "pipeline.yaml").functions.pandas_layer_version
    assert listed.group(1) == version
    assert set(re.findall(r"`([a-z0-9-]+)`", listed.group(2))) == RELEASES[version].regions


def test_readme_commands_table_shows_every_command_and_option() -> None:
    import argparse

    from etlgen.cli import _parser

    table = README.split("## Commands", 1)[1].split("\n## ", 1)[0]
    rows = {match.group(1): match.group(0) for match in
            re.finditer(r"^\| `etlgen ([^\s`]+)[^|]*\|.*$", table, re.MULTILINE)}
    parser = _parser()
    (commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert set(rows) == {*commands.choices, "--version"}
    for name, command in commands.choices.items():
        for action in command._actions:
            options = [o for o in action.option_strings if o not in ("-h", "--help")]
            if options:
                usage = re.split(r"(?<!\\)\|", rows[name])[1]
                assert any(option in usage for option in options), \
                    f"README Commands: etlgen {name} lacks {options[-1]}"
