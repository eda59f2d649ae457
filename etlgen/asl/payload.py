"""Payload templates (Parameters, ItemSelector, ResultSelector): keys ending in `.$` take
their value from a path or an intrinsic function; everything else is copied as is."""

from __future__ import annotations

from typing import Any

from etlgen.asl import intrinsics, jsonpath
from etlgen.asl.errors import runtime_error


def resolve(template: Any, data: Any, context: Any) -> Any:
    if isinstance(template, dict):
        result: dict[str, Any] = {}
        for key, value in template.items():
            if key.endswith(".$"):
                result[key[:-2]] = dynamic_value(key, value, data, context)
            else:
                result[key] = resolve(value, data, context)
        return result
    if isinstance(template, list):
        return [resolve(item, data, context) for item in template]
    return template


def dynamic_value(field: str, expression: Any, data: Any, context: Any) -> Any:
    """The value of one `.$` field (or an ErrorPath/CausePath): a path or an intrinsic."""
    if not isinstance(expression, str):
        raise runtime_error(f"The value of the field '{field}' must be a path or an intrinsic "
                            "function")
    if intrinsics.is_intrinsic(expression):
        return intrinsics.evaluate(expression, data, context)
    return jsonpath.read(expression, data, context, what=f"field '{field}'")
