"""The tables the template declares (`etlgen.catalog.tables`) describe what the handlers
write: the same lineage columns and types, partition key names and rejected-row fields."""

from __future__ import annotations

import json
from pathlib import Path

from etlgen.catalog import tables
from etlgen.catalog.columns import glue_type
from etlgen.config import load_config
from etlgen.environment import function_environment
from handlers.layout import OutputLayout, commits_table, parts_table, rejected_table
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


def test_the_commit_pointer_is_a_line_of_the_commits_table() -> None:
    from handlers.events import FileRecord
    from handlers.finalize import commit_pointer

    settings = Settings.from_env({**function_environment(CONFIG), "BUCKET_NAME": "b",
                                  "STATUS_TABLE": "t"})
    layout = OutputLayout.of(settings, "incoming/transactions.csv", "v1")
    assert layout.commit_key.startswith(tables.commits_prefix(CONFIG))
    assert not layout.commit_key.startswith((layout.processed_root, layout.rejected_root))
    file = FileRecord.from_event({
        "file_id": "incoming/transactions.csv#v1", "bucket": "b",
        "key": "incoming/transactions.csv", "version_id": "v1", "size": 10,
        "header": ["a"], "data_offset": 2, "status": "RUNNING",
        "ingested_at": "2024-05-01T00:00:00.000000Z"})
    line = commit_pointer(file, "transactions-0123456789abcdef",
                          {"rows_in": 3, "rows_valid": 2, "rows_rejected": 1})
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert sorted(json.loads(line)) == sorted(c.name for c in tables.COMMITS)
    assert tables.commits_name(CONFIG) == commits_table(settings.catalog_table)
    assert tables.parts_name(CONFIG.table_name) == parts_table(settings.catalog_table)
