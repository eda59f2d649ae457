"""The environment variables every handler reads, derived from the config.

The generator puts these on each Lambda function; the local runner hands the same
mapping to `handlers.settings.Settings.from_env`, so both engines run with one setting.
Values that name deployed resources (bucket, table, queue) are added by the caller.
"""

from __future__ import annotations

from etlgen.model import PipelineConfig
from handlers.settings import MEMORY_PER_CHUNK, STORAGE_PER_CHUNK

SCHEMA_FILE_IN_PACKAGE = "schema.json"
# Lambda's /tmp: 512 MB unless set, at most 10,240 MB.
DEFAULT_STORAGE_MB = 512
MAX_STORAGE_MB = 10_240


def process_storage_mb(config: PipelineConfig) -> int:
    """/tmp of the process function: room for the outputs of the largest chunk its memory
    can take (chunks grow beyond chunk_size_mb when a file needs more than max_chunks)."""
    largest_chunk_mb = config.functions.memory_mb // MEMORY_PER_CHUNK
    return min(MAX_STORAGE_MB, max(DEFAULT_STORAGE_MB, STORAGE_PER_CHUNK * largest_chunk_mb))


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
        "PROCESS_MEMORY_MB": str(config.functions.memory_mb),
        "PROCESS_STORAGE_MB": str(process_storage_mb(config)),
    }
    return dict(sorted(env.items()))
