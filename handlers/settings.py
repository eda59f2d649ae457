"""Handler settings parsed from the function environment.

The generator (`etlgen.environment.function_environment`) and the template write these
variables; the local runner passes the same mapping. A bad value stops the handler with an
error naming the variable instead of misbehaving later.
"""

from __future__ import annotations

import codecs
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass

MIB = 1024 * 1024
OUTPUT_FORMATS = ("parquet", "csv")


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
    output_format: str
    max_reject_rate: float
    status_ttl_days: int
    metrics_namespace: str
    schema_file: str
    bucket_name: str = ""
    status_table: str = ""
    results_queue_url: str = ""

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
        return cls(
            pipeline_name=reader.text("PIPELINE_NAME"),
            chunk_size_bytes=chunk_bytes,
            max_chunks=reader.integer("MAX_CHUNKS", minimum=1),
            csv_delimiter=reader.delimiter("CSV_DELIMITER"),
            csv_encoding=reader.encoding("CSV_ENCODING"),
            incoming_prefix=reader.text("INCOMING_PREFIX", allow_empty=True),
            processed_prefix=reader.prefix("PROCESSED_PREFIX"),
            rejected_prefix=reader.prefix("REJECTED_PREFIX"),
            staging_prefix=reader.prefix("STAGING_PREFIX"),
            output_format=reader.choice("OUTPUT_FORMAT", OUTPUT_FORMATS),
            max_reject_rate=reader.rate("MAX_REJECT_RATE"),
            status_ttl_days=reader.integer("STATUS_TTL_DAYS", minimum=1),
            metrics_namespace=reader.text("METRICS_NAMESPACE"),
            schema_file=reader.text("SCHEMA_FILE"),
            bucket_name=env.get("BUCKET_NAME", "").strip(),
            status_table=env.get("STATUS_TABLE", "").strip(),
            results_queue_url=env.get("RESULTS_QUEUE_URL", "").strip(),
        )


class _Reader:
    """Reads one variable at a time and words every failure the same way."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def _raw(self, name: str) -> str:
        value = self._env.get(name)
        if value is None:
            raise SettingsError(f"environment variable {name} is not set")
        return value

    def _fail(self, name: str, value: str, expected: str) -> SettingsError:
        return SettingsError(f"environment variable {name}={value!r}: {expected}")

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
