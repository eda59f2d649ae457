"""Checks of single fields, shared by the definition checker and the state types: paths,
intrinsic expressions, payload templates, transitions, Retry and Catch rules."""

from __future__ import annotations

from typing import Any

from etlgen.asl import intrinsics, jsonpath
from etlgen.asl.errors import DefinitionError

RETRY_FIELDS = frozenset({"ErrorEquals", "IntervalSeconds", "MaxAttempts", "BackoffRate",
                          "MaxDelaySeconds", "JitterStrategy", "Comment"})
CATCH_FIELDS = frozenset({"ErrorEquals", "Next", "ResultPath", "Comment"})


def fail(where: str, message: str) -> DefinitionError:
    return DefinitionError(f"state machine {where}: {message}")


def check_target(where: str, field: str, target: Any, states: dict[str, Any],
                 optional: bool = False) -> None:
    if target is None and optional:
        return
    if target not in states:
        raise fail(where, f"{field} {target!r} is not a state")


def check_transition(where: str, state: dict[str, Any], states: dict[str, Any]) -> None:
    """Exactly one of Next (naming a state) and `End: true`."""
    if ("Next" in state) == bool(state.get("End")):
        raise fail(where, "needs exactly one of Next and End: true")
    check_target(where, "Next", state.get("Next"), states, optional=True)


def check_path(where: str, field: str, value: Any, nullable: bool) -> None:
    if value is None and nullable:
        return
    try:
        jsonpath.parse(value)
    except jsonpath.PathSyntaxError as error:
        raise fail(where, f"{field}: {error}") from None


def check_expression(where: str, field: str, value: Any) -> None:
    if intrinsics.is_intrinsic(value):
        try:
            intrinsics.parse(value)
        except intrinsics.IntrinsicSyntaxError as error:
            raise fail(where, f"{field}: {error}") from None
    else:
        check_path(where, field, value, nullable=False)


def check_payload(where: str, template: Any) -> None:
    if isinstance(template, dict):
        for key, value in template.items():
            if key.endswith(".$"):
                check_expression(where, key, value)
            else:
                check_payload(where, value)
    elif isinstance(template, list):
        for item in template:
            check_payload(where, item)


def check_rule(where: str, rule: Any, allowed: frozenset[str], last: bool) -> None:
    """One Retry or Catch rule."""
    if not isinstance(rule, dict) or not isinstance(rule.get("ErrorEquals"), list) or not (
            rule["ErrorEquals"]):
        raise fail(where, "needs a non-empty ErrorEquals list")
    extra = set(rule) - allowed
    if extra:
        raise fail(where, f"field(s) {sorted(extra)} not supported")
    if "States.ALL" in rule["ErrorEquals"] and (len(rule["ErrorEquals"]) > 1 or not last):
        raise fail(where, "States.ALL must appear alone, in the last rule")
    if rule.get("JitterStrategy", "NONE") not in ("NONE", "FULL"):
        raise fail(where, f"JitterStrategy {rule['JitterStrategy']!r} is not FULL or NONE")
    if rule.get("MaxAttempts", 3) < 0:
        raise fail(where, "MaxAttempts must be >= 0")
