"""The status table: one item per file and one per chunk, in DynamoDB or in SQLite.

`rules` holds the items and the conditional rules both stores share, `dynamodb` and
`sqlite` the two back ends, `values` the value conversions they have in common.
"""

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
from handlers.status.sqlite import SqliteStatusStore

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
