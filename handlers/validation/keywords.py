"""The schema keywords the kinds enforce, shared by the kinds' classes and the table of kinds
(`registry`), which reads them without importing the kinds' numpy and pyarrow code."""

from __future__ import annotations

STRING_KEYWORDS = frozenset({"enum", "pattern", "minLength", "maxLength"})
BOUND_KEYWORDS = ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum")
NUMERIC_KEYWORDS = frozenset({"enum", "multipleOf", *BOUND_KEYWORDS})
BOOLEAN_KEYWORDS = frozenset({"enum"})
