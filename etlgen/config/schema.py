"""The JSON Schema (2020-12) of pipeline.yaml: shape, defaults and the bounds AWS enforces.

It lives in Python so it ships inside the `etlgen` package with no package-data set-up and
works the same from an editable or a wheel install. `schemas/pipeline.schema.json` is the
same document written out for editors (`python -m etlgen.config.schema > schemas/...`);
a test keeps the two identical.
"""

from __future__ import annotations

import json
from typing import Any

from handlers.formats import DEFAULT_FORMAT, format_names

NAME_PATTERN = r"^[a-z][a-z0-9-]{0,18}[a-z0-9]$"
PREFIX_PATTERN = r"^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*/$"
SUFFIX_PATTERN = r"^[A-Za-z0-9!_.*'()-]*$"
VERSION_PATTERN = r"^[0-9]+\.[0-9]+\.[0-9]+$"
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s.]+$"
TAG_TEXT_PATTERN = r"^[\w .:/=+\-@]*$"
RESERVED_TAG_PREFIX_PATTERN = r"^[aA][wW][sS]:"
# Glue and Athena names: lower case (Athena lower-cases names in queries), at most 255
# characters with what the template appends: `_<EnvironmentSuffix>` (11) to the database,
# `_rejected` (9) to the table.
DATABASE_PATTERN = r"^[a-z][a-z0-9_]{0,243}$"
TABLE_PATTERN = r"^[a-z][a-z0-9_]{0,245}$"
MIB = 1024 * 1024
# Athena's BytesScannedCutoffPerQuery: at least 10,000,000 bytes, a 64-bit integer.
LARGEST_CUTOFF_MB = (2**63 - 1) // MIB
STORAGE_CLASSES = ["GLACIER_IR", "GLACIER", "DEEP_ARCHIVE", "none"]

PATTERN_HINTS: dict[str, str] = {
    NAME_PATTERN: (
        "expected 2-20 characters: lower-case letters, digits and '-', starting with a letter "
        "and not ending with '-' (it becomes part of S3 bucket and Lambda names)"
    ),
    PREFIX_PATTERN: (
        "expected an S3 key prefix such as 'incoming/': segments of letters, digits and "
        "! _ . * ' ( ) -, separated by '/', ending with '/' and not starting with '/'"
    ),
    SUFFIX_PATTERN: "expected a key ending such as '.csv', without '/'",
    VERSION_PATTERN: "expected a version such as '3.11.0'",
    EMAIL_PATTERN: "expected an e-mail address such as 'ops@example.com'",
    TAG_TEXT_PATTERN: (
        "AWS tags allow only letters, digits, spaces and the characters _ . : / = + - @"
    ),
    DATABASE_PATTERN: (
        "expected 1-244 characters: lower-case letters, digits and '_', starting with a "
        "letter (Glue and Athena names; the template appends _<EnvironmentSuffix>)"
    ),
    TABLE_PATTERN: (
        "expected 1-246 characters: lower-case letters, digits and '_', starting with a "
        "letter (Glue and Athena names; the rejected rows' table appends _rejected)"
    ),
}

LOG_RETENTION_DAYS = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
    2922, 3288, 3653,
]

DEFAULT_TAGS = {"Environment": "Production", "Project": "ETL"}


def _integer(description: str, default: int, minimum: int, maximum: int | None = None,
             ) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "description": description, "type": "integer", "default": default, "minimum": minimum,
    }
    if maximum is not None:
        schema["maximum"] = maximum
    return schema


def _section(description: str, properties: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """An optional block whose default is the mapping of its keys' defaults."""
    return {
        "description": description,
        "type": "object",
        "additionalProperties": False,
        "default": {key: value["default"] for key, value in properties.items()},
        "properties": properties,
    }


def _prefix(description: str, default: str) -> dict[str, Any]:
    return {
        "description": description, "type": "string", "default": default,
        "maxLength": 512, "pattern": PREFIX_PATTERN,
    }


def pipeline_schema() -> dict[str, Any]:
    """The schema, built now: `output.format` lists the formats registered in
    `handlers.formats.FORMATS` at this moment."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://etlgen.dev/schemas/pipeline.schema.json",
        "title": "etlgen pipeline",
        "description": (
            "One serverless CSV ETL pipeline: S3 incoming/ -> EventBridge -> Step Functions -> "
            "Lambda. Only name and schema are required; every other key has a default."
        ),
        "type": "object",
        "additionalProperties": False,
        "required": ["name", "schema"],
        "properties": {
            "name": {
                "description": (
                    "Pipeline name, used in bucket, function and table names; with a "
                    "10-character environment suffix, the account id and the region it must "
                    "fit S3's 63 characters"
                ),
                "type": "string",
                "pattern": NAME_PATTERN,
            },
            "schema": {
                "description": "Path of the JSON Schema of one CSV row, relative to this file",
                "type": "string",
                "minLength": 1,
            },
            "input": _section("Which uploaded objects start the pipeline and how to read them", {
                "prefix": _prefix("Key prefix watched for new CSV files", "incoming/"),
                "suffix": {
                    "description": "Only keys ending with this start the pipeline",
                    "type": "string", "default": ".csv", "maxLength": 64,
                    "pattern": SUFFIX_PATTERN,
                },
                "delimiter": {
                    "description": "Field separator: one character, not '\"', CR or LF",
                    "type": "string", "default": ",", "minLength": 1, "maxLength": 1,
                },
                "encoding": {
                    "description": "Text encoding of the CSV files (a UTF-8 BOM is accepted)",
                    "type": "string", "default": "utf-8", "enum": ["utf-8"],
                },
            }),
            "output": _section("Where results go and when a file fails", {
                "processed_prefix": _prefix(
                    "Key prefix of valid rows; never under the input prefix", "processed/"
                ),
                "rejected_prefix": _prefix(
                    "Key prefix of rejected rows (JSON lines); never under the input prefix",
                    "rejected/",
                ),
                "staging_prefix": _prefix(
                    "Key prefix where chunk outputs wait until the file is committed; apart from "
                    "the other prefixes", "staging/",
                ),
                "format": {
                    "description": "File format of valid rows",
                    "type": "string", "default": DEFAULT_FORMAT, "enum": list(format_names()),
                },
                "max_reject_rate": {
                    "description": "Largest share of rejected rows (0-1) before the file fails",
                    "type": "number", "default": 0.05, "minimum": 0, "maximum": 1,
                },
                "partition_by": {
                    "description": (
                        "First partition key of the table (the second is always source_file, "
                        "one per committed file): ingest_date (the UTC day the file's run "
                        "started), or {column: <a format: date column of the row schema>, "
                        "granularity: day|month|year}, giving the key <column>_<granularity>"
                    ),
                    "default": "ingest_date",
                    "oneOf": [
                        {"type": "string", "enum": ["ingest_date"]},
                        {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["column"],
                            "properties": {
                                "column": {
                                    "description": "A format: date column of the row schema",
                                    "type": "string", "minLength": 1,
                                },
                                "granularity": {
                                    "description": "Values YYYY-MM-DD (day), YYYY-MM (month) "
                                    "or YYYY (year)",
                                    "type": "string", "default": "day",
                                    "enum": ["day", "month", "year"],
                                },
                            },
                        },
                    ],
                },
                "lineage": {
                    "description": (
                        "Add _source_key, _source_version, _source_offset (the row's byte offset "
                        "in the source object) and _ingested_at to every valid row"
                    ),
                    "type": "boolean", "default": True,
                },
            }),
            "processing": _section("How a file is cut into chunks and processed in parallel", {
                "chunk_size_mb": _integer(
                    "Target size of one chunk in MiB (functions.memory_mb must be >= 8 x this)",
                    64, 1, 512,
                ),
                "max_concurrency": _integer(
                    "Chunks processed at once (inline Map: at most 40)", 10, 1, 40
                ),
                "max_chunks": _integer(
                    "Most chunks per file; larger files get larger chunks. A Standard workflow "
                    "execution holds at most 25,000 history events: each chunk takes 7 plus 3 "
                    "per retry (6 Lambda-service retries and retries.max_attempts), the rest of "
                    "the workflow at most 192 + 9 x retries.max_attempts, so max_chunks x (25 + "
                    "3 x retries.max_attempts) + that must stay below 25,000: at most 728 with "
                    "3 retries, 992 with none, 449 with 10",
                    700, 1, 992,
                ),
            }),
            "retries": _section("Retry of transient failures of each Lambda task", {
                "max_attempts": _integer("Retries after the first failure", 3, 0, 10),
                "interval_seconds": _integer("Wait before the first retry", 2, 1, 99999999),
                "backoff_rate": {
                    "description": "Multiplier of the wait on each retry",
                    "type": "number", "default": 2.0, "minimum": 1.0, "maximum": 10,
                },
                "max_delay_seconds": _integer("Longest wait between retries", 60, 1, 31622400),
                "jitter": {
                    "description": "FULL randomizes each wait, NONE keeps it exact",
                    "type": "string", "default": "FULL", "enum": ["FULL", "NONE"],
                },
            }),
            "functions": _section("Settings shared by the four Lambda functions", {
                "runtime": {
                    "description": "Lambda Python runtime",
                    "type": "string", "default": "python3.12",
                    "enum": ["python3.11", "python3.12", "python3.13"],
                },
                "architecture": {
                    "description": "Lambda instruction set architecture",
                    "type": "string", "default": "arm64", "enum": ["arm64", "x86_64"],
                },
                "memory_mb": _integer(
                    "Memory of the process function in MB (validate, split and finalize get at "
                    "most 1024)", 3072, 128, 10240,
                ),
                "timeout_seconds": _integer("Timeout of each function in seconds", 900, 1, 900),
                "pandas_layer_version": {
                    "description": "AWS SDK for pandas layer version, resolved through public SSM",
                    "type": "string", "default": "3.11.0", "pattern": VERSION_PATTERN,
                },
            }),
            "retention": _section("How long data, status items and logs are kept", {
                "glacier_after_days": _integer(
                    "Days before processed objects move to retention.storage_class", 30, 1
                ),
                "storage_class": {
                    "description": (
                        "Where processed objects move after retention.glacier_after_days: "
                        "GLACIER_IR (S3 Glacier Instant Retrieval: Athena still reads it), "
                        "GLACIER (Flexible Retrieval) or DEEP_ARCHIVE (Athena reads neither), "
                        "none (they stay in S3 Standard)"
                    ),
                    "type": "string", "default": "GLACIER_IR", "enum": STORAGE_CLASSES,
                },
                "allow_unqueryable_storage": {
                    "description": (
                        "Allow GLACIER or DEEP_ARCHIVE with the catalog on: queries then fail "
                        "on (or skip) partitions older than retention.glacier_after_days"
                    ),
                    "type": "boolean", "default": False,
                },
                "noncurrent_version_days": _integer(
                    "Days before replaced object versions are deleted", 30, 1
                ),
                "incomplete_upload_days": _integer(
                    "Days before unfinished multipart uploads are aborted", 7, 1
                ),
                "status_ttl_days": _integer("Days before DynamoDB status items expire", 90, 1),
                "staging_days": _integer(
                    "Days before staged chunk outputs of unfinished or failed runs are deleted",
                    7, 1,
                ),
                "log_retention_days": {
                    "description": "Days CloudWatch keeps function and workflow logs",
                    "type": "integer", "default": 30, "enum": LOG_RETENTION_DAYS,
                },
            }),
            "results_queue": _section("SQS FIFO queue receiving one message per finished file", {
                "enabled": {
                    "description": "Create the queue and send results to it",
                    "type": "boolean", "default": True,
                },
            }),
            "alerts": _section("SNS topic and CloudWatch alarms for failures", {
                "enabled": {
                    "description": "Create the alert topic, alarms and failure notification",
                    "type": "boolean", "default": True,
                },
                "email": {
                    "description": "Address subscribed to the alert topic (null: no subscription)",
                    "type": ["string", "null"], "default": None, "maxLength": 254,
                    "pattern": EMAIL_PATTERN,
                },
            }),
            "catalog": _section("The table in the Glue Data Catalog and its Athena workgroup", {
                "enabled": {
                    "description": (
                        "Create the Glue database, the tables <table> and <table>_rejected and "
                        "an Athena workgroup; finalize registers each committed file's partitions"
                    ),
                    "type": "boolean", "default": True,
                },
                "database": {
                    "description": (
                        "Glue database name (null: the pipeline name with - as _); deployed as "
                        "<database>_<EnvironmentSuffix>"
                    ),
                    "type": ["string", "null"], "default": None, "pattern": DATABASE_PATTERN,
                },
                "table": {
                    "description": (
                        "Table of valid rows, also their folder under the output prefixes "
                        "(null: the pipeline name with - as _); rejected rows: <table>_rejected"
                    ),
                    "type": ["string", "null"], "default": None, "pattern": TABLE_PATTERN,
                },
                "bytes_scanned_cutoff_mb": _integer(
                    "Athena cancels a query of the workgroup that scans more than this many MiB",
                    10240, 10, LARGEST_CUTOFF_MB,
                ),
            }),
            "tags": {
                "description": (
                    "Tags on every resource and the stack (replaces the defaults when given)"
                ),
                "type": "object",
                "default": DEFAULT_TAGS,
                "maxProperties": 50,
                "propertyNames": {
                    "description": "Tag key: 1-128 characters, not starting with 'aws:'",
                    "minLength": 1,
                    "maxLength": 128,
                    "pattern": TAG_TEXT_PATTERN,
                    "not": {"pattern": RESERVED_TAG_PREFIX_PATTERN},
                },
                "additionalProperties": {
                    "description": "Tag value: at most 256 characters",
                    "type": "string",
                    "maxLength": 256,
                    "pattern": TAG_TEXT_PATTERN,
                },
            },
        },
    }


PIPELINE_SCHEMA: dict[str, Any] = pipeline_schema()
"""The schema with the formats registered when this module was imported; config files are
checked against `pipeline_schema()`, built when they are checked."""


def schema_json() -> str:
    """The schema as written to schemas/pipeline.schema.json (stable bytes)."""
    return json.dumps(pipeline_schema(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    print(schema_json(), end="")
