"""How a failing value is reported: one short sentence naming the value and the rule.

Each function returns a `Message`, called with the text of a rejected value only (the
wording is assembled per rejected row, never for valid rows). A `Worded` message (the
value shown, then a fixed wording) and `required` are also built for whole columns of
rejected values at once (`handlers.reject_rows`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from handlers.validation.decimals import decimal_places, number_text, to_decimal
from handlers.validation.kind import Message

REQUIRED = "a value is required"
BOUND_WORDING = {"minimum": "is less than the minimum {}",
                 "exclusiveMinimum": "is not greater than {}",
                 "maximum": "is greater than the maximum {}",
                 "exclusiveMaximum": "is not less than {}"}


SHOW_LIMIT = 60
"""Characters of a value shown in a message: a longer one is cut to 57 and `...`."""


def show(value: str, limit: int = SHOW_LIMIT) -> str:
    """A value quoted for a message, cut when long."""
    if len(value) > limit:
        value = value[: limit - 3] + "..."
    return json.dumps(value, ensure_ascii=False)


def plural(count: int) -> str:
    return "" if count == 1 else "s"


def required(_text: str) -> str:
    return REQUIRED


@dataclass(frozen=True)
class Worded:
    """`"<value>" <wording>`."""

    wording: str

    def __call__(self, text: str) -> str:
        return f"{show(text)} {self.wording}"


def worded(wording: str) -> Message:
    """`"<value>" <wording>`."""
    return Worded(wording)


def json_text(value: Any) -> str:
    """A schema value as it reads in JSON (true, null, 0.01)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, float):
        return number_text(to_decimal(value))
    return str(value)


def enum_message(members: Sequence[Any]) -> Message:
    listed = ", ".join(m if isinstance(m, str) else json_text(m) for m in members)
    return worded(f"is not one of {listed}")


def bound_message(keyword: str, bound: Decimal) -> Message:
    return worded(BOUND_WORDING[keyword].format(number_text(bound)))


def multiple_message(divisor: Decimal) -> Message:
    places = decimal_places(divisor)
    if places == 0:
        return worded("is not a whole number")
    if places is not None:
        return worded(f"has more than {places} decimal{plural(places)}")
    return worded(f"is not a multiple of {number_text(divisor)}")
