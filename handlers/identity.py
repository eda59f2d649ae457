"""The identity of a run's results: a hash of everything that decides them.

A chunk's result (its rows, verdicts and staged parts) is decided by the handlers' code, the
row schema, the delimiter, the encoding, the output format, where the staged parts go, the
largest record the process function can hold (a larger one is rejected unloaded), the
partitioning and the lineage columns; a file's commit is decided by its chunks' results
plus the output prefixes, the reject rate it must stay within, the table it is published
into and the catalog it is registered in. Chunk and file status items record these
identities, and a result recorded under another identity is never reused: it is new work.
The manifest records the file identity and what it is made of.

`HANDLERS_VERSION` is the hash of the handlers' own source (every `handlers/**/*.py`, path and
bytes, in path order), computed once at import. The handlers zip the template deploys holds
exactly these files (plus the row schema, hashed on its own), so a Lambda container and a
local run of the same code compute the same version, and any code change is a new identity.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from handlers.errors import IdentityChanged
from handlers.events import FileRecord
from handlers.schema_file import schema_sha256
from handlers.settings import Settings

PACKAGE_DIR = Path(__file__).resolve().parent
SHORT = 16  # hex digits of the chunk identity in staged keys


def source_version(directory: Path = PACKAGE_DIR) -> str:
    digest = hashlib.sha256()
    for path in sorted(directory.rglob("*.py"), key=lambda p: p.relative_to(directory).as_posix()):
        relative = path.relative_to(directory)
        if "__pycache__" in relative.parts:
            continue
        digest.update(relative.as_posix().encode("utf-8") + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


HANDLERS_VERSION = source_version()


def _hash(parts: dict[str, Any]) -> str:
    canonical = json.dumps(parts, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class RunIdentity:
    chunks: str  # decides every chunk's result
    file: str  # decides the file's commit
    parts: dict[str, Any]  # what both are made of (recorded in the manifest)

    @property
    def short(self) -> str:
        return self.chunks[:SHORT]

    def describe(self) -> dict[str, Any]:
        return {"file": self.file, "chunks": self.chunks, **self.parts}

    def check(self, file: FileRecord) -> None:
        """The workflow carries validate's identity: a step whose own differs (a deploy or
        config change during the run) must not mix results of two configurations."""
        recorded = file.identity
        if recorded and recorded != self.file:
            raise IdentityChanged(
                f"{file.key}: the pipeline's code or configuration changed during the "
                f"run (identity {recorded[:SHORT]} when the file was validated, "
                f"{self.file[:SHORT]} now): run the file again")


def run_identity(settings: Settings, schema: dict[str, Any]) -> RunIdentity:
    chunk_parts = {
        "handlers_version": HANDLERS_VERSION,
        "schema_sha256": schema_sha256(schema),
        "delimiter": settings.csv_delimiter,
        "encoding": settings.csv_encoding,
        "output_format": settings.output_format,
        "incoming_prefix": settings.incoming_prefix,
        "staging_prefix": settings.staging_prefix,
        # a record larger than this is rejected without being loaded (0: no limit)
        "process_limit_bytes": (settings.largest_chunk_bytes() or (0, ""))[0],
        # how the valid rows are split into partitions and which columns they carry
        "partition_by": settings.partition_by,
        "lineage": settings.lineage,
    }
    chunks = _hash(chunk_parts)
    file_parts = {
        "processed_prefix": settings.processed_prefix,
        "rejected_prefix": settings.rejected_prefix,
        "max_reject_rate": repr(settings.max_reject_rate),
        # where the file's partitions are published and registered
        "catalog_table": settings.catalog_table,
        "catalog_database": settings.catalog_database,
    }
    return RunIdentity(chunks=chunks, file=_hash({"chunks": chunks, **file_parts}),
                       parts={**chunk_parts, **file_parts})
