"""Repeated fragments of a JSON text as `Fn::Sub` variables: the text CloudFormation puts
together is exactly the original, whatever the fragments."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from etlgen.template.factored import factored_sub
from etlgen.template.monitoring import dashboard_body
from tests.template.conftest import dashboard_text


def substituted(sub: dict[str, Any], template_values: dict[str, str]) -> str:
    """What CloudFormation makes of an `Fn::Sub`: one pass over the text, each variable's
    value (itself substituted when it is an `Fn::Sub`) or the template's value put in."""
    body = sub["Fn::Sub"]
    text, variables = (body, {}) if isinstance(body, str) else body
    values = {name: value if isinstance(value, str) else substituted(value, template_values)
              for name, value in variables.items()}
    return re.sub(r"\$\{([^}!]+)\}",
                  lambda match: {**template_values, **values}[match.group(1)], text)


def test_the_substituted_text_is_the_original() -> None:
    text = "[" + ",".join(f'{{"a":"${{AWS::Region}}","b":{n}}}' for n in range(6)) + ',{"c":3}]'
    sub = factored_sub(text, [("r", '{"a":"${AWS::Region}","b":'), ("c", '{"c":')])
    rendered = sub.to_dict()
    assert "c" not in rendered["Fn::Sub"][1], "a fragment that saves nothing is left in place"
    assert rendered["Fn::Sub"][1]["r"] == {"Fn::Sub": '{"a":"${AWS::Region}","b":'}
    assert len(json.dumps(rendered)) < len(json.dumps(text))
    assert substituted(rendered, {"AWS::Region": "eu-west-1"}) == \
        text.replace("${AWS::Region}", "eu-west-1")


def test_a_variable_may_not_shadow_a_reference_of_the_text() -> None:
    with pytest.raises(ValueError, match="'Name' is already used"):
        factored_sub('"${Name}","x","x"', [("Name", '"x"')])


def test_the_dashboard_body_is_the_same_text_once_substituted(
        base_template: dict[str, Any], base_config: Any) -> None:
    expected = json.dumps(dashboard_body(base_config), separators=(",", ":"))
    assert dashboard_text(base_template) == expected
    assert json.loads(dashboard_text(base_template))["widgets"]
