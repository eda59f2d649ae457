"""The settings every handler reads, derived from the config.

`function_environment(config)` is the whole mapping: the local runner hands it (plus its
own bucket, table and queue) to `handlers.settings.Settings.from_env`. On Lambda the same
values arrive in two parts, so that the template stays small: the static ones in the
handlers zip (`packaged_settings`, written as `handlers/settings.json` by
`etlgen.packaging`, part of the zip's hash and so of every function's `S3Key`), and in each
function's environment only the values known at deploy time (`DEPLOY_TIME_VARIABLES`, set
by `etlgen.template.functions`). `Settings.deployed` reads both, the packaged file winning.
"""

from __future__ import annotations

import json

from etlgen.model import PipelineConfig
from etlgen.template.function_specs import PROCESS
from handlers.settings import metrics_namespace

SCHEMA_FILE_IN_PACKAGE = "schema.json"

DEPLOY_TIME_VARIABLES = (
    "PIPELINE_NAME",  # the deployed name, `<name>-${EnvironmentSuffix}`
    "METRICS_NAMESPACE",  # absent: `etlgen/<PIPELINE_NAME>`, i.e. `etlgen/<name>-${...}`
    "CATALOG_DATABASE",  # the deployed database (absent, i.e. "", without a catalog)
    "BUCKET_NAME",
    "STATUS_TABLE",
    "RESULTS_QUEUE_URL",  # only on the function that sends results; absent, i.e. ""
)
"""Set by the template from its resources and parameters, never packaged."""


def function_environment(config: PipelineConfig) -> dict[str, str]:
    """Config-derived handler settings as strings, sorted by name for stable output."""
    env = {
        "PIPELINE_NAME": config.name,
        "CHUNK_SIZE_MB": str(config.processing.chunk_size_mb),
        "MAX_CHUNKS": str(config.processing.max_chunks),
        "CSV_DELIMITER": config.input.delimiter,
        "CSV_ENCODING": config.input.encoding,
        "INCOMING_PREFIX": config.input.prefix,
        "PROCESSED_PREFIX": config.output.processed_prefix,
        "REJECTED_PREFIX": config.output.rejected_prefix,
        "STAGING_PREFIX": config.output.staging_prefix,
        "OUTPUT_FORMAT": config.output.format,
        "MAX_REJECT_RATE": repr(config.output.max_reject_rate),
        "STATUS_TTL_DAYS": str(config.retention.status_ttl_days),
        "METRICS_NAMESPACE": metrics_namespace(config.name),
        "SCHEMA_FILE": SCHEMA_FILE_IN_PACKAGE,
        # what the split step checks grown chunks against
        "PROCESS_MEMORY_MB": str(PROCESS.memory_mb(config)),
        "PROCESS_STORAGE_MB": str(PROCESS.tmp_storage_mb(config)),
        # the table: its folder under the output prefixes, its partitions and columns;
        # finalize registers partitions only when a database is named
        "CATALOG_DATABASE": config.database_name if config.catalog.enabled else "",
        "CATALOG_TABLE": config.table_name,
        "PARTITION_BY": config.output.partition_setting,
        "LINEAGE": "true" if config.output.lineage else "false",
        # how long a finalize can run: its commit lease lasts longer
        "FUNCTION_TIMEOUT_SECONDS": str(config.functions.timeout_seconds),
    }
    return dict(sorted(env.items()))


def packaged_settings(config: PipelineConfig) -> dict[str, str]:
    """The static settings the handlers zip carries: everything not known before deploy."""
    return {name: value for name, value in function_environment(config).items()
            if name not in DEPLOY_TIME_VARIABLES}


def packaged_settings_text(config: PipelineConfig) -> str:
    """`handlers/settings.json`: canonical JSON (sorted keys, no spaces), one line."""
    return json.dumps(packaged_settings(config), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False) + "\n"
