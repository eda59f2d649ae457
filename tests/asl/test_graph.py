"""`etlgen graph`: the Mermaid drawing shows every transition of the real workflow."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from etlgen.asl import to_mermaid
from etlgen.model import AlertsConfig, PipelineConfig
from etlgen.template.workflow import state_machine_definition

NODE = re.compile(r"^\s*(?:subgraph )?(\w+) ?[\[{(/]+(\".*)$")
EDGE = re.compile(r"^\s*(\w+) (-->|-\.->)(?:\|\"(.*)\"\|)? (\w+)$")

# Names Mermaid would misread as keywords, syntax, or the same id once sanitized.
AWKWARD_DEFINITION: dict[str, Any] = {
    "StartAt": "end",
    "States": {
        "end": {"Type": "Pass", "Next": 'say "hi" | <b>#1;</b>'},
        'say "hi" | <b>#1;</b>': {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.name", "StringEquals": 'a "b"', "Next": "x-y"},
                {
                    "And": [
                        {"Variable": "$.n", "NumericLessThanEquals": 3},
                        {"Not": {"Variable": "$.m", "IsPresent": True}},
                    ],
                    "Next": "x_y",
                },
            ],
            "Default": "subgraph",
        },
        "x-y": {"Type": "Succeed"},
        "x_y": {"Type": "Succeed"},
        "subgraph": {
            "Type": "Task",
            "Resource": "arn:aws:states:::sns:publish",
            "Catch": [{"ErrorEquals": ["My|Error", "States.ALL"], "Next": "x-y"}],
            "End": True,
        },
    },
}


def make_definition(alerts: bool = True) -> dict[str, Any]:
    config = PipelineConfig(
        name="transactions",
        source=Path("pipeline.yaml"),
        schema_path=Path("schemas/transactions.schema.json"),
        schema={"type": "object"},
        alerts=AlertsConfig(enabled=alerts),
    )
    return state_machine_definition(config)


def parse(text: str) -> tuple[dict[str, str], set[tuple[str, str, str | None]]]:
    """(node id -> raw label, {(source id, target id, edge label)}) from the Mermaid text."""
    nodes: dict[str, str] = {}
    edges: set[tuple[str, str, str | None]] = set()
    for line in text.splitlines()[1:]:
        edge = EDGE.match(line)
        if edge:
            edges.add((edge[1], edge[4], edge[3]))
            continue
        node = NODE.match(line)
        if node and not line.strip().startswith(("classDef", "class ", "direction")):
            nodes[node[1]] = node[2]
    return nodes, edges


def id_of(nodes: dict[str, str], name: str) -> str:
    matches = [node for node, label in nodes.items() if re.match(f'"{re.escape(name)}[" ]', label)]
    assert len(matches) == 1, (name, matches)
    return matches[0]


@pytest.mark.parametrize("alerts", [True, False])
def test_every_transition_of_the_workflow_is_drawn(alerts: bool) -> None:
    definition = make_definition(alerts)
    nodes, edges = parse(to_mermaid(definition))
    states = dict(definition["States"])
    states.update(states["ProcessChunks"]["ItemProcessor"]["States"])
    assert len(nodes) == len(states) + 1  # plus the start marker
    expected = set()
    for name, state in states.items():
        source = id_of(nodes, name)
        if "Next" in state:
            expected.add((source, id_of(nodes, state["Next"]), None))
        if "Default" in state:
            expected.add((source, id_of(nodes, state["Default"]), "default"))
        for choice in state.get("Choices", []):
            target = id_of(nodes, choice["Next"])
            labels = [label for start, end, label in edges if (start, end) == (source, target)]
            assert len(labels) == 1 and labels[0] not in (None, "default"), name
            expected.add((source, target, labels[0]))
        for catcher in state.get("Catch", []):
            expected.add((source, id_of(nodes, catcher["Next"]), "States.ALL"))
    assert expected <= edges
    assert len(edges) == len(expected) + 1  # plus start -> Init
    assert ("start_", id_of(nodes, "Init"), None) in edges


def test_catch_edges_are_dotted_and_normal_edges_solid() -> None:
    text = to_mermaid(make_definition())
    assert 's_ValidateHeader -.->|"States.ALL"| s_StampFailure' in text
    assert ('s_IsAlreadyProcessed -->|"$.file.status == #quot;COMPLETED#quot;"| '
            's_AlreadyProcessed') in text
    assert "s_ValidateHeader --> s_IsAlreadyProcessed" in text


def test_map_is_a_subgraph_holding_its_item_processor() -> None:
    lines = to_mermaid(make_definition()).splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("subgraph"))
    end = next(i for i in range(start, len(lines)) if lines[i].strip() == "end")
    assert "s_ProcessChunks" in lines[start] and "(Map)" in lines[start]
    assert any("s_ProcessChunk[" in line for line in lines[start:end])
    assert "    s_PlanChunks --> s_ProcessChunks" in lines
    assert "    s_ProcessChunks --> s_Finalize" in lines


def test_terminal_states_are_styled() -> None:
    text = to_mermaid(make_definition())
    assert "class s_Succeeded succeed" in text
    assert "class s_AlreadyProcessed succeed" in text
    assert "class s_Failed fail" in text
    assert "classDef succeed" in text and "classDef fail" in text


def test_output_is_deterministic() -> None:
    first = to_mermaid(make_definition())
    assert first == to_mermaid(make_definition())
    assert first.startswith("flowchart TD\n") and first.endswith("\n")


def test_awkward_state_names_become_safe_unique_ids() -> None:
    text = to_mermaid(AWKWARD_DEFINITION)
    nodes, edges = parse(text)
    assert len(nodes) == len(AWKWARD_DEFINITION["States"]) + 1
    for node in nodes:
        assert re.fullmatch(r"[A-Za-z0-9_]+", node)
        assert node not in ("end", "subgraph", "graph")
    assert len({id_of(nodes, "x-y"), id_of(nodes, "x_y")}) == 2
    assert len(edges) == 6  # five transitions plus start


def test_quotes_and_mermaid_syntax_in_labels_are_escaped() -> None:
    text = to_mermaid(AWKWARD_DEFINITION)
    for line in text.splitlines():
        for label in re.findall(r'"([^"]*)"', line):
            assert not set(label) & set('"|<>`'), line
    assert "say #quot;hi#quot; #124; #60;b#62;#35;1;#60;/b#62;" in text
    assert '|"$.name == #quot;a #quot;b#quot;#quot;"|' in text
    assert '|"($.n <= 3 and not $.m IsPresent true)"|'.replace("<", "#60;") in text
    assert '-.->|"My#124;Error, States.ALL"|' in text


def test_every_line_is_balanced() -> None:
    """Unbalanced quotes or brackets are what break Mermaid parsing."""
    for line in to_mermaid(AWKWARD_DEFINITION).splitlines():
        assert line.count('"') % 2 == 0, line
        outside = re.sub(r'"[^"]*"', "", line)
        for opening, closing in ("[]", "{}", "()"):
            if not line.strip().startswith("classDef"):
                assert outside.count(opening) == outside.count(closing), line
