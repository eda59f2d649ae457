"""The Glue database and tables and the Athena workgroup follow the config and the row
schema; nothing of them without the catalog."""

from __future__ import annotations

import base64
import dataclasses
import json
import re
from typing import Any

import pytest

from etlgen.catalog.queries import example_queries
from etlgen.catalog.tables import data_columns
from etlgen.environment import function_environment, packaged_settings
from etlgen.model import PipelineConfig

from .conftest import changed, resources_of, template_of

PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
JSON_SERDE = "org.openx.data.jsonserde.JsonSerDe"
LINEAGE = [{"Name": "_source_key", "Type": "string"},
           {"Name": "_source_version", "Type": "string"},
           {"Name": "_source_offset", "Type": "bigint"},
           {"Name": "_ingested_at", "Type": "timestamp"}]
TRANSACTIONS = [{"Name": "transaction_id", "Type": "string"},
                {"Name": "account_id", "Type": "string"},
                {"Name": "transaction_date", "Type": "date"},
                {"Name": "amount", "Type": "decimal(9,2)"},
                {"Name": "currency", "Type": "string"},
                {"Name": "merchant", "Type": "string"},
                {"Name": "category", "Type": "string"}]
FUNCTIONS = ("Validate", "Split", "Process", "Finalize")


def _table(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    resource = template["Resources"][logical_id]
    assert resource["Type"] == "AWS::Glue::Table"
    assert resource["Properties"]["CatalogId"] == {"Ref": "AWS::AccountId"}
    assert resource["Properties"]["DatabaseName"] == {"Ref": "CatalogDatabase"}
    table: dict[str, Any] = resource["Properties"]["TableInput"]
    assert table["TableType"] == "EXTERNAL_TABLE"
    return table


def _view(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    resource = template["Resources"][logical_id]
    assert resource["Type"] == "AWS::Glue::Table"
    assert resource["Properties"]["DatabaseName"] == {"Ref": "CatalogDatabase"}
    table: dict[str, Any] = resource["Properties"]["TableInput"]
    assert table["TableType"] == "VIRTUAL_VIEW"
    return table


def _presto_view(template: dict[str, Any], logical_id: str,
                 suffix: str = "dev") -> dict[str, Any]:
    """The view's definition as Glue will hold it: the `Fn::Join` of the rendered
    template evaluated, `${EnvironmentSuffix}` substituted, the base64 decoded."""
    text = _view(template, logical_id)["ViewOriginalText"]
    head, encoded, tail = text["Fn::Join"][1]
    assert (text["Fn::Join"][0], head, tail) == ("", "/* Presto View: ", " */")
    source, variables = encoded["Fn::Base64"]["Fn::Sub"]
    assert set(re.findall(r"\$\{([^}]*)\}", source)) == {"EnvironmentSuffix", *variables}, \
        "no other Fn::Sub variable (JSON braces are plain text to Fn::Sub)"
    resolved = re.sub(r"\$\{([^}]*)\}", lambda m: {**variables, "EnvironmentSuffix": suffix}[
        m[1]], source)
    whole = head + base64.b64encode(resolved.encode()).decode() + tail
    match = re.fullmatch(r"/\* Presto View: ([A-Za-z0-9+/=]+) \*/", whole)
    assert match
    definition: dict[str, Any] = json.loads(base64.b64decode(match[1]))
    return definition


PRESTO = {"string": "varchar", "bigint": "bigint", "date": "date", "decimal(9,2)": "decimal(9,2)",
          "timestamp": "timestamp", "boolean": "boolean",
          "array<struct<field:string,kind:string,message:string>>":
              "array(row(field varchar, kind varchar, message varchar))"}


@pytest.mark.parametrize(("view", "parts"), [("CatalogTable", "CatalogParts"),
                                             ("RejectedTable", "RejectedParts")])
def test_the_views_show_the_committed_rows_of_their_storage_table(
        base_template: dict[str, Any], view: str, parts: str) -> None:
    table = _view(base_template, view)
    storage = _table(base_template, parts)
    assert table["Name"] + "_parts" == storage["Name"]
    assert table["Parameters"] == {"presto_view": "true"}
    assert table["ViewExpandedText"] == "/* Presto View */"
    assert "PartitionKeys" not in table
    every = storage["StorageDescriptor"]["Columns"] + storage["PartitionKeys"]
    assert table["StorageDescriptor"] == {"Columns": every, "SerdeInfo": {}}, \
        "as Athena's CREATE VIEW stores it: Hive-typed columns, a SerdeInfo"
    definition = _presto_view(base_template, view, "prod1")
    assert definition["originalSql"] == (
        f"SELECT * FROM {storage['Name']} WHERE source_file IN "
        "(SELECT source_file FROM minimal_commits)")
    assert (definition["catalog"], definition["schema"]) == ("awsdatacatalog", "minimal_prod1")
    assert definition["columns"] == [{"name": c["Name"], "type": PRESTO[c["Type"]]}
                                     for c in every]


def test_the_commits_table_reads_the_pointers(base_template: dict[str, Any]) -> None:
    table = _table(base_template, "CommitsTable")
    assert table["Name"] == "minimal_commits" and "PartitionKeys" not in table
    storage = table["StorageDescriptor"]
    assert storage["Columns"] == [
        {"Name": "source_key", "Type": "string"}, {"Name": "source_version", "Type": "string"},
        {"Name": "source_file", "Type": "string"}, {"Name": "committed_at", "Type": "timestamp"},
        {"Name": "rows_in", "Type": "bigint"}, {"Name": "rows_valid", "Type": "bigint"},
        {"Name": "rows_rejected", "Type": "bigint"}]
    assert storage["Location"] == {"Fn::Sub": "s3://${DataBucket}/processed/_commits/minimal/"}
    assert storage["SerdeInfo"] == {"SerializationLibrary": JSON_SERDE}
    assert storage["InputFormat"] == "org.apache.hadoop.mapred.TextInputFormat"


def test_the_database_carries_the_environment(base_template: dict[str, Any]) -> None:
    database = base_template["Resources"]["CatalogDatabase"]
    assert database["Type"] == "AWS::Glue::Database"
    assert database["Properties"] == {
        "CatalogId": {"Ref": "AWS::AccountId"},
        "DatabaseInput": {"Name": {"Fn::Sub": "minimal_${EnvironmentSuffix}"}}}


def test_the_table_of_valid_rows(base_template: dict[str, Any]) -> None:
    table = _table(base_template, "CatalogParts")
    assert table["Name"] == "minimal_parts"
    assert table["PartitionKeys"] == [{"Name": "ingest_date", "Type": "string"},
                                      {"Name": "source_file", "Type": "string"}]
    storage = table["StorageDescriptor"]
    assert storage["Columns"] == TRANSACTIONS + LINEAGE
    assert storage["Location"] == {"Fn::Sub": "s3://${DataBucket}/processed/minimal/"}
    assert storage["SerdeInfo"] == {"SerializationLibrary": PARQUET_SERDE}
    assert storage["InputFormat"] == (
        "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat")
    assert storage["OutputFormat"] == (
        "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat")


def test_the_table_of_rejected_rows(base_template: dict[str, Any]) -> None:
    table = _table(base_template, "RejectedParts")
    assert table["Name"] == "minimal_rejected_parts"
    assert table["PartitionKeys"] == [{"Name": "ingest_date", "Type": "string"},
                                      {"Name": "source_file", "Type": "string"}]
    storage = table["StorageDescriptor"]
    assert storage["Columns"] == [
        {"Name": "offset", "Type": "bigint"}, {"Name": "raw", "Type": "string"},
        {"Name": "truncated", "Type": "boolean"},
        {"Name": "errors", "Type": "array<struct<field:string,kind:string,message:string>>"},
        *(column for column in LINEAGE if column["Name"] != "_source_offset")]
    assert storage["Location"] == {"Fn::Sub": "s3://${DataBucket}/rejected/minimal/"}
    assert storage["SerdeInfo"] == {"SerializationLibrary": JSON_SERDE}
    assert storage["InputFormat"] == "org.apache.hadoop.mapred.TextInputFormat"


def test_names_partitions_and_prefixes_follow_the_config(
        templates: dict[str, dict[str, Any]]) -> None:
    template = templates["all_options"]
    assert template["Resources"]["CatalogDatabase"]["Properties"]["DatabaseInput"] == {
        "Name": {"Fn::Sub": "ledger_${EnvironmentSuffix}"}}
    table = _table(template, "CatalogParts")
    assert table["Name"] == "card_transactions_parts"
    assert [key["Name"] for key in table["PartitionKeys"]] == ["transaction_date_month",
                                                               "source_file"]
    assert table["StorageDescriptor"]["Location"] == {
        "Fn::Sub": "s3://${DataBucket}/curated/card_transactions/"}
    rejected = _table(template, "RejectedParts")
    assert rejected["Name"] == "card_transactions_rejected_parts"
    assert [key["Name"] for key in rejected["PartitionKeys"]] == ["ingest_date", "source_file"]
    assert rejected["StorageDescriptor"]["Location"] == {
        "Fn::Sub": "s3://${DataBucket}/quarantine/card_transactions/"}
    commits = _table(template, "CommitsTable")
    assert commits["Name"] == "card_transactions_commits" and "PartitionKeys" not in commits
    assert commits["StorageDescriptor"]["Location"] == {
        "Fn::Sub": "s3://${DataBucket}/curated/_commits/card_transactions/"}
    assert [_view(template, view)["Name"] for view in ("CatalogTable", "RejectedTable")] == [
        "card_transactions", "card_transactions_rejected"]


def test_without_lineage_the_tables_have_only_their_own_columns(
        base_config: PipelineConfig) -> None:
    template = template_of(changed(base_config, "output", lineage=False))
    assert _table(template, "CatalogParts")["StorageDescriptor"]["Columns"] == TRANSACTIONS
    assert [c["Name"] for c in _table(template, "RejectedParts")["StorageDescriptor"][
        "Columns"]] == ["offset", "raw", "truncated", "errors"]


def test_a_schema_change_changes_the_columns(base_config: PipelineConfig) -> None:
    schema = {**base_config.schema, "properties": {
        **base_config.schema["properties"], "booked": {"type": ["string", "null"],
                                                      "format": "date-time"}}}
    config = dataclasses.replace(changed(base_config, "output", lineage=False), schema=schema)
    template = template_of(config)
    columns = _table(template, "CatalogParts")["StorageDescriptor"]["Columns"]
    assert columns == [*TRANSACTIONS, {"Name": "booked", "Type": "timestamp"}]
    assert _presto_view(template, "CatalogTable")["columns"][len(TRANSACTIONS)] == {
        "name": "booked", "type": "timestamp"}, "the view follows the schema too"
    assert [c.name for c in data_columns(config)] == [c["Name"] for c in columns]


def test_the_workgroup_enforces_encrypted_results_and_a_scan_limit(
        templates: dict[str, dict[str, Any]]) -> None:
    workgroup = templates["all_options"]["Resources"]["QueryWorkGroup"]
    assert workgroup["Type"] == "AWS::Athena::WorkGroup"
    props = workgroup["Properties"]
    assert props["Name"] == {"Fn::Sub": "all-options-${EnvironmentSuffix}"}
    assert props["RecursiveDeleteOption"] is True
    assert props["WorkGroupConfiguration"] == {
        "EnforceWorkGroupConfiguration": True,
        "PublishCloudWatchMetricsEnabled": True,
        "BytesScannedCutoffPerQuery": 2048 * 1024 * 1024,
        "ResultConfiguration": {
            "OutputLocation": {"Fn::Sub": "s3://${DataBucket}/athena-results/"},
            "EncryptionConfiguration": {"EncryptionOption": "SSE_S3"}}}
    assert {tag["Key"] for tag in props["Tags"]} == {"CostCenter", "Environment", "Owner",
                                                     "Project"}


def test_the_default_scan_limit_is_10_gib(base_template: dict[str, Any]) -> None:
    configuration = base_template["Resources"]["QueryWorkGroup"]["Properties"][
        "WorkGroupConfiguration"]
    assert configuration["BytesScannedCutoffPerQuery"] == 10 * 1024**3


def test_the_named_queries_are_the_example_queries(base_config: PipelineConfig,
                                                   base_template: dict[str, Any]) -> None:
    queries = resources_of(base_template, "AWS::Athena::NamedQuery")
    assert {logical_id: q["Properties"] for logical_id, q in queries.items()} == {
        f"{query.key}Query": {"Name": query.name, "Database": {"Ref": "CatalogDatabase"},
                              "WorkGroup": {"Ref": "QueryWorkGroup"}, "QueryString": query.sql}
        for query in example_queries(base_config)}
    assert queries["TotalsQuery"]["Properties"]["QueryString"] == (
        "SELECT currency, count(*) AS row_count, sum(amount) AS total FROM minimal "
        "GROUP BY 1 ORDER BY 1")
    assert queries["RejectsQuery"]["Properties"]["QueryString"] == (
        "SELECT errors[1].field AS field, errors[1].kind AS kind, count(*) AS row_count "
        "FROM minimal_rejected GROUP BY 1, 2 ORDER BY 3 DESC")


def test_the_outputs_name_database_table_and_workgroup(base_template: dict[str, Any]) -> None:
    outputs = base_template["Outputs"]
    assert outputs["DatabaseName"]["Value"] == {"Ref": "CatalogDatabase"}
    assert outputs["TableName"]["Value"] == {"Ref": "CatalogTable"}
    assert outputs["WorkGroupName"]["Value"] == {"Ref": "QueryWorkGroup"}


@pytest.mark.parametrize("name", FUNCTIONS)
def test_every_function_knows_the_table(templates: dict[str, dict[str, Any]],
                                        configs: dict[str, PipelineConfig], name: str) -> None:
    variables = templates["all_options"]["Resources"][f"{name}Function"]["Properties"][
        "Environment"]["Variables"]
    assert variables["CATALOG_DATABASE"] == {"Ref": "CatalogDatabase"}
    packaged = packaged_settings(configs["all_options"])
    assert (packaged["CATALOG_TABLE"], packaged["PARTITION_BY"], packaged["LINEAGE"]) == (
        "card_transactions", "transaction_date:month", "true")
    local = function_environment(configs["all_options"])
    assert (local["CATALOG_DATABASE"], local["CATALOG_TABLE"]) == ("ledger",
                                                                   "card_transactions")


def test_nothing_of_the_catalog_when_it_is_off(templates: dict[str, dict[str, Any]],
                                               configs: dict[str, PipelineConfig]) -> None:
    template = templates["all_off"]
    kinds = {resource["Type"] for resource in template["Resources"].values()}
    assert not {kind for kind in kinds if kind.startswith(("AWS::Glue::", "AWS::Athena::"))}
    assert not {"DatabaseName", "TableName", "WorkGroupName"} & set(template["Outputs"])
    variables = template["Resources"]["FinalizeFunction"]["Properties"]["Environment"][
        "Variables"]
    assert "CATALOG_DATABASE" not in variables  # absent reads as "": nothing is registered
    packaged = packaged_settings(configs["all_off"])
    assert "CATALOG_DATABASE" not in packaged
    assert (packaged["CATALOG_TABLE"], packaged["PARTITION_BY"], packaged["LINEAGE"]) == (
        "all_off", "ingest_date", "false")
    assert function_environment(configs["all_off"])["CATALOG_DATABASE"] == ""
