"""checkov, the security scanner, finds nothing unexplained in any rendered test template.

checkov pins an older boto3 than the project uses, so it lives in its own virtual
environment, `.venv-checkov/` at the repository root, built here on first use from the
package registry (about a minute) and reused afterwards. `ETLGEN_CHECKOV` may name a
checkov executable to use instead.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from etlgen.model import PipelineConfig
from etlgen.render import build_template, render
from etlgen.template.scanner import BY_ID, BY_TYPE, skips_for

from .conftest import CONFIG_FILES, ROOT

CHECKOV_REQUIREMENT = "checkov==3.3.30"
VENV = ROOT / ".venv-checkov"


def _checkov() -> str:
    given = os.environ.get("ETLGEN_CHECKOV")
    if given:
        return given
    executable = VENV / "bin" / "checkov"
    with open(ROOT / ".venv-checkov.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not executable.exists():
            subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
            installed = subprocess.run(
                [str(VENV / "bin" / "pip"), "install", "-q", CHECKOV_REQUIREMENT],
                capture_output=True, text=True)
            assert installed.returncode == 0, (
                f"could not install {CHECKOV_REQUIREMENT} into {VENV}:\n{installed.stderr}")
    return str(executable)


@pytest.fixture(scope="module")
def scan(configs: dict[str, PipelineConfig], tmp_path_factory: pytest.TempPathFactory
         ) -> dict[str, dict[str, Any]]:
    """checkov's results per config label, one run over every rendered template."""
    folder = tmp_path_factory.mktemp("rendered")
    for label, config in configs.items():
        (folder / f"{label}.json").write_text(render(config), encoding="utf-8")
    # --skip-download: checkov would otherwise call Prisma Cloud for its guidelines.
    done = subprocess.run(
        [_checkov(), "--directory", str(folder), "--framework", "cloudformation",
         "--output", "json", "--compact", "--skip-download"],
        capture_output=True, text=True, timeout=600,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE"})
    assert done.stdout.strip(), done.stderr
    reports = json.loads(done.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    results: dict[str, dict[str, Any]] = {label: {"failed": [], "skipped": []}
                                          for label in configs}
    for report in reports:
        for kind in ("failed", "skipped"):
            for check in report["results"][f"{kind}_checks"]:
                label = Path(check["file_path"]).stem
                results[label][kind].append(check)
    return results


@pytest.mark.parametrize("label", sorted(CONFIG_FILES))
def test_checkov_finds_nothing_unexplained(label: str, scan: dict[str, dict[str, Any]]
                                          ) -> None:
    failed = [f"{c['check_id']} {c['resource']}: {c['check_name']}" for c in scan[label]["failed"]]
    assert failed == []


@pytest.mark.parametrize("label", sorted(CONFIG_FILES))
def test_every_skip_is_needed_and_explained(label: str, scan: dict[str, dict[str, Any]],
                                            configs: dict[str, PipelineConfig]) -> None:
    skipped = {(c["check_id"], c["resource"].split(".", 1)[1]): c["check_result"]
               for c in scan[label]["skipped"]}
    declared = {}
    for logical_id, resource in build_template(configs[label]).resources.items():
        for check, comment in skips_for(logical_id, resource.resource_type):
            declared[check, logical_id] = comment
    # A declared skip checkov no longer reports would hide a future finding: remove it.
    assert set(declared) == set(skipped)
    # checkov read each reason from the template (it reports it with the skip).
    assert {key: result.get("suppress_comment") for key, result in skipped.items()} == declared


def _template_skips(rendered: str) -> dict[tuple[str, str], list[dict[str, str]]]:
    return {(logical_id, resource["Type"]): resource["Metadata"]["checkov"]["skip"]
            for logical_id, resource in json.loads(rendered)["Resources"].items()
            if "checkov" in resource.get("Metadata", {})}


@pytest.mark.parametrize("label", sorted(CONFIG_FILES))
def test_each_skip_in_the_template_carries_its_reason(
        label: str, configs: dict[str, PipelineConfig]) -> None:
    """Issue 7: every skip in `Metadata.checkov.skip` has a one-line reason a reviewer reads
    in the template itself, the one `etlgen/template/scanner.py` gives."""
    in_template = _template_skips(render(configs[label]))
    assert in_template, "no resource carries a checkov skip"
    for (logical_id, resource_type), skips in in_template.items():
        for skip in skips:
            assert set(skip) == {"id", "comment"}, (logical_id, skip)
            comment = skip["comment"]
            assert comment.strip() == comment and "\n" not in comment, (logical_id, skip)
            assert len(comment.split()) >= 4, (logical_id, skip)  # a reason, not a label
        assert skips == [{"id": check, "comment": reason}
                         for check, reason in skips_for(logical_id, resource_type)], logical_id
    # and no resource that scanner.py names goes without its skips
    for logical_id, resource in build_template(configs[label]).resources.items():
        if skips_for(logical_id, resource.resource_type):
            assert (logical_id, resource.resource_type) in in_template, logical_id


def test_the_architecture_lists_every_skip_with_its_reason() -> None:
    """docs/architecture.md, "Security scanner": the same checks and reasons as the code."""
    section = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8").split(
        "## Security scanner", 1)[1].split("\n## ", 1)[0]
    rows = {(check, reason) for check, reason in re.findall(
        r"^\|[^|]*\| `(CKV_AWS_\d+)`[^|]*\| (.+?) \|$", section, re.MULTILINE)}
    coded = {skip for skips in (*BY_TYPE.values(), *BY_ID.values()) for skip in skips}
    assert rows == coded
