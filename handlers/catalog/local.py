"""The local catalog of `etlgen run`: one JSON file standing in for Glue.

    {"version": 1, "tables": {"<table>": {"keys": [...], "partitions": [
        {"values": [...], "location": "<key prefix in the bucket>",
         "source_key": "...", "source_version": "..."}]}}}

It holds the partitions of the storage tables (`<table>_parts`, `<table>_rejected_parts`),
registered by finalize after it published a file and before it writes the file's commit
pointer; `etlgen query` shows, as the Athena views do, only the partitions whose
`source_file` a pointer names. Each change is one read-modify-write under
an exclusive lock, written to a temporary file and renamed into place: a reader never sees
half a file, and runs sharing a work folder do not lose each other's partitions.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from handlers.catalog.base import CatalogChange, FilePartitions, Superseded
from handlers.errors import CatalogError

FORMAT_VERSION = 1
T = TypeVar("T")


def read_catalog(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The catalog's content (empty when there is no file yet)."""
    target = Path(path)
    if not target.exists():
        return {"version": FORMAT_VERSION, "tables": {}}
    try:
        content: dict[str, Any] = json.loads(target.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise CatalogError(f"{target}: not a catalog file ({error})") from None
    if not isinstance(content, dict) or not isinstance(content.get("tables"), dict):
        raise CatalogError(f"{target}: not a catalog file (no tables)")
    return content


class LocalCatalog:
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def register(self, file: FilePartitions) -> CatalogChange:
        def change(partitions: list[dict[str, Any]]) -> tuple[list[dict[str, Any]],
                                                               CatalogChange]:
            present = {tuple(p["values"]) for p in partitions}
            new = [{"values": list(partition.values), "location": partition.prefix,
                    "source_key": file.source_key, "source_version": file.source_version}
                   for partition in file.partitions if partition.values not in present]
            return partitions + new, CatalogChange(added=len(new),
                                                   kept=len(file.partitions) - len(new))

        return self._update(file, change)

    def retire(self, file: FilePartitions) -> tuple[Superseded, ...]:
        def change(partitions: list[dict[str, Any]]) -> tuple[list[dict[str, Any]],
                                                               tuple[Superseded, ...]]:
            stale = [p for p in partitions if p.get("source_key") == file.source_key
                     and p["values"][-1] != file.source_file]
            return [p for p in partitions if p not in stale], tuple(
                Superseded(p.get("source_version"), str(p.get("location", ""))) for p in stale)

        return self._update(file, change)

    def _update(self, file: FilePartitions,
                change: Callable[[list[dict[str, Any]]], tuple[list[dict[str, Any]], T]]) -> T:
        with self._locked():
            content = read_catalog(self.path)
            table = content["tables"].setdefault(file.table, {"keys": list(file.keys),
                                                              "partitions": []})
            if tuple(table.get("keys", ())) != file.keys:
                raise CatalogError(
                    f"{self.path}: table {file.table} has the partition keys "
                    f"({', '.join(table.get('keys', ()))}), the handlers write "
                    f"({', '.join(file.keys)}): use another --workdir for this pipeline.yaml")
            table["partitions"], result = change(list(table.get("partitions", [])))
            self._write(content)
        return result

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(self.path.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _write(self, content: dict[str, Any]) -> None:
        handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".catalog-")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(content, out, indent=1, sort_keys=True)
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
