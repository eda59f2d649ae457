"""The status table: one item per file and one per chunk, in DynamoDB or in SQLite.

`rules` holds the items and the conditional rules both stores share, `dynamodb` and
`sqlite` the two back ends, `values` the value conversions they have in common. The SQLite
store is imported on first use: a Lambda function never needs it (nor `sqlite3`), and each
cold start compiles every module it imports.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from handlers.status.dynamodb import DynamoStatusStore
from handlers.status.rules import (
    COMMIT_SK,
    COMPLETED,
    COUNT_FIELDS,
    FAILED,
    FILE_SK,
    RUNNING,
    SUCCEEDED,
    Change,
    ChunkItem,
    CommitLease,
    FileItem,
    StatusStore,
    chunk_sk,
    utc_now_text,
)

if TYPE_CHECKING:
    from handlers.status.sqlite import SqliteStatusStore

_ON_FIRST_USE = {"SqliteStatusStore": "handlers.status.sqlite"}


def __getattr__(name: str) -> Any:
    if name not in _ON_FIRST_USE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_ON_FIRST_USE[name]), name)

__all__ = [
    "COMMIT_SK",
    "COMPLETED",
    "COUNT_FIELDS",
    "FAILED",
    "FILE_SK",
    "RUNNING",
    "SUCCEEDED",
    "Change",
    "ChunkItem",
    "CommitLease",
    "DynamoStatusStore",
    "FileItem",
    "SqliteStatusStore",
    "StatusStore",
    "chunk_sk",
    "utc_now_text",
]
