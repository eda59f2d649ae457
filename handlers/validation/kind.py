"""The interface every column kind implements (one module per kind, listed in `registry`).

A kind is recognised by the column's JSON type and `format`; compiled once per schema
property, it checks whole pyarrow columns at once (one boolean mask per keyword, never a
Python loop per row) and converts the valid texts to its Arrow output type.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
import pyarrow as pa

Mask = npt.NDArray[np.bool_]
Message = Callable[[str], str]
"""The reason for one failing value, given its text (called only for rejected rows)."""


@dataclass(frozen=True)
class KeywordFailure:
    """The rows of a chunk failing one check of a column, how to word it, and the rule it
    breaks as a short machine name (the reject's `kind`: the schema keyword, `type` for a
    value that is not of the column's kind, `range` for one its output type cannot hold)."""

    mask: Mask
    message: Message
    rule: str


@dataclass
class Checked:
    """A kind's verdict on one column: its failures in reporting order, and the typed
    column when checking already built it (it then needs no conversion). The typed column
    is read only on rows that pass every check, so a row failing one may hold anything
    (null, say)."""

    failures: list[KeywordFailure] = field(default_factory=list)
    typed: pa.Array | None = None

    def fail(self, mask: Mask, message: Message, rule: str) -> None:
        self.failures.append(KeywordFailure(mask, message, rule))


class ColumnKind(ABC):
    """One column type of the row schema, compiled for one schema property.

    Class attributes describe the kind (the registry reads them without compiling):
    `json_type` and `format` recognise it (`format` None: the kind for that JSON type
    whatever its format), `keywords` are the schema keywords it enforces, `repeats` says
    its values repeat by design (the output column is dictionary-encoded).
    """

    name: ClassVar[str]
    json_type: ClassVar[str]
    format: ClassVar[str | None] = None
    keywords: ClassVar[frozenset[str]]
    repeats: ClassVar[bool] = False

    def __init__(self, spec: Mapping[str, Any]) -> None:
        self.spec = spec
        self.output_type: pa.DataType = self.arrow_type()

    @abstractmethod
    def arrow_type(self) -> pa.DataType:
        """The Arrow type of the output column (every output column is nullable)."""

    @abstractmethod
    def check(self, values: pa.ChunkedArray, present: Mask) -> Checked:
        """Check every row of `values` (text; "" where absent). `present` marks the rows
        holding a value; masks may be True on other rows too (the caller ignores them)."""

    @abstractmethod
    def convert(self, values: pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
        """The typed column of valid texts, "" becoming null."""
