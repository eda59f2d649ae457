"""The cell grammars and exact-decimal helpers under the names existing importers use.

Each grammar now lives with its column kind in `handlers.validation` (the kind module's
docstring states it); new code imports from there.
"""

from __future__ import annotations

from handlers.validation.boolean_kind import BOOLEAN_TEXTS
from handlers.validation.calendar import days_from_civil, days_in_month, valid_dates
from handlers.validation.date_kind import DATE_RE
from handlers.validation.datetime_kind import DATETIME_RE
from handlers.validation.decimals import decimal_places, is_multiple, number_text, to_decimal
from handlers.validation.integer_kind import INTEGER_RE
from handlers.validation.messages import show
from handlers.validation.number_kind import NUMBER_RE
from handlers.validation.numeric import INT64_MAX, INT64_MIN

__all__ = ["BOOLEAN_TEXTS", "DATETIME_RE", "DATE_RE", "INT64_MAX", "INT64_MIN", "INTEGER_RE",
           "NUMBER_RE", "days_from_civil", "days_in_month", "decimal_places", "is_multiple",
           "number_text", "show", "to_decimal", "valid_dates"]
