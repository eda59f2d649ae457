"""Write what a command produces to the file the user named, or say in one line why not."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from etlgen.errors import UsageError


def write_output(path: Path, data: str | bytes, *, option: str,
                 create_folders_under: Path | None = None) -> None:
    """Write `data` to `path`: a regular file whole or not at all (a temporary file renamed
    into place), a device or pipe (`/dev/stdout`) or symbolic link written through.

    The folder of `path` must exist, except below `create_folders_under` (an output folder
    the command owns, such as `package -o dist`), which is created when missing. Every
    failure is a `UsageError` naming the path and the `option` that gave it."""
    if create_folders_under is not None:
        _make_folder(create_folders_under, option)
        _make_folder(path.parent, option)
    folder = path.parent
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "no such folder"
        raise UsageError(f"{option} {path}: {folder}: {what}")
    if path.is_dir():
        raise UsageError(f"{option} {path}: is a folder, expected a file name")
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        if path.is_symlink() or (path.exists() and not path.is_file()):
            path.write_bytes(payload)  # /dev/stdout, a named pipe, a link: write through it
        else:
            _replace(path, payload)
    except OSError as error:
        raise UsageError(f"{option} {path}: cannot write: {error.strerror or error}") from None


def _replace(path: Path, payload: bytes) -> None:
    """A temporary file renamed over `path`: readers never see half a template."""
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~_umask()
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(payload)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _make_folder(folder: Path, option: str) -> None:
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{option} {folder}: is a file, expected a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"{option} {folder}: cannot create the folder: "
                         f"{error.strerror or error}") from None
