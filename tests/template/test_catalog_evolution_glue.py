"""A compatible row-schema change deployed over a table that already holds committed
files, in moto's Glue: the template's table inputs applied as CloudFormation's handlers do
(CreateTable, then UpdateTable on the next deploy), partitions registered by the handlers'
own `GlueCatalog`.

Glue keeps each partition's storage descriptor as it was registered: a table update does
not touch it. Athena validates a Parquet table's partitions against the table by column
name (JSON and CSV tables by position) and reads a partition column whose type differs
from the table's by casting, where it can ("Updates in tables with partitions", "Change a
column data type" in the Athena guide). So what must hold on our side is asserted here:
every column of an old partition is in the new table under the same name, with the same
type or a decimal of the same scale and more precision; the rejected rows' table (JSON
lines, validated by position) and the commits table do not change at all; partitions
registered after the change carry the new columns. Athena itself does not run here.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from etlgen.config import load_config
from etlgen.model import PipelineConfig
from etlgen.render import build_template
from handlers.catalog import FilePartitions, GlueCatalog
from handlers.catalog.base import Partition
from tests.template.test_deploy_moto import ACCOUNT, REGION, _resolved

ROOT = Path(__file__).resolve().parents[2]
BASE = load_config(ROOT / "pipeline.yaml")
BUCKET = f"{BASE.name}-test-{ACCOUNT}-{REGION}"
DATABASE = f"{BASE.database_name}_test"
STORAGE_TABLES = ("CatalogParts", "RejectedParts", "CommitsTable")
DECIMAL = re.compile(r"^decimal\((\d+),(\d+)\)$")


def _widened(config: PipelineConfig) -> PipelineConfig:
    """A new optional `note` column and a 100 x wider amount range (decimal(9,2) becomes
    decimal(11,2))."""
    schema = copy.deepcopy(config.schema)
    schema["properties"]["amount"].update(minimum=-100_000_000, maximum=100_000_000)
    schema["properties"]["note"] = {"type": "string", "maxLength": 40}
    return dataclasses.replace(config, schema=schema)


def _table_inputs(config: PipelineConfig) -> dict[str, dict[str, Any]]:
    resources = build_template(config).to_dict()["Resources"]
    names = {"AWS::AccountId": ACCOUNT, "AWS::Region": REGION, "EnvironmentSuffix": "test",
             "DataBucket": BUCKET, "CatalogDatabase": DATABASE}
    return {logical_id: _resolved(resources[logical_id]["Properties"], names)
            for logical_id in (*STORAGE_TABLES, "CatalogTable", "RejectedTable")}


@pytest.fixture
def glue() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("glue", region_name=REGION)
        client.create_database(DatabaseInput={"Name": DATABASE})
        for props in _table_inputs(BASE).values():
            client.create_table(**props)
        yield client


def _deploy_update(glue: Any, config: PipelineConfig) -> None:
    for props in _table_inputs(config).values():
        glue.update_table(DatabaseName=props["DatabaseName"], TableInput=props["TableInput"])


def _register(glue: Any, table: str, source_file: str) -> None:
    file = FilePartitions(table=table, keys=("ingest_date", "source_file"),
                          source_key=f"incoming/{source_file}.csv", source_version="v1",
                          source_file=source_file,
                          partitions=(Partition(("2024-06-01", source_file),
                                                f"processed/{table}/{source_file}/"),))
    assert GlueCatalog(DATABASE, BUCKET, lambda: glue).register(file).added == 1


def _columns(glue: Any, table: str, source_file: str | None = None) -> dict[str, str]:
    if source_file is None:
        descriptor = glue.get_table(DatabaseName=DATABASE, Name=table)["Table"][
            "StorageDescriptor"]
    else:
        descriptor = glue.get_partition(DatabaseName=DATABASE, TableName=table,
                                        PartitionValues=["2024-06-01", source_file])[
            "Partition"]["StorageDescriptor"]
    return {column["Name"]: column["Type"] for column in descriptor["Columns"]}


def _readable_as(old: str, new: str) -> bool:
    """Athena casts a partition's column to the table's type: the same type, or a decimal
    of the same scale and at least the precision."""
    if old == new:
        return True
    was, now = DECIMAL.match(old), DECIMAL.match(new)
    return bool(was and now and was[2] == now[2] and int(now[1]) >= int(was[1]))


def test_old_partitions_stay_readable_by_name_after_a_compatible_change(glue: Any) -> None:
    parts = f"{BASE.table_name}_parts"
    rejected = f"{BASE.table_name}_rejected_parts"
    commits = f"{BASE.table_name}_commits"
    for table in (parts, rejected):
        _register(glue, table, "before-0123456789abcdef")
    old_parts = _columns(glue, parts, "before-0123456789abcdef")
    old_rejected = _columns(glue, rejected)
    old_commits = _columns(glue, commits)

    _deploy_update(glue, _widened(BASE))

    table = _columns(glue, parts)
    assert table["note"] == "string" and table["amount"] == "decimal(11,2)"
    kept = _columns(glue, parts, "before-0123456789abcdef")
    assert kept == old_parts, "a table update leaves registered partitions as they were"
    assert old_parts["amount"] == "decimal(9,2)"
    assert all(name in table and _readable_as(kind, table[name])
               for name, kind in kept.items()), (kept, table)
    assert [name for name in table if name not in kept] == ["note"]

    assert _columns(glue, rejected) == old_rejected, \
        "the rejected rows' table is read by position: a row-schema change may not move it"
    assert _columns(glue, commits) == old_commits

    for name in (parts, rejected):
        _register(glue, name, "after-fedcba9876543210")
    assert _columns(glue, parts, "after-fedcba9876543210") == table, \
        "a partition registered after the change carries the new columns"

    view = glue.get_table(DatabaseName=DATABASE, Name=BASE.table_name)["Table"]
    assert view["TableType"] == "VIRTUAL_VIEW"
    view_columns = {c["Name"]: c["Type"] for c in view["StorageDescriptor"]["Columns"]}
    assert {name: kind for name, kind in view_columns.items() if name in table} == table
