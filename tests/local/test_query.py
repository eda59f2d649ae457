"""`etlgen query`: the README's queries after `etlgen run` of the sample, DuckDB over exactly
the committed partitions (no failed file, no duplicate after re-runs), one-line errors with
their exit codes, and the same SQL through Athena (moto) printed the same way."""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from decimal import Decimal
from pathlib import Path

import boto3
import pytest
from moto import mock_aws
from moto.athena.models import QueryResults, athena_backends
from moto.core import DEFAULT_ACCOUNT_ID

from etlgen.catalog.queries import example_queries
from etlgen.cli import main
from etlgen.config import load_config
from etlgen.query.local import run_local
from tests.handlers.handler_expected import records_with_offsets, split_expected

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
ISSUE_QUERIES = (
    "SELECT currency, count(*), sum(amount) FROM transactions GROUP BY 1",
    "SELECT errors[1].field AS field, count(*) FROM transactions_rejected GROUP BY 1",
)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the bundled pipeline, its schema and sample, as a newcomer has them."""
    for name in ("pipeline.yaml", "schemas", "samples"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name)
        else:
            shutil.copy(source, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def etlgen(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as stop:  # argparse's own exit for a bad option
        code = int(stop.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def query_json(capsys: pytest.CaptureFixture[str], sql: str, *extra: str) -> list[dict]:
    code, out, err = etlgen(capsys, "query", "pipeline.yaml", sql, "--format", "json", *extra)
    assert code == 0, err
    rows: list[dict] = json.loads(out)
    return rows


def sample_expected() -> tuple[list[dict], list[tuple[int, str]]]:
    data = (ROOT / "samples" / "transactions.csv").read_bytes()
    _, rows = records_with_offsets(data)
    return split_expected(rows)


def readme_queries() -> list[str]:
    quick_start = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r'etlgen query pipeline\.yaml "([^"]+)"', quick_start)


def test_the_readme_shows_the_issues_queries() -> None:
    assert readme_queries() == list(ISSUE_QUERIES)


def test_the_readme_queries_run_after_the_sample(project: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = etlgen(capsys, "run", "pipeline.yaml", "samples/transactions.csv")
    assert code == 0, err
    assert re.search(r"^rejected for +\S", out, re.MULTILINE), "top reasons in the summary"
    valid, rejects = sample_expected()
    totals, by_field = readme_queries()
    code, table, err = etlgen(capsys, "query", "pipeline.yaml", totals)
    assert code == 0 and err == ""
    lines = table.splitlines()
    assert lines[0].split() == ["currency", "count_star()", "sum(amount)"]
    assert set(lines[1]) == {"-", " "} and lines[-1] == "(4 rows)"
    assert len({len(line) for line in lines[:-1]}) == 1, "aligned columns"
    counted = Counter(row["currency"] for row in valid)
    summed: dict[str, Decimal] = {}
    for row in valid:
        summed[row["currency"]] = summed.get(row["currency"], Decimal(0)) + row["amount"]
    found = {row["currency"]: (row["count_star()"], Decimal(str(row["sum(amount)"])))
             for row in query_json(capsys, totals)}
    assert found == {currency: (counted[currency], summed[currency]) for currency in counted}
    fields = Counter(json.loads(line)["errors"][0]["field"]
                     for path in sorted((project / ".etlgen" / "bucket" / "rejected").rglob(
                         "*.jsonl")) for line in path.read_text().splitlines())
    assert sum(fields.values()) == len(rejects) == 10
    assert {row["field"]: row["count_star()"] for row in query_json(capsys, by_field)} == \
        dict(fields)


def test_the_saved_athena_queries_run_locally_too(project: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert etlgen(capsys, "run", "pipeline.yaml", "samples/transactions.csv")[0] == 0
    config = load_config(project / "pipeline.yaml")
    totals, rejects = example_queries(config)
    assert len(run_local(config, project / ".etlgen", totals.sql).rows) == 4
    kinds = run_local(config, project / ".etlgen", rejects.sql)
    assert kinds.columns == ["field", "kind", "row_count"]
    assert sum(row[2] for row in kinds.rows) == 10


def test_partition_and_lineage_columns_are_there(project: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert etlgen(capsys, "run", "pipeline.yaml", "samples/transactions.csv")[0] == 0
    data = (project / "samples" / "transactions.csv").read_bytes()
    rows = query_json(capsys, 'SELECT transaction_id, ingest_date, source_file, _source_key, '
                              '_source_offset, _ingested_at FROM transactions')
    assert len(rows) == 190 and len({row["source_file"] for row in rows}) == 1
    for row in rows:
        assert data[row["_source_offset"]:].startswith(row["transaction_id"].encode())
        assert row["_ingested_at"].startswith(row["ingest_date"])
        assert row["_source_key"] == "incoming/transactions.csv"
    [reject] = query_json(capsys, "SELECT count(*) AS n, min(_ingested_at) AS at FROM "
                                  "transactions_rejected WHERE ingest_date = "
                                  f"'{rows[0]['ingest_date']}'")
    assert reject["n"] == 10 and reject["at"] == rows[0]["_ingested_at"]


def test_only_committed_files_are_seen_once_each(project: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    sql = "SELECT count(*) AS n, count(DISTINCT source_file) AS files FROM transactions"
    assert etlgen(capsys, "run", "pipeline.yaml", "samples/transactions.csv")[0] == 0
    assert query_json(capsys, sql) == [{"n": 190, "files": 1}]
    assert etlgen(capsys, "run", "pipeline.yaml", "samples/transactions.csv")[0] == 0
    assert query_json(capsys, sql) == [{"n": 190, "files": 1}], "a re-run adds nothing"
    bad = project / "samples" / "bad.csv"
    text = (project / "samples" / "transactions.csv").read_text()
    bad.write_text(text.replace(",USD,", ",XYZ,"))
    code, _, err = etlgen(capsys, "run", "pipeline.yaml", str(bad))
    assert code == 1 and "RejectRateExceeded" in err
    assert query_json(capsys, sql) == [{"n": 190, "files": 1}], "0 rows of a failed file"
    config = project / "pipeline.yaml"
    config.write_text(config.read_text().replace("max_reject_rate: 0.05",
                                                 "max_reject_rate: 0.5"))
    assert "max_reject_rate: 0.5" in config.read_text()
    assert etlgen(capsys, "run", "pipeline.yaml", "samples/transactions.csv")[0] == 0
    assert etlgen(capsys, "run", "pipeline.yaml", str(bad))[0] == 0
    assert query_json(capsys, sql) == [{"n": 190 + 190 - 51, "files": 2}], \
        "the re-run under a new identity replaced the first commit"


def test_csv_output(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert etlgen(capsys, "run", "pipeline.yaml", "samples/transactions.csv")[0] == 0
    code, out, _ = etlgen(capsys, "query", "pipeline.yaml", "SELECT currency, count(*) AS n "
                          "FROM transactions GROUP BY 1 ORDER BY 1", "--format", "csv")
    assert code == 0 and out.splitlines()[0] == "currency,n"
    assert [line.split(",")[0] for line in out.splitlines()[1:]] == ["EUR", "GBP", "JPY", "USD"]


def test_an_empty_table_can_be_queried(project: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert query_json(capsys, "SELECT count(*) AS n, max(amount) AS top FROM transactions") \
        == [{"n": 0, "top": None}]
    assert query_json(capsys, "SELECT errors[1].kind AS kind FROM transactions_rejected") == []


@pytest.mark.parametrize(("argv", "code", "message"), [
    (["query", "pipeline.yaml", "SELECT nope FROM transactions"], 1,
     r'^etlgen: query failed: Binder Error: Referenced column "nope" not found'),
    (["query", "pipeline.yaml", "SELEC 1"], 1, r"^etlgen: query failed: Parser Error"),
    (["query", "missing.yaml", "SELECT 1"], 2, r"^etlgen: missing.yaml"),
    (["query", "pipeline.yaml", "SELECT 1", "--athena"], 2,
     r"^etlgen: --athena and --stack NAME go together"),
    (["query", "pipeline.yaml", "SELECT 1", "--format", "xml"], 2, r"invalid choice: 'xml'"),
    (["query", "pipeline.yaml", " "], 2, r"^etlgen: SQL is empty"),
])
def test_errors_are_one_line_with_their_exit_code(
        project: Path, capsys: pytest.CaptureFixture[str], argv: list[str], code: int,
        message: str) -> None:
    found, out, err = etlgen(capsys, *argv)
    assert (found, out) == (code, "")
    assert re.search(message, err), err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_a_pipeline_without_the_catalog_has_no_table_to_query(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = project / "pipeline.yaml"
    text = config.read_text()
    config.write_text(text.replace("catalog:\n  enabled: true", "catalog:\n  enabled: false"))
    assert "enabled: false  " in config.read_text()
    code, _, err = etlgen(capsys, "query", "pipeline.yaml", "SELECT 1")
    assert code == 2 and "catalog.enabled is false" in err, err


STACK_TEMPLATE = {
    "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
    "Outputs": {"WorkGroupName": {"Value": "transactions-dev"},
                "DatabaseName": {"Value": "transactions_dev"}},
}


def test_athena_runs_the_sql_in_the_stacks_workgroup_and_prints_the_same_table(
        capsys: pytest.CaptureFixture[str]) -> None:
    with mock_aws():
        cloudformation = boto3.client("cloudformation")
        cloudformation.create_stack(StackName="etl-dev",
                                    TemplateBody=json.dumps(STACK_TEMPLATE))
        athena = boto3.client("athena")
        athena.create_work_group(Name="transactions-dev")
        backend = athena_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
        rows = [["currency", "_col1", "_col2"], ["EUR", "37", "76253.26"],
                ["GBP", "54", "116252.92"], ["JPY", None, None]]
        backend.query_results_queue.append(QueryResults(
            rows=[{"Data": [{} if cell is None else {"VarCharValue": cell} for cell in row]}
                  for row in rows],
            column_info=[{"Name": "currency", "Type": "varchar"},
                         {"Name": "_col1", "Type": "bigint"},
                         {"Name": "_col2", "Type": "decimal"}]))
        code, out, err = etlgen(capsys, "query", "--athena", "--stack", "etl-dev",
                                ISSUE_QUERIES[0])
        assert (code, err) == (0, "")
        assert out == ("currency  _col1      _col2\n"
                       "--------  -----  ---------\n"
                       "EUR          37   76253.26\n"
                       "GBP          54  116252.92\n"
                       "JPY        NULL       NULL\n"
                       "(3 rows)\n")
        [execution] = athena.list_query_executions()["QueryExecutionIds"]
        details = athena.get_query_execution(QueryExecutionId=execution)["QueryExecution"]
        assert details["Query"] == ISSUE_QUERIES[0]
        assert details["WorkGroup"] == "transactions-dev"
        assert details["QueryExecutionContext"]["Database"] == "transactions_dev"


def test_athena_names_a_stack_without_the_table_in_one_line(
        capsys: pytest.CaptureFixture[str]) -> None:
    with mock_aws():
        cloudformation = boto3.client("cloudformation")
        cloudformation.create_stack(StackName="no-catalog", TemplateBody=json.dumps(
            {"Resources": STACK_TEMPLATE["Resources"]}))
        code, _, err = etlgen(capsys, "query", "--athena", "--stack", "no-catalog", "SELECT 1")
        assert code == 2 and "no WorkGroupName or DatabaseName output" in err
        code, _, err = etlgen(capsys, "query", "--athena", "--stack", "gone", "SELECT 1")
        assert code == 2 and err.startswith("etlgen: --stack gone: ") and err.count("\n") == 1
