"""The tables the template declares (`etlgen.catalog.tables`) describe what the handlers
write: the same lineage columns and types, partition key names and rejected-row fields."""

from __future__ import annotations

from pathlib import Path

from etlgen.catalog import tables
from etlgen.catalog.columns import glue_type
from etlgen.config import load_config
from etlgen.environment import function_environment
from handlers.layout import OutputLayout, rejected_table
from handlers.lineage import LINEAGE_FIELDS, Lineage
from handlers.partitions import HIVE_DEFAULT_PARTITION, SOURCE_FILE, PartitionBy
from handlers.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
CONFIG = load_config(ROOT / "pipeline.yaml")


def test_the_lineage_columns_are_the_ones_the_handlers_write() -> None:
    assert [(f.name, glue_type(f.type)) for f in LINEAGE_FIELDS] == [
        (c.name, c.type) for c in tables.LINEAGE]
    rejected_lineage = set(Lineage.of("k", "v", "2024-05-01T00:00:00.000000Z").reject_fields())
    assert rejected_lineage == {c.name for c in tables.REJECTED_LINEAGE}


def test_partition_keys_and_locations_agree() -> None:
    assert (SOURCE_FILE, HIVE_DEFAULT_PARTITION) == (tables.SOURCE_FILE,
                                                     tables.HIVE_DEFAULT_PARTITION)
    settings = Settings.from_env({**function_environment(CONFIG), "BUCKET_NAME": "b",
                                  "STATUS_TABLE": "t"})
    assert PartitionBy.parse(settings.partition_by).key == CONFIG.output.partition_key
    assert [c.name for c in tables.data_partition_keys(CONFIG)] == [
        CONFIG.output.partition_key, SOURCE_FILE]
    layout = OutputLayout.of(settings, "incoming/transactions.csv", "v1")
    assert layout.processed_root == tables.data_prefix(CONFIG)
    assert layout.rejected_root == tables.rejected_prefix(CONFIG)
    assert rejected_table(settings.catalog_table) == CONFIG.rejected_table_name
    assert not layout.manifest_key.startswith((layout.processed_root, layout.rejected_root))
