"""`etlgen.asl` is a generic engine: it imports nothing of etlgen outside its package, and
its drivers (checker, interpreter, graph) never branch on a state type's name."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from etlgen.asl import STATE_TYPES

PACKAGE = Path(__file__).resolve().parents[2] / "etlgen" / "asl"
DRIVERS = ("check.py", "interpreter.py", "graph.py")


def _imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path.name}: use absolute imports"
            names.add(node.module or "")
    return names


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")),
                         ids=lambda path: str(path.relative_to(PACKAGE)))
def test_the_engine_imports_nothing_of_etlgen_outside_its_package(path: Path) -> None:
    foreign = {name for name in _imported_modules(path)
               if name.split(".")[0] in ("etlgen", "handlers")
               and name != "etlgen.asl" and not name.startswith("etlgen.asl.")}
    assert not foreign, f"{path.name} imports {sorted(foreign)}"


@pytest.mark.parametrize("driver", DRIVERS)
def test_the_drivers_name_no_state_type(driver: str) -> None:
    tree = ast.parse((PACKAGE / driver).read_text(encoding="utf-8"))
    named = {node.value for node in ast.walk(tree)
             if isinstance(node, ast.Constant) and node.value in STATE_TYPES}
    assert not named, f"{driver} branches on {sorted(named)}: put it in the type's entry"
