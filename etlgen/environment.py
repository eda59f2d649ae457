"""The environment variables every handler reads, derived from the config.

The generator puts these on each Lambda function; the local runner hands the same
mapping to `handlers.settings.Settings.from_env`, so both engines run with one setting.
Values that name deployed resources (bucket, table, queue) are added by the caller.
"""

from __future__ import annotations

from etlgen.model import PipelineConfig
from etlgen.template.function_specs import PROCESS

SCHEMA_FILE_IN_PACKAGE = "schema.json"


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
        "METRICS_NAMESPACE": f"etlgen/{config.name}",
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
    }
    return dict(sorted(env.items()))
