"""What a deploy of a new render does to the tables readers query: which column changes
are compatible and which are breaking.

The table follows the row schema on every deploy (`UpdateTable`), and Athena reads Parquet
by column name, so partitions written before a compatible change stay readable: a new
column reads as null there, a wider decimal (same scale, more digits) holds every value
written before. A breaking change leaves partitions the new table cannot read as it
claims: a changed type, a removed or renamed column (renamed is removed plus added), a
narrower decimal or another scale, other partition keys, a renamed or removed table.

Readers query views (`<table>`, `<table>_rejected`) over storage tables (`<table>_parts`,
`<table>_rejected_parts`) and the commits table: a view (`SELECT *` of a storage table)
is compared as the columns and partition keys of the storage table it reads, under its own
name, and the tables a view reads are not reported on their own (their columns are the view's; the
commits table's are etlgen's, not the row schema's). A table that becomes a view (a
template from before the views) is breaking: the partitions registered in it are not in
the new storage table until the files are run again.

Pure: two templates in (as dicts, the way `etlgen diff` loads them), changes out, matched
by the tables' logical ids.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

_DECIMAL = re.compile(r"decimal\((\d+),\s*(\d+)\)")
_FROM = re.compile(r'\bFROM\s+"?([A-Za-z0-9_]+)"?', re.IGNORECASE)
_PRESTO_VIEW = re.compile(r"/\* Presto View: ([A-Za-z0-9+/=]+) \*/")
VIEW = "VIRTUAL_VIEW"


@dataclass(frozen=True)
class TableChange:
    """One line of the report: a column (or the table itself, `column` None)."""

    table: str
    column: str | None
    breaking: bool
    text: str

    def line(self) -> str:
        where = f"{self.table}.{self.column}" if self.column else self.table
        return f"{'BREAKING' if self.breaking else 'compatible'}: {where}: {self.text}"


@dataclass(frozen=True)
class _Table:
    name: str
    columns: dict[str, str]  # name -> Glue type, in order
    keys: list[tuple[str, str]]
    view_of: str | None = None  # a view: the storage table it reads


def _substituted(text: str, variables: dict[str, Any]) -> str:
    """An `Fn::Sub` text with its text variables put in (others, `${AWS::...}` or a
    resource's, stay as they are)."""
    def value(match: re.Match[str]) -> str:
        found = variables.get(match[1])
        return found if isinstance(found, str) else match[0]

    return re.sub(r"\$\{([^}!]+)\}", value, text)


def _texts(value: Any) -> Iterator[str]:
    """The texts inside a template value; an `Fn::Sub` with variables as substituted."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        sub = value.get("Fn::Sub")
        if isinstance(sub, list) and sub and isinstance(sub[0], str):
            variables = sub[1] if len(sub) > 1 and isinstance(sub[1], dict) else {}
            yield _substituted(sub[0], variables)
            return
        for item in value.values():
            yield from _texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item)


def view_sql(table: dict[str, Any]) -> str:
    """A view's SQL from its `ViewOriginalText`: the JSON inside the template's
    `Fn::Base64` (the rendered form), or the base64 of a deployed one."""
    for text in _texts(table.get("ViewOriginalText")):
        encoded = _PRESTO_VIEW.fullmatch(text.strip())
        if encoded:
            try:
                text = base64.b64decode(encoded[1]).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                continue
        try:
            definition = json.loads(text)
        except ValueError:
            continue
        if isinstance(definition, dict) and isinstance(definition.get("originalSql"), str):
            return str(definition["originalSql"])
    return ""


def _shape(table: dict[str, Any]) -> tuple[dict[str, str], list[tuple[str, str]]]:
    storage = table.get("StorageDescriptor") or {}
    return ({str(c.get("Name")): str(c.get("Type")) for c in storage.get("Columns") or []},
            [(str(k.get("Name")), str(k.get("Type"))) for k in table.get("PartitionKeys") or []])


def glue_tables(template: dict[str, Any]) -> dict[str, _Table]:
    """What readers see, by logical id: the plain tables, and each view as the first
    partitioned table its SQL reads (its `SELECT *`), under the view's name; the tables a
    view reads are left out."""
    inputs = {}
    for logical_id, resource in (template.get("Resources") or {}).items():
        if isinstance(resource, dict) and resource.get("Type") == "AWS::Glue::Table":
            inputs[logical_id] = (resource.get("Properties") or {}).get("TableInput") or {}
    by_name = {str(table.get("Name", logical_id)): logical_id
               for logical_id, table in inputs.items()}
    found, read = {}, set()
    for logical_id, table in inputs.items():
        columns, keys = _shape(table)
        view_of = None
        if table.get("TableType") == VIEW:
            sources = [by_name[name] for name in _FROM.findall(view_sql(table))
                       if name in by_name]
            read.update(sources)
            keyed = [source for source in sources if inputs[source].get("PartitionKeys")]
            if keyed:
                view_of = str(inputs[keyed[0]].get("Name"))
                columns, keys = _shape(inputs[keyed[0]])
        found[logical_id] = _Table(str(table.get("Name", logical_id)), columns, keys, view_of)
    return {logical_id: table for logical_id, table in found.items() if logical_id not in read}


def table_changes(old: dict[str, Any], new: dict[str, Any]) -> list[TableChange]:
    before, after = glue_tables(old), glue_tables(new)
    changes: list[TableChange] = []
    for logical_id, table in before.items():
        if logical_id not in after:
            changes.append(TableChange(table.name, None, True,
                                       "removed: its queries and registered partitions go"))
    for logical_id, table in after.items():
        earlier = before.get(logical_id)
        if earlier is None:
            changes.append(TableChange(table.name, None, False, "new table"))
            continue
        if earlier.name != table.name:
            changes.append(TableChange(
                earlier.name, None, True,
                f"renamed to {table.name}: a new table, without the partitions of the files "
                "committed so far"))
        elif earlier.view_of is None and table.view_of is not None:
            changes.append(TableChange(
                earlier.name, None, True,
                f"becomes a view over {table.view_of}: the partitions registered so far are "
                "not in it; run the files committed so far again"))
        changes.extend(_column_changes(earlier, table))
    return changes


def _column_changes(before: _Table, after: _Table) -> list[TableChange]:
    changes = []
    if before.keys != after.keys:
        shown = ", ".join(name for name, _ in after.keys)
        changes.append(TableChange(
            before.name, None, True,
            f"partition keys ({', '.join(name for name, _ in before.keys)}) become ({shown}): "
            "the partitions registered so far no longer match the table"))
    for name, kind in before.columns.items():
        if name not in after.columns:
            changes.append(TableChange(
                before.name, name, True,
                f"{kind} column removed or renamed: the table no longer shows the values "
                "written so far"))
        elif after.columns[name] != kind:
            breaking, why = _retyped(kind, after.columns[name])
            changes.append(TableChange(before.name, name, breaking,
                                       f"{kind} -> {after.columns[name]}: {why}"))
    for name, kind in after.columns.items():
        if name not in before.columns:
            changes.append(TableChange(
                before.name, name, False,
                f"new {kind} column: partitions written before read it as null"))
    return changes


def _retyped(old: str, new: str) -> tuple[bool, str]:
    """(breaking, why) for a column whose Glue type changes."""
    before, after = _DECIMAL.fullmatch(old), _DECIMAL.fullmatch(new)
    if before and after:
        (precision, scale), (new_precision, new_scale) = (
            (int(before[1]), int(before[2])), (int(after[1]), int(after[2])))
        if new_scale != scale:
            return True, (f"another scale: the partitions written so far hold {old} values")
        if new_precision < precision:
            return True, "a narrower decimal: values written so far may not fit it"
        return False, "a wider decimal holds every value written so far"
    return True, f"another type: the partitions written so far hold {old} values"
