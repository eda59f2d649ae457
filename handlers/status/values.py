"""Item values as both stores give them back, and DynamoDB's typed form of them.

DynamoDB keeps numbers as Decimal; the stores hand out ints (or floats) instead, and the
SQLite store runs every value through the same round trip, so both give the same items.
"""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

TYPE_TAGS = frozenset({"S", "N", "BOOL", "NULL", "L", "M", "SS", "NS", "B", "BS"})


@cache
def _converters() -> tuple[TypeSerializer, TypeDeserializer]:
    """boto3's own conversions, loaded on first use: the SQLite store and the local runner
    import this module and would otherwise load the AWS SDK (a fifth of a second)."""
    from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

    return TypeSerializer(), TypeDeserializer()


def plain(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal: give ints (or floats) back."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def storable(value: Any) -> Any:
    """What DynamoDB accepts: floats as Decimal, tuples as lists."""
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, (list, tuple)):
        return [storable(v) for v in value]
    if isinstance(value, dict):
        return {k: storable(v) for k, v in value.items()}
    return value


def is_typed(value: Any) -> bool:
    """`{"S": "x"}`, `{"N": "5"}`, ...: a value in DynamoDB's attribute-value form."""
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)) in TYPE_TAGS


def to_typed(value: Any) -> dict[str, Any]:
    typed: dict[str, Any] = _converters()[0].serialize(storable(value))
    return typed


def from_typed(value: dict[str, Any]) -> Any:
    """`{"N": "5"}` -> 5."""
    return plain(_converters()[1].deserialize(value))


def item_from_typed(item: dict[str, Any]) -> dict[str, Any]:
    return {k: from_typed(v) for k, v in item.items()}
