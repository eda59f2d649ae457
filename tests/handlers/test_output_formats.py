"""Output formats come from one registry (`handlers.formats.FORMATS`): the recipe of
docs/architecture.md, "How to extend", "A new output format", tried with a toy JSON-lines format
registered here only."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from etlgen.config import load_config
from etlgen.environment import function_environment
from etlgen.errors import ConfigError
from handlers.formats import FORMATS, OutputFormat
from handlers.layout import OutputLayout
from handlers.settings import Settings, SettingsError
from tests.handlers.conftest import ROOT, Pipeline, base_env
from tests.handlers.handler_expected import split_expected
from tests.handlers.handler_rows import build_file, mixed_rows

CONTENT_TYPE = "application/x-ndjson"


class JsonLinesWriter:
    """One JSON object per valid row (dates and decimals as text)."""

    def __init__(self, path: str) -> None:
        self._out = open(path, "w", encoding="utf-8")  # noqa: SIM115 - closed by close()

    def write_table(self, table: Any) -> None:
        for row in table.to_pylist():
            self._out.write(json.dumps(row, default=str) + "\n")

    def close(self) -> None:
        self._out.close()


def open_json_lines(path: str, schema: Any, dictionary_columns: list[str]) -> JsonLinesWriter:
    return JsonLinesWriter(path)


JSONL = OutputFormat(name="jsonl", extension="jsonl", content_type=CONTENT_TYPE,
                     open_writer=open_json_lines)


@pytest.fixture
def jsonl(monkeypatch: pytest.MonkeyPatch) -> OutputFormat:
    monkeypatch.setitem(FORMATS, JSONL.name, JSONL)
    return JSONL


def _config_with_format(folder: Path, fmt: str) -> Path:
    shutil.copy(ROOT / "schemas" / "transactions.schema.json", folder / "rows.json")
    path = folder / "pipeline.yaml"
    path.write_text(f"name: demo\nschema: rows.json\noutput:\n  format: {fmt}\n",
                    encoding="utf-8")
    return path


def test_the_config_accepts_exactly_the_registered_formats(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    path = _config_with_format(tmp_path, "jsonl")
    with pytest.raises(ConfigError, match=r"output\.format: 'jsonl' is not allowed: "
                                          r"expected one of parquet, csv"):
        load_config(path)
    with pytest.raises(SettingsError, match="must be one of parquet, csv"):
        Settings.from_env(base_env(OUTPUT_FORMAT="jsonl"))
    monkeypatch.setitem(FORMATS, JSONL.name, JSONL)
    config = load_config(path)
    assert config.output.format == "jsonl"
    assert function_environment(config)["OUTPUT_FORMAT"] == "jsonl"
    assert Settings.from_env(base_env(OUTPUT_FORMAT="jsonl")).output_format == "jsonl"


def test_the_layout_names_parts_with_the_format_extension(jsonl: OutputFormat) -> None:
    layout = OutputLayout.of(Settings.from_env(base_env(OUTPUT_FORMAT="jsonl")),
                             "incoming/2024/tx.csv", "v1")
    assert layout.output_key("2024-05-01", "tx-0123", 3) == \
        "processed/transactions/ingest_date=2024-05-01/source_file=tx-0123/part-000003.jsonl"
    assert layout.staged_output_key("abc", 3, 10, 20, "2024-05-01") == \
        "staging/2024/tx/v=v1/abc/processed/ingest_date=2024-05-01/part-000003-10-20.jsonl"
    assert layout.rejected_key("2024-05-01", "tx-0123", 3) == \
        "rejected/transactions/ingest_date=2024-05-01/source_file=tx-0123/part-000003.jsonl"


def test_a_run_writes_the_format_with_its_content_type(pipeline: Pipeline,
                                                       jsonl: OutputFormat) -> None:
    data, rows = build_file(mixed_rows(30, seed=4))
    deps = pipeline.deps(OUTPUT_FORMAT="jsonl", CHUNK_SIZE_BYTES="600")
    source = pipeline.upload(data)
    outcome = pipeline.run(source, deps)
    assert outcome.error is None, outcome.error
    assert outcome.plan is not None and outcome.plan["chunk_count"] > 1
    layout = pipeline.layout(source, deps)
    manifest = json.loads(pipeline.body(layout.manifest_key))
    parts = [key for key in pipeline.committed_keys(source, deps)
             if key.startswith(layout.processed_root)]
    (day,) = manifest["partitions"]
    assert parts == [layout.output_key(day, manifest["source_file"], part["index"])
                     for part in manifest["parts"] if part["rows_valid"]]
    written: list[dict[str, Any]] = []
    for key in parts:
        head = pipeline.s3.head_object(Bucket=source["bucket"], Key=key)
        assert head["ContentType"] == CONTENT_TYPE
        written.extend(json.loads(line) for line in pipeline.body(key).decode().splitlines())
    valid, _ = split_expected(rows)
    assert [row["transaction_id"] for row in written] == [v["transaction_id"] for v in valid]
    assert manifest["output_format"] == "jsonl"
