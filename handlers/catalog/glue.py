"""The Glue Data Catalog back end: partitions of the stack's Hive storage tables
(`<table>_parts`, `<table>_rejected_parts`).

Only the four calls finalize's role allows: `glue:GetTable` (the table's partition keys and
storage descriptor, which every partition copies with its own location),
`glue:GetPartitions` (the partitions of the same source key: filtered by the safe stem that
starts every `source_file` value, then by the source key each partition records in its
parameters), `glue:BatchDeletePartition` (at most 25 per call) and
`glue:BatchCreatePartition` (at most 100 per call; a partition that already exists is the
one a retried finalize registered before, so it is skipped). The boto3 client is built on
first use: a function that never registers never makes one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from handlers.catalog.base import CatalogChange, FilePartitions, Partition, Superseded
from handlers.errors import CatalogError

CREATE_BATCH = 100  # BatchCreatePartition's PartitionInputList limit
DELETE_BATCH = 25  # BatchDeletePartition's PartitionsToDelete limit
SOURCE_KEY_PARAMETER = "etlgen_source_key"
SOURCE_VERSION_PARAMETER = "etlgen_source_version"
ALREADY_EXISTS = "AlreadyExistsException"
NOT_FOUND = "EntityNotFoundException"
# What a partition copies of its table's storage descriptor (its location is its own).
_STORAGE_FIELDS = ("Columns", "InputFormat", "OutputFormat", "SerdeInfo", "Compressed",
                   "Parameters")


def _batches(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


class GlueCatalog:
    def __init__(self, database: str, bucket: str,
                 client_factory: Callable[[], Any] | None = None) -> None:
        self.database = database
        self.bucket = bucket
        self._factory = client_factory
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            if self._factory is not None:
                self._client = self._factory()
            else:
                import boto3

                self._client = boto3.client("glue")
        return self._client

    def location(self, partition: Partition) -> str:
        return f"s3://{self.bucket}/{partition.prefix}"

    def register(self, file: FilePartitions) -> CatalogChange:
        table = self._table(file)
        if not file.partitions:
            return CatalogChange(added=0, kept=0)
        added = self._create(file, table, list(file.partitions))
        return CatalogChange(added=added, kept=len(file.partitions) - added)

    def retire(self, file: FilePartitions) -> tuple[Superseded, ...]:
        stale = [p for p in self._partitions_of(file)
                 if p.get("Parameters", {}).get(SOURCE_KEY_PARAMETER) == file.source_key
                 and p["Values"][-1] != file.source_file]
        self._delete(file.table, [p["Values"] for p in stale])
        return tuple(self._superseded(p) for p in stale)

    def _superseded(self, partition: dict[str, Any]) -> Superseded:
        version = partition.get("Parameters", {}).get(SOURCE_VERSION_PARAMETER)
        location = str(partition.get("StorageDescriptor", {}).get("Location", ""))
        bucket = f"s3://{self.bucket}/"
        return Superseded(None if version in (None, "null") else version,
                          location[len(bucket):] if location.startswith(bucket) else "")

    def _table(self, file: FilePartitions) -> dict[str, Any]:
        try:
            table: dict[str, Any] = self.client.get_table(
                DatabaseName=self.database, Name=file.table)["Table"]
        except self.client.exceptions.EntityNotFoundException:
            raise CatalogError(
                f"Glue table {self.database}.{file.table} does not exist: deploy the stack "
                "of this pipeline.yaml") from None
        keys = tuple(key["Name"] for key in table.get("PartitionKeys", []))
        if keys != file.keys:
            raise CatalogError(
                f"Glue table {self.database}.{file.table} has the partition keys "
                f"({', '.join(keys)}), the handlers write ({', '.join(file.keys)}): deploy "
                "the stack of this pipeline.yaml")
        return table

    def _partitions_of(self, file: FilePartitions) -> Iterator[dict[str, Any]]:
        """The table's partitions whose `source_file` starts with this file's safe stem."""
        stem = file.source_file.rsplit("-", 1)[0]
        pages = self.client.get_paginator("get_partitions").paginate(
            DatabaseName=self.database, TableName=file.table,
            Expression=f"{file.keys[-1]} LIKE '{stem}-%'")
        for page in pages:
            yield from page.get("Partitions", [])

    def _delete(self, table: str, values: list[list[str]]) -> None:
        for batch in _batches(values, DELETE_BATCH):
            reply = self.client.batch_delete_partition(
                DatabaseName=self.database, TableName=table,
                PartitionsToDelete=[{"Values": list(v)} for v in batch])
            self._raise_errors(reply, table, "delete", ignore=NOT_FOUND)

    def _create(self, file: FilePartitions, table: dict[str, Any],
                partitions: list[Partition]) -> int:
        storage = {name: table["StorageDescriptor"][name] for name in _STORAGE_FIELDS
                   if name in table.get("StorageDescriptor", {})}
        parameters = {SOURCE_KEY_PARAMETER: file.source_key,
                      SOURCE_VERSION_PARAMETER: file.source_version or "null"}
        added = 0
        for batch in _batches(partitions, CREATE_BATCH):
            reply = self.client.batch_create_partition(
                DatabaseName=self.database, TableName=file.table,
                PartitionInputList=[{
                    "Values": list(partition.values),
                    "StorageDescriptor": {**storage, "Location": self.location(partition)},
                    "Parameters": parameters,
                } for partition in batch])
            existing = self._raise_errors(reply, file.table, "create", ignore=ALREADY_EXISTS)
            added += len(batch) - existing
        return added

    def _raise_errors(self, reply: dict[str, Any], table: str, action: str,
                      ignore: str) -> int:
        """The number of ignorable errors; any other error raises `CatalogError`."""
        errors = reply.get("Errors", [])
        other = [e for e in errors if e.get("ErrorDetail", {}).get("ErrorCode") != ignore]
        if other:
            detail = other[0].get("ErrorDetail", {})
            raise CatalogError(
                f"Glue could not {action} {len(other)} partition(s) of {self.database}."
                f"{table}, e.g. {other[0].get('PartitionValues')}: "
                f"{detail.get('ErrorCode')}: {detail.get('ErrorMessage')}")
        return len(errors)
