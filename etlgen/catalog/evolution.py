"""What a deploy of a new render does to the tables readers query: which column changes
are compatible and which are breaking.

The table follows the row schema on every deploy (`UpdateTable`), and Athena reads Parquet
by column name, so partitions written before a compatible change stay readable: a new
column reads as null there, a wider decimal (same scale, more digits) holds every value
written before. A breaking change leaves partitions the new table cannot read as it
claims: a changed type, a removed or renamed column (renamed is removed plus added), a
narrower decimal or another scale, other partition keys, a renamed or removed table.

Pure: two templates in (as dicts, the way `etlgen diff` loads them), changes out, matched
by the tables' logical ids.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_DECIMAL = re.compile(r"decimal\((\d+),\s*(\d+)\)")


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


def glue_tables(template: dict[str, Any]) -> dict[str, _Table]:
    """The template's Glue tables by logical id."""
    found = {}
    for logical_id, resource in (template.get("Resources") or {}).items():
        if not isinstance(resource, dict) or resource.get("Type") != "AWS::Glue::Table":
            continue
        table = (resource.get("Properties") or {}).get("TableInput") or {}
        storage = table.get("StorageDescriptor") or {}
        found[logical_id] = _Table(
            str(table.get("Name", logical_id)),
            {str(c.get("Name")): str(c.get("Type")) for c in storage.get("Columns") or []},
            [(str(k.get("Name")), str(k.get("Type"))) for k in table.get("PartitionKeys") or []],
        )
    return found


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
