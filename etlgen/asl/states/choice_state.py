"""Choice: the first rule that holds names the next state, else Default."""

from __future__ import annotations

from typing import Any

from etlgen.asl import choice
from etlgen.asl.dataflow import input_path, output_path
from etlgen.asl.engine import COMMON_FIELDS, IO_FIELDS, Mode, Outcome, Site, StateType, Visit
from etlgen.asl.errors import StatesError
from etlgen.asl.fields import check_path, check_target, fail


def run(visit: Visit) -> Outcome:
    state, context = visit.state, visit.context
    effective = input_path(state, visit.input, context)
    for rule in state["Choices"]:
        if choice.evaluate(rule, effective, context):
            return output_path(state, effective, context), rule["Next"]
    if "Default" not in state:
        raise StatesError("States.NoChoiceMatched",
                          f"No Choice rule matched and no Default in state '{visit.name}'")
    return output_path(state, effective, context), state["Default"]


def check(site: Site) -> None:
    where, state, states = site.where, site.state, site.states
    rules = state.get("Choices")
    if not isinstance(rules, list) or not rules:
        raise fail(where, "Choices must be a non-empty list")
    check_target(where, "Default", state.get("Default"), states, optional=True)
    for position, rule in enumerate(rules):
        rule_where = f"{where} Choices[{position}]"
        if not isinstance(rule, dict):
            raise fail(rule_where, "must be an object")
        check_target(rule_where, "Next", rule.get("Next"), states)
        _check_rule(rule_where, rule)


def _check_rule(where: str, rule: dict[str, Any]) -> None:
    operator = choice.operator_of(rule)
    if operator is None:
        raise fail(where, "needs exactly one supported comparison operator "
                   "(or And/Or/Not)")
    extra = set(rule) - choice.RULE_KEYS - {operator}
    if extra:
        raise fail(where, f"field(s) {sorted(extra)} not supported in a Choice rule")
    if operator in ("And", "Or"):
        if not isinstance(rule[operator], list) or not rule[operator]:
            raise fail(where, f"{operator} must be a non-empty list")
        for position, sub in enumerate(rule[operator]):
            _check_rule(f"{where} {operator}[{position}]", sub)
        return
    if operator == "Not":
        _check_rule(f"{where} Not", rule["Not"])
        return
    check_path(where, "Variable", rule.get("Variable"), nullable=False)
    if operator.endswith("Path"):
        check_path(where, operator, rule[operator], nullable=False)


CHOICE = StateType(
    "Choice",
    jsonpath=Mode(COMMON_FIELDS | IO_FIELDS | {"Choices", "Default"}, run, check),
    transitions=False,
    shape=("{", "}"),
)
