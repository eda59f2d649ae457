"""Retry and Catch: which error a rule matches, and how long to wait before the next try."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any


def error_matches(error_equals: Sequence[str], name: str) -> bool:
    """`States.ALL` matches every error; `States.TaskFailed` every one but `States.Timeout`."""
    for pattern in error_equals:
        if pattern == "States.ALL" or pattern == name:
            return True
        if pattern == "States.TaskFailed" and name != "States.Timeout":
            return True
    return False


def first_match(rules: Sequence[dict[str, Any]], name: str) -> int | None:
    for position, rule in enumerate(rules):
        if error_matches(rule["ErrorEquals"], name):
            return position
    return None


def retry_delay(rule: dict[str, Any], retries_done: int, random: Callable[[], float]) -> float:
    """Seconds before the next attempt, per the retrier's numbers (before any local scaling)."""
    delay = float(rule.get("IntervalSeconds", 1)) * float(rule.get("BackoffRate", 2.0)) ** (
        retries_done)
    if "MaxDelaySeconds" in rule:
        delay = min(delay, float(rule["MaxDelaySeconds"]))
    if rule.get("JitterStrategy", "NONE") == "FULL":
        delay *= random()
    return delay
