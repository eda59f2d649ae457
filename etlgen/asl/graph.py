"""Draw a state machine definition as a Mermaid flowchart.

`etlgen graph` prints it so a reviewer sees every path, including the failure path, without
deploying anything. The drawing follows the definition's own order, so the same definition
always gives the same text (diffs of the diagram mean the workflow changed).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from etlgen.asl.engine import StateType
from etlgen.asl.states import STATE_TYPES

State = dict[str, Any]

_UNSAFE_ID_CHARS = re.compile(r"[^A-Za-z0-9_]")
# Characters that end or confuse a quoted Mermaid label, as Mermaid entity codes.
_LABEL_ESCAPES = {
    '"': "#quot;",
    "#": "#35;",
    "&": "#38;",
    "<": "#60;",
    ">": "#62;",
    "`": "#96;",
    "|": "#124;",
}
# Longest suffix first, so `StringLessThanEquals` is not read as `StringEquals`.
_COMPARATORS = (
    ("LessThanEquals", "<="),
    ("GreaterThanEquals", ">="),
    ("LessThan", "<"),
    ("GreaterThan", ">"),
    ("Equals", "=="),
    ("Matches", "matches"),
)
_TYPE_TESTS = ("IsNull", "IsPresent", "IsNumeric", "IsString", "IsBoolean", "IsTimestamp")
_START_ID = "start_"
_CLASSES = (
    "classDef succeed fill:#d4edda,stroke:#2e7d32,color:#1b5e20",
    "classDef fail fill:#f8d7da,stroke:#c62828,color:#7f0000",
    "classDef finish stroke-width:3px",
)


def to_mermaid(definition: dict[str, Any]) -> str:
    """A `flowchart TD`: Next, Choice and Default edges solid, Catch edges dotted."""
    ids = _NodeIds()
    lines = ["flowchart TD", f"    {_START_ID}(({_label('start')}))"]
    edges: list[str] = [f"    {_START_ID} --> {ids.get(definition['StartAt'])}"]
    styles: list[str] = []
    lines += _nodes(definition["States"], ids, edges, styles, indent="    ")
    return "\n".join([*lines, *edges, *(f"    {c}" for c in _CLASSES), *styles]) + "\n"


class _NodeIds:
    """Mermaid ids for state names: safe characters only, never a keyword, never shared."""

    def __init__(self) -> None:
        self._by_name: dict[str, str] = {}
        self._taken: set[str] = {_START_ID}

    def get(self, name: str) -> str:
        if name not in self._by_name:
            base = "s_" + _UNSAFE_ID_CHARS.sub("_", name)
            candidate, n = base, 1
            while candidate in self._taken:
                n += 1
                candidate = f"{base}_{n}"
            self._taken.add(candidate)
            self._by_name[name] = candidate
        return self._by_name[name]


def _nodes(
    states: dict[str, State], ids: _NodeIds, edges: list[str], styles: list[str], indent: str
) -> Iterator[str]:
    for name, state in states.items():
        node = ids.get(name)
        kind = state.get("Type", "")
        branches = _branches(state)
        if branches:
            yield f"{indent}subgraph {node} [{_label(f'{name} ({kind})')}]"
            yield f"{indent}    direction TB"
            for branch in branches:
                yield from _nodes(branch["States"], ids, edges, styles, indent + "    ")
            yield f"{indent}end"
        else:
            yield f"{indent}{node}{_shape(kind, _label(name))}"
        edges.extend(f"    {node} {arrow} {ids.get(target)}" for arrow, target in _exits(state))
        css = _css_class(state)
        if css:
            styles.append(f"    class {node} {css}")


def _branches(state: State) -> list[dict[str, Any]]:
    """The machines nested in a state (a Map's processor, a Parallel's branches): drawn
    inside it, whatever its type."""
    processor = state.get("ItemProcessor") or state.get("Iterator")
    return [*state.get("Branches", []), *([processor] if processor else [])]


def _state_type(kind: Any) -> StateType | None:
    return STATE_TYPES.get(kind) if isinstance(kind, str) else None


def _shape(kind: str, label: str) -> str:
    """The brackets its entry in the state-type table gives; a plain box for the rest."""
    state_type = _state_type(kind)
    opening, closing = state_type.shape if state_type else ("[", "]")
    return f"{opening}{label}{closing}"


def _css_class(state: State) -> str | None:
    state_type = _state_type(state.get("Type"))
    if state_type and state_type.graph_class:
        return state_type.graph_class
    if state.get("End") is True:
        return "finish"
    return None


def _exits(state: State) -> Iterator[tuple[str, str]]:
    """(arrow, target) for every transition out of one state, in definition order."""
    for choice in state.get("Choices", []):
        yield f"-->|{_label(_describe_rule(choice))}|", choice["Next"]
    if "Default" in state:
        yield f"-->|{_label('default')}|", state["Default"]
    if "Next" in state:
        yield "-->", state["Next"]
    for catcher in state.get("Catch", []):
        yield f"-.->|{_label(', '.join(catcher['ErrorEquals']))}|", catcher["Next"]


def _describe_rule(rule: dict[str, Any]) -> str:
    """A Choice rule as a short condition, such as `$.file.status == "COMPLETED"`."""
    if "Condition" in rule:
        return str(rule["Condition"])
    if "And" in rule or "Or" in rule:
        operator = "And" if "And" in rule else "Or"
        parts = [_describe_rule(inner) for inner in rule[operator]]
        return "(" + f" {operator.lower()} ".join(parts) + ")"
    if "Not" in rule:
        return "not " + _describe_rule(rule["Not"])
    variable = rule.get("Variable", "?")
    for key, value in rule.items():
        if key in _TYPE_TESTS:
            return f"{variable} {key} {_literal(value)}"
        for suffix, symbol in _COMPARATORS:
            if key.endswith(suffix) or key.endswith(suffix + "Path"):
                shown = value if key.endswith("Path") else _literal(value)
                return f"{variable} {symbol} {shown}"
    return str(variable)


def _literal(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else json.dumps(value)


def _label(text: str) -> str:
    """A double-quoted Mermaid label that shows `text` as written."""
    flat = " ".join(str(text).split())
    return '"' + "".join(_LABEL_ESCAPES.get(char, char) for char in flat) + '"'
