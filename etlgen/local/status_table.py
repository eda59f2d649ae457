"""The state machine's `arn:aws:states:::dynamodb:updateItem` task on the local status store.

On AWS the failure path writes the file item itself, through the DynamoDB integration; the
local run sends the same parameters here. Only what the generated definition uses is
understood: `SET name = :value, ...` and a `ConditionExpression` of `attribute_exists`,
`attribute_not_exists`, `=` and `<>` terms joined by AND / OR. Anything else is refused with
a `ValueError`, never guessed. A condition that does not hold fails with DynamoDB's error
name, `ConditionalCheckFailedException`, and leaves the item as it was.
"""

from __future__ import annotations

import re
from typing import Any

from handlers.status.rules import Item
from handlers.status.sqlite import SqliteStatusStore
from handlers.status.values import from_typed, is_typed


class ConditionalCheckFailedException(Exception):
    """The item did not meet the update's ConditionExpression (DynamoDB's error name)."""


class LocalStatusTable:
    """The SQLite status store as the state machine's DynamoDB table."""

    def __init__(self, store: SqliteStatusStore) -> None:
        self.store = store

    def update_item(self, key: dict[str, Any], update_expression: str,
                    names: dict[str, str], values: dict[str, Any],
                    condition: str | None = None) -> None:
        """`Key`, `UpdateExpression`, `ExpressionAttributeNames`, `ExpressionAttributeValues`
        and `ConditionExpression` of the task, values DynamoDB-typed (`{"S": "x"}`)."""
        plain_key = {k: from_typed(v) if isinstance(v, dict) else v for k, v in key.items()}
        assignments = parse_simple_set(update_expression, names, values)
        if condition:  # refuse an unsupported condition before touching the store
            condition_holds(condition, None, names, values)

        def mutate(existing: Item | None) -> Item:
            if condition and not condition_holds(condition, existing, names, values):
                raise ConditionalCheckFailedException("The conditional request failed")
            item = dict(existing or {})
            item.update(plain_key)
            item.update(assignments)
            return item

        self.store.transact({"pk": str(plain_key["pk"]), "sk": str(plain_key["sk"])}, mutate)


def _value(value: Any) -> Any:
    return from_typed(value) if is_typed(value) else value


_SET_ASSIGNMENT = re.compile(r"^\s*(#?[A-Za-z_][A-Za-z0-9_]*)\s*=\s*(:[A-Za-z0-9_]+)\s*$")


def parse_simple_set(update_expression: str, names: dict[str, str],
                     values: dict[str, Any]) -> dict[str, Any]:
    """`SET a = :x, #b = :y` with DynamoDB-typed values -> {"a": x, "b": y}."""
    text = update_expression.strip()
    if not text.upper().startswith("SET "):
        raise ValueError(f"unsupported update expression {update_expression!r}: "
                         "only 'SET name = :value, ...' is supported")
    assignments: dict[str, Any] = {}
    for part in text[4:].split(","):
        match = _SET_ASSIGNMENT.match(part)
        if not match:
            raise ValueError(f"unsupported assignment {part.strip()!r} in {update_expression!r}")
        name, placeholder = match.groups()
        if name.startswith("#"):
            if name not in names:
                raise ValueError(f"{name} is not in the expression attribute names")
            name = names[name]
        if placeholder not in values:
            raise ValueError(f"{placeholder} is not in the expression attribute values")
        assignments[name] = _value(values[placeholder])
    return assignments


_CONDITION_TERM = re.compile(
    r"^(?:(?P<function>attribute_exists|attribute_not_exists)\s*\(\s*(?P<path>#?[A-Za-z_]\w*)"
    r"\s*\)|(?P<left>#?[A-Za-z_]\w*)\s*(?P<operator>=|<>)\s*(?P<value>:\w+))$")


def condition_holds(condition: str, item: Item | None, names: dict[str, str],
                    values: dict[str, Any]) -> bool:
    """A ConditionExpression of `attribute_exists(a)`, `attribute_not_exists(a)`,
    `a = :v` and `a <> :v` terms joined by AND / OR (AND first, as in DynamoDB), against
    the item as it is (None: no item). Anything else is refused, never guessed."""
    item = item or {}

    def attribute(token: str) -> str:
        if token.startswith("#"):
            if token not in names:
                raise ValueError(f"{token} is not in the expression attribute names")
            return names[token]
        return token

    def parsed(text: str) -> re.Match[str]:
        match = _CONDITION_TERM.match(text.strip())
        if match is None:
            raise ValueError(f"unsupported condition {text.strip()!r} in {condition!r}")
        if match["value"] and match["value"] not in values:
            raise ValueError(f"{match['value']} is not in the expression attribute values")
        attribute(match["path"] or match["left"])
        return match

    def holds(match: re.Match[str]) -> bool:
        if match["function"]:
            present = attribute(match["path"]) in item
            return present if match["function"] == "attribute_exists" else not present
        expected = _value(values[match["value"]])
        name = attribute(match["left"])
        # A missing attribute equals nothing, so `<>` holds (as moto's DynamoDB answers).
        equal = name in item and item[name] == expected
        return equal if match["operator"] == "=" else not equal

    alternatives = [[parsed(part) for part in re.split(r"\s+AND\s+", alternative)]
                    for alternative in re.split(r"\s+OR\s+", condition.strip())]
    return any(all(holds(match) for match in terms) for terms in alternatives)
