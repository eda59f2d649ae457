"""The tables of a pipeline: columns, partition keys and where their objects lie.

Readers query two views, `<table>` and `<table>_rejected` (`etlgen.catalog.views`), over
two Hive storage tables, `<table>_parts` and `<table>_rejected_parts`, showing only the
partitions whose `source_file` the commits table `<table>_commits` names (one JSON line
per source key under `<processed_prefix>_commits/<table>/`).

Valid rows: `<processed_prefix><table>/<partition key>=<value>/source_file=<id>/part-*.parquet`
with the row schema's columns, then the lineage columns. Rejected rows:
`<rejected_prefix><table>/ingest_date=<day>/source_file=<id>/part-*.jsonl`. `source_file`
(`<safe stem>-<16 hex of a hash of key, version and file identity>`, see
`handlers.layout.source_file_id`) is the commit unit: finalize registers a
file's partitions only after it committed the file.
"""

from __future__ import annotations

from dataclasses import dataclass

from etlgen.model import INGEST_DATE, PipelineConfig
from handlers.layout import commits_root, commits_table, parts_table

SOURCE_FILE = "source_file"
ATHENA_RESULTS_PREFIX = "athena-results/"
"""Where the workgroup writes query results, in the data bucket (expired by lifecycle)."""
HIVE_DEFAULT_PARTITION = "__HIVE_DEFAULT_PARTITION__"
"""Partition value of rows whose partition column is null."""


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # Glue (Hive) type text


LINEAGE = (
    Column("_source_key", "string"),
    Column("_source_version", "string"),  # null when the bucket gives no version
    Column("_source_offset", "bigint"),  # byte offset of the row in the source object
    Column("_ingested_at", "timestamp"),  # UTC start of the run, microseconds
)
REJECTED = (
    Column("offset", "bigint"),
    Column("raw", "string"),
    Column("truncated", "boolean"),
    Column("errors", "array<struct<field:string,kind:string,message:string>>"),
)
# The rejected rows carry the lineage of their file; the offset is their own column.
REJECTED_LINEAGE = tuple(column for column in LINEAGE if column.name != "_source_offset")


# The commits table: one line per source key, the pointer finalize writes (see
# `handlers.finalize.commit_pointer`).
COMMITS = (
    Column("source_key", "string"),
    Column("source_version", "string"),
    Column(SOURCE_FILE, "string"),
    Column("committed_at", "timestamp"),
    # The file's reconciled counts (rows_in = rows_valid + rows_rejected): one read for a
    # file's valid and rejected rows, where joining the two views reads this table twice.
    Column("rows_in", "bigint"),
    Column("rows_valid", "bigint"),
    Column("rows_rejected", "bigint"),
)


def parts_name(view: str) -> str:
    """The storage table under the view `view`."""
    return parts_table(view)


def commits_name(config: PipelineConfig) -> str:
    return commits_table(config.table_name)


def commits_prefix(config: PipelineConfig) -> str:
    return commits_root(config.output.processed_prefix, config.table_name)


def data_columns(config: PipelineConfig) -> list[Column]:
    """The valid rows' table: the row schema's columns in schema order, then lineage."""
    # Here, not at the top: the columns come from the handlers' Arrow types (pyarrow), and
    # the config checks import this module for its names alone.
    from etlgen.catalog.columns import glue_columns

    columns = [Column(name, kind) for name, kind in glue_columns(config.schema)]
    return columns + (list(LINEAGE) if config.output.lineage else [])


def rejected_columns(config: PipelineConfig) -> list[Column]:
    return list(REJECTED) + (list(REJECTED_LINEAGE) if config.output.lineage else [])


def data_partition_keys(config: PipelineConfig) -> list[Column]:
    return [Column(config.output.partition_key, "string"), Column(SOURCE_FILE, "string")]


def rejected_partition_keys() -> list[Column]:
    """Always by ingest date: a rejected row has no valid date column."""
    return [Column(INGEST_DATE, "string"), Column(SOURCE_FILE, "string")]


def data_prefix(config: PipelineConfig) -> str:
    return f"{config.output.processed_prefix}{config.table_name}/"


def rejected_prefix(config: PipelineConfig) -> str:
    return f"{config.output.rejected_prefix}{config.table_name}/"


def reserved_names(partition_key: str, lineage: bool) -> dict[str, str]:
    """Names a row-schema column must not take, with what already has them."""
    names = {key: "a partition key of the table (output.partition_by)"
             for key in (partition_key, SOURCE_FILE)}
    if lineage:
        names.update({column.name: "a lineage column (output.lineage)" for column in LINEAGE})
    return names
