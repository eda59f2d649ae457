"""Row schema types as pipeline.yaml's loader sees them: nullable type lists accepted, any
other type list refused with the line and column of the value in the schema file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from etlgen.config import load_config
from etlgen.config.json_positions import pointer_position
from etlgen.config.problems import Position
from etlgen.errors import ConfigError
from etlgen.render import render

ROOT = Path(__file__).resolve().parent.parent
TRANSACTIONS = json.loads((ROOT / "schemas" / "transactions.schema.json").read_text())


def _config(tmp_path: Path, schema: dict) -> Path:
    (tmp_path / "row.json").write_text(json.dumps(schema, indent=2) + "\n")
    path = tmp_path / "pipeline.yaml"
    path.write_text("name: demo\nschema: row.json\n")
    return path


def _with(column: str, **spec: object) -> dict:
    schema = json.loads(json.dumps(TRANSACTIONS))
    schema["properties"][column].update(spec)
    return schema


def test_a_nullable_schema_loads_and_renders(tmp_path: Path) -> None:
    schema = _with("amount", type=["null", "number"])
    schema = {**schema, "properties": {**schema["properties"],
                                       "category": {**schema["properties"]["category"],
                                                    "type": ["string", "null"],
                                                    "enum": ["groceries", None]}}}
    config = load_config(_config(tmp_path, schema))
    assert config.schema["properties"]["amount"]["type"] == ["null", "number"]
    assert json.loads(render(config))["Resources"]


@pytest.mark.parametrize(("spec", "pointer", "words"), [
    ({"type": ["number", "string"]}, "/properties/amount/type", "a type list must be one of"),
    ({"type": ["number", "null", "string"]}, "/properties/amount/type",
     "a type list must be one of"),
    ({"type": ["number"]}, "/properties/amount/type", "a type list must be one of"),
    ({"type": ["number", "null"], "enum": [1, 2]}, "/properties/amount/enum",
     "add null to the enum"),
])
def test_other_type_lists_are_refused_at_their_line(tmp_path: Path, spec: dict, pointer: str,
                                                   words: str) -> None:
    path = _config(tmp_path, _with("amount", **spec))
    text = (tmp_path / "row.json").read_text()
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    (line,) = str(raised.value).splitlines()
    key = pointer.rsplit("/", 1)[1]
    lines = text.splitlines()
    amount = lines.index('    "amount": {') + 1
    row = next(n for n, t in enumerate(lines, 1) if n > amount and f'"{key}":' in t)
    column = lines[row - 1].index(f'"{key}":') + len(f'"{key}": ') + 1
    assert line.startswith(f"{path}:2:9: schema: {tmp_path / 'row.json'}:{row}:{column}: "
                           f"{pointer}: ")
    assert words in line


def test_pointer_positions_in_a_json_text() -> None:
    text = '{\n  "a": [10, {"b~/c": "x"}],\n  "d": {"e": null}\n}\n'
    assert pointer_position(text, []) == Position(1, 1)
    assert pointer_position(text, ["a"]) == Position(2, 8)
    assert pointer_position(text, ["a", 1, "b~/c"]) == Position(2, 22)
    assert pointer_position(text, ["d", "e"]) == Position(3, 14)
    assert pointer_position(text, ["d", "nope"]) is None
    assert pointer_position(text, ["a", 5]) is None
