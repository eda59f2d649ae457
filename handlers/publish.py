"""Publishing a file's staged parts: afterwards its output prefixes hold exactly the new parts.

The process step never writes under `processed/` or `rejected/`; each chunk's parts wait
under the staging prefix. Finalize, once every count is reconciled, calls `publish`:
1. list the file's two output prefixes;
2. delete the old manifest, if any: from here on the prefixes are not committed;
3. delete every object there that the new parts do not include (parts of an earlier plan,
   identity or failed run);
4. copy each staged part to its published key (S3 server-side copy; locally a hard link).
Finalize then writes the manifest, the commit point, and calls `check_published`, which
lists the prefixes again and raises `PublishConflict` (a transient error: the step is retried
and publishes again) if another run changed them meanwhile. Only after the commit are the
staged parts removed (`remove_staged`); leftovers of failed runs expire with the staging
prefix's lifecycle rule.

This module is the one place outputs become visible, so registering them elsewhere (a
catalog's partitions) belongs here, right before the manifest is written.
"""

from __future__ import annotations

from dataclasses import dataclass

from handlers.errors import PublishConflict, StagedPartMissing
from handlers.layout import OutputLayout
from handlers.objects import ObjectMissing, ObjectStore


@dataclass(frozen=True)
class Part:
    """One chunk's outputs: where they are staged and where they are published."""

    index: int
    staged_output_key: str
    output_key: str
    staged_rejected_key: str | None
    rejected_key: str | None

    def copies(self) -> list[tuple[str, str]]:
        pairs = [(self.staged_output_key, self.output_key)]
        if self.staged_rejected_key and self.rejected_key:
            pairs.append((self.staged_rejected_key, self.rejected_key))
        return pairs


def part_of(layout: OutputLayout, index: int, staged_output_key: str,
            staged_rejected_key: str | None) -> Part:
    return Part(index=index, staged_output_key=staged_output_key,
                output_key=layout.output_key(index),
                staged_rejected_key=staged_rejected_key or None,
                rejected_key=layout.rejected_key(index) if staged_rejected_key else None)


def _listed(objects: ObjectStore, layout: OutputLayout) -> set[str]:
    return set(objects.list_keys(layout.processed_prefix)) | \
        set(objects.list_keys(layout.rejected_prefix))


def published_keys(layout: OutputLayout, parts: list[Part]) -> set[str]:
    return {target for part in parts for _, target in part.copies()}


def publish(objects: ObjectStore, layout: OutputLayout, parts: list[Part]) -> None:
    present = _listed(objects, layout)
    if layout.manifest_key in present:
        objects.delete(layout.manifest_key)
    wanted = published_keys(layout, parts)
    for key in sorted(present - wanted - {layout.manifest_key}):
        objects.delete(key)
    for part in parts:
        for source, target in part.copies():
            try:
                objects.copy(source, target)
            except ObjectMissing as error:
                raise StagedPartMissing(
                    f"chunk {part.index}: its staged output {source} is gone ({error}); run "
                    "the file again to redo that chunk") from None


def check_published(objects: ObjectStore, layout: OutputLayout, parts: list[Part]) -> None:
    """After the manifest: the prefixes hold exactly the parts and the manifest."""
    expected = published_keys(layout, parts) | {layout.manifest_key}
    present = _listed(objects, layout)
    if present != expected:
        extra, missing = sorted(present - expected), sorted(expected - present)
        raise PublishConflict(
            f"{layout.processed_prefix}: another run changed the outputs while they were "
            f"published (unexpected {extra[:3]}, missing {missing[:3]}): publishing again")


def remove_staged(objects: ObjectStore, parts: list[Part]) -> None:
    for part in parts:
        for source, _ in part.copies():
            objects.delete(source)
