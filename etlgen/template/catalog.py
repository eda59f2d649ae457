"""The Glue Data Catalog side of the table: one database, the table of valid rows
(Parquet) and the table of rejected rows (JSON lines), when `catalog.enabled`.

Hive-style tables without partition projection: a reader sees only the partitions finalize
registered, one `source_file` partition per committed file, so registration is the commit
point of the table (see `etlgen.catalog.tables`). Columns and partition keys follow the row
schema on every deploy: a column added to the schema is added to the table in place
(`UpdateTable`), and Athena reads Parquet by column name, so older partitions stay readable.
"""

from __future__ import annotations

from dataclasses import dataclass

from troposphere import Ref, Sub, Template, glue

from etlgen.catalog import tables
from etlgen.model import PipelineConfig
from etlgen.template import names


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
            PartitionKeys=_columns(keys),
            StorageDescriptor=glue.StorageDescriptor(
                Columns=_columns(columns),
                Location=Sub(f"s3://${{{names.DATA_BUCKET}}}/{names.sub_literal(prefix)}"),
                InputFormat=storage.input_format,
                OutputFormat=storage.output_format,
                SerdeInfo=glue.SerdeInfo(SerializationLibrary=storage.serde),
            ),
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
    template.add_resource(_table(
        names.CATALOG_TABLE, config.table_name, tables.data_columns(config),
        tables.data_partition_keys(config), tables.data_prefix(config), PARQUET,
    ))
    template.add_resource(_table(
        names.REJECTED_TABLE, config.rejected_table_name, tables.rejected_columns(config),
        tables.rejected_partition_keys(), tables.rejected_prefix(config), JSON_LINES,
    ))
