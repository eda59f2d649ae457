"""The Glue Data Catalog side of the table, when `catalog.enabled`: one database, the
storage tables of valid rows (Parquet, `<table>_parts`) and rejected rows (JSON lines,
`<table>_rejected_parts`), the commits table (JSON lines, `<table>_commits`) and the two
views readers query, `<table>` and `<table>_rejected` (`etlgen.catalog.views`).

Hive-style tables without partition projection: finalize registers a file's partitions,
invisible through the views until its commit pointer, a line of the commits table, names
its `source_file`. Columns and partition keys follow the row schema on every deploy
(`UpdateTable`), the views' columns with them; Athena reads Parquet by column name, so
older partitions stay readable.

A view is an Athena (Presto) view as Athena's own `CREATE VIEW` stores it, which Athena
documents nowhere: `TableType` `VIRTUAL_VIEW`, the parameter `presto_view`, and
`ViewOriginalText` `/* Presto View: <base64 of {originalSql, catalog, schema, columns}> */`
with the columns in Trino types; the database name holds `${EnvironmentSuffix}`, so the
JSON goes through `Fn::Sub` and then `Fn::Base64`. Unlike Athena's own views, the storage
descriptor is empty (no Hive-typed copy of the columns): see docs/architecture.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from troposphere import Base64, Join, Ref, Sub, Template, glue

from etlgen.catalog import tables
from etlgen.catalog.views import TableView, presto_type, table_views
from etlgen.model import PipelineConfig
from etlgen.template import names
from etlgen.template.factored import factored_sub


@dataclass(frozen=True)
class StorageFormat:
    """How Athena (Hive) reads the objects of one table."""

    serde: str
    input_format: str
    output_format: str


PARQUET = StorageFormat(
    "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
    "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
    "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
)
JSON_LINES = StorageFormat(
    "org.openx.data.jsonserde.JsonSerDe",
    "org.apache.hadoop.mapred.TextInputFormat",
    "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
)


def _columns(columns: list[tables.Column]) -> list[glue.Column]:
    return [glue.Column(Name=column.name, Type=column.type) for column in columns]


def _table(logical_id: str, name: str, columns: list[tables.Column],
           keys: list[tables.Column], prefix: str, storage: StorageFormat) -> glue.Table:
    return glue.Table(
        logical_id,
        CatalogId=Ref("AWS::AccountId"),
        DatabaseName=Ref(names.CATALOG_DATABASE),
        TableInput=glue.TableInput(
            Name=name,
            TableType="EXTERNAL_TABLE",
            **({"PartitionKeys": _columns(keys)} if keys else {}),
            StorageDescriptor=glue.StorageDescriptor(
                Columns=_columns(columns),
                Location=Sub(f"s3://${{{names.DATA_BUCKET}}}/{names.sub_literal(prefix)}"),
                InputFormat=storage.input_format,
                OutputFormat=storage.output_format,
                SerdeInfo=glue.SerdeInfo(SerializationLibrary=storage.serde),
            ),
        ),
    )


PRESTO_VIEW_CATALOG = "awsdatacatalog"
_SCHEMA = "@schema@"  # where the deployed database's name goes in the view's JSON


def presto_view_json(view: TableView) -> str:
    """The JSON Athena keeps (base64) in a view's `ViewOriginalText`; `schema` is a
    placeholder for the database name."""
    return json.dumps({"originalSql": view.sql, "catalog": PRESTO_VIEW_CATALOG,
                       "schema": _SCHEMA,
                       "columns": [{"name": c.name, "type": presto_type(c.type)}
                                   for c in view.columns]}, separators=(",", ":"))


# What repeats between the columns of a view's JSON, as `Fn::Sub` variables.
_REPEATED = (("v", '","type":"varchar"},{"name":"'), ("n", '"},{"name":"'), ("t", '","type":"'))


def presto_view_sub(view: TableView, config: PipelineConfig) -> Sub:
    """The view's JSON as an `Fn::Sub`: the database name's `${EnvironmentSuffix}`, and
    the column separators as variables (the text the deploy gives Glue is the JSON)."""
    text = names.sub_literal(presto_view_json(view))
    return factored_sub(text.replace(_SCHEMA, names.database_name_text(config)), _REPEATED)


def _view(logical_id: str, view: TableView, config: PipelineConfig) -> glue.Table:
    return glue.Table(
        logical_id,
        CatalogId=Ref("AWS::AccountId"),
        DatabaseName=Ref(names.CATALOG_DATABASE),
        TableInput=glue.TableInput(
            Name=view.name,
            TableType="VIRTUAL_VIEW",
            Parameters={"presto_view": "true"},
            ViewOriginalText=Join("", ["/* Presto View: ", Base64(presto_view_sub(view, config)),
                                       " */"]),
            ViewExpandedText="/* Presto View */",
            # As Athena's own CREATE VIEW stores it: the Hive-typed columns (what the Glue
            # console, Lake Formation and catalog tools read; Athena takes a view's columns
            # from its JSON) and an empty SerdeInfo (Trino's Glue reader needs one, even
            # for a view).
            StorageDescriptor=glue.StorageDescriptor(Columns=_columns(view.columns),
                                                     SerdeInfo=glue.SerdeInfo()),
        ),
    )


def add_catalog(template: Template, config: PipelineConfig) -> None:
    if not config.catalog.enabled:
        return
    template.add_resource(glue.Database(
        names.CATALOG_DATABASE,
        CatalogId=Ref("AWS::AccountId"),
        DatabaseInput=glue.DatabaseInput(Name=Sub(names.database_name_text(config))),
    ))
    data, rejected = table_views(config)
    template.add_resource(_table(
        names.CATALOG_PARTS, data.parts, tables.data_columns(config),
        tables.data_partition_keys(config), tables.data_prefix(config), PARQUET,
    ))
    template.add_resource(_table(
        names.REJECTED_PARTS, rejected.parts, tables.rejected_columns(config),
        tables.rejected_partition_keys(), tables.rejected_prefix(config), JSON_LINES,
    ))
    template.add_resource(_table(
        names.COMMITS_TABLE, tables.commits_name(config), list(tables.COMMITS), [],
        tables.commits_prefix(config), JSON_LINES,
    ))
    template.add_resource(_view(names.CATALOG_TABLE, data, config))
    template.add_resource(_view(names.REJECTED_TABLE, rejected, config))
