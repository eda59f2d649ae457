"""Run cfn-lint over a rendered template and return its findings as plain lines.

Informational rules are included on purpose: the generated template should be clean at
every level, so `etlgen validate` shows and fails on all of them.
"""

from __future__ import annotations

from cfnlint.api import lint
from cfnlint.config import ManualArgs

REGIONS = ["us-east-1"]

_SEVERITY_ORDER = {"error": 0, "warning": 1, "informational": 2}


def lint_template(text: str) -> list[str]:
    """Every cfn-lint finding as `RULE path: message`, errors first, then by path."""
    matches = lint(text, config=ManualArgs(regions=REGIONS, include_checks=["I"]))
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
