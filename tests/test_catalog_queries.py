"""The example queries follow the tables' names and the row schema, and the README shows
the bundled pipeline's queries as the template saves them."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from etlgen.catalog.queries import example_queries, identifier
from etlgen.config import load_config
from etlgen.model import CatalogConfig, DatePartition, OutputConfig

ROOT = Path(__file__).resolve().parent.parent
PIPELINE = load_config(ROOT / "pipeline.yaml")


def test_the_readme_shows_the_saved_queries() -> None:
    section = (ROOT / "README.md").read_text(encoding="utf-8").split("## The table", 1)[1]
    block = re.search(r"```sql\n(.*?)\n```", section, re.DOTALL)
    assert block, "README: the table section lost its sql block"
    assert block.group(1).splitlines() == [query.sql for query in example_queries(PIPELINE)]


def test_the_queries_follow_the_table_names() -> None:
    config = dataclasses.replace(PIPELINE, catalog=CatalogConfig(table="ledger"))
    totals, rejects = example_queries(config)
    assert "FROM ledger GROUP BY" in totals.sql
    assert "FROM ledger_rejected GROUP BY" in rejects.sql


def test_without_an_enumerated_and_a_numeric_column_the_summary_counts_files() -> None:
    schema = {"type": "object", "additionalProperties": False,
              "properties": {"id": {"type": "string"}, "day": {"type": "string",
                                                              "format": "date"}}}
    config = dataclasses.replace(
        PIPELINE, schema=schema,
        output=OutputConfig(partition_by=DatePartition("day", "year")))
    summary = example_queries(config)[0]
    assert (summary.key, summary.name) == ("Totals", "rows per file")
    assert summary.sql == ("SELECT day_year, source_file, count(*) AS row_count FROM "
                           "transactions GROUP BY 1, 2 ORDER BY 1 DESC, 2")


@pytest.mark.parametrize(("name", "sql"), [
    ("amount", "amount"),
    ("_source_key", "_source_key"),
    ("order", '"order"'),  # a reserved word
    ("unit price", '"unit price"'),
    ('say "hi"', '"say ""hi"""'),
    ("2nd", '"2nd"'),
])
def test_names_are_quoted_where_sql_needs_it(name: str, sql: str) -> None:
    assert identifier(name) == sql
