"""Where finalize announces a finished file: an SQS FIFO queue, or a JSON-lines file locally."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any, Protocol

_SQS_ID_CHARS = re.compile(r"^[A-Za-z0-9!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~]{1,128}$")


def message_group_id(object_key: str) -> str:
    """The object key when SQS accepts it as a group id, else a readable prefix + hash."""
    if _SQS_ID_CHARS.match(object_key):
        return object_key
    digest = hashlib.sha256(object_key.encode("utf-8")).hexdigest()[:32]
    readable = re.sub(r"[^A-Za-z0-9._/-]", "_", object_key)[:80]
    return f"{readable}~{digest}"


def deduplication_id(file_id: str, status: str) -> str:
    """Stable per file version and outcome; sha256 fits the 128-character limit."""
    return hashlib.sha256(f"{file_id}|{status}".encode()).hexdigest()


class ResultsQueue(Protocol):
    def send(self, summary: dict[str, Any]) -> None:
        """Publish one file summary (needs `file_id`, `key` and `status`)."""


class SqsResultsQueue:
    """An SQS FIFO queue: one message group per object key, deduplicated per file version."""

    def __init__(self, client: Any, url: str) -> None:
        self.client = client
        self.url = url

    def send(self, summary: dict[str, Any]) -> None:
        self.client.send_message(
            QueueUrl=self.url,
            MessageBody=json.dumps(summary, sort_keys=True, default=str),
            MessageGroupId=message_group_id(summary["key"]),
            MessageDeduplicationId=deduplication_id(summary["file_id"], summary["status"]),
        )


class JsonlResultsQueue:
    """Appends one JSON line per summary; a summary already written is not written again."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def messages(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        with self.path.open(encoding="utf-8") as handle:
            return [json.loads(line) for line in handle if line.strip()]

    def send(self, summary: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        dedup = deduplication_id(summary["file_id"], summary["status"])
        with self.path.open("a+", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                handle.seek(0)
                for line in handle:
                    if line.strip() and json.loads(line).get("deduplication_id") == dedup:
                        return
                record = {"message_group_id": message_group_id(summary["key"]),
                          "deduplication_id": dedup, "body": summary}
                handle.write(json.dumps(record, sort_keys=True, default=str) + "\n")
                handle.flush()
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
