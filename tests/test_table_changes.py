"""A row-schema change is compatible for the table's readers, or breaking: `etlgen
validate` (against the committed template) and `etlgen diff` say which, one line per
column, and exit 1 on a breaking one."""

from __future__ import annotations

import base64
import copy
import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from etlgen.catalog.evolution import glue_tables, table_changes
from etlgen.cli import main
from etlgen.config import load_config
from etlgen.model import CatalogConfig, DatePartition, OutputConfig, PipelineConfig
from etlgen.render import render

ROOT = Path(__file__).resolve().parent.parent
BASE = load_config(ROOT / "pipeline.yaml")


def _template(config: PipelineConfig) -> dict[str, Any]:
    return json.loads(render(config))


def _with_schema(change: Any) -> PipelineConfig:
    schema = copy.deepcopy(BASE.schema)
    change(schema["properties"])
    return dataclasses.replace(BASE, schema=schema)


def _lines(new: PipelineConfig, old: PipelineConfig = BASE) -> list[str]:
    return [change.line() for change in table_changes(_template(old), _template(new))]


def test_an_unchanged_render_changes_nothing() -> None:
    assert _lines(BASE) == []


def test_a_new_optional_column_is_compatible() -> None:
    new = _with_schema(lambda columns: columns.update(note={"type": "string"}))
    assert _lines(new) == [
        "compatible: transactions.note: new string column: partitions written before read "
        "it as null"]


def test_wider_bounds_are_compatible_and_narrower_ones_breaking() -> None:
    wider = _with_schema(lambda columns: columns["amount"].update(maximum=100_000_000))
    assert _lines(wider) == [
        "compatible: transactions.amount: decimal(9,2) -> decimal(11,2): a wider decimal "
        "holds every value written so far"]
    narrower = _with_schema(lambda columns: columns["amount"].update(minimum=-999,
                                                                     maximum=999))
    assert _lines(narrower) == [
        "BREAKING: transactions.amount: decimal(9,2) -> decimal(5,2): a narrower decimal: "
        "values written so far may not fit it"]
    finer = _with_schema(lambda columns: columns["amount"].update(multipleOf=0.001))
    assert _lines(finer) == [
        "BREAKING: transactions.amount: decimal(9,2) -> decimal(10,3): another scale: the "
        "partitions written so far hold decimal(9,2) values"]


def test_a_type_change_is_breaking() -> None:
    new = _with_schema(lambda columns: columns["amount"].pop("multipleOf"))
    assert _lines(new) == [
        "BREAKING: transactions.amount: decimal(9,2) -> double: another type: the partitions "
        "written so far hold decimal(9,2) values"]


def test_a_removed_or_renamed_column_is_breaking() -> None:
    def rename(columns: dict[str, Any]) -> None:
        columns["shop"] = columns.pop("merchant")

    assert _lines(_with_schema(rename)) == [
        "BREAKING: transactions.merchant: string column removed or renamed: the table no "
        "longer shows the values written so far",
        "compatible: transactions.shop: new string column: partitions written before read it "
        "as null"]


def test_other_partition_keys_a_renamed_or_removed_table_are_breaking() -> None:
    by_month = dataclasses.replace(
        BASE, output=OutputConfig(partition_by=DatePartition("transaction_date", "month")))
    assert _lines(by_month) == [
        "BREAKING: transactions: partition keys (ingest_date, source_file) become "
        "(transaction_date_month, source_file): the partitions registered so far no longer "
        "match the table"]
    renamed = dataclasses.replace(BASE, catalog=CatalogConfig(table="payments"))
    assert _lines(renamed)[0] == (
        "BREAKING: transactions: renamed to payments: a new table, without the partitions of "
        "the files committed so far")
    off = dataclasses.replace(BASE, catalog=CatalogConfig(enabled=False))
    assert _lines(off) == [
        "BREAKING: transactions: removed: its queries and registered partitions go",
        "BREAKING: transactions_rejected: removed: its queries and registered partitions go"]
    assert _lines(BASE, old=off) == ["compatible: transactions: new table",
                                     "compatible: transactions_rejected: new table"]


def test_without_lineage_its_columns_go() -> None:
    lines = _lines(dataclasses.replace(BASE, output=OutputConfig(lineage=False)))
    assert len(lines) == 7 and all(line.startswith("BREAKING: transactions") for line in lines)
    assert "BREAKING: transactions._source_offset: bigint column removed or renamed" in (
        "\n".join(lines))


def _before_the_views(template: dict[str, Any]) -> dict[str, Any]:
    """The render as it was before the views: the storage tables under the views' logical
    ids and names, no commits table."""
    old = copy.deepcopy(template)
    resources = old["Resources"]
    for view, parts in (("CatalogTable", "CatalogParts"), ("RejectedTable", "RejectedParts")):
        name = resources[view]["Properties"]["TableInput"]["Name"]
        resources[view] = resources.pop(parts)
        resources[view]["Properties"]["TableInput"]["Name"] = name
    del resources["CommitsTable"]
    return old


def test_the_views_are_compared_as_their_readers_see_them() -> None:
    template = _template(BASE)
    tables = glue_tables(template)
    assert {logical_id: (t.name, t.view_of) for logical_id, t in tables.items()} == {
        "CatalogTable": ("transactions", "transactions_parts"),
        "RejectedTable": ("transactions_rejected", "transactions_rejected_parts")}, \
        "the storage and commits tables are not reported on their own"
    before = _before_the_views(template)
    assert [(t.name, t.columns, t.keys) for t in glue_tables(before).values()] == [
        (t.name, t.columns, t.keys) for t in tables.values()]
    assert [change.line() for change in table_changes(before, template)] == [
        "BREAKING: transactions: becomes a view over transactions_parts: the partitions "
        "registered so far are not in it; run the files committed so far again",
        "BREAKING: transactions_rejected: becomes a view over transactions_rejected_parts: the "
        "partitions registered so far are not in it; run the files committed so far again"]


def test_a_deployed_view_definition_is_read_from_its_base64() -> None:
    """`ViewOriginalText` as Glue holds it after the deploy: the base64 text itself."""
    template = _template(BASE)
    deployed = copy.deepcopy(template)
    for view in ("CatalogTable", "RejectedTable"):
        table = deployed["Resources"][view]["Properties"]["TableInput"]
        join = table["ViewOriginalText"]["Fn::Join"][1]
        text, variables = join[1]["Fn::Base64"]["Fn::Sub"]
        for name, value in {**variables, "EnvironmentSuffix": "dev"}.items():
            text = text.replace("${" + name + "}", value)
        table["ViewOriginalText"] = join[0] + base64.b64encode(text.encode()).decode() + join[2]
    assert glue_tables(deployed) == glue_tables(template)
    new = _with_schema(lambda columns: columns.update(note={"type": "string"}))
    assert [change.line() for change in table_changes(deployed, _template(new))] == [
        "compatible: transactions.note: new string column: partitions written before read "
        "it as null"]


# ----- the commands -------------------------------------------------------------------

@pytest.fixture
def project(tmp_path: Path) -> Path:
    """pipeline.yaml with its own row schema and a committed render of it."""
    shutil.copy(ROOT / "pipeline.yaml", tmp_path / "pipeline.yaml")
    shutil.copytree(ROOT / "schemas", tmp_path / "schemas")
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "pipeline.json").write_text(
        render(load_config(tmp_path / "pipeline.yaml")), encoding="utf-8")
    return tmp_path


def _change_schema(project: Path, change: Any) -> None:
    path = project / "schemas" / "transactions.schema.json"
    schema = json.loads(path.read_text(encoding="utf-8"))
    change(schema["properties"])
    path.write_text(json.dumps(schema), encoding="utf-8")


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_validate_reports_a_breaking_change_against_the_committed_template(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _change_schema(project, lambda columns: columns.pop("category"))
    code, out, err = _run(["validate", str(project / "pipeline.yaml")], capsys)
    committed = project / "templates" / "pipeline.json"
    assert code == 1
    assert err.splitlines() == [
        f"{committed}: BREAKING: transactions.category: string column removed or renamed: "
        "the table no longer shows the values written so far",
        f"{project / 'pipeline.yaml'}: 1 breaking table change(s): readers of the partitions "
        "committed so far would not see them as the new table says"]
    assert "config valid, template passes cfn-lint" in out


def test_validate_lists_a_compatible_change_and_passes(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _change_schema(project, lambda columns: columns.update(note={"type": "string"}))
    code, out, err = _run(["validate", str(project / "pipeline.yaml")], capsys)
    assert (code, err) == (0, "")
    assert out.splitlines()[0].endswith(
        "compatible: transactions.note: new string column: partitions written before read it "
        "as null")


def test_validate_compares_with_a_given_template_or_with_nothing(
        project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    deployed = tmp_path / "deployed.json"
    (project / "templates" / "pipeline.json").rename(deployed)
    _change_schema(project, lambda columns: columns["amount"].pop("multipleOf"))
    # no committed template: nothing to compare the tables with
    code, _, err = _run(["validate", str(project / "pipeline.yaml")], capsys)
    assert (code, err) == (0, "")
    code, _, err = _run(["validate", str(project / "pipeline.yaml"), "--template",
                         str(deployed)], capsys)
    assert code == 1 and f"{deployed}: BREAKING: transactions.amount" in err
    code, _, err = _run(["validate", str(project / "pipeline.yaml"), "--template",
                         str(tmp_path / "missing.json")], capsys)
    assert code == 2 and "missing.json: file not found" in err


def test_validate_leaves_another_pipelines_committed_template_alone(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other = project / "other.yaml"
    other.write_text((project / "pipeline.yaml").read_text().replace(
        "name: transactions", "name: payments"), encoding="utf-8")
    code, out, err = _run(["validate", str(other)], capsys)
    assert (code, err) == (0, "") and "compatible" not in out
    code, _, err = _run(["validate", str(other), "--template",
                         str(project / "templates" / "pipeline.json")], capsys)
    assert code == 1 and "BREAKING: transactions: renamed to payments" in err


def test_diff_reports_the_table_changes(project: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    committed = str(project / "templates" / "pipeline.json")
    config = str(project / "pipeline.yaml")
    _change_schema(project, lambda columns: columns.update(note={"type": "string"}))
    code, out, _ = _run(["diff", committed, config], capsys)
    assert code == 0  # a code change and a compatible column: nothing at risk
    assert ("Tables (what their readers see)\n  compatible: transactions.note: new string "
            "column") in out
    _change_schema(project, lambda columns: columns.pop("merchant"))
    code, out, _ = _run(["diff", committed, config], capsys)
    assert code == 1
    assert "  BREAKING: transactions.merchant: string column removed or renamed" in out
    assert out.splitlines()[-1].endswith("; 1 BREAKING table change(s)")
