"""Run cfn-lint over a rendered template and return its findings as plain lines.

Informational rules are included on purpose: the generated template should be clean at
every level, so `etlgen validate` shows and fails on all of them.
"""

from __future__ import annotations

import difflib

from cfnlint.api import lint
from cfnlint.config import ManualArgs
from cfnlint.helpers import REGIONS as KNOWN_REGIONS

REGIONS = ["us-east-1"]

_SEVERITY_ORDER = {"error": 0, "warning": 1, "informational": 2}


def region_problem(region: str) -> str | None:
    """Why `region` is not one to lint for (cfn-lint knows every public AWS region)."""
    if region in KNOWN_REGIONS:
        return None
    close = difflib.get_close_matches(region, sorted(KNOWN_REGIONS), n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return f"not an AWS region known to cfn-lint{hint}"


def lint_template(text: str, regions: list[str] | None = None) -> list[str]:
    """Every cfn-lint finding as `RULE path: message`, errors first, then by path."""
    matches = lint(text, config=ManualArgs(regions=regions or REGIONS, include_checks=["I"]))
    findings: list[tuple[int, str, str]] = []
    for match in matches:
        rule = match.rule.id
        path = getattr(match, "path", None)
        if path:
            where = "/".join(str(part) for part in path)
        elif path is None:  # parse errors carry a position, not a path
            where = f"line {match.linenumber}:{match.columnnumber}"
        else:
            where = "(template)"
        message = " ".join(str(match.message).split())
        severity = _SEVERITY_ORDER.get(str(match.rule.severity).lower(), 3)
        findings.append((severity, f"{where}\0{rule}", f"{rule} {where}: {message}"))
    return list(dict.fromkeys(line for *_, line in sorted(findings)))
