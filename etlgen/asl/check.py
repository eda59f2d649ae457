"""Up-front check of a definition: every state type, field, path and intrinsic the engine
would meet is one it supports, so nothing is skipped silently at run time.

What a state may hold comes from its type's entry in `etlgen.asl.states.STATE_TYPES`; the
fields every type shares (paths, payloads, Retry, Catch) are checked here.
"""

from __future__ import annotations

from typing import Any

from etlgen.asl.engine import Site
from etlgen.asl.fields import (
    CATCH_FIELDS,
    RETRY_FIELDS,
    check_path,
    check_payload,
    check_rule,
    check_target,
    check_transition,
    fail,
)
from etlgen.asl.states import STATE_TYPES

_MACHINE_FIELDS = {"StartAt", "States", "Comment", "TimeoutSeconds", "Version",
                   "ProcessorConfig"}
_QUERY_LANGUAGES = ("JSONPath", "JSONata")
_NULLABLE_PATHS = ("InputPath", "OutputPath", "ResultPath")
_PAYLOADS = ("Parameters", "ResultSelector")


def check_definition(definition: Any) -> None:
    """Raise `DefinitionError` naming the state and field of the first unsupported thing."""
    _check_machine(definition, "definition")


def _check_machine(machine: Any, where: str) -> None:
    if not isinstance(machine, dict):
        raise fail(where, "must be an object with StartAt and States")
    extra = set(machine) - _MACHINE_FIELDS
    if extra:
        raise fail(where, f"unsupported field(s) {sorted(extra)}")
    states = machine.get("States")
    if not isinstance(states, dict) or not states:
        raise fail(where, "States must be a non-empty object")
    if machine.get("StartAt") not in states:
        raise fail(where, f"StartAt {machine.get('StartAt')!r} is not a state")
    config = machine.get("ProcessorConfig", {})
    if config.get("Mode", "INLINE") != "INLINE":
        raise fail(where, f"ProcessorConfig Mode {config.get('Mode')!r} is not supported "
                   "(only INLINE Map)")
    for name, state in states.items():
        _check_state(name, state, states)


def _check_state(name: str, state: Any, states: dict[str, Any]) -> None:
    where = f"state {name!r}"
    if not isinstance(state, dict):
        raise fail(where, "must be an object")
    kind = state.get("Type")
    state_type = STATE_TYPES.get(kind) if isinstance(kind, str) else None
    if state_type is None:
        raise fail(where, f"Type {kind!r} is not supported locally "
                   f"(supported: {', '.join(STATE_TYPES)})")
    language = state.get("QueryLanguage", "JSONPath")
    if language not in _QUERY_LANGUAGES:
        raise fail(where, f"QueryLanguage {language!r} is not JSONPath or JSONata")
    mode = state_type.mode(language)
    if mode is None:
        supported = [name for name, entry in STATE_TYPES.items() if entry.jsonata]
        raise fail(where, f"a {language} {kind} state is not supported locally "
                   f"(supported: {', '.join(supported)})")
    extra = set(state) - mode.fields - {"QueryLanguage"}
    if extra:
        qualifier = "JSONata " if language == "JSONata" else ""
        raise fail(where, f"field(s) {sorted(extra)} not supported on a {qualifier}{kind} state")
    if state_type.transitions:
        check_transition(where, state, states)
    for field in _NULLABLE_PATHS:
        if field in state:
            check_path(where, field, state[field], nullable=True)
    for field in _PAYLOADS:
        if field in state:
            check_payload(f"{where} {field}", state[field])
    mode.check(Site(where, state, states, _check_machine))
    _check_rules(where, state, states)


def _check_rules(where: str, state: dict[str, Any], states: dict[str, Any]) -> None:
    for position, rule in enumerate(state.get("Retry", [])):
        check_rule(f"{where} Retry[{position}]", rule, RETRY_FIELDS,
                   last=position == len(state["Retry"]) - 1)
    for position, rule in enumerate(state.get("Catch", [])):
        check_rule(f"{where} Catch[{position}]", rule, CATCH_FIELDS,
                   last=position == len(state["Catch"]) - 1)
        check_target(f"{where} Catch[{position}]", "Next", rule.get("Next"), states)
        if "ResultPath" in rule:
            check_path(f"{where} Catch[{position}]", "ResultPath", rule["ResultPath"], True)
