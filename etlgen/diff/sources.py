"""The two sides of `etlgen diff`: a template file (JSON or YAML, short-form `!Ref` tags
included) or a pipeline config, rendered as `etlgen render` would."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from etlgen.errors import UsageError

# CloudFormation's YAML short forms: `!Sub x` is {"Fn::Sub": x}, `!Ref x` is {"Ref": x}
_SHORT_FORMS = {
    "Ref": "Ref", "Condition": "Condition", **{name: f"Fn::{name}" for name in (
        "Base64", "Cidr", "FindInMap", "GetAtt", "GetAZs", "ImportValue", "Join", "Select",
        "Split", "Sub", "Transform", "And", "Equals", "If", "Not", "Or", "Contains",
        "EachMemberEquals", "EachMemberIn", "RefAll", "ValueOf", "ValueOfAll", "Length",
        "ToJsonString", "ForEach")},
}


class _TemplateLoader(yaml.SafeLoader):
    """SafeLoader that reads CloudFormation's short-form tags."""


def _short_form(key: str) -> Any:
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if key == "Fn::GetAtt" and isinstance(value, str):
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        elif isinstance(node, yaml.MappingNode):
            value = loader.construct_mapping(node, deep=True)
        else:  # a YAML node is one of the three above
            raise yaml.YAMLError(f"{key}: unexpected {type(node).__name__}")
        return {key: value}
    return construct


for _tag, _key in _SHORT_FORMS.items():
    _TemplateLoader.add_constructor(f"!{_tag}", _short_form(_key))


@dataclass(frozen=True)
class Side:
    """One side of the comparison: what it is called and the template it stands for."""

    label: str
    template: dict[str, Any]


def rendered(config_path: Path) -> Side:
    from etlgen.config import load_config
    from etlgen.render import render

    return Side(f"{config_path} (rendered)",
                normalized(json.loads(render(load_config(config_path)))))


def load_side(path: Path) -> Side:
    """A template file as it stands, or a pipeline config rendered; UsageError otherwise."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise UsageError(f"{path}: is a directory, expected a template or a config") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path}: is not UTF-8 text") from None
    except OSError as error:
        raise UsageError(f"{path}: cannot be read: {error.strerror or error}") from None
    document = _parse(path, text)
    if isinstance(document, str):  # `get-template --query TemplateBody` of a YAML template
        document = _parse(path, document)
    if isinstance(document, dict) and isinstance(document.get("Resources"), dict):
        return Side(str(path), normalized(document))
    if isinstance(document, dict) and "name" in document and "schema" in document:
        return rendered(path)
    raise UsageError(f"{path}: neither a CloudFormation template (no Resources section) nor a "
                     "pipeline config (name and schema)")


def _parse(path: Path, text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as json_error:
        try:
            return yaml.load(text, Loader=_TemplateLoader)  # a SafeLoader with CFN tags
        except yaml.MarkedYAMLError as error:
            mark = error.problem_mark
            where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
            raise UsageError(f"{path}{where}: neither JSON ({json_error.msg} at line "
                             f"{json_error.lineno}) nor YAML ({error.problem})") from None
        except yaml.YAMLError as error:
            raise UsageError(f"{path}: neither JSON nor YAML: {error}") from None


def normalized(value: Any) -> Any:
    """`Fn::GetAtt: "A.B"` as `["A", "B"]`, so the two spellings compare equal."""
    if isinstance(value, dict):
        out = {key: normalized(item) for key, item in value.items()}
        attribute = out.get("Fn::GetAtt")
        if len(out) == 1 and isinstance(attribute, str) and "." in attribute:
            out["Fn::GetAtt"] = attribute.split(".", 1)
        return out
    if isinstance(value, list):
        return [normalized(item) for item in value]
    return value
