"""Errors of `etlgen run` the CLI reports in one line: a state machine that cannot run
here, and a file that cannot be run."""

from __future__ import annotations

from etlgen.errors import EtlgenError


class DefinitionError(EtlgenError):
    """The template's state machine uses something the local runner does not support."""


class RunInputError(EtlgenError):
    """The file handed to `etlgen run` cannot be run (missing, a directory, ...)."""

    exit_code = 2
