"""Project-wide rules that keep the code deployable and readable."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HANDLERS = ROOT / "handlers"
LAMBDA_PROVIDED = {"boto3", "botocore", "pandas", "numpy", "pyarrow", "handlers"}


def _top_level_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize(
    "path", sorted(HANDLERS.rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT))
)
def test_handlers_import_only_what_lambda_provides(path: Path) -> None:
    foreign = {
        name
        for name in _top_level_imports(path)
        if name not in LAMBDA_PROVIDED and name not in sys.stdlib_module_names
    }
    assert not foreign, f"{path.name} imports {sorted(foreign)}, absent from the Lambda runtime"


def _imports_pyarrow_compute(path: Path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(
                alias.name == "pyarrow.compute" for alias in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (
                node.module == "pyarrow.compute"
                or (node.module == "pyarrow" and any(a.name == "compute" for a in node.names))):
            return True
    return False


def test_handlers_call_arrow_kernels_without_importing_pyarrow_compute() -> None:
    """Importing `pyarrow.compute` costs every cold start 40-60 ms: the handlers call the
    kernels through `handlers.arrow_compute` (the local-run and Lambda-init tests in
    `tests/local/test_cold_start.py` check that nothing imports it on the way)."""
    importing = [str(path.relative_to(ROOT)) for path in sorted(HANDLERS.rglob("*.py"))
                 if _imports_pyarrow_compute(path)]
    assert importing == []


def test_ruff_reports_nothing() -> None:
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    result = subprocess.run(
        [ruff, "check", "--no-cache", "."], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _distribution_key(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_name(spec: str) -> str:
    return _distribution_key(re.split(r"[\s<>=!~;\[(]", spec.strip(), maxsplit=1)[0])


def _with_requirements(names: set[str]) -> set[str]:
    """The distributions plus everything they install (markers without extras)."""
    found, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name in found:
            continue
        found.add(name)
        try:
            requirements = importlib.metadata.requires(name) or []
        except importlib.metadata.PackageNotFoundError:  # not for this platform
            continue
        for spec in requirements:
            if "extra ==" not in spec:
                todo.append(_requirement_name(spec))
    return found


def test_the_installed_package_imports_only_its_runtime_dependencies() -> None:
    """`pip install -e .` (no dev extra) must be enough for every command, e.g. `validate`
    needs cfn-lint."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = _with_requirements({_requirement_name(spec) for spec in project["dependencies"]})
    providers = importlib.metadata.packages_distributions()
    first_party = {"etlgen", "handlers"}
    missing: dict[str, set[str]] = {}
    for package in first_party:
        for path in sorted((ROOT / package).rglob("*.py")):
            for name in _top_level_imports(path) - first_party - set(sys.stdlib_module_names):
                distributions = {_distribution_key(d) for d in providers.get(name, [name])}
                if not distributions & declared:
                    missing.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    assert not missing, f"imported but not in [project].dependencies: {missing}"
