"""The column-kind recipe of docs/architecture.md, tried once: a toy `format: time` kind
(`HH:MM:SS`, output time32) registered in the test only is accepted by the row-schema
checks of both the generator and the handlers, rejects values with a reason, and comes out
of a validator run typed."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from etlgen.config import load_config
from handlers.row_schema_keywords import row_schema_problems
from handlers.row_validator import RowValidator
from handlers.validation import registry
from handlers.validation.kernels import is_empty, mask_of
from handlers.validation.kind import Checked, Mask
from handlers.validation.messages import worded
from handlers.validation.string_kind import StringKind

TIME_RE = r"^(?P<h>[01][0-9]|2[0-3]):(?P<m>[0-5][0-9]):(?P<s>[0-5][0-9])$"


def _seconds(values: pa.ChunkedArray) -> tuple[Mask, np.ndarray]:
    """(is a valid HH:MM:SS, seconds since midnight) per row."""
    parts = pc.extract_regex(values, TIME_RE)
    ok = mask_of(pc.is_valid(parts))
    h, m, s = (np.asarray(pc.cast(pc.fill_null(pc.struct_field(parts, k), "0"),
                                  pa.int32()).to_numpy(), np.int32) for k in "hms")
    return ok, h * 3600 + m * 60 + s


class TimeKind(StringKind):
    """The whole kind: recognised by `format: time`, the string keywords still apply."""

    name: ClassVar[str] = "time"
    format: ClassVar[str | None] = "time"

    def arrow_type(self) -> pa.DataType:
        return pa.time32("s")

    def check(self, values: pa.ChunkedArray, present: Mask) -> Checked:
        ok, _ = _seconds(values)
        checked = Checked()
        checked.fail(~ok, worded("is not a valid time (HH:MM:SS)"), "format")
        self.check_text(values, present, checked)
        return checked

    def convert(self, values: pa.ChunkedArray) -> pa.Array:
        _, seconds = _seconds(values)
        return pa.array(seconds, pa.int32(), mask=is_empty(values)).cast(self.output_type)


SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["shop", "opens"],
    "properties": {
        "shop": {"type": "string"},
        "opens": {"type": "string", "format": "time", "pattern": "^0"},
        "closes": {"type": ["string", "null"], "format": "time"},
    },
}


@pytest.fixture
def time_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "KINDS", (*registry.KINDS, registry.KindEntry.of(TimeKind)))


def _pipeline(tmp_path: Path) -> Path:
    (tmp_path / "row.json").write_text(json.dumps(SCHEMA, indent=2) + "\n")
    (tmp_path / "pipeline.yaml").write_text("name: demo\nschema: row.json\n")
    return tmp_path / "pipeline.yaml"


def test_without_the_kind_the_format_is_refused() -> None:
    assert row_schema_problems(SCHEMA) == [
        ("/properties/opens/format", "must be one of ['date', 'date-time']"),
        ("/properties/closes/format", "must be one of ['date', 'date-time']"),
    ]


@pytest.mark.usefixtures("time_kind")
def test_the_registered_kind_is_accepted_by_the_row_schema_checks(tmp_path: Path) -> None:
    assert row_schema_problems(SCHEMA) == []
    other = {"properties": {"x": {"type": "string", "format": "duration"}}}
    assert row_schema_problems(other) == [
        ("/properties/x/format", "must be one of ['date', 'date-time', 'time']")]
    assert load_config(_pipeline(tmp_path)).schema == SCHEMA


@pytest.mark.usefixtures("time_kind")
def test_the_registered_kind_checks_and_converts_in_a_validator_run() -> None:
    validator = RowValidator(SCHEMA)
    assert validator.output_schema.field("opens").type == pa.time32("s")
    assert validator.output_schema.field("closes").type == pa.time32("s")
    rows = [("a", "08:30:00", "23:59:59"), ("b", "09:00:00", ""), ("c", "24:00:00", "7:00"),
            ("d", "10:00:00", "12:00:00"), ("e", "", "")]
    table = pa.table({name: pa.array([row[k] for row in rows], pa.string())
                      for k, name in enumerate(("shop", "opens", "closes"))})
    verdict = validator.validate(table)
    assert verdict.valid.tolist() == [True, True, False, False, False]
    assert verdict.reasons(table) == [
        (2, [{"field": "opens", "kind": "format",
              "message": '"24:00:00" is not a valid time (HH:MM:SS); '
                         '"24:00:00" does not match ^0'},
             {"field": "closes", "kind": "format",
              "message": '"7:00" is not a valid time (HH:MM:SS)'}]),
        (3, [{"field": "opens", "kind": "pattern", "message": '"10:00:00" does not match ^0'}]),
        (4, [{"field": "opens", "kind": "required", "message": "a value is required"}]),
    ]
    assert verdict.typed.schema == validator.output_schema
    assert verdict.typed.to_pylist() == [
        {"shop": "a", "opens": dt.time(8, 30), "closes": dt.time(23, 59, 59)},
        {"shop": "b", "opens": dt.time(9, 0), "closes": None},
    ]
