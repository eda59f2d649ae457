"""What a catalog is asked to do: make one committed file's partitions the table's
partitions of its source key.

A file's partitions are named by their values (the first key's value and `source_file`);
`source_file` is one commit of one object version (`handlers.layout.source_file_id`). A
catalog keeps, with each partition, the source key it came from, so a new commit of that
key (a new version, or another configuration) replaces the partitions of the earlier one:
readers never see two commits of one key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Partition:
    values: tuple[str, ...]  # in the table's partition key order
    prefix: str  # where its objects lie in the bucket, ending with "/"


@dataclass(frozen=True)
class FilePartitions:
    """One committed file's partitions of one table."""

    table: str
    keys: tuple[str, ...]  # the partition key names the handlers write
    source_key: str
    source_version: str | None
    source_file: str  # the last partition value of each of its partitions
    partitions: tuple[Partition, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Superseded:
    """A partition of an earlier commit of the same source key, removed from the table."""

    source_version: str | None
    prefix: str  # where its objects lie in the bucket


@dataclass(frozen=True)
class CatalogChange:
    added: int
    kept: int  # already registered (a retried finalize)
    removed: tuple[Superseded, ...] = ()  # the key's partitions under another commit


class Catalog(Protocol):
    def replace_file(self, file: FilePartitions) -> CatalogChange:
        """Remove the table's partitions of `file.source_key` under another `source_file`,
        then add `file.partitions` (those already there stay): idempotent."""

    def remove_file(self, file: FilePartitions) -> None:
        """Remove `file.partitions` (undoing a `replace_file` that failed half-way)."""
