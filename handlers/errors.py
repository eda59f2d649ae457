"""Errors the handlers raise to Step Functions.

The class name is the error name Step Functions sees, so the state machine can tell a
permanent problem (never retried) from a transient one (retried). `RAISED_BY` names, for
every permanent error, the steps (handler modules) that can raise it: each Lambda Task's
never-retry list is its step's entries (`permanent_errors(step)`), and a test scans each
step's modules so that a new raise in a step not listed fails.
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


class MalformedEvent(PermanentError):
    """A step's event lacks a field or has one of the wrong type (`handlers.events`): a
    hand-made event or a state machine of another version. The same event fails the same
    way again, so it is never retried."""


class PublishConflict(PipelineError):
    """Another run changed the file's output prefixes while this one published (retried)."""


class CommitBusy(PipelineError):
    """Another run holds the source key's commit lease (it is registering, pointing or
    retiring that key's partitions): retried with backoff until it is done."""


class TooManyPartitions(PermanentError):
    """A chunk's rows fall into more partitions than one chunk's status item can list
    (`handlers.partitions.MAX_PARTITIONS_PER_CHUNK`): the same rows always do, so it is
    never retried (a coarser `output.partition_by.granularity` is the fix)."""


class CatalogError(PipelineError):
    """The catalog refused a partition change, or the table is not what the handlers
    write (retried: a throttled or unavailable catalog recovers)."""


VALIDATE, SPLIT, PROCESS, FINALIZE = "validate", "split", "process", "finalize"

RAISED_BY: dict[type[PermanentError], tuple[str, ...]] = {
    EmptyFile: (VALIDATE,),
    NoDataRows: (VALIDATE,),
    BinaryFile: (VALIDATE,),
    EncodingError: (VALIDATE, PROCESS),
    HeaderMismatch: (VALIDATE,),
    SourceChanged: (VALIDATE, SPLIT, PROCESS, FINALIZE),
    CountMismatch: (PROCESS, FINALIZE),
    RejectRateExceeded: (FINALIZE,),
    ChunkPlanError: (SPLIT, PROCESS),
    IdentityChanged: (VALIDATE, PROCESS, FINALIZE),
    StagedPartMissing: (FINALIZE,),
    MalformedEvent: (VALIDATE, SPLIT, PROCESS, FINALIZE),
    TooManyPartitions: (VALIDATE, PROCESS, FINALIZE),
}
"""Every permanent error and the steps whose modules can raise it (one source of truth
for the state machine's never-retry lists; `tests/test_error_registry.py` checks it
against the modules each step imports and against the `PermanentError` subclasses)."""

PERMANENT_ERRORS: tuple[str, ...] = tuple(cls.__name__ for cls in RAISED_BY)
"""Every permanent error's name."""


def permanent_errors(step: str) -> tuple[str, ...]:
    """The permanent errors `step` (a handler module's name) can raise, in `RAISED_BY`
    order; every one of them for a step the registry does not know, so that nothing
    permanent is ever retried."""
    if not any(step in steps for steps in RAISED_BY.values()):
        return PERMANENT_ERRORS
    return tuple(cls.__name__ for cls, steps in RAISED_BY.items() if step in steps)
