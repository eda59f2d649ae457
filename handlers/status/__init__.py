"""The status table: one item per file and one per chunk, in DynamoDB or in SQLite.

`rules` holds the items and the conditional rules both stores share, `dynamodb` and
`sqlite` the two back ends, `values` the value conversions they have in common. The SQLite
store is imported on first use: a Lambda function never needs it (nor `sqlite3`), and each
cold start compiles every module it imports.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from handlers.first_use import exports_on_first_use
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

__getattr__ = exports_on_first_use(__name__, {"SqliteStatusStore": "handlers.status.sqlite"})

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
