"""What deploying NEW over a stack made from OLD would do, resource by resource, and which of
those changes replace or remove a resource that holds data — the way `cdk diff` warns.

Pure: two template dicts in, a `TemplateDiff` out. Values are compared as written (an
`Fn::Sub` text, a `Ref`), which is what CloudFormation compares for the same parameters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from etlgen.catalog.evolution import TableChange, table_changes
from etlgen.diff.replacement import REGISTRY, refused_properties, replacing_properties

# Sections compared entry by entry besides Resources (Parameters get a note of their own).
ENTRY_SECTIONS = ("Parameters", "Conditions", "Rules", "Mappings", "Outputs")
WHOLE_SECTIONS = ("AWSTemplateFormatVersion", "Description", "Metadata", "Transform")


@dataclass(frozen=True)
class Change:
    """One changed value: a path such as `Properties.Tags[2].Value` and both sides
    (`MISSING` when absent on one side)."""

    path: str
    old: Any
    new: Any


MISSING = object()


@dataclass
class ResourceDiff:
    logical_id: str
    kind: str  # the new type (the old one when removed)
    action: str  # added | removed | changed
    changes: list[Change] = field(default_factory=list)
    replaced_by: list[str] = field(default_factory=list)  # properties (or "Type")
    refused: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # what happens to the data
    notes: list[str] = field(default_factory=list)

    @property
    def replaced(self) -> bool:
        return bool(self.replaced_by)

    @property
    def at_risk(self) -> bool:
        """Data orphaned, deleted or a refused update: what makes `etlgen diff` exit 1."""
        return bool(self.warnings)


@dataclass
class EntryDiff:
    section: str
    name: str
    action: str
    changes: list[Change] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class TemplateDiff:
    resources: list[ResourceDiff] = field(default_factory=list)
    entries: list[EntryDiff] = field(default_factory=list)
    tables: list[TableChange] = field(default_factory=list)  # what readers of a table see

    @property
    def at_risk(self) -> list[ResourceDiff]:
        return [resource for resource in self.resources if resource.at_risk]

    @property
    def breaking(self) -> list[TableChange]:
        return [change for change in self.tables if change.breaking]

    @property
    def empty(self) -> bool:
        return not self.resources and not self.entries


def value_changes(old: Any, new: Any, path: str = "") -> list[Change]:
    """Every leaf that differs, with its path; dict keys by name, list items by index."""
    if isinstance(old, dict) and isinstance(new, dict):
        found: list[Change] = []
        for key in [*old, *(key for key in new if key not in old)]:
            child = f"{path}.{key}" if path else str(key)
            found.extend(value_changes(old.get(key, MISSING), new.get(key, MISSING), child)
                         if key in old and key in new
                         else [Change(child, old.get(key, MISSING), new.get(key, MISSING))])
        return found
    if isinstance(old, list) and isinstance(new, list):
        found = []
        for index in range(max(len(old), len(new))):
            child = f"{path}[{index}]"
            if index < len(old) and index < len(new):
                found.extend(value_changes(old[index], new[index], child))
            else:
                found.append(Change(child, old[index] if index < len(old) else MISSING,
                                    new[index] if index < len(new) else MISSING))
        return found
    return [] if old == new else [Change(path, old, new)]


def compare(old: dict[str, Any], new: dict[str, Any]) -> TemplateDiff:
    diff = TemplateDiff()
    old_resources = old.get("Resources") or {}
    new_resources = new.get("Resources") or {}
    for logical_id in sorted({*old_resources, *new_resources}):
        # resources as JSON: absent (None) on one side when added or removed
        before: Any = old_resources.get(logical_id)
        after: Any = new_resources.get(logical_id)
        if before is None:
            diff.resources.append(ResourceDiff(logical_id, after.get("Type", "?"), "added"))
        elif after is None:
            diff.resources.append(_removed(logical_id, before))
        elif before != after:
            diff.resources.append(_changed(logical_id, before, after))
    for section in (*WHOLE_SECTIONS, *ENTRY_SECTIONS):
        diff.entries.extend(_entries(section, old.get(section), new.get(section)))
    diff.tables = table_changes(old, new)
    return diff


def _holds(kind: str) -> str | None:
    rule = REGISTRY.get(kind)
    return rule.holds if rule else None


def _removed(logical_id: str, resource: dict[str, Any]) -> ResourceDiff:
    kind = resource.get("Type", "?")
    removed = ResourceDiff(logical_id, kind, "removed")
    holds = _holds(kind)
    if holds is None:
        return removed
    if resource.get("DeletionPolicy") in ("Retain", "RetainExceptOnCreate"):
        removed.warnings.append(f"orphaned: CloudFormation keeps it and {holds} "
                                "(DeletionPolicy Retain), no longer part of the stack")
    else:
        removed.warnings.append(f"deleted with {holds}")
    return removed


def _changed(logical_id: str, before: dict[str, Any], after: dict[str, Any]) -> ResourceDiff:
    old_kind, kind = before.get("Type", "?"), after.get("Type", "?")
    changed = ResourceDiff(logical_id, kind, "changed", value_changes(before, after))
    old_properties = before.get("Properties") or {}
    new_properties = after.get("Properties") or {}
    if old_kind != kind:
        changed.replaced_by = ["Type"]
    else:
        changed.replaced_by = replacing_properties(kind, old_properties, new_properties)
        changed.refused = refused_properties(kind, old_properties, new_properties)
    if kind not in REGISTRY and old_kind not in REGISTRY:
        changed.notes.append(f"{kind} is not in etlgen's table of replacing properties: "
                             "whether this change replaces it is not known")
    holds = _holds(old_kind)
    if changed.refused:
        changed.warnings.append(
            f"CloudFormation refuses to change {', '.join(changed.refused)} of an existing "
            f"{old_kind}: the update fails")
    rule = REGISTRY.get(kind)
    name = rule.name if rule and old_kind == kind else None
    if changed.replaced and name and name in new_properties and name not in changed.replaced_by:
        changed.warnings.append(
            f"replaced ({', '.join(changed.replaced_by)} changes) under the same {name}: "
            "CloudFormation cannot replace a resource with a fixed name, the update fails")
    elif changed.replaced and holds is not None:
        reason = ", ".join(changed.replaced_by)
        if before.get("UpdateReplacePolicy") in ("Retain", "Snapshot"):
            fate = (f"the old one is kept with {holds} outside the stack (UpdateReplacePolicy "
                    f"{before['UpdateReplacePolicy']}), orphaned")
        else:
            fate = f"the old one is deleted with {holds}"
        changed.warnings.append(f"replaced ({reason} changes): CloudFormation creates a new, "
                                f"empty {kind}; {fate}")
    if holds is not None and before.get("DeletionPolicy") == "Retain" \
            and after.get("DeletionPolicy") != "Retain":
        changed.notes.append("no longer retained: deleting the stack (or this resource) "
                             f"will delete {holds}")
    return changed


def _entries(section: str, old: Any, new: Any) -> list[EntryDiff]:
    if old == new:
        return []
    if section in WHOLE_SECTIONS or not (isinstance(old, dict | None)
                                         and isinstance(new, dict | None)):
        action = "added" if old is None else "removed" if new is None else "changed"
        return [EntryDiff(section, "", action, value_changes(old, new, section)
                          if action == "changed" else [])]
    old, new = old or {}, new or {}
    found = []
    for name in sorted({*old, *new}):
        if name not in old:
            found.append(EntryDiff(section, name, "added"))
        elif name not in new:
            found.append(EntryDiff(section, name, "removed"))
        elif old[name] != new[name]:
            entry = EntryDiff(section, name, "changed", value_changes(old[name], new[name]))
            if section == "Parameters" and any(c.path == "Default" for c in entry.changes):
                entry.notes.append("an existing stack keeps the value it has: `aws "
                                   "cloudformation deploy` passes a new Default only through "
                                   "--parameter-overrides")
            found.append(entry)
    return found
