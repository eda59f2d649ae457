"""Up-front check of a definition: every state type, field, path and intrinsic the local
engine would meet is one it supports, so nothing is skipped silently at run time."""

from __future__ import annotations

from typing import Any

from etlgen.asl import choice, intrinsics, jsonata, jsonpath
from etlgen.asl.errors import DefinitionError

_COMMON = {"Type", "Comment"}
_IO = {"InputPath", "OutputPath"}
_FLOW = {"Next", "End"}
ALLOWED_FIELDS: dict[str, set[str]] = {
    "Pass": _COMMON | _IO | _FLOW | {"Parameters", "Result", "ResultPath"},
    "Task": _COMMON | _IO | _FLOW | {"Parameters", "ResultSelector", "ResultPath", "Resource",
                                     "Retry", "Catch", "TimeoutSeconds", "HeartbeatSeconds"},
    "Map": _COMMON | _IO | _FLOW | {"ItemsPath", "ItemSelector", "Parameters", "ItemProcessor",
                                    "Iterator", "MaxConcurrency", "ResultSelector",
                                    "ResultPath", "Retry", "Catch"},
    "Choice": _COMMON | _IO | {"Choices", "Default"},
    "Succeed": _COMMON | _IO,
    "Fail": _COMMON | {"Error", "Cause", "ErrorPath", "CausePath"},
    "Wait": _COMMON | _IO | _FLOW | {"Seconds", "SecondsPath"},
}
# A state may opt into JSONata; locally only a Pass state (its Output) can.
JSONATA_FIELDS: dict[str, set[str]] = {
    "Pass": _COMMON | _FLOW | {"QueryLanguage", "Output"},
}
_QUERY_LANGUAGES = ("JSONPath", "JSONata")
_PATH_FIELDS = ("InputPath", "OutputPath", "ResultPath", "ItemsPath", "SecondsPath")
_NULLABLE_PATHS = ("InputPath", "OutputPath", "ResultPath")
_RETRY_FIELDS = {"ErrorEquals", "IntervalSeconds", "MaxAttempts", "BackoffRate",
                 "MaxDelaySeconds", "JitterStrategy", "Comment"}
_CATCH_FIELDS = {"ErrorEquals", "Next", "ResultPath", "Comment"}


def check_definition(definition: Any) -> None:
    """Raise `DefinitionError` naming the state and field of the first unsupported thing."""
    _check_machine(definition, "definition")


def _fail(where: str, message: str) -> DefinitionError:
    return DefinitionError(f"state machine {where}: {message}")


def _check_machine(machine: Any, where: str) -> None:
    if not isinstance(machine, dict):
        raise _fail(where, "must be an object with StartAt and States")
    extra = set(machine) - {"StartAt", "States", "Comment", "TimeoutSeconds", "Version",
                            "ProcessorConfig"}
    if extra:
        raise _fail(where, f"unsupported field(s) {sorted(extra)}")
    states = machine.get("States")
    if not isinstance(states, dict) or not states:
        raise _fail(where, "States must be a non-empty object")
    if machine.get("StartAt") not in states:
        raise _fail(where, f"StartAt {machine.get('StartAt')!r} is not a state")
    config = machine.get("ProcessorConfig", {})
    if config.get("Mode", "INLINE") != "INLINE":
        raise _fail(where, f"ProcessorConfig Mode {config.get('Mode')!r} is not supported "
                    "(only INLINE Map)")
    for name, state in states.items():
        _check_state(name, state, states)


def _check_state(name: str, state: Any, states: dict[str, Any]) -> None:
    where = f"state {name!r}"
    if not isinstance(state, dict):
        raise _fail(where, "must be an object")
    kind = state.get("Type")
    if kind not in ALLOWED_FIELDS:
        raise _fail(where, f"Type {kind!r} is not supported locally "
                    f"(supported: {', '.join(ALLOWED_FIELDS)})")
    language = state.get("QueryLanguage", "JSONPath")
    if language not in _QUERY_LANGUAGES:
        raise _fail(where, f"QueryLanguage {language!r} is not JSONPath or JSONata")
    if language == "JSONata":
        _check_jsonata_state(where, kind, state, states)
        return
    extra = set(state) - ALLOWED_FIELDS[kind] - {"QueryLanguage"}
    if extra:
        raise _fail(where, f"field(s) {sorted(extra)} not supported on a {kind} state")
    if kind not in ("Choice", "Succeed", "Fail"):
        if ("Next" in state) == bool(state.get("End")):
            raise _fail(where, "needs exactly one of Next and End: true")
        _check_target(where, "Next", state.get("Next"), states, optional=True)
    for field in _PATH_FIELDS:
        if field in state:
            _check_path(where, field, state[field], nullable=field in _NULLABLE_PATHS)
    for field in ("Parameters", "ItemSelector", "ResultSelector"):
        if field in state:
            _check_payload(f"{where} {field}", state[field])
    if kind == "Task" and not isinstance(state.get("Resource"), str):
        raise _fail(where, "Resource must be a string")
    if kind == "Map":
        processor = state.get("ItemProcessor", state.get("Iterator"))
        if processor is None:
            raise _fail(where, "needs ItemProcessor (or Iterator)")
        _check_machine(processor, f"{where} ItemProcessor")
    if kind == "Choice":
        _check_choice(where, state, states)
    if kind == "Fail":
        for field in ("ErrorPath", "CausePath"):
            if field in state:
                _check_expression(where, field, state[field])
    for position, rule in enumerate(state.get("Retry", [])):
        _check_rule(f"{where} Retry[{position}]", rule, _RETRY_FIELDS,
                    last=position == len(state["Retry"]) - 1)
    for position, rule in enumerate(state.get("Catch", [])):
        _check_rule(f"{where} Catch[{position}]", rule, _CATCH_FIELDS,
                    last=position == len(state["Catch"]) - 1)
        _check_target(f"{where} Catch[{position}]", "Next", rule.get("Next"), states)
        if "ResultPath" in rule:
            _check_path(f"{where} Catch[{position}]", "ResultPath", rule["ResultPath"], True)


def _check_jsonata_state(where: str, kind: str, state: dict[str, Any],
                         states: dict[str, Any]) -> None:
    if kind not in JSONATA_FIELDS:
        raise _fail(where, f"a JSONata {kind} state is not supported locally "
                    f"(supported: {', '.join(JSONATA_FIELDS)})")
    extra = set(state) - JSONATA_FIELDS[kind]
    if extra:
        raise _fail(where, f"field(s) {sorted(extra)} not supported on a JSONata {kind} state")
    if ("Next" in state) == bool(state.get("End")):
        raise _fail(where, "needs exactly one of Next and End: true")
    _check_target(where, "Next", state.get("Next"), states, optional=True)
    for text in jsonata.expressions(state.get("Output")):
        try:
            jsonata.parse(text)
        except jsonata.JsonataSyntaxError as error:
            raise _fail(where, f"Output: {error}") from None


def _check_target(where: str, field: str, target: Any, states: dict[str, Any],
                  optional: bool = False) -> None:
    if target is None and optional:
        return
    if target not in states:
        raise _fail(where, f"{field} {target!r} is not a state")


def _check_path(where: str, field: str, value: Any, nullable: bool) -> None:
    if value is None and nullable:
        return
    try:
        jsonpath.parse(value)
    except jsonpath.PathSyntaxError as error:
        raise _fail(where, f"{field}: {error}") from None


def _check_expression(where: str, field: str, value: Any) -> None:
    if intrinsics.is_intrinsic(value):
        try:
            intrinsics.parse(value)
        except intrinsics.IntrinsicSyntaxError as error:
            raise _fail(where, f"{field}: {error}") from None
    else:
        _check_path(where, field, value, nullable=False)


def _check_payload(where: str, template: Any) -> None:
    if isinstance(template, dict):
        for key, value in template.items():
            if key.endswith(".$"):
                _check_expression(where, key, value)
            else:
                _check_payload(where, value)
    elif isinstance(template, list):
        for item in template:
            _check_payload(where, item)


def _check_rule(where: str, rule: Any, allowed: set[str], last: bool) -> None:
    if not isinstance(rule, dict) or not isinstance(rule.get("ErrorEquals"), list) or not (
            rule["ErrorEquals"]):
        raise _fail(where, "needs a non-empty ErrorEquals list")
    extra = set(rule) - allowed
    if extra:
        raise _fail(where, f"field(s) {sorted(extra)} not supported")
    if "States.ALL" in rule["ErrorEquals"] and (len(rule["ErrorEquals"]) > 1 or not last):
        raise _fail(where, "States.ALL must appear alone, in the last rule")
    if rule.get("JitterStrategy", "NONE") not in ("NONE", "FULL"):
        raise _fail(where, f"JitterStrategy {rule['JitterStrategy']!r} is not FULL or NONE")
    if rule.get("MaxAttempts", 3) < 0:
        raise _fail(where, "MaxAttempts must be >= 0")


def _check_choice(where: str, state: dict[str, Any], states: dict[str, Any]) -> None:
    rules = state.get("Choices")
    if not isinstance(rules, list) or not rules:
        raise _fail(where, "Choices must be a non-empty list")
    _check_target(where, "Default", state.get("Default"), states, optional=True)
    for position, rule in enumerate(rules):
        rule_where = f"{where} Choices[{position}]"
        if not isinstance(rule, dict):
            raise _fail(rule_where, "must be an object")
        _check_target(rule_where, "Next", rule.get("Next"), states)
        _check_choice_rule(rule_where, rule)


def _check_choice_rule(where: str, rule: dict[str, Any]) -> None:
    operator = choice.operator_of(rule)
    if operator is None:
        raise _fail(where, "needs exactly one supported comparison operator "
                    "(or And/Or/Not)")
    extra = set(rule) - choice.RULE_KEYS - {operator}
    if extra:
        raise _fail(where, f"field(s) {sorted(extra)} not supported in a Choice rule")
    if operator in ("And", "Or"):
        if not isinstance(rule[operator], list) or not rule[operator]:
            raise _fail(where, f"{operator} must be a non-empty list")
        for position, sub in enumerate(rule[operator]):
            _check_choice_rule(f"{where} {operator}[{position}]", sub)
        return
    if operator == "Not":
        _check_choice_rule(f"{where} Not", rule["Not"])
        return
    _check_path(where, "Variable", rule.get("Variable"), nullable=False)
    if operator.endswith("Path"):
        _check_path(where, operator, rule[operator], nullable=False)
