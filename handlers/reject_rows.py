"""The parts of rejected rows' JSON lines, built for many rows at once: each row's raw text
sliced from the chunk by the record scan's offsets, and its `errors` list as JSON text.

Errors follow `Verdict.reasons` exactly (one per failing field in reporting order, its
messages joined by `; `, its kind the rule of the first), built column by column: a
message that shows the value and a fixed wording (`Worded`) is assembled from the column of
rejected values, the value cut and escaped once per column; any other message is worded per
rejected row in Python (none of the kinds has one today).
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from handlers import arrow_compute as compute
from handlers.arrays import from_numpy
from handlers.json_text import (
    TEXT,
    TWICE,
    Escapes,
    escaped,
    escaped_text,
    joined,
    joined_present,
    quoted_json,
    text,
)
from handlers.metrics import ReasonKey
from handlers.row_validator import Failure
from handlers.validation.kernels import rows_taken
from handlers.validation.messages import REQUIRED, SHOW_LIMIT, Worded, required

_SEPARATOR = ", "
_NULL_TEXT = pa.nulls(1, TEXT)[0]  # not pa.scalar(None): that would load pandas at import


def shown(values: pa.Array) -> pa.Array:
    """`show(value)` per value as it reads inside the line's `message` string: cut to 57
    characters and `...` when longer than 60, JSON-quoted, and that escaped again."""
    return joined(text('\\"'), _cut(values, TWICE), text('\\"'))


def _messages(failure: Failure, hits: np.ndarray, values: pa.Array,
              shown_values: list[pa.Array]) -> pa.Array:
    """The failure's message, escaped for the line, on the rows it hits; null elsewhere."""
    message = failure.message
    if message is required:
        texts = pa.repeat(text(escaped_text(REQUIRED)), len(hits))
    elif isinstance(message, Worded):
        if not shown_values:
            shown_values.append(shown(values))
        texts = joined(shown_values[0], text(escaped_text(" " + message.wording)))
    else:
        rows = np.flatnonzero(hits)
        worded = [message(value) for value in compute.take(values, from_numpy(rows)).to_pylist()]
        full = np.full(len(hits), None, object)
        full[rows] = worded
        return escaped(pa.array(full.tolist(), TEXT))
    return compute.if_else(from_numpy(hits), texts, _NULL_TEXT)


def field_errors(failures: Sequence[Failure], table: pa.Table,
                 rows: np.ndarray) -> tuple[pa.Array, Counter[ReasonKey]]:
    """(the `errors` list's JSON text without its brackets, per row of `rows`; rejected
    rows per (field, kind)). `rows` are rejected rows of `table`, in order, each failing
    one check at least.

    Each column's errors are built for its failing rows only; all of them, put in (row,
    column) order, are one after another exactly each row's list (the first of a row
    without the `, ` before it), so the rows' lists are those bytes, cut at each row's
    first error."""
    groups: dict[str, list[Failure]] = {}
    for failure in failures:
        groups.setdefault(failure.column, []).append(failure)
    reasons: Counter[ReasonKey] = Counter()
    failing_columns = []
    taken = _rows_of(rows)
    for name, group in groups.items():
        stacked = np.stack([np.asarray(failure.mask[taken], bool) for failure in group])
        failing = stacked.any(axis=0)
        if failing.any():
            failing_columns.append((name, group, stacked, failing))
    if not failing_columns:
        return pa.repeat(text(""), rows.size), reasons
    first_column = np.argmax(np.stack([f for *_, f in failing_columns]), axis=0)
    entries, positions, columns = [], [], []
    for column, (name, group, stacked, failing) in enumerate(failing_columns):
        where = np.flatnonzero(failing)  # only these rows' values are looked at
        stacked = stacked[:, where]
        values = compute.cast(rows_taken(table.column(name), rows[where]), TEXT) \
            if name in table.column_names else pa.repeat(text(""), where.size)
        first = np.argmax(stacked, axis=0)
        led = first_column[where] != column  # an error of the row comes before this one
        if all(_simple(failure.message) for failure in group) and \
                not (stacked.sum(axis=0) > 1).any():
            entries.append(_one_message_each(name, group, values, first, led))
        else:
            entries.append(_any_messages(name, group, stacked, values, first, led))
        positions.append(where)
        columns.append(np.full(where.size, column, np.int64))
        for index, count in enumerate(np.bincount(first, minlength=len(group)).tolist()):
            if count:
                reasons[name, group[index].rule] += count
    at = np.concatenate(positions)
    order = np.lexsort((np.concatenate(columns), at))
    ordered = compute.take(pa.concat_arrays(entries), from_numpy(order))
    bounds = np.frombuffer(ordered.buffers()[1], np.int64)[
        ordered.offset: ordered.offset + len(ordered) + 1]
    firsts = np.concatenate([[0], np.cumsum(np.bincount(at, minlength=rows.size))])
    return pa.Array.from_buffers(TEXT, rows.size, [
        None, pa.py_buffer(np.ascontiguousarray(bounds[firsts])), ordered.buffers()[2]]), \
        reasons


def _rows_of(rows: np.ndarray) -> np.ndarray | slice:
    """What picks `rows` (ascending, distinct) out of a mask: a slice when they are one
    run, as in a stretch where every row is rejected (a view, not a gather per check)."""
    if rows.size and int(rows[-1]) - int(rows[0]) + 1 == rows.size:
        return slice(int(rows[0]), int(rows[-1]) + 1)
    return rows


def _simple(message: object) -> bool:
    return message is required or isinstance(message, Worded)


def _heads(name: str, group: Sequence[Failure], after: Sequence[str]) -> pa.Array:
    """Per check and whether an error comes before (index 2 * check + led): the error's
    text up to its message, then `after[check]`."""
    return _heads_of(name, tuple(failure.rule for failure in group), tuple(after))


@functools.lru_cache(maxsize=1024)
def _heads_of(name: str, rules: tuple[str, ...], after: tuple[str, ...]) -> pa.Array:
    """`_heads`, worded once per column and checks: every batch of every piece asks
    again."""
    texts = []
    for rule, more in zip(rules, after, strict=True):
        head = f'{{"field": {quoted_json(name)}, "kind": {quoted_json(rule)}, ' \
            f'"message": "{more}'
        texts += [head, _SEPARATOR + head]
    return pa.array(texts, TEXT)


def _pick(first: np.ndarray, led: np.ndarray) -> np.ndarray:
    picked: np.ndarray = 2 * first + led
    return picked


def _chosen(options: pa.Array, index: np.ndarray) -> pa.Array | pa.Scalar:
    """`options` taken at each index; one scalar when every row takes the same one (a
    column failing one check, the usual case), which the joins spread for free."""
    if index.size and int(index.min()) == int(index.max()):
        return options[int(index[0])]
    return compute.take(options, from_numpy(index))


def _one_message_each(name: str, group: Sequence[Failure], values: pa.Array,
                      first: np.ndarray, led: np.ndarray) -> pa.Array:
    """Each failing row fails one check of the column: its error is a head and a tail per
    check around the value as the message shows it (empty for `required`, whose rows hold
    no value)."""
    wordings = tuple(failure.message.wording if isinstance(failure.message, Worded)
                     else None for failure in group)
    heads = _heads(name, group, ['\\"' if w is not None else "" for w in wordings])
    middle = _cut(values, escapes=TWICE) if any(w is not None for w in wordings) else \
        pa.repeat(text(""), len(values))
    return joined(_chosen(heads, _pick(first, led)), middle, _chosen(_tails(wordings), first))


@functools.lru_cache(maxsize=1024)
def _tails(wordings: tuple[str | None, ...]) -> pa.Array:
    """Per check, the error's text after the value its message shows (None: the check is
    `required`, whose message shows none)."""
    return pa.array([f'\\"{escaped_text(" " + wording)}"}}' if wording is not None
                     else f'{escaped_text(REQUIRED)}"}}' for wording in wordings], TEXT)


def _any_messages(name: str, group: Sequence[Failure], stacked: np.ndarray,
                  values: pa.Array, first: np.ndarray, led: np.ndarray) -> pa.Array:
    """The general case: every message of the column a row fails, joined by `; `."""
    shown_values: list[pa.Array] = []
    texts = [_messages(failure, hit, values, shown_values)
             for failure, hit in zip(group, stacked, strict=True) if hit.any()]
    message = joined_present(texts, "; ")
    heads = _heads(name, group, [""] * len(group))
    return joined(_chosen(heads, _pick(first, led)), compute.fill_null(message, ""), text('"}'))


def _cut(values: pa.Array, escapes: Escapes) -> pa.Array:
    """Values as `show` cuts them (57 characters and `...` past 60), escaped. Characters
    are counted only when some value has more than 60 bytes."""
    if _longest_bytes(values) > SHOW_LIMIT:
        long = compute.greater(compute.utf8_length(values), SHOW_LIMIT)
        if compute.any(long).as_py():
            cut = joined(compute.utf8_slice_codeunits(values, 0, SHOW_LIMIT - 3), text("..."))
            values = compute.if_else(long, cut, values)
    return escaped(values, escapes)


def _longest_bytes(values: pa.Array) -> int:
    """The most bytes any value holds (from the offsets, without reading the text)."""
    if not len(values):
        return 0
    if values.type != TEXT:
        return int(compute.max(compute.binary_length(values)).as_py() or 0)
    offsets = np.frombuffer(values.buffers()[1], np.int64)[values.offset:
                                                          values.offset + len(values) + 1]
    return int(np.diff(offsets).max())


def record_errors(fields: np.ndarray, expected: int, rule: str) -> pa.Array:
    """`{"field": null, "kind": "record", "message": "row has N fields, expected E"}` per
    row with the wrong number of fields: `record_error` as JSON, worded once per distinct
    field count (rows have few of them) and taken for every row."""
    counts = np.asarray(fields, np.int64)
    distinct, which = np.unique(counts, return_inverse=True)
    texts = pa.array([quoted_json(record_error(int(n), expected, rule)) for n in distinct],
                     TEXT)
    return compute.take(texts, from_numpy(which.reshape(-1)))


def record_error(fields: int, expected: int, rule: str) -> dict[str, Any]:
    """The error of one row with the wrong number of fields."""
    noun = "field" if fields == 1 else "fields"
    return {"field": None, "kind": rule,
            "message": f"row has {fields} {noun}, expected {expected}"}
