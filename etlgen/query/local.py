"""DuckDB over the local catalog's partitions and the commit pointers, with the views
Athena has.

`etlgen run` registers a file's partitions of the storage tables in
`<workdir>/catalog.json` after it published the file, then writes the file's commit
pointer under `bucket/<processed prefix>_commits/<table>/`, as finalize does on AWS. Three
relations stand for the Glue tables: `<table>_parts` (the Parquet parts) and
`<table>_rejected_parts` (the JSON lines) over the catalog's partition folders, each with
the table's columns in the Glue types (so the same SQL behaves alike) and its partition
columns taken from the folder names, `__HIVE_DEFAULT_PARTITION__` read as null as Athena
does, and `<table>_commits` over the pointers. Then the two views readers query,
`<table>` and `<table>_rejected`, with the SQL the template gives Athena
(`etlgen.catalog.views`): no row of a failed, running or superseded run. Parts written
before a compatible schema change read by column name; a column they lack reads as null.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from etlgen.catalog import tables
from etlgen.catalog.type_spelling import Spelling
from etlgen.catalog.views import table_views
from etlgen.errors import UsageError
from etlgen.model import PipelineConfig
from etlgen.query.results import QueryError, QueryResult
from handlers.catalog.local import read_catalog
from handlers.errors import CatalogError

CATALOG_FILE = "catalog.json"
_FILE_COLUMN = "__etlgen_file"
_HIDDEN = (".", "_")  # names Hive (and so Athena) skips in a table's folders


def quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


DUCKDB = Spelling(
    engine="DuckDB",
    simple={"string": "VARCHAR", "bigint": "BIGINT", "int": "INTEGER", "double": "DOUBLE",
            "boolean": "BOOLEAN", "date": "DATE", "timestamp": "TIMESTAMP"},
    decimal=lambda precision, scale: f"DECIMAL({precision},{scale})",
    array=lambda element: f"{element}[]",
    struct=lambda fields: "STRUCT(" + ", ".join(f"{quoted(name)} {kind}"
                                                for name, kind in fields) + ")",
)


def duckdb_type(glue: str) -> str:
    """A Glue (Hive) type as DuckDB spells it: `array<struct<a:string>>` ->
    `STRUCT("a" VARCHAR)[]`."""
    return DUCKDB.of(glue)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@dataclass(frozen=True)
class View:
    name: str
    columns: list[tables.Column]
    keys: list[tables.Column]
    reader: str  # read_parquet | read_json
    extension: str


def views(config: PipelineConfig) -> list[View]:
    """The storage tables, named as in Glue (and in the local catalog)."""
    return [
        View(tables.parts_name(config.table_name), tables.data_columns(config),
             tables.data_partition_keys(config), "read_parquet", ".parquet"),
        View(tables.parts_name(config.rejected_table_name), tables.rejected_columns(config),
             tables.rejected_partition_keys(), "read_json", ".jsonl"),
    ]


def commits_view(config: PipelineConfig) -> View:
    return View(tables.commits_name(config), list(tables.COMMITS), [], "read_json", ".json")


def pointer_files(config: PipelineConfig, bucket: Path) -> list[str]:
    """The commit pointers, one object per source key."""
    return [str(path) for path in sorted((bucket / tables.commits_prefix(config)).glob(
        "*.json")) if not path.name.startswith(_HIDDEN)]


def committed_files(catalog: dict[str, Any], bucket: Path, view: View) -> list[str]:
    """The parts under the catalog's partitions of the view's table, in partition order."""
    table = catalog.get("tables", {}).get(view.name, {})
    files: list[str] = []
    for partition in sorted(table.get("partitions", []), key=lambda p: p["values"]):
        folder = bucket / str(partition["location"])
        files.extend(str(path) for path in sorted(folder.glob(f"*{view.extension}"))
                     if not path.name.startswith(_HIDDEN))
    return files


def _source(view: View, files: list[str]) -> str:
    listed = "[" + ", ".join(_literal(path) for path in files) + "]"
    common = f"filename = {_literal(_FILE_COLUMN)}, hive_partitioning = false"
    if view.reader == "read_parquet":
        return f"read_parquet({listed}, {common}, union_by_name = true)"
    columns = ", ".join(f"{_literal(c.name)}: {_literal(duckdb_type(c.type))}"
                        for c in view.columns)
    return (f"read_json({listed}, {common}, format = 'newline_delimited', "
            f"columns = {{{columns}}})")


def view_sql(view: View, files: list[str], present: set[str]) -> str:
    """The view over `files`; `present` are the columns the files hold."""
    selected = [f"CAST({quoted(c.name)} AS {duckdb_type(c.type)}) AS {quoted(c.name)}"
                if files and c.name in present else
                f"CAST(NULL AS {duckdb_type(c.type)}) AS {quoted(c.name)}"
                for c in view.columns]
    if not files:
        selected += [f"CAST(NULL AS VARCHAR) AS {quoted(key.name)}" for key in view.keys]
        return f"CREATE VIEW {quoted(view.name)} AS SELECT {', '.join(selected)} WHERE false"
    pattern = "/" + "/".join(f"{re.escape(key.name)}=([^/]*)" for key in view.keys) + "/[^/]+$"
    for group, key in enumerate(view.keys, start=1):
        value = f"regexp_extract({quoted(_FILE_COLUMN)}, {_literal(pattern)}, {group})"
        selected.append(f"NULLIF({value}, {_literal(tables.HIVE_DEFAULT_PARTITION)}) "
                        f"AS {quoted(key.name)}")
    return f"CREATE VIEW {quoted(view.name)} AS SELECT {', '.join(selected)} " \
           f"FROM {_source(view, files)}"


def connect(config: PipelineConfig, workdir: Path) -> Any:
    """A DuckDB connection with the storage tables, the commits table and the two views
    readers query (UTC session time zone)."""
    import duckdb

    if not config.catalog.enabled:
        raise UsageError("catalog.enabled is false: etlgen run registers no table to query "
                         "(turn the catalog on and run the files again)")
    path = workdir / CATALOG_FILE
    try:
        catalog = read_catalog(path)
    except CatalogError as error:
        raise UsageError(f"--workdir {workdir}: {error}") from None
    connection = duckdb.connect(":memory:")
    connection.execute("SET TimeZone = 'UTC'")
    for view in views(config):
        files = committed_files(catalog, workdir / "bucket", view)
        present = {c.name for c in view.columns}
        if files and view.reader == "read_parquet":
            described = connection.execute(f"DESCRIBE SELECT * FROM {_source(view, files)}")
            present = {row[0] for row in described.fetchall()}
        connection.execute(view_sql(view, files, present))
    commits = commits_view(config)
    connection.execute(view_sql(commits, pointer_files(config, workdir / "bucket"),
                                {c.name for c in commits.columns}))
    for table_view in table_views(config):
        connection.execute(f"CREATE VIEW {quoted(table_view.name)} AS {table_view.sql}")
    return connection


def run_local(config: PipelineConfig, workdir: Path, sql: str) -> QueryResult:
    import duckdb

    connection = connect(config, workdir)
    try:
        cursor = connection.execute(sql)
        columns = [column[0] for column in cursor.description or []]
        rows = [tuple(row) for row in cursor.fetchall()] if columns else []
    except duckdb.Error as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise QueryError(f"query failed: {first}") from None
    finally:
        connection.close()
    return QueryResult(columns, rows)
