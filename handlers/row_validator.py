"""The row schema compiled into column checks that run on whole pyarrow columns at once.

`compiled_validator(schema)` builds it once per container (cached by schema hash).
`RowValidator.validate(table)` takes the parsed chunk (every column a string column, the
empty text meaning "absent", or null in a nullable column) and gives, per row, whether it is
valid, the failing fields with a human reason each, and the valid rows coerced to typed
columns.

Each schema property is compiled by its column kind (`handlers.validation.registry`), one
module per kind. The verdict matches JSON Schema (draft 2020-12) applied to the row as an
object whose values are converted per the kind's grammar: a field fails when any keyword
fails. Numeric keywords use exact decimal arithmetic; rare cases that cannot be decided on
floats (a value equal to a bound after rounding, exponents, unusual `multipleOf`) are
decided exactly in Python on the distinct values only.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from handlers import arrow_compute as compute
from handlers.arrays import from_numpy
from handlers.cores import usable_cores
from handlers.metrics import ReasonKey
from handlers.pandas_probe import answer_without_pandas
from handlers.schema_file import schema_sha256
from handlers.validation.date_kind import DATE_RE
from handlers.validation.kernels import is_empty, rows_taken
from handlers.validation.kind import ColumnKind, Mask, Message
from handlers.validation.messages import required
from handlers.validation.registry import column_type, kind_of


@dataclass
class Failure:
    """One check of one column: which rows fail it and how to word it."""

    column: str
    mask: Mask
    message: Message
    rule: str  # the reject's `kind`


@dataclass
class ColumnRule:
    """One schema property, compiled by its column kind."""

    name: str
    spec: dict[str, Any]
    required: bool
    kind: ColumnKind = field(init=False)

    def __post_init__(self) -> None:
        _, self.nullable = column_type(self.spec)
        self.kind = kind_of(self.spec)(self.spec)

    @property
    def output_type(self) -> pa.DataType:
        return self.kind.output_type

    @property
    def repeats(self) -> bool:
        """Values repeat by design (an enum, or a kind such as boolean)."""
        return "enum" in self.spec or self.kind.repeats

    def check(self, values: pa.ChunkedArray,
              present: Mask) -> tuple[list[Failure], pa.Array | None]:
        """The failures, and the typed column (right on the rows passing every check) when
        checking already made it."""
        failures: list[Failure] = []
        if self.required and not self.nullable:  # a nullable column's empty field is null
            failures.append(Failure(self.name, ~present, required, REQUIRED_RULE))
        checked = self.kind.check(values, present)
        for failure in checked.failures:
            failures.append(Failure(self.name, failure.mask & present, failure.message,
                                    failure.rule))
        return failures, checked.typed

    def convert(self, values: pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
        """Typed column from valid texts ("" becomes null)."""
        return self.kind.convert(values)


@dataclass
class Verdict:
    """The outcome for one parsed chunk."""

    valid: Mask
    failures: list[Failure]
    typed: pa.Table

    @property
    def rows_valid(self) -> int:
        return int(self.valid.sum())

    def reasons(self, table: pa.Table) -> list[tuple[int, list[dict[str, str]]]]:
        """(row index, [{"field", "kind", "message"}]) for every invalid row, in row order
        (`row_errors`)."""
        rows = np.flatnonzero(~self.valid)
        return list(row_errors(self.failures, table, rows)[0].items())


def row_errors(failures: Sequence[Failure], table: pa.Table, rows: np.ndarray
               ) -> tuple[dict[int, list[dict[str, str]]], Counter[ReasonKey]]:
    """({row: [{"field", "kind", "message"}]} for `rows` (invalid rows of `table`, in
    order), the rows per (field, kind)): one error per failing field, in reporting order,
    its messages joined by `; `, its kind the rule of the first. Worded one value at a
    time in Python: the reference the column-wise build (`handlers.reject_rows`) matches,
    and the cheaper one for a few rows."""
    found: dict[int, dict[str, list[str]]] = {int(r): {} for r in rows.tolist()}
    kinds: dict[tuple[int, str], str] = {}
    taken: dict[str, list[str]] = {}
    for failure in failures:
        hits = failure.mask[rows]
        if not hits.any():
            continue
        if failure.column not in taken:
            taken[failure.column] = rows_taken(table.column(failure.column), rows
                                               ).to_pylist() \
                if failure.column in table.column_names else [""] * rows.size
        texts = taken[failure.column]
        for position in np.flatnonzero(hits).tolist():
            row = int(rows[position])
            messages = found[row].setdefault(failure.column, [])
            messages.append(failure.message(texts[position]))
            kinds.setdefault((row, failure.column), failure.rule)
    counts: Counter[ReasonKey] = Counter((name, kinds[row, name])
                                         for row, fields in found.items() for name in fields)
    return {row: [{"field": name, "kind": kinds[row, name], "message": "; ".join(messages)}
                  for name, messages in fields.items()]
            for row, fields in found.items()}, counts


class RowValidator:
    """The row schema, compiled."""

    def __init__(self, schema: dict[str, Any]) -> None:
        answer_without_pandas()  # kinds build Arrow values (an enum's dictionary) here
        required = set(schema.get("required", []))
        self.schema = schema
        self.rules = [ColumnRule(name, spec, name in required)
                      for name, spec in schema["properties"].items()]
        # every output column is nullable: an empty field is absent (or null) in any column
        self.output_schema = pa.schema([pa.field(r.name, r.output_type, nullable=True)
                                        for r in self.rules])

    @property
    def columns(self) -> list[str]:
        return [rule.name for rule in self.rules]

    @property
    def dictionary_columns(self) -> list[str]:
        """Columns whose values repeat by design (enums, booleans)."""
        return [rule.name for rule in self.rules if rule.repeats]

    @property
    def required(self) -> list[str]:
        return [rule.name for rule in self.rules if rule.required]

    def validate(self, table: pa.Table, *, parallel: bool = True) -> Verdict:
        """`parallel=False` when the caller already runs pieces side by side."""
        rows = table.num_rows
        failures: list[Failure] = []
        typed_all: dict[str, pa.Array] = {}

        def check(rule: ColumnRule) -> tuple[list[Failure], pa.Array | None]:
            values = table.column(rule.name)
            return rule.check(values, ~is_empty(values))

        present_rules = [rule for rule in self.rules if rule.name in table.column_names]
        # pyarrow kernels release the GIL: columns are checked side by side
        side_by_side = parallel and rows > 50_000
        results = list(_POOL.map(check, present_rules)) if side_by_side else \
            [check(rule) for rule in present_rules]
        for rule, (found, typed) in zip(present_rules, results, strict=True):
            failures.extend(found)
            if typed is not None:
                typed_all[rule.name] = typed
        for rule in self.rules:
            if rule.name not in table.column_names and rule.required:
                failures.append(Failure(rule.name, np.ones(rows, bool), required,
                                        REQUIRED_RULE))
        invalid = np.zeros(rows, bool)
        for failure in failures:
            invalid |= failure.mask
        valid = ~invalid
        return Verdict(valid=valid, failures=failures,
                       typed=self._typed(table, valid, typed_all))

    def _typed(self, table: pa.Table, valid: Mask,
               typed_all: dict[str, pa.Array]) -> pa.Table:
        keep = from_numpy(valid)
        everything = bool(valid.all())
        columns = []
        for rule in self.rules:  # one column at a time: a smaller peak of memory
            if rule.name in typed_all:
                column = typed_all[rule.name]
                column = column if everything else compute.filter(column, keep)
            elif rule.name in table.column_names:
                texts = table.column(rule.name)
                column = rule.convert(texts if everything else compute.filter(texts, keep))
            else:
                column = pa.nulls(int(valid.sum()), rule.output_type)
            columns.append(column)
        return pa.Table.from_arrays(columns, schema=self.output_schema)


REQUIRED_RULE = "required"
_CACHE: dict[str, RowValidator] = {}
_POOL = ThreadPoolExecutor(max_workers=max(2, usable_cores()),
                           thread_name_prefix="column-check")


def compiled_validator(schema: dict[str, Any]) -> RowValidator:
    """One compiled validator per distinct schema per container."""
    key = schema_sha256(schema)
    validator = _CACHE.get(key)
    if validator is None:
        validator = _CACHE[key] = RowValidator(schema)
    return validator


def warm_up() -> None:
    """The first pyarrow string kernel call in a process is slow: pay it at init.

    The sample is laid out from bytes, not converted from Python values: pyarrow converts
    those through its pandas shim, which would import pandas at every cold start (and its
    CSV reader would start Arrow's thread pool). pyarrow's probe for pandas is answered
    first (`handlers.pandas_probe`), so no later conversion imports pandas either."""
    import struct
    from itertools import accumulate

    answer_without_pandas()

    def strings(*texts: str) -> pa.ChunkedArray:
        data = [text.encode() for text in texts]
        offsets = [0, *accumulate(len(item) for item in data)]
        return pa.chunked_array([pa.Array.from_buffers(pa.string(), len(data), [
            None, pa.py_buffer(struct.pack(f"<{len(offsets)}i", *offsets)),
            pa.py_buffer(b"".join(data))])])

    sample = strings("TX0000000001", "2024-01-31", "12.30", "")
    compute.match_substring_regex(sample, r"^TX[0-9]{10}$")
    compute.extract_regex(sample, DATE_RE)
    compute.utf8_length(sample)
    compute.is_in(sample, value_set=strings("USD").chunk(0))
    empty = compute.equal(sample, strings(*[""] * 4))
    compute.cast(compute.if_else(empty, strings(*"0000"), strings(*"1111")), pa.float64())
