"""Object storage back ends: S3 in Lambda, a folder laid out like the bucket locally.

Both read byte ranges (`end` exclusive) of one object version, write whole objects or
stream one out (`open_writer`: on S3 a multipart upload in parts of `PART_BYTES`, a single
PutObject when it stays below one part; locally a file appended to), copy
one object to another key (S3 server-side; locally a hard link, so no bytes are copied) and
delete one. A read of a version that is gone raises `ObjectMissing`; the handlers read the
source through `source_reader`, which turns that (and a short read) into the permanent
`SourceChanged` error. In AWS only finalize may list (its output prefixes), so S3 answers
403 AccessDenied (not 404) to the other functions for a deleted version: that raises
`ObjectUnreadable`, a kind of `ObjectMissing`. The local folder is `handlers.local_objects`:
no Lambda function imports it (a cold start compiles every module it imports).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, Protocol

from handlers.errors import SourceChanged

MISSING_CODES = frozenset({"NoSuchKey", "NoSuchVersion", "404", "NotFound", "InvalidArgument"})
DENIED_CODES = frozenset({"AccessDenied", "403", "Forbidden"})
PART_BYTES = 8 * 1024 * 1024
"""A streamed object's parts on S3 (all but the last; S3's least is 5 MiB)."""


class ObjectMissing(LookupError):
    """The object (or the named version of it) does not exist."""


class ObjectUnreadable(ObjectMissing):
    """S3 refused the read: without s3:ListBucket that is also how a missing object looks."""


@dataclass(frozen=True)
class ObjectInfo:
    size: int
    version_id: str | None


class ObjectStore(Protocol):
    def head(self, key: str, version_id: str | None = None) -> ObjectInfo: ...

    def read_range(self, key: str, start: int, end: int,
                   version_id: str | None = None) -> bytes: ...

    def read_into(self, key: str, start: int, into: memoryview,
                  version_id: str | None = None) -> int:
        """Read from `start` into `into` (up to its length); the bytes read (fewer at the
        end of the object)."""

    def put_bytes(self, key: str, data: bytes, content_type: str = ...) -> None: ...

    def move_file(self, key: str, path: str | os.PathLike[str],
                  content_type: str = ...) -> None:
        """The file at `path` becomes the object and is gone from `path` afterwards: moved
        into place where the store can (no copy of a chunk's output), else uploaded."""

    def open_writer(self, key: str, content_type: str = ...) -> ObjectWriter: ...

    def list_keys(self, prefix: str) -> list[str]: ...

    def newest_version(self, key: str, versions: Collection[str]) -> str | None:
        """Which of `versions` of `key` S3 stored last (None: the store keeps no versions,
        or none of them is there)."""

    def exists(self, key: str) -> bool: ...

    def copy(self, source_key: str, target_key: str) -> None:
        """Replace `target_key` with the current `source_key` (ObjectMissing if gone)."""

    def delete(self, key: str) -> None: ...


class ObjectWriter(Protocol):
    """One object written piece by piece: nothing is visible under its key before
    `commit`, and an object without any byte is never created."""

    def write(self, data: bytes | memoryview) -> None: ...

    def restart(self) -> None:
        """Forget everything written so far."""

    def commit(self) -> int:
        """Make the object (when anything was written); the bytes it holds."""

    def abort(self) -> None:
        """Leave nothing behind (safe after `commit`, and twice)."""


Reader = Callable[[int, int], bytes]  # (start, end exclusive) -> exactly those bytes
Filler = Callable[[int, memoryview], None]  # (start, buffer) -> the buffer filled exactly


def source_reader(store: ObjectStore, key: str, version_id: str | None) -> Reader:
    """Ranged reads of the source object version the event named, which must still hold
    the bytes asked for: a version that is gone, or a read that comes back short (the object
    changed under an unversioned key), is the permanent `SourceChanged`. Every step reads
    the source through this, so none can act on other bytes than the ones it checked."""

    def read(start: int, end: int) -> bytes:
        try:
            data = store.read_range(key, start, end, version_id)
        except ObjectMissing as error:
            raise SourceChanged(f"{key}: {error}") from None
        _check_length(key, start, end, len(data))
        return data

    return read


def _check_length(key: str, start: int, end: int, count: int) -> None:
    """A read of the source that came back short: the object changed after the event."""
    if count != max(0, end - start):
        raise SourceChanged(f"{key}: expected bytes {start}-{end} but the object "
                            f"returned {count} bytes: it changed after the event")


def source_filler(store: ObjectStore, key: str, version_id: str | None) -> Filler:
    """`source_reader`'s checks, reading straight into the caller's buffer (a local file
    without a copy through a bytes object)."""

    def fill(start: int, into: memoryview) -> None:
        try:
            count = store.read_into(key, start, into, version_id)
        except ObjectMissing as error:
            raise SourceChanged(f"{key}: {error}") from None
        _check_length(key, start, start + len(into), count)

    return fill


def _version_args(version_id: str | None) -> dict[str, str]:
    return {"VersionId": version_id} if version_id and version_id != "null" else {}


class S3ObjectStore:
    """One bucket through a boto3 S3 client."""

    def __init__(self, client: Any, bucket: str) -> None:
        # botocore comes with the client: imported here, so the local back ends never load it
        from botocore.exceptions import ClientError

        self._client_error: type[Exception] = ClientError
        self.client = client
        self.bucket = bucket

    def _missing(self, error: Exception, key: str, version_id: str | None) -> Exception:
        code = str(getattr(error, "response", {}).get("Error", {}).get("Code", ""))
        version = f" version {version_id}" if version_id else ""
        if code in MISSING_CODES:
            return ObjectMissing(f"s3://{self.bucket}/{key}{version} does not exist ({code})")
        if code in DENIED_CODES:
            return ObjectUnreadable(
                f"s3://{self.bucket}/{key}{version} is gone or not readable by the function's "
                f"role (S3 answered {code}; without s3:ListBucket a deleted object or "
                "version reads as 403)")
        return error

    def head(self, key: str, version_id: str | None = None) -> ObjectInfo:
        try:
            reply = self.client.head_object(Bucket=self.bucket, Key=key,
                                            **_version_args(version_id))
        except self._client_error as error:
            raise self._missing(error, key, version_id) from error
        return ObjectInfo(size=int(reply["ContentLength"]), version_id=reply.get("VersionId"))

    def read_range(self, key: str, start: int, end: int,
                   version_id: str | None = None) -> bytes:
        if end <= start:
            return b""
        try:
            reply = self.client.get_object(Bucket=self.bucket, Key=key,
                                           Range=f"bytes={start}-{end - 1}",
                                           **_version_args(version_id))
        except self._client_error as error:
            if getattr(error, "response", {}).get("Error", {}).get("Code") == \
                    "InvalidRange":
                return b""
            raise self._missing(error, key, version_id) from error
        data: bytes = reply["Body"].read()
        return data

    def read_into(self, key: str, start: int, into: memoryview,
                  version_id: str | None = None) -> int:
        data = self.read_range(key, start, start + len(into), version_id)
        count = min(len(data), len(into))
        into[:count] = data[:count]
        return count

    def put_bytes(self, key: str, data: bytes,
                  content_type: str = "application/octet-stream") -> None:
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)

    def move_file(self, key: str, path: str | os.PathLike[str],
                  content_type: str = "application/octet-stream") -> None:
        """Multipart upload for large outputs (boto3's managed transfer)."""
        self.client.upload_file(os.fspath(path), self.bucket, key,
                                ExtraArgs={"ContentType": content_type})
        os.unlink(path)

    def open_writer(self, key: str,
                    content_type: str = "application/octet-stream") -> ObjectWriter:
        return S3ObjectWriter(self.client, self.bucket, key, content_type)

    def list_keys(self, prefix: str) -> list[str]:
        keys: list[str] = []
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            keys.extend(item["Key"] for item in page.get("Contents", []))
        return sorted(keys)

    def newest_version(self, key: str, versions: Collection[str]) -> str | None:
        """The first of `versions` in the key's ListObjectVersions listing, which gives
        each key's versions newest first (the order S3 stored them, not a clock of second
        resolution). The listing of the prefix `key` starts with `key` itself, so it stops
        at the first longer key."""
        wanted = set(versions)
        paginator = self.client.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=key):
            for item in page.get("Versions", []):
                if item["Key"] != key:
                    return None
                if item.get("VersionId") in wanted:
                    return str(item["VersionId"])
        return None

    def exists(self, key: str) -> bool:
        try:
            self.head(key)
        except ObjectMissing:
            return False
        return True

    def copy(self, source_key: str, target_key: str) -> None:
        """One CopyObject: parts are far below its 5 GB limit (a chunk is at most 512 MiB)."""
        try:
            self.client.copy_object(Bucket=self.bucket, Key=target_key,
                                    CopySource={"Bucket": self.bucket, "Key": source_key})
        except self._client_error as error:
            raise self._missing(error, source_key, None) from error

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=key)


class S3ObjectWriter:
    """A multipart upload fed from a buffer of at most a part and one write: parts of at
    least `PART_BYTES` (the last may be smaller); a whole below one part is one PutObject.
    An upload that does not complete is aborted (s3:AbortMultipartUpload); the bucket's
    lifecycle rule removes any an ended function could not abort."""

    def __init__(self, client: Any, bucket: str, key: str, content_type: str) -> None:
        self.client, self.bucket, self.key, self.content_type = client, bucket, key, \
            content_type
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []
        self._size = 0

    def write(self, data: bytes | memoryview) -> None:
        self._buffer += data
        self._size += len(data)
        if len(self._buffer) >= PART_BYTES:
            self._upload_part()

    def _upload_part(self) -> None:
        if self._upload_id is None:
            reply = self.client.create_multipart_upload(Bucket=self.bucket, Key=self.key,
                                                        ContentType=self.content_type)
            self._upload_id = str(reply["UploadId"])
        number = len(self._parts) + 1
        reply = self.client.upload_part(Bucket=self.bucket, Key=self.key,
                                        UploadId=self._upload_id, PartNumber=number,
                                        Body=bytes(self._buffer))
        self._parts.append({"PartNumber": number, "ETag": reply["ETag"]})
        self._buffer = bytearray()

    def restart(self) -> None:
        self.abort()
        self._buffer = bytearray()
        self._size = 0

    def commit(self) -> int:
        if self._upload_id is None:
            if self._size:
                self.client.put_object(Bucket=self.bucket, Key=self.key,
                                       Body=bytes(self._buffer),
                                       ContentType=self.content_type)
        else:
            if self._buffer:
                self._upload_part()
            self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=self.key, UploadId=self._upload_id,
                MultipartUpload={"Parts": self._parts})
            self._upload_id = None
            self._parts = []
        self._buffer = bytearray()
        return self._size

    def abort(self) -> None:
        if self._upload_id is not None:
            upload, self._upload_id, self._parts = self._upload_id, None, []
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=self.key,
                                               UploadId=upload)
