"""One entry per Lambda function: every fact the generator and the local runner need about
it, in one table (`FUNCTIONS`).

From an entry's `name` come its logical ids (`<Name>Function`, `<Name>Role`,
`<Name>LogGroup`, see `names`), its physical name, its errors alarm and dashboard line
(`monitoring`), and its definition substitution `<Name>Arn`. `functions` builds the
function and log group from the entry, `iam` its role from `access`, `statemachine` binds
its substitution, `workflow` calls it by that substitution, and `etlgen run` preloads its
`handler_module` in every worker. Adding a function is one entry here, its module under
`handlers/`, and the state that calls it in `workflow.state_machine_definition`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from awacs import aws, dynamodb, glue

from etlgen.model import PipelineConfig
from handlers.settings import MEMORY_PER_CHUNK, STORAGE_PER_CHUNK

# validate, split and finalize read a header, a few boundary ranges or the status items:
# enough for the pandas layer with headroom, at a third of the default's price per ms.
SMALL_FUNCTION_MEMORY_MB = 1024
# Lambda's /tmp: 512 MB unless set, at most 10,240 MB.
DEFAULT_STORAGE_MB = 512
MAX_STORAGE_MB = 10_240


@dataclass(frozen=True)
class FunctionAccess:
    """What one handler does with the bucket, the table and the queue (see `handlers/`)."""

    read_prefixes: tuple[str, ...] = ()
    write_prefixes: tuple[str, ...] = ()
    multipart_writes: bool = False
    delete_prefixes: tuple[str, ...] = ()
    list_prefixes: tuple[str, ...] = ()  # s3:ListBucket, only for keys under these
    # s3:ListBucketVersions, only for keys under these (which version of a key is newest)
    list_version_prefixes: tuple[str, ...] = ()
    table_actions: tuple[aws.Action, ...] = ()
    sends_results: bool = False
    catalog_actions: tuple[aws.Action, ...] = ()  # on the Glue catalog, database, tables


ConfigRule = Callable[[PipelineConfig], int]


@dataclass(frozen=True)
class FunctionSpec:
    """One Lambda function: `name` is lower case (`validate`); `memory_mb` and
    `storage_mb` (its /tmp; None leaves Lambda's default and no `EphemeralStorage`) are
    rules over the config; `access` is its IAM access under the config's prefixes."""

    name: str
    handler_module: str
    description: str
    memory_mb: ConfigRule
    access: Callable[[PipelineConfig], FunctionAccess]
    storage_mb: ConfigRule | None = None

    @property
    def handler(self) -> str:
        """The Lambda `Handler`: the local runner follows it back to `handler_module`."""
        return f"{self.handler_module}.lambda_handler"

    @property
    def substitution(self) -> str:
        """The `${...}` name by which the state machine definition calls the function."""
        return f"{self.name.capitalize()}Arn"

    def tmp_storage_mb(self, config: PipelineConfig) -> int:
        return self.storage_mb(config) if self.storage_mb else DEFAULT_STORAGE_MB


def small_memory_mb(config: PipelineConfig) -> int:
    return min(config.functions.memory_mb, SMALL_FUNCTION_MEMORY_MB)


def chunk_memory_mb(config: PipelineConfig) -> int:
    """`functions.memory_mb`: the process step holds a whole chunk, its Arrow table and
    the outputs."""
    return config.functions.memory_mb


def chunk_storage_mb(config: PipelineConfig) -> int:
    """/tmp of the process function, which writes each chunk's valid rows there before
    uploading: room for the outputs of the largest chunk its memory can take (chunks grow
    beyond chunk_size_mb when a file needs more than max_chunks)."""
    largest_chunk_mb = chunk_memory_mb(config) // MEMORY_PER_CHUNK
    return min(MAX_STORAGE_MB, max(DEFAULT_STORAGE_MB, STORAGE_PER_CHUNK * largest_chunk_mb))


def validate_access(config: PipelineConfig) -> FunctionAccess:
    """Heads and reads the source, records the file (a conditional update, then a read
    when the condition fails)."""
    return FunctionAccess(
        read_prefixes=(config.input.prefix,),
        table_actions=(dynamodb.GetItem, dynamodb.UpdateItem),
    )


def split_access(config: PipelineConfig) -> FunctionAccess:
    """Reads byte ranges of the source and nothing else."""
    return FunctionAccess(read_prefixes=(config.input.prefix,))


def process_access(config: PipelineConfig) -> FunctionAccess:
    """Reads its range, stages its parts (multipart when large), heads the staged parts of
    a chunk done before, records the chunk."""
    staging = config.output.staging_prefix
    return FunctionAccess(
        read_prefixes=(config.input.prefix, staging),
        write_prefixes=(staging,),
        multipart_writes=True,
        table_actions=(dynamodb.GetItem, dynamodb.UpdateItem),
    )


# Registering a committed file's partitions: the table's storage descriptor, the file's
# partitions of earlier runs, then delete those and create the new (at most 100 per call).
CATALOG_PARTITION_ACTIONS = (glue.GetTable, glue.GetPartitions, glue.BatchCreatePartition,
                             glue.BatchDeletePartition)


def finalize_access(config: PipelineConfig) -> FunctionAccess:
    """Queries the chunk items, takes the source key's commit lease, reads its commit
    pointer and the version's manifest, lists the file's output prefixes, deletes what it will not
    publish there, copies the staged parts in, writes the manifest, registers the file's
    partitions in the catalog, records the file, sends the summary, deletes the staged
    parts. The only function that lists, and only under the output prefixes (with the
    catalog on, also the versions of the source key: is a newer version committed?)."""
    processed, rejected = config.output.processed_prefix, config.output.rejected_prefix
    staging = config.output.staging_prefix
    # the commit pointers and the manifests: is this file already committed for readers?
    committed = (f"{processed}_commits/", f"{processed}_manifests/") \
        if config.catalog.enabled else ()
    return FunctionAccess(
        read_prefixes=(staging, *committed),
        write_prefixes=(processed, rejected),
        delete_prefixes=(processed, rejected, staging),
        list_prefixes=(processed, rejected),
        list_version_prefixes=(config.input.prefix,) if config.catalog.enabled else (),
        table_actions=(dynamodb.GetItem, dynamodb.Query, dynamodb.UpdateItem),
        sends_results=config.results_queue.enabled,
        catalog_actions=CATALOG_PARTITION_ACTIONS if config.catalog.enabled else (),
    )


VALIDATE = FunctionSpec(
    "validate", "handlers.validate",
    "Checks a CSV header against the row schema",
    small_memory_mb, validate_access,
)
SPLIT = FunctionSpec(
    "split", "handlers.split",
    "Cuts a CSV object into chunks of records",
    small_memory_mb, split_access,
)
PROCESS = FunctionSpec(
    "process", "handlers.process",
    "Validates and stages one chunk's rows",
    chunk_memory_mb, process_access, storage_mb=chunk_storage_mb,
)
FINALIZE = FunctionSpec(
    "finalize", "handlers.finalize",
    "Checks the counts, publishes, commits",
    small_memory_mb, finalize_access,
)

# In template order.
FUNCTIONS: dict[str, FunctionSpec] = {
    spec.name: spec for spec in (VALIDATE, SPLIT, PROCESS, FINALIZE)
}
