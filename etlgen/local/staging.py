"""Put the CSV file into the local bucket as S3 would hold it: a snapshot of its bytes.

The staged object is a copy, so appending to or rewriting the source after a run never
changes what was processed, and its version id is a hash of exactly those bytes. Where the
kernel can copy (`copy_file_range`: a reflink on copy-on-write file systems, an in-kernel
copy elsewhere) it copies on one thread while the source is hashed on another, both served
by the same pages of the page cache; a change of the source while staging (size or
modification time) is refused. Elsewhere it is one read that is hashed and written.

The copy goes to a temporary file next to the target, renamed over it once complete; the
temporary is removed on any failure or interruption, and one left by a killed run is
removed by the next run.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
import time
from pathlib import Path

from etlgen.local.errors import RunInputError

BLOCK = 1024 * 1024
TEMPORARY_PREFIX = ".incoming-"
# A temporary this old belongs to no run still staging (staging takes seconds).
STALE_TEMPORARY_SECONDS = 3600


def stage_file(source: Path, target: Path) -> tuple[str, int]:
    """Copy `source` to `target` whole or not at all; return (sha256 hex, size)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(target.parent)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=TEMPORARY_PREFIX)
    try:
        with os.fdopen(handle, "wb") as out:
            digest, size = snapshot(source, out.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return digest, size


def snapshot(source: Path, out: int) -> tuple[str, int]:
    """Write the bytes of `source` to the file descriptor `out`; return (sha256 hex, size)."""
    with source.open("rb") as reader:
        before = os.fstat(reader.fileno())
        if hasattr(os, "copy_file_range"):
            digest, hashed, copied = _copy_while_hashing(reader.fileno(), out, source)
        else:
            digest, hashed = _read_hash_write(reader.fileno(), out)
            copied = hashed
        after = os.fstat(reader.fileno())
    changed = (before.st_size, before.st_mtime_ns) != (after.st_size, after.st_mtime_ns)
    if changed or hashed != copied or hashed != before.st_size:
        raise RunInputError(f"{source}: the file changed while it was being staged; run "
                            "again once it is complete")
    return digest, hashed


def _copy_while_hashing(source: int, out: int, path: Path) -> tuple[str, int, int]:
    copied: list[int] = []
    errors: list[BaseException] = []
    # The copying thread owns duplicates: should the caller give up waiting (a second
    # Ctrl-C), closing its descriptors cannot make the thread write into a reused number.
    thread_source, thread_out = os.dup(source), os.dup(out)

    def copy() -> None:
        try:
            copied.append(_kernel_copy(thread_source, thread_out))
        except BaseException as error:  # handed to the caller's thread
            errors.append(error)
        finally:
            os.close(thread_source)
            os.close(thread_out)

    copier = threading.Thread(target=copy, name="stage-copy", daemon=True)
    copier.start()
    try:
        digest = hashlib.sha256()
        buffer = bytearray(BLOCK)
        view = memoryview(buffer)
        hashed = 0
        while count := os.preadv(source, [buffer], hashed):
            digest.update(view[:count])
            hashed += count
    finally:
        copier.join()
    for error in errors:
        if isinstance(error, OSError):
            raise RunInputError(f"{path}: cannot copy into the work folder: "
                                f"{error.strerror or error}") from None
        raise error
    return digest.hexdigest(), hashed, copied[0]


def _kernel_copy(source: int, out: int) -> int:
    """Copy with explicit offsets (the hashing thread reads the same descriptor); fall back
    to plain reads and writes where the kernel or file system cannot copy."""
    copied = 0
    try:
        while count := os.copy_file_range(source, out, 1 << 30, copied, copied):
            copied += count
        return copied
    except OSError:
        if copied:
            raise
    while block := os.pread(source, BLOCK * 8, copied):
        view = memoryview(block)
        while view:
            written = os.pwrite(out, view, copied)
            copied += written
            view = view[written:]
    return copied


def _read_hash_write(source: int, out: int) -> tuple[str, int]:
    digest = hashlib.sha256()
    buffer = bytearray(BLOCK * 8)
    view = memoryview(buffer)
    size = 0
    while count := os.readv(source, [buffer]):
        digest.update(view[:count])
        pending = view[:count]
        while pending:
            pending = pending[os.write(out, pending):]
        size += count
    return digest.hexdigest(), size


def remove_stale_temporaries(folder: Path) -> None:
    """Temporaries of killed runs, and hard links left by etlgen versions that linked the
    source (another name of a file that exists elsewhere)."""
    now = time.time()
    for path in folder.glob(f"{TEMPORARY_PREFIX}*"):
        try:
            status = path.lstat()
            if status.st_nlink > 1 or now - status.st_mtime > STALE_TEMPORARY_SECONDS:
                path.unlink()
        except OSError:
            continue
