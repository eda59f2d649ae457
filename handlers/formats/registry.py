"""The output formats of the valid rows, by name: the one list the config schema, the
model's default, the handler settings, the object layout and the process step read.

Adding a format is a module beside this one giving its `OutputFormat`, and an entry here
(docs/architecture.md, "How to extend", "A new output format").
"""

from __future__ import annotations

from handlers.formats.csv import CSV
from handlers.formats.format import OutputFormat
from handlers.formats.parquet import PARQUET

FORMATS: dict[str, OutputFormat] = {fmt.name: fmt for fmt in (PARQUET, CSV)}
"""In the order the config schema lists them."""

DEFAULT_FORMAT = PARQUET.name


class UnknownFormat(ValueError):
    """A format name the registry does not hold."""


def format_names() -> tuple[str, ...]:
    return tuple(FORMATS)


def output_format(name: str) -> OutputFormat:
    try:
        return FORMATS[name]
    except KeyError:
        raise UnknownFormat(f"unknown output format {name!r}: expected one of "
                            f"{', '.join(FORMATS)}") from None
