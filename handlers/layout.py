"""Where a source object's outputs go (docs/architecture.md, "Object layout in the bucket").

The process step writes each chunk's parts under the staging prefix, named by the chunk
identity, index, byte range and partition value, so a retried chunk overwrites its own
staged parts and results of another configuration or plan never share a key. Finalize
publishes them into the table's folders, Hive-style:

    <processed prefix><table>/<partition key>=<value>/source_file=<id>/part-<index>.<ext>
    <rejected prefix><table>/ingest_date=<day>/source_file=<id>/part-<index>.jsonl

`source_file` (`source_file_id`) names one commit of one source object version: its safe
stem and a hash of the key, the version and the file identity, so two folders' `tx.csv`,
two versions of one key and two configurations never share a partition. The manifest, the
commit point of the objects, lies outside the tables' folders, under
`<processed prefix>_manifests/` (a table name starts with a letter); so does the commit
pointer of each source key, `<processed prefix>_commits/<table>/<hash of the key>.json`, the
commit point for readers (the views `<table>` and `<table>_rejected` show the partitions of
`<table>_parts` and `<table>_rejected_parts` whose `source_file` a pointer names).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from handlers.formats import output_format
from handlers.partitions import SOURCE_FILE, PartitionBy
from handlers.settings import INGEST_DATE, Settings

MANIFEST_NAME = "_manifest.json"
MANIFESTS_FOLDER = "_manifests"
COMMITS_FOLDER = "_commits"
COMMIT_KEY_HASH = 32  # hex digits of sha256(source key) naming its pointer
SAFE_STEM_LENGTH = 100
SOURCE_FILE_HASH = 16  # hex digits
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


REJECTED_TABLE_SUFFIX = "_rejected"
PARTS_SUFFIX = "_parts"
COMMITS_SUFFIX = "_commits"


def rejected_table(table: str) -> str:
    """The view of a pipeline's rejected rows."""
    return table + REJECTED_TABLE_SUFFIX


def parts_table(view: str) -> str:
    """The storage table (Hive, partitioned) under a view: `<table>_parts`,
    `<table>_rejected_parts`. Its partitions are invisible until a pointer commits them."""
    return view + PARTS_SUFFIX


def commits_table(table: str) -> str:
    """The table of the commit pointers, one line per source key."""
    return table + COMMITS_SUFFIX


def version_text(version_id: str | None) -> str:
    """S3 calls a missing version "null"."""
    return version_id if version_id else "null"


def file_id(key: str, version_id: str | None) -> str:
    return f"{key}#{version_text(version_id)}"


def stem_of(key: str, incoming_prefix: str) -> str:
    """`incoming/2024/tx.csv` -> `2024/tx`."""
    stem = key[len(incoming_prefix):] if incoming_prefix and key.startswith(incoming_prefix) \
        else key
    if stem.lower().endswith(".csv"):
        stem = stem[:-4]
    return stem.strip("/") or "file"


def safe_stem(key: str) -> str:
    """The key's last path element without its suffix, characters other than letters,
    digits, `.`, `_` and `-` as `_`, at most 100 characters: `in/2024/Tx May.csv` ->
    `Tx_May`."""
    name = key.rstrip("/").rsplit("/", 1)[-1]
    if "." in name[1:]:
        name = name[:name.rindex(".")]
    return _UNSAFE.sub("_", name)[:SAFE_STEM_LENGTH] or "file"


def source_file_id(key: str, version_id: str | None, file_identity: str) -> str:
    """The `source_file` partition value of one commit of one object version."""
    digest = hashlib.sha256(f"{file_id(key, version_id)}\0{file_identity}".encode())
    return f"{safe_stem(key)}-{digest.hexdigest()[:SOURCE_FILE_HASH]}"


def commits_root(processed_prefix: str, table: str) -> str:
    """The commits table's folder: `<processed prefix>_commits/<table>/`."""
    return f"{processed_prefix}{COMMITS_FOLDER}/{table}/"


def commit_key(processed_prefix: str, table: str, key: str) -> str:
    """The commit pointer of a source key (every version and identity of it share one)."""
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:COMMIT_KEY_HASH]
    return f"{commits_root(processed_prefix, table)}{digest}.json"


@dataclass(frozen=True)
class OutputLayout:
    processed_root: str  # <processed prefix><table>/, the data table's location
    rejected_root: str  # <rejected prefix><table>/, the rejected table's location
    staging_prefix: str  # <staging prefix><stem>/v=<version>/
    manifest_key: str
    commit_key: str  # the source key's commit pointer
    data_extension: str  # of the output format's parts
    partition_key: str  # the data table's first partition key

    @classmethod
    def of(cls, settings: Settings, key: str, version_id: str | None) -> OutputLayout:
        tail = f"{stem_of(key, settings.incoming_prefix)}/v={version_text(version_id)}/"
        table = settings.catalog_table
        return cls(processed_root=f"{settings.processed_prefix}{table}/",
                   rejected_root=f"{settings.rejected_prefix}{table}/",
                   staging_prefix=settings.staging_prefix + tail,
                   manifest_key=(f"{settings.processed_prefix}{MANIFESTS_FOLDER}/{tail}"
                                 f"{MANIFEST_NAME}"),
                   commit_key=commit_key(settings.processed_prefix, table, key),
                   data_extension=output_format(settings.output_format).extension,
                   partition_key=PartitionBy.parse(settings.partition_by).key)

    def _staged(self, identity: str, kind: str, index: int, start: int, end: int,
                extension: str) -> str:
        return (f"{self.staging_prefix}{identity}/{kind}/"
                f"part-{index:06d}-{start}-{end}.{extension}")

    def staged_output_key(self, identity: str, index: int, start: int, end: int,
                          partition: str) -> str:
        """The chunk's staged rows of one partition value."""
        return self._staged(identity, f"processed/{self.partition_key}={partition}", index,
                            start, end, self.data_extension)

    def staged_rejected_key(self, identity: str, index: int, start: int, end: int) -> str:
        return self._staged(identity, "rejected", index, start, end, "jsonl")

    def data_prefix(self, partition: str, source_file: str) -> str:
        return f"{self.processed_root}{self.partition_key}={partition}/" \
               f"{SOURCE_FILE}={source_file}/"

    def output_key(self, partition: str, source_file: str, index: int) -> str:
        return f"{self.data_prefix(partition, source_file)}part-{index:06d}.{self.data_extension}"

    def rejected_prefix(self, day: str, source_file: str) -> str:
        return f"{self.rejected_root}{INGEST_DATE}={day}/{SOURCE_FILE}={source_file}/"

    def rejected_key(self, day: str, source_file: str, index: int) -> str:
        return f"{self.rejected_prefix(day, source_file)}part-{index:06d}.jsonl"
