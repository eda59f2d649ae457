"""Output formats of the valid rows: one module per format, listed in `registry.FORMATS`."""

from handlers.formats.format import OpenWriter, OutputFormat, TableWriter
from handlers.formats.registry import (
    DEFAULT_FORMAT,
    FORMATS,
    UnknownFormat,
    format_names,
    output_format,
)

__all__ = [
    "DEFAULT_FORMAT",
    "FORMATS",
    "OpenWriter",
    "OutputFormat",
    "TableWriter",
    "UnknownFormat",
    "format_names",
    "output_format",
]
