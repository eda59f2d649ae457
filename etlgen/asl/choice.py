"""Choice rules: the comparison operators of the Amazon States Language.

A comparison of a value of the wrong type is simply false, as in Step Functions; a
`Variable` that does not exist is a `States.Runtime` error unless the test is IsPresent.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from etlgen.asl import jsonpath


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _string_matches(value: str, pattern: str) -> bool:
    # `*` is the only wildcard; `\*` and `\\` escape.
    parts = re.split(r"(\\\\|\\\*|\*)", pattern)
    regex = "".join(
        ".*" if part == "*" else re.escape(part[1:] if part in ("\\*", "\\\\") else part)
        for part in parts
    )
    return re.fullmatch(regex, value, re.DOTALL) is not None


def _compare(kind: str, relation: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def check(value: Any, expected: Any) -> bool:
        if kind == "String":
            return isinstance(value, str) and isinstance(expected, str) and relation(
                value, expected)
        if kind == "Numeric":
            return _is_number(value) and _is_number(expected) and relation(value, expected)
        if kind == "Boolean":
            return isinstance(value, bool) and isinstance(expected, bool) and relation(
                value, expected)
        left, right = _timestamp(value), _timestamp(expected)
        return left is not None and right is not None and relation(left, right)

    return check


_RELATIONS: dict[str, Callable[[Any, Any], bool]] = {
    "Equals": lambda a, b: a == b,
    "LessThan": lambda a, b: a < b,
    "GreaterThan": lambda a, b: a > b,
    "LessThanEquals": lambda a, b: a <= b,
    "GreaterThanEquals": lambda a, b: a >= b,
}

COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    f"{kind}{relation}": _compare(kind, check)
    for kind in ("String", "Numeric", "Timestamp")
    for relation, check in _RELATIONS.items()
}
COMPARISONS["BooleanEquals"] = _compare("Boolean", _RELATIONS["Equals"])
COMPARISONS["StringMatches"] = lambda value, pattern: isinstance(value, str) and (
    _string_matches(value, pattern))

TYPE_TESTS: dict[str, Callable[[Any], bool]] = {
    "IsNull": lambda value: value is None,
    "IsString": lambda value: isinstance(value, str),
    "IsNumeric": _is_number,
    "IsBoolean": lambda value: isinstance(value, bool),
    "IsTimestamp": lambda value: _timestamp(value) is not None and "T" in value,
}

# Operators whose right side may also be given as `<Operator>Path`.
PATH_OPERATORS = frozenset(name for name in COMPARISONS if name != "StringMatches")
OPERATORS = frozenset({*COMPARISONS, *TYPE_TESTS, "IsPresent",
                       *(f"{name}Path" for name in PATH_OPERATORS)})

# Keys a rule may carry besides its operator.
RULE_KEYS = frozenset({"Variable", "Next", "Comment"})


def operator_of(rule: dict[str, Any]) -> str | None:
    found = [key for key in rule if key in OPERATORS or key in ("And", "Or", "Not")]
    return found[0] if len(found) == 1 else None


def evaluate(rule: dict[str, Any], data: Any, context: Any) -> bool:
    if "And" in rule:
        return all(evaluate(sub, data, context) for sub in rule["And"])
    if "Or" in rule:
        return any(evaluate(sub, data, context) for sub in rule["Or"])
    if "Not" in rule:
        return not evaluate(rule["Not"], data, context)
    operator = operator_of(rule)
    assert operator is not None  # the up-front check guarantees one operator
    variable = rule["Variable"]
    if operator == "IsPresent":
        found, _ = jsonpath.lookup(variable, data, context)
        return found is rule[operator]
    value = jsonpath.read(variable, data, context, what="Choice rule Variable")
    if operator in TYPE_TESTS:
        return TYPE_TESTS[operator](value) is rule[operator]
    if operator.endswith("Path"):
        expected = jsonpath.read(rule[operator], data, context, what=f"{operator} value")
        operator = operator.removesuffix("Path")
    else:
        expected = rule[operator]
    return COMPARISONS[operator](value, expected)
