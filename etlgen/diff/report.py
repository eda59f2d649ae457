"""The diff as text: one block per resource or entry, warnings marked `!!`, a summary line."""

from __future__ import annotations

import json
from typing import Any

from etlgen.diff.compare import MISSING, Change, EntryDiff, ResourceDiff, TemplateDiff

MARKS = {"added": "[+]", "removed": "[-]", "changed": "[~]"}
CHANGES_SHOWN = 10
VALUE_WIDTH = 72


def _value(value: Any) -> str:
    if value is MISSING:
        return "(none)"
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text if len(text) <= VALUE_WIDTH else text[:VALUE_WIDTH - 1] + "…"


def _changes(changes: list[Change]) -> list[str]:
    lines = [f"    {change.path or '(value)'}: {_value(change.old)} -> {_value(change.new)}"
             for change in changes[:CHANGES_SHOWN]]
    if len(changes) > CHANGES_SHOWN:
        lines.append(f"    ... and {len(changes) - CHANGES_SHOWN} more changes")
    return lines


def _resource(resource: ResourceDiff) -> list[str]:
    tag = " (replace)" if resource.replaced else ""
    lines = [f"{MARKS[resource.action]} {resource.kind} {resource.logical_id}{tag}"]
    lines.extend(_changes(resource.changes))
    lines.extend(f"    !! {warning}" for warning in resource.warnings)
    lines.extend(f"    note: {note}" for note in resource.notes)
    return lines


def _entry(entry: EntryDiff) -> list[str]:
    lines = [f"{MARKS[entry.action]} {entry.name or entry.section}"]
    lines.extend(_changes(entry.changes))
    lines.extend(f"    note: {note}" for note in entry.notes)
    return lines


def diff_text(diff: TemplateDiff, old_label: str, new_label: str) -> str:
    lines = [f"etlgen diff: {old_label} -> {new_label}"]
    if diff.empty:
        lines.append("no differences")
        return "\n".join(lines) + "\n"
    if diff.resources:
        lines.append("Resources")
        for resource in diff.resources:
            lines.extend(_resource(resource))
    sections: dict[str, list[EntryDiff]] = {}
    for entry in diff.entries:
        sections.setdefault(entry.section if entry.name else "Template", []).append(entry)
    for section, entries in sections.items():
        lines.append(section)
        for entry in entries:
            lines.extend(_entry(entry))
    if diff.tables:
        lines.append("Tables (what their readers see)")
        lines.extend(f"  {change.line()}" for change in diff.tables)
    lines.append(_summary(diff))
    return "\n".join(lines) + "\n"


def _summary(diff: TemplateDiff) -> str:
    counts = {action: sum(1 for r in diff.resources if r.action == action)
              for action in MARKS}
    replaced = sum(1 for r in diff.resources if r.replaced)
    parts = [f"{counts['added']} added", f"{counts['removed']} removed",
             f"{counts['changed']} changed ({replaced} replaced)"]
    text = "resources: " + ", ".join(parts)
    at_risk = diff.at_risk
    if at_risk:
        names = ", ".join(f"{r.logical_id} ({r.kind})" for r in at_risk)
        text += f"; DATA AT RISK or a failing update in {len(at_risk)}: {names}"
    if diff.breaking:
        text += f"; {len(diff.breaking)} BREAKING table change(s)"
    return text
