"""Example queries of a pipeline's tables, in SQL that Athena (Trino) and DuckDB both run:
plain aggregates, partition columns, `errors[1].field` (arrays are 1-based in both).

The template saves them as Athena named queries in the workgroup; the same text runs
locally. Two, as the template's size is bounded (a direct `deploy` takes 51,200 bytes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from etlgen.catalog import tables
from etlgen.model import PipelineConfig
from handlers.row_schema_keywords import column_kind

_PLAIN = re.compile(r"[a-z_][a-z0-9_]*")
# Trino's reserved keywords: a column of that name must be quoted in a query.
_RESERVED = frozenset({
    "alter", "and", "as", "between", "by", "case", "cast", "constraint", "create", "cross",
    "cube", "current_catalog", "current_date", "current_path", "current_role",
    "current_schema", "current_time", "current_timestamp", "current_user", "deallocate",
    "delete", "describe", "distinct", "drop", "else", "end", "escape", "except", "execute",
    "exists", "extract", "false", "for", "from", "full", "group", "grouping", "having", "in",
    "inner", "insert", "intersect", "into", "is", "join", "json_array", "json_exists",
    "json_object", "json_query", "json_table", "json_value", "left", "like", "listagg",
    "localtime", "localtimestamp", "natural", "normalize", "not", "null", "on", "or", "order",
    "outer", "prepare", "recursive", "right", "rollup", "select", "skip", "table", "then",
    "trim", "true", "uescape", "union", "unnest", "using", "values", "when", "where", "with",
})


def identifier(name: str) -> str:
    """A column or table name as SQL: plain when it can be, else double-quoted."""
    if _PLAIN.fullmatch(name) and name not in _RESERVED:
        return name
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class ExampleQuery:
    key: str  # the template's logical id is `<key>Query`
    name: str
    sql: str


def example_queries(config: PipelineConfig) -> list[ExampleQuery]:
    """A summary of the valid rows and the rejected rows by reason."""
    return [
        _summary(config),
        ExampleQuery(
            "Rejects", "rejected rows by first error",
            "SELECT errors[1].field AS field, errors[1].kind AS kind, count(*) AS row_count "
            f"FROM {identifier(config.rejected_table_name)} GROUP BY 1, 2 ORDER BY 3 DESC",
        ),
    ]


def _summary(config: PipelineConfig) -> ExampleQuery:
    """Rows and a total per value of the first enumerated column (`currency` and `amount`
    for the transactions schema) when the schema has such columns; else rows per
    committed file."""
    table = identifier(config.table_name)
    columns = config.schema["properties"]
    groups = [name for name, spec in columns.items() if "enum" in spec]
    numbers = [name for name, spec in columns.items()
               if column_kind(spec)[0] in ("number", "integer")]
    if groups and numbers:
        group, number = identifier(groups[0]), identifier(numbers[0])
        return ExampleQuery(
            "Totals", f"rows and {numbers[0]} per {groups[0]}"[:128],
            f"SELECT {group}, count(*) AS row_count, sum({number}) AS total FROM {table} "
            "GROUP BY 1 ORDER BY 1",
        )
    key = identifier(config.output.partition_key)
    return ExampleQuery(
        "Totals", "rows per file",
        f"SELECT {key}, {tables.SOURCE_FILE}, count(*) AS row_count FROM {table} "
        "GROUP BY 1, 2 ORDER BY 1 DESC, 2",
    )
