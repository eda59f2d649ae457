"""Errors the handlers raise to Step Functions.

The class name is the error name Step Functions sees, so the state machine can tell a
permanent problem with the input (never retried) from a transient one (retried).
"""

from __future__ import annotations


class PipelineError(Exception):
    """Base of every error the handlers raise on purpose."""


class PermanentError(PipelineError):
    """The input itself is wrong: retrying cannot help."""


class EmptyFile(PermanentError):
    """The object has no bytes at all."""


class NoDataRows(PermanentError):
    """The object has a header but no data row."""


class BinaryFile(PermanentError):
    """The object is not text (NUL bytes or other binary content)."""


class EncodingError(PermanentError):
    """The object is not valid text in the configured encoding."""


class HeaderMismatch(PermanentError):
    """The header misses required columns, has unknown or duplicate ones."""


class SourceChanged(PermanentError):
    """The object version named in the event is gone or differs from what was planned."""


class CountMismatch(PermanentError):
    """rows_in != rows_valid + rows_rejected for a chunk or the file."""


class RejectRateExceeded(PermanentError):
    """More rows were rejected than the configured share allows."""


class ChunkPlanError(PermanentError):
    """A chunk does not start or end on a record boundary (the plan is exact, so this is a
    bug or a changed object, never a property of a valid file)."""


class IdentityChanged(PermanentError):
    """The code or configuration changed between the steps of one run."""


class StagedPartMissing(PermanentError):
    """A chunk's staged output is gone before it was published (expired): run again."""


class MalformedEvent(PipelineError):
    """A step's event lacks a field or has one of the wrong type (`handlers.events`): a
    hand-made event or a state machine of another version. Not among PERMANENT_ERRORS, whose
    list is part of the template's Retry blocks, so Step Functions retries it like any
    unnamed error before the execution fails."""


class PublishConflict(PipelineError):
    """Another run changed the file's output prefixes while this one published (retried)."""


class TooManyPartitions(PipelineError):
    """A chunk's rows fall into more partitions than one chunk's status item can list
    (`handlers.partitions.MAX_PARTITIONS_PER_CHUNK`). Not among PERMANENT_ERRORS, so as to
    leave the template's Retry blocks as they are: retried, then the file fails."""


class CatalogError(PipelineError):
    """The catalog refused a partition change, or the table is not what the handlers
    write (retried: a throttled or unavailable catalog recovers)."""


PERMANENT_ERRORS: tuple[str, ...] = tuple(
    cls.__name__
    for cls in (EmptyFile, NoDataRows, BinaryFile, EncodingError, HeaderMismatch,
                SourceChanged, CountMismatch, RejectRateExceeded, ChunkPlanError,
                IdentityChanged, StagedPartMissing)
)
