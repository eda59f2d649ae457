"""The object store of local runs: a folder laid out like the bucket (`handlers.objects`
holds what both back ends share, and S3)."""

from __future__ import annotations

import errno
import os
import shutil
import stat
import tempfile
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from handlers.objects import ObjectInfo, ObjectMissing, ObjectWriter


class LocalObjectWriter:
    """A file next to the target (made at the first write), appended to and renamed into
    place at commit."""

    def __init__(self, target: Path) -> None:
        self.target = target
        self._path: Path | None = None
        self._file: Any = None
        self._size = 0

    def write(self, data: bytes | memoryview) -> None:
        if not len(data):
            return
        if self._file is None:
            self.target.parent.mkdir(parents=True, exist_ok=True)
            handle, name = tempfile.mkstemp(dir=self.target.parent, prefix=".tmp-")
            self._path, self._file = Path(name), os.fdopen(handle, "wb")
        self._file.write(data)
        self._size += len(data)

    def restart(self) -> None:
        if self._file is not None:
            self._file.seek(0)
            self._file.truncate()
        self._size = 0

    def commit(self) -> int:
        if self._file is not None and self._path is not None:
            self._file.close()
            if self._size:
                os.replace(self._path, self.target)
            self._path.unlink(missing_ok=True)
            self._file = self._path = None
        return self._size

    def abort(self) -> None:
        if self._file is not None and self._path is not None:
            self._file.close()
            self._path.unlink(missing_ok=True)
            self._file = self._path = None


def _plain_path(root: str, key: str) -> str | None:
    """`realpath(root/key)` for a real `root` and a key of plain names, none of them a
    symbolic link: the names one `lstat` each, the root not again (every object call
    resolves its key, and `realpath` walks the whole path in Python). None for anything
    else (`..`, `.`, empty names, a link, a name below a file), left to `realpath`."""
    names = key.split("/")
    if "" in names or "." in names or ".." in names:
        return None
    path = root
    for depth, name in enumerate(names):
        path = f"{path}/{name}" if path != "/" else f"/{name}"
        try:
            if stat.S_ISLNK(os.lstat(path).st_mode):
                return None
        except FileNotFoundError:  # nothing below exists either: realpath keeps the rest
            return "/".join([path, *names[depth + 1:]])
        except OSError:
            return None
    return path


class LocalObjectStore:
    """A folder standing in for the bucket: key `a/b.csv` is the file `<root>/a/b.csv`.

    Files have no versions locally; the version named by the caller is trusted.
    """

    def __init__(self, root_dir: str | os.PathLike[str]) -> None:
        self.root = Path(root_dir)
        self._resolved: tuple[Path, str] | None = None  # (root, its real path)

    def _real_root(self) -> str:
        """The root's real path, resolved once per root: every object call asks for it."""
        if self._resolved is None or self._resolved[0] != self.root:
            self._resolved = (self.root, os.path.realpath(self.root))
        return self._resolved[1]

    def path_of(self, key: str) -> Path:
        """The key's file, symbolic links resolved, which must lie inside the root."""
        root = self._real_root()
        path = _plain_path(root, key) or os.path.realpath(os.path.join(root, key))
        if path != root and not path.startswith(os.path.join(root, "")):
            raise ValueError(f"object key {key!r} points outside {root}")
        return Path(path)

    def head(self, key: str, version_id: str | None = None) -> ObjectInfo:
        path = self.path_of(key)
        if not path.is_file():
            raise ObjectMissing(f"{path} does not exist")
        return ObjectInfo(size=path.stat().st_size, version_id=version_id)

    def read_range(self, key: str, start: int, end: int,
                   version_id: str | None = None) -> bytes:
        path = self.path_of(key)
        try:
            with path.open("rb") as handle:
                handle.seek(start)
                return handle.read(max(0, end - start))
        except FileNotFoundError:
            raise ObjectMissing(f"{path} does not exist") from None

    def read_into(self, key: str, start: int, into: memoryview,
                  version_id: str | None = None) -> int:
        path = self.path_of(key)
        count = 0
        try:
            with path.open("rb", buffering=0) as handle:
                handle.seek(start)
                while count < len(into):
                    got = handle.readinto(into[count:])
                    if not got:
                        break
                    count += got
        except FileNotFoundError:
            raise ObjectMissing(f"{path} does not exist") from None
        return count

    @contextmanager
    def _replacing(self, key: str) -> Iterator[str]:
        """A temporary file next to the target, renamed over it once written: readers never
        see half a file."""
        target = self.path_of(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        os.close(handle)
        try:
            yield temporary
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def put_bytes(self, key: str, data: bytes,
                  content_type: str = "application/octet-stream") -> None:
        with self._replacing(key) as temporary:
            Path(temporary).write_bytes(data)

    def move_file(self, key: str, path: str | os.PathLike[str],
                  content_type: str = "application/octet-stream") -> None:
        """One rename(2) onto the target, atomic: no temporary file beside it (a file
        created costs more than the rename) and no copy of the bytes. A file on another
        file system is copied to a temporary renamed into place, then removed."""
        target = self.path_of(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(path, target)
        except OSError as error:
            if error.errno != errno.EXDEV:
                raise
            with self._replacing(key) as temporary:
                shutil.copyfile(path, temporary)  # by the kernel where it can (sendfile)
            os.unlink(path)

    def open_writer(self, key: str,
                    content_type: str = "application/octet-stream") -> ObjectWriter:
        return LocalObjectWriter(self.path_of(key))

    def list_keys(self, prefix: str) -> list[str]:
        root = self.root.resolve()
        folder = root / prefix.rsplit("/", 1)[0] if "/" in prefix else root
        if not folder.is_dir():
            return []
        keys = []
        for path in folder.rglob("*"):
            if path.is_file() and not path.name.startswith(".tmp-"):
                key = path.relative_to(root).as_posix()
                if key.startswith(prefix):
                    keys.append(key)
        return sorted(keys)

    def newest_version(self, key: str, versions: Collection[str]) -> str | None:
        """None: a folder keeps one file per key, the one `etlgen run` staged last."""
        return None

    def exists(self, key: str) -> bool:
        return self.path_of(key).is_file()

    def copy(self, source_key: str, target_key: str) -> None:
        """A hard link renamed over the target (atomic; the source stays until deleted).
        When the target already is a link to the source (a retried publish), rename(2)
        does nothing and keeps the temporary name: it is removed then."""
        source = self.path_of(source_key)
        if not source.is_file():
            raise ObjectMissing(f"{source} does not exist")
        target = self.path_of(target_key)
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.parent / f".tmp-{os.getpid()}-{target.name}"
        temporary.unlink(missing_ok=True)
        try:
            try:
                os.link(source, temporary)
            except OSError:
                shutil.copyfile(source, temporary)
            os.replace(temporary, target)
            temporary.unlink(missing_ok=True)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise

    def delete(self, key: str) -> None:
        self.path_of(key).unlink(missing_ok=True)
