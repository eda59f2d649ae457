"""The two views readers query, `<table>` and `<table>_rejected`: the storage table's rows
of the committed files only. One SQL text per view, run by Athena (the template's Glue
view) and by DuckDB (`etlgen query`), so the local tests run the deployed SQL.

    SELECT * FROM <table>_parts
    WHERE source_file IN (SELECT source_file FROM <table>_commits)

A file's partitions are registered in `<table>_parts` before its commit pointer (a line of
`<table>_commits`) is written, so the pointer's one PutObject is the moment the file
appears in both views, and the moment an earlier commit of its key disappears.
"""

from __future__ import annotations

from dataclasses import dataclass

from etlgen.catalog import tables
from etlgen.catalog.queries import identifier
from etlgen.catalog.type_spelling import Spelling
from etlgen.model import PipelineConfig


@dataclass(frozen=True)
class TableView:
    name: str
    parts: str  # the storage table it reads
    columns: list[tables.Column]  # the storage table's columns, then its partition keys
    sql: str


def view_sql(parts: str, commits: str) -> str:
    return (f"SELECT * FROM {identifier(parts)} WHERE {tables.SOURCE_FILE} IN "
            f"(SELECT {tables.SOURCE_FILE} FROM {identifier(commits)})")


def table_views(config: PipelineConfig) -> list[TableView]:
    commits = tables.commits_name(config)
    found = []
    for name, columns, keys in (
            (config.table_name, tables.data_columns(config), tables.data_partition_keys(config)),
            (config.rejected_table_name, tables.rejected_columns(config),
             tables.rejected_partition_keys())):
        parts = tables.parts_name(name)
        found.append(TableView(name, parts, columns + keys, view_sql(parts, commits)))
    return found


PRESTO = Spelling(
    engine="Athena",
    simple={"string": "varchar", "bigint": "bigint", "int": "integer", "double": "double",
            "boolean": "boolean", "date": "date", "timestamp": "timestamp"},
    decimal=lambda precision, scale: f"decimal({precision},{scale})",
    array=lambda element: f"array({element})",
    struct=lambda fields: "row(" + ", ".join(f"{name} {kind}" for name, kind in fields) + ")",
)


def presto_type(glue: str) -> str:
    """A Glue (Hive) type as Athena (Trino) spells it in a view's definition:
    `array<struct<a:string>>` -> `array(row(a varchar))`."""
    return PRESTO.of(glue)
