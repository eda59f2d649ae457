"""Publishing a file's staged parts: afterwards its partitions' prefixes hold exactly the
new parts.

The process step never writes under `processed/` or `rejected/`; each chunk's parts wait
under the staging prefix, one per partition value. Finalize, once every count is
reconciled, calls `publish`:
1. list the file's partition prefixes (`<table>/<key>=<value>/source_file=<id>/`, the data
   partitions and the rejected one);
2. delete the old manifest, if any: from here on the file is not committed;
3. delete every object there that the new parts do not include (parts of an earlier plan
   or an interrupted publish of the same commit);
4. copy each staged part to its published key (S3 server-side copy; locally a hard link).
Finalize then writes the manifest, the commit point of the objects, and calls
`check_published`, which lists the prefixes again and raises `PublishConflict` (a transient
error: the step is retried and publishes again) if another run changed them meanwhile.
Then it registers the partitions in the storage tables and writes the source key's commit
pointer (the commit point for readers, see `handlers.finalize`). Only after
the commit are the staged parts removed (`remove_staged`); leftovers of failed runs expire
with the staging prefix's lifecycle rule.

`source_file` names one commit of one object version (`handlers.layout.source_file_id`),
so no other file's or configuration's run ever writes under these prefixes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from handlers.errors import PublishConflict, StagedPartMissing
from handlers.layout import OutputLayout
from handlers.objects import ObjectMissing, ObjectStore

LIST_THREADS = 16  # partition prefixes listed side by side (a file may have thousands)


@dataclass(frozen=True)
class Output:
    """One staged part of valid rows and where it is published."""

    partition: str
    staged_key: str
    key: str


@dataclass(frozen=True)
class Part:
    """One chunk's outputs: where they are staged and where they are published."""

    index: int
    outputs: tuple[Output, ...]
    staged_rejected_key: str | None
    rejected_key: str | None

    def copies(self) -> list[tuple[str, str]]:
        pairs = [(output.staged_key, output.key) for output in self.outputs]
        if self.staged_rejected_key and self.rejected_key:
            pairs.append((self.staged_rejected_key, self.rejected_key))
        return pairs


@dataclass(frozen=True)
class Commit:
    """What one file's commit publishes: its parts under its `source_file` partitions."""

    layout: OutputLayout
    source_file: str
    ingest_day: str  # the rejected rows' partition
    parts: tuple[Part, ...]

    @property
    def partitions(self) -> list[str]:
        """The data partitions' values, in order."""
        return sorted({output.partition for part in self.parts for output in part.outputs})

    @property
    def has_rejects(self) -> bool:
        return any(part.rejected_key for part in self.parts)

    @property
    def prefixes(self) -> list[str]:
        found = [self.layout.data_prefix(value, self.source_file) for value in self.partitions]
        if self.has_rejects:
            found.append(self.layout.rejected_prefix(self.ingest_day, self.source_file))
        return found

    def published_keys(self) -> set[str]:
        return {target for part in self.parts for _, target in part.copies()}


def commit_of(layout: OutputLayout, identity: str, source_file: str, ingest_day: str,
              chunks: Iterable[Mapping[str, Any]]) -> Commit:
    """The commit of the chunks' staged parts (each chunk: `index`, `start`, `end`,
    `partitions`, `staged_rejected_key`), staged under the chunk identity `identity`."""
    parts = []
    for chunk in chunks:
        index, start, end = int(chunk["index"]), int(chunk["start"]), int(chunk["end"])
        outputs = tuple(
            Output(value, layout.staged_output_key(identity, index, start, end, value),
                   layout.output_key(value, source_file, index))
            for value in chunk.get("partitions") or [])
        staged_rejected = chunk.get("staged_rejected_key") or None
        parts.append(Part(index=index, outputs=outputs, staged_rejected_key=staged_rejected,
                          rejected_key=layout.rejected_key(ingest_day, source_file, index)
                          if staged_rejected else None))
    return Commit(layout, source_file, ingest_day, tuple(parts))


def _listed(objects: ObjectStore, prefixes: list[str]) -> set[str]:
    if len(prefixes) <= 2:
        return {key for prefix in prefixes for key in objects.list_keys(prefix)}
    with ThreadPoolExecutor(max_workers=LIST_THREADS) as pool:
        return {key for keys in pool.map(objects.list_keys, prefixes) for key in keys}


def _manifest_exists(objects: ObjectStore, manifest: str) -> bool:
    """Listed, not read: finalize may list and write the output prefixes, not read them."""
    return manifest in objects.list_keys(manifest)


def publish(objects: ObjectStore, commit: Commit) -> None:
    present = _listed(objects, commit.prefixes)
    manifest = commit.layout.manifest_key
    if _manifest_exists(objects, manifest):
        objects.delete(manifest)
    for key in sorted(present - commit.published_keys()):
        objects.delete(key)
    for part in commit.parts:
        for source, target in part.copies():
            try:
                objects.copy(source, target)
            except ObjectMissing as error:
                raise StagedPartMissing(
                    f"chunk {part.index}: its staged output {source} is gone ({error}); run "
                    "the file again to redo that chunk") from None


def check_published(objects: ObjectStore, commit: Commit) -> None:
    """After the manifest: the prefixes hold exactly the parts, and the manifest is there."""
    expected = commit.published_keys()
    present = _listed(objects, commit.prefixes)
    missing_manifest = not _manifest_exists(objects, commit.layout.manifest_key)
    if present != expected or missing_manifest:
        extra, missing = sorted(present - expected), sorted(expected - present)
        if missing_manifest:
            missing.insert(0, commit.layout.manifest_key)
        raise PublishConflict(
            f"{commit.layout.processed_root} source_file={commit.source_file}: another run "
            f"changed the outputs while they were published (unexpected {extra[:3]}, missing "
            f"{missing[:3]}): publishing again")


def remove_staged(objects: ObjectStore, parts: Iterable[Part]) -> None:
    for part in parts:
        for source, _ in part.copies():
            objects.delete(source)
