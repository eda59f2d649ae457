"""What a catalog is asked to do with one committed file's partitions of a storage table
(`<table>_parts`, `<table>_rejected_parts`): register them, and, once the file's commit
pointer names it, retire the partitions of earlier commits of its source key.

A file's partitions are named by their values (the first key's value and `source_file`);
`source_file` is one commit of one object version (`handlers.layout.source_file_id`). A
catalog keeps, with each partition, the source key it came from. Readers query views that
show only the partitions whose `source_file` a commit pointer names (one per source key),
so a registered partition is invisible until the pointer is written, and a retired one was
already invisible: readers never see two commits of one key, nor part of one.
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


class Catalog(Protocol):
    def register(self, file: FilePartitions) -> CatalogChange:
        """Add `file.partitions` (those already there stay): idempotent."""

    def retire(self, file: FilePartitions) -> tuple[Superseded, ...]:
        """Remove the table's partitions of `file.source_key` under another `source_file`
        and return them (none: nothing to do)."""
