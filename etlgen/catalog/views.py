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

import re
from dataclasses import dataclass

from etlgen.catalog import tables
from etlgen.catalog.queries import identifier
from etlgen.model import PipelineConfig

_DECIMAL = re.compile(r"decimal\(\d+,\s*\d+\)")
_PRESTO = {"string": "varchar", "bigint": "bigint", "int": "integer", "double": "double",
           "boolean": "boolean", "date": "date", "timestamp": "timestamp"}


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


def presto_type(glue: str) -> str:
    """A Glue (Hive) type as Athena (Trino) spells it in a view's definition:
    `array<struct<a:string>>` -> `array(row(a varchar))`."""
    glue = glue.strip()
    if glue in _PRESTO:
        return _PRESTO[glue]
    if _DECIMAL.fullmatch(glue):
        return glue.replace(" ", "")
    if glue.startswith("array<") and glue.endswith(">"):
        return f"array({presto_type(glue[6:-1])})"
    if glue.startswith("struct<") and glue.endswith(">"):
        fields = [field.split(":", 1) for field in _top_level(glue[7:-1])]
        return "row(" + ", ".join(f"{name} {presto_type(kind)}" for name, kind in fields) + ")"
    raise ValueError(f"no Athena type for the Glue type {glue!r}")


def _top_level(text: str) -> list[str]:
    """`a:string,b:array<x>` split on the commas outside angle brackets."""
    parts, depth, start = [], 0, 0
    for position, char in enumerate(text):
        depth += {"<": 1, ">": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(text[start:position])
            start = position + 1
    return [*parts, text[start:]]
