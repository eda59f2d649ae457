"""Where a source object's outputs go (docs/architecture.md, "Object layout in the bucket").

The process step writes each chunk's parts under the staging prefix, named by the chunk
identity, index and byte range, so a retried chunk overwrites its own staged parts and
results of another configuration or plan never share a key. Finalize publishes them under
the output prefixes as `part-<index>`: keys there depend only on the source key, its
version and the chunk index.
"""

from __future__ import annotations

from dataclasses import dataclass

from handlers.formats import output_format
from handlers.settings import Settings

MANIFEST_NAME = "_manifest.json"


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


@dataclass(frozen=True)
class OutputLayout:
    processed_prefix: str  # ends with "/"
    rejected_prefix: str
    staging_prefix: str
    data_extension: str  # of the output format's parts

    @classmethod
    def of(cls, settings: Settings, key: str, version_id: str | None) -> OutputLayout:
        tail = f"{stem_of(key, settings.incoming_prefix)}/v={version_text(version_id)}/"
        return cls(processed_prefix=settings.processed_prefix + tail,
                   rejected_prefix=settings.rejected_prefix + tail,
                   staging_prefix=settings.staging_prefix + tail,
                   data_extension=output_format(settings.output_format).extension)

    def _staged(self, identity: str, kind: str, index: int, start: int, end: int,
                extension: str) -> str:
        return (f"{self.staging_prefix}{identity}/{kind}/"
                f"part-{index:06d}-{start}-{end}.{extension}")

    def staged_output_key(self, identity: str, index: int, start: int, end: int) -> str:
        return self._staged(identity, "processed", index, start, end, self.data_extension)

    def staged_rejected_key(self, identity: str, index: int, start: int, end: int) -> str:
        return self._staged(identity, "rejected", index, start, end, "jsonl")

    def output_key(self, index: int) -> str:
        return f"{self.processed_prefix}part-{index:06d}.{self.data_extension}"

    def rejected_key(self, index: int) -> str:
        return f"{self.rejected_prefix}part-{index:06d}.jsonl"

    @property
    def manifest_key(self) -> str:
        return self.processed_prefix + MANIFEST_NAME
