"""Handler settings parsed from the packaged settings file and the function environment.

The generator (`etlgen.environment.function_environment`) derives every variable from the
config. The handlers zip carries the static ones as `handlers/settings.json` (one JSON
object of strings); the template puts on each function only the values known at deploy
time (bucket, table, queue, the deployed names). On Lambda `Settings.deployed()` reads both,
the packaged file winning; the local runner passes the whole mapping to `Settings.from_env`.
A bad value stops the handler with an error naming the variable instead of misbehaving
later.
"""

from __future__ import annotations

import codecs
import json
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from handlers.formats import format_names

PACKAGE_DIR = Path(__file__).resolve().parent
SETTINGS_FILE = "settings.json"
"""The static settings inside the handlers package directory of the zip."""
MIB = 1024 * 1024
MEMORY_PER_CHUNK = 8
"""The process step holds the raw chunk, its Arrow table, the validation masks and the
encoded outputs at once: its memory must be 8 x the chunk."""
STORAGE_PER_CHUNK = 2
"""The process step writes the chunk's valid rows to a file in /tmp before uploading it:
CSV output re-quotes strings and prints typed values, so /tmp must hold 2 x the chunk."""


# Where each variable comes from, so a message names what the user edits (pipeline.yaml),
# not only the variable the generator derived from it.
SETTING_SOURCES = {
    "PIPELINE_NAME": "name in pipeline.yaml",
    "CHUNK_SIZE_MB": "processing.chunk_size_mb in pipeline.yaml",
    "CHUNK_SIZE_BYTES": "ETLGEN_CHUNK_SIZE_BYTES of a local run",
    "MAX_CHUNKS": "processing.max_chunks in pipeline.yaml",
    "CSV_DELIMITER": "input.delimiter in pipeline.yaml",
    "CSV_ENCODING": "input.encoding in pipeline.yaml",
    "INCOMING_PREFIX": "input.prefix in pipeline.yaml",
    "PROCESSED_PREFIX": "output.processed_prefix in pipeline.yaml",
    "REJECTED_PREFIX": "output.rejected_prefix in pipeline.yaml",
    "STAGING_PREFIX": "output.staging_prefix in pipeline.yaml",
    "OUTPUT_FORMAT": "output.format in pipeline.yaml",
    "MAX_REJECT_RATE": "output.max_reject_rate in pipeline.yaml",
    "STATUS_TTL_DAYS": "retention.status_ttl_days in pipeline.yaml",
    "METRICS_NAMESPACE": "name in pipeline.yaml and the EnvironmentSuffix parameter "
                         "(etlgen/<PIPELINE_NAME> when not set)",
    "SCHEMA_FILE": "schema in pipeline.yaml",
    "PROCESS_MEMORY_MB": "functions.memory_mb in pipeline.yaml",
    "PROCESS_STORAGE_MB": "functions.memory_mb in pipeline.yaml (the process function's /tmp)",
    "CATALOG_DATABASE": "catalog.enabled and catalog.database in pipeline.yaml",
    "CATALOG_TABLE": "catalog.table in pipeline.yaml",
    "PARTITION_BY": "output.partition_by in pipeline.yaml",
    "LINEAGE": "output.lineage in pipeline.yaml",
    "FUNCTION_TIMEOUT_SECONDS": "functions.timeout_seconds in pipeline.yaml",
    "PROCESS_THREADS": "the cores of a local run shared among its workers (etlgen run)",
}
TABLE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,254}$")
GRANULARITIES = ("day", "month", "year")
INGEST_DATE = "ingest_date"


METRICS_NAMESPACE_PREFIX = "etlgen/"


def metrics_namespace(pipeline_name: str) -> str:
    """The row metrics' namespace when `METRICS_NAMESPACE` is not set: the pipeline's own."""
    return f"{METRICS_NAMESPACE_PREFIX}{pipeline_name}"


class SettingsError(ValueError):
    """An environment variable is missing or has a value the handlers cannot use."""


@dataclass(frozen=True)
class Settings:
    pipeline_name: str
    chunk_size_bytes: int
    max_chunks: int
    csv_delimiter: str
    csv_encoding: str
    incoming_prefix: str
    processed_prefix: str
    rejected_prefix: str
    staging_prefix: str
    output_format: str  # a name in handlers.formats.FORMATS
    max_reject_rate: float
    status_ttl_days: int
    metrics_namespace: str
    schema_file: str
    bucket_name: str = ""
    status_table: str = ""
    results_queue_url: str = ""
    process_memory_mb: int = 0  # 0: unknown, grown chunks are not checked
    process_storage_mb: int = 0
    # the table (docs/architecture.md, "The queryable table")
    catalog_table: str = "table"  # its folder under the output prefixes
    catalog_database: str = ""  # "": no catalog, finalize registers nothing
    partition_by: str = INGEST_DATE  # ingest_date | <date column>:<day|month|year>
    lineage: bool = True
    function_timeout_seconds: int = 900  # Lambda stops a handler after this
    # pieces of a chunk checked side by side; 0: one per core (a Lambda container)
    process_threads: int = 0

    def largest_chunk_bytes(self) -> tuple[int, str] | None:
        """The largest chunk the process function can take, and what limits it."""
        limits = []
        if self.process_memory_mb:
            limits.append((self.process_memory_mb * MIB // MEMORY_PER_CHUNK,
                           f"functions.memory_mb {self.process_memory_mb} "
                           f"({MEMORY_PER_CHUNK} x the chunk)"))
        if self.process_storage_mb:
            limits.append((self.process_storage_mb * MIB // STORAGE_PER_CHUNK,
                           f"the process function's /tmp of {self.process_storage_mb} MB "
                           f"({STORAGE_PER_CHUNK} x the chunk)"))
        return min(limits) if limits else None

    @property
    def is_utf8(self) -> bool:
        return codecs.lookup(self.csv_encoding).name in ("utf-8", "utf-8-sig")

    @classmethod
    def from_env(cls, mapping: Mapping[str, str] | None = None) -> Settings:
        """Parse the variables; `CHUNK_SIZE_BYTES`, when set, overrides `CHUNK_SIZE_MB`."""
        env = os.environ if mapping is None else mapping
        reader = _Reader(env)
        chunk_mb = reader.integer("CHUNK_SIZE_MB", minimum=1)
        chunk_bytes = chunk_mb * MIB
        if env.get("CHUNK_SIZE_BYTES"):
            chunk_bytes = reader.integer("CHUNK_SIZE_BYTES", minimum=1)
        pipeline_name = reader.text("PIPELINE_NAME")
        namespace = metrics_namespace(pipeline_name)
        if env.get("METRICS_NAMESPACE") is not None:
            namespace = reader.text("METRICS_NAMESPACE")
        return cls(
            pipeline_name=pipeline_name,
            chunk_size_bytes=chunk_bytes,
            max_chunks=reader.integer("MAX_CHUNKS", minimum=1),
            csv_delimiter=reader.delimiter("CSV_DELIMITER"),
            csv_encoding=reader.encoding("CSV_ENCODING"),
            incoming_prefix=reader.text("INCOMING_PREFIX", allow_empty=True),
            processed_prefix=reader.prefix("PROCESSED_PREFIX"),
            rejected_prefix=reader.prefix("REJECTED_PREFIX"),
            staging_prefix=reader.prefix("STAGING_PREFIX"),
            output_format=reader.choice("OUTPUT_FORMAT", format_names()),
            max_reject_rate=reader.rate("MAX_REJECT_RATE"),
            status_ttl_days=reader.integer("STATUS_TTL_DAYS", minimum=1),
            metrics_namespace=namespace,
            schema_file=reader.text("SCHEMA_FILE"),
            bucket_name=env.get("BUCKET_NAME", "").strip(),
            status_table=env.get("STATUS_TABLE", "").strip(),
            results_queue_url=env.get("RESULTS_QUEUE_URL", "").strip(),
            process_memory_mb=reader.optional_integer("PROCESS_MEMORY_MB"),
            process_storage_mb=reader.optional_integer("PROCESS_STORAGE_MB"),
            catalog_table=reader.table_name("CATALOG_TABLE"),
            catalog_database=env.get("CATALOG_DATABASE", "").strip(),
            partition_by=reader.partition_by("PARTITION_BY"),
            lineage=reader.flag("LINEAGE"),
            function_timeout_seconds=reader.optional_integer("FUNCTION_TIMEOUT_SECONDS")
            or 900,
            process_threads=reader.optional_integer("PROCESS_THREADS"),
        )

    @classmethod
    def deployed(cls, environ: Mapping[str, str] | None = None,
                 directory: Path | None = None) -> Settings:
        """Lambda: the function's environment with the packaged settings file on top.

        The packaged values win: CloudFormation updates a function's code and its
        configuration in two calls, and new code running for a moment with the previous
        environment (which still held the static variables) must use its own settings.
        """
        env = os.environ if environ is None else environ
        return cls.from_env({**env, **packaged_settings(directory)})


def packaged_settings(directory: Path | None = None) -> dict[str, str]:
    """The static settings the handlers zip carries (`settings.json` in the handlers
    package directory, or in `directory`), as variables."""
    path = (PACKAGE_DIR if directory is None else directory) / SETTINGS_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise SettingsError(f"{path}: cannot read the packaged settings ({error.strerror}); "
                            "deploy a handlers zip built by etlgen package") from None
    try:
        values = json.loads(text)
    except json.JSONDecodeError as error:
        raise SettingsError(f"{path}:{error.lineno}:{error.colno}: packaged settings are "
                            f"not JSON: {error.msg}") from None
    if not isinstance(values, dict) or not all(
            isinstance(name, str) and isinstance(value, str) for name, value in values.items()):
        raise SettingsError(f"{path}: packaged settings must be one JSON object of strings")
    return values


class _Reader:
    """Reads one variable at a time and words every failure the same way."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def _raw(self, name: str) -> str:
        value = self._env.get(name)
        if value is None:
            raise SettingsError(f"environment variable {name} is not set{_source(name)}")
        return value

    def _fail(self, name: str, value: str, expected: str) -> SettingsError:
        return SettingsError(f"environment variable {name}={value!r}: {expected}"
                             f"{_source(name)}")

    def text(self, name: str, allow_empty: bool = False) -> str:
        value = self._raw(name).strip()
        if not value and not allow_empty:
            raise self._fail(name, value, "must not be empty")
        return value

    def prefix(self, name: str) -> str:
        value = self.text(name)
        return value if value.endswith("/") else value + "/"

    def integer(self, name: str, minimum: int) -> int:
        value = self._raw(name)
        try:
            number = int(value.strip())
        except ValueError:
            raise self._fail(name, value, "must be a whole number") from None
        if number < minimum:
            raise self._fail(name, value, f"must be at least {minimum}")
        return number

    def optional_integer(self, name: str) -> int:
        """0 when the variable is absent or empty."""
        if not self._env.get(name, "").strip():
            return 0
        return self.integer(name, minimum=1)

    def rate(self, name: str) -> float:
        value = self._raw(name)
        try:
            number = float(value.strip())
        except ValueError:
            raise self._fail(name, value, "must be a number between 0 and 1") from None
        if not math.isfinite(number) or not 0.0 <= number <= 1.0:
            raise self._fail(name, value, "must be a number between 0 and 1")
        return number

    def choice(self, name: str, choices: tuple[str, ...]) -> str:
        value = self._raw(name).strip().lower()
        if value not in choices:
            raise self._fail(name, value, f"must be one of {', '.join(choices)}")
        return value

    def table_name(self, name: str) -> str:
        value = self.text(name)
        if not TABLE_NAME.match(value):
            raise self._fail(name, value, "must be lower-case letters, digits and '_', "
                                          "starting with a letter")
        return value

    def partition_by(self, name: str) -> str:
        value = self.text(name)
        column, _, granularity = value.rpartition(":")
        if value != INGEST_DATE and not (column and granularity in GRANULARITIES):
            raise self._fail(name, value, "must be ingest_date or <date column>:<granularity> "
                                          f"with a granularity of {', '.join(GRANULARITIES)}")
        return value

    def flag(self, name: str) -> bool:
        value = self.text(name).lower()
        if value not in ("true", "false"):
            raise self._fail(name, value, "must be true or false")
        return value == "true"

    def delimiter(self, name: str) -> str:
        value = self._raw(name)
        value = {"\\t": "\t", "tab": "\t", "TAB": "\t"}.get(value, value)
        if len(value) != 1 or not value.isascii() or value in "\"\r\n":
            raise self._fail(name, value, "must be one ASCII character other than a quote "
                                          "or a line break")
        return value

    def encoding(self, name: str) -> str:
        value = self._raw(name).strip()
        try:
            codec = codecs.lookup(value)
        except LookupError:
            raise self._fail(name, value, "is not a known text encoding") from None
        try:
            ascii_compatible = "\",\r\n;|\tAz09".encode(codec.name) == b"\",\r\n;|\tAz09"
        except (UnicodeError, LookupError):
            ascii_compatible = False
        if not ascii_compatible and codec.name != "utf-8-sig":
            raise self._fail(name, value, "must be an ASCII-compatible encoding "
                                          "(utf-8, latin-1, cp1252, ...)")
        return codec.name


def _source(name: str) -> str:
    source = SETTING_SOURCES.get(name)
    return f" (set from {source})" if source else ""
