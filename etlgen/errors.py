"""Errors the CLI turns into one clear line and an exit code, never a traceback."""


class EtlgenError(Exception):
    """A problem the user can fix; `str(error)` is the whole message."""

    exit_code = 1


class ConfigError(EtlgenError):
    """pipeline.yaml or the row schema is invalid; the message names file:line:col and field."""

    exit_code = 2


class UsageError(EtlgenError):
    """A command-line argument cannot be used (an output path that cannot be written, ...)."""

    exit_code = 2
