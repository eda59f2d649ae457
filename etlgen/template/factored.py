"""`Fn::Sub` text with its repeated fragments as variables.

A direct `aws cloudformation deploy --template-file` takes 51,200 bytes of template, and
JSON text inside a template (a dashboard body, a view's definition) pays twice for every
quote. Each fragment that occurs at least twice becomes one `${<variable>}`: CloudFormation
puts the value back, so the string the resource receives is exactly the text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from troposphere import Sub

_REFERENCE = re.compile(r"\$\{([^}!]+)\}")


def factored_sub(text: str, fragments: Sequence[tuple[str, str]],
                 variables: dict[str, object] | None = None) -> Sub:
    """`Fn::Sub` of `text` (which may hold `${...}` references of the template) with each
    `(variable, fragment)` replaced by `${variable}`, in the given order, where that makes
    the template shorter.

    A fragment holding a reference gets the value `Fn::Sub` of itself (CloudFormation does
    not substitute inside a variable's value); a variable may not shadow a reference the
    text already makes.
    """
    bound: dict[str, object] = dict(variables or {})
    referenced = set(_REFERENCE.findall(text))
    for variable, fragment in fragments:
        if variable in referenced or variable in bound:
            raise ValueError(f"variable {variable!r} is already used in the text")
        value: object = Sub(fragment) if _REFERENCE.search(fragment) else fragment
        if _saved(text, variable, fragment, value) <= 0:
            continue
        text = text.replace(fragment, f"${{{variable}}}")
        bound[variable] = value
    return Sub(text, bound) if bound else Sub(text)


def _saved(text: str, variable: str, fragment: str, value: object) -> int:
    """Bytes of template JSON saved by the variable: its uses, less its entry."""
    uses = text.count(fragment)
    each = len(json.dumps(fragment)) - 2 - len(f"${{{variable}}}")
    entry = len(json.dumps({variable: value if isinstance(value, str) else
                            {"Fn::Sub": fragment}}, separators=(",", ":"))) - 1
    return uses * each - entry
