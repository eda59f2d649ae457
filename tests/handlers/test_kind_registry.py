"""The table of column kinds lists each kind's type, format and keywords beside its class, so
the row-schema checks read it without loading the kinds' numpy and pyarrow code: each line
must say what its class says, and reading the table must load neither library."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from handlers.validation import registry
from handlers.validation.kind import ColumnKind


@pytest.mark.parametrize("entry", registry.KINDS, ids=lambda entry: entry.location)
def test_each_line_of_the_table_says_what_its_class_says(entry: registry.KindEntry) -> None:
    kind = entry.load()
    assert issubclass(kind, ColumnKind)
    assert registry.KindEntry.of(kind) == entry


def test_the_table_recognises_each_kind_once() -> None:
    keys = [(entry.json_type, entry.format) for entry in registry.KINDS]
    assert len(keys) == len(set(keys))
    assert all((json_type, None) in keys for json_type, _ in keys)


def test_checking_a_row_schema_loads_neither_numpy_nor_pyarrow() -> None:
    code = textwrap.dedent("""
        import json, sys
        from handlers.row_schema_keywords import row_schema_problems
        import handlers.schema_file
        schema = {"type": "object", "additionalProperties": False, "properties": {
            "when": {"type": "string", "format": "date", "pattern": "^2"},
            "amount": {"type": ["number", "null"], "minimum": 0},
            "bad": {"type": "string", "format": "time"}}}
        problems = row_schema_problems(schema)
        print(json.dumps({"problems": problems, "loaded": sorted(
            name for name in ("numpy", "pyarrow") if name in sys.modules)}))
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=False, timeout=120)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert seen["problems"] == [["/properties/bad/format", "must be one of ['date', 'date-time']"]]
    assert seen["loaded"] == []
