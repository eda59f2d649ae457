"""The permanent errors each step can raise: `handlers.errors.RAISED_BY` against the code.

A step's modules are its handler module and every `handlers` module it imports, directly
or through others (module-level or inside functions), the back ends `Deps` builds
included: the Lambda Task of a step never retries the permanent errors listed for it, so
a permanent error any of these modules names (raises, builds or passes on) and the list
leaves out would be retried like a transient one.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from etlgen.config import load_config
from etlgen.template.function_specs import FUNCTIONS
from etlgen.template.workflow import state_machine_definition
from handlers import errors
from handlers.errors import PERMANENT_ERRORS, RAISED_BY, PermanentError, permanent_errors

ROOT = Path(__file__).resolve().parent.parent
HANDLERS = ROOT / "handlers"
ERRORS_MODULE = "handlers.errors"


def _path(module: str, root: Path) -> Path | None:
    base = root.joinpath(*module.split(".")[1:])
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _imports(module: str, root: Path) -> set[str]:
    path = _path(module, root)
    assert path is not None, module
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, *([node.module] if node.module else [])])
            for alias in node.names:  # `from handlers import x`: x may be a module
                module_name = f"{base}.{alias.name}"
                found.add(module_name if _path(module_name, root) else base)
    return {name for name in found
            if name.split(".")[0] == "handlers" and _path(name, root) is not None}


def step_modules(step: str, root: Path) -> set[str]:
    seen: set[str] = set()
    todo = [f"handlers.{step}"]
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        parts = module.split(".")
        todo += [".".join(parts[:end]) for end in range(2, len(parts))]  # parent packages
        todo += _imports(module, root)
    return seen


def named_permanent_errors(module: str, root: Path) -> set[str]:
    path = _path(module, root)
    assert path is not None
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Attribute):
            names.add(node.attr)
    return names & set(PERMANENT_ERRORS)


def unlisted_errors(step: str, root: Path = HANDLERS) -> dict[str, list[str]]:
    """Permanent errors the step's modules name but `RAISED_BY` does not list for it,
    with the modules that name them."""
    modules = step_modules(step, root) - {ERRORS_MODULE}
    assert len(modules) > 10  # the scan follows the imports
    named = {error: sorted(module for module in modules
                           if error in named_permanent_errors(module, root))
             for error in PERMANENT_ERRORS}
    return {error: where for error, where in named.items()
            if where and error not in permanent_errors(step)}


@pytest.mark.parametrize("step", FUNCTIONS)
def test_each_step_lists_every_permanent_error_its_modules_name(step: str) -> None:
    assert FUNCTIONS[step].handler_module == f"handlers.{step}"
    missing = unlisted_errors(step)
    assert not missing, f"add {step!r} to these errors' steps in handlers.errors.RAISED_BY"


def test_the_scan_sees_a_new_raise(tmp_path: Path) -> None:
    """A step whose module (here one it imports) starts raising another step's permanent
    error is caught."""
    source = (HANDLERS / "chunk_plan.py").read_text(encoding="utf-8")
    assert "RejectRateExceeded" not in permanent_errors("split")
    assert "RejectRateExceeded" not in source
    copy = tmp_path / "handlers"
    copy.mkdir()
    for path in HANDLERS.rglob("*.py"):
        target = copy / path.relative_to(HANDLERS)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
    assert unlisted_errors("split", copy) == {}
    (copy / "chunk_plan.py").write_text(
        source + "\n\ndef _late(x: int) -> None:\n    from handlers import errors\n"
        "    raise errors.RejectRateExceeded(str(x))\n", encoding="utf-8")
    assert unlisted_errors("split", copy) == {"RejectRateExceeded": ["handlers.chunk_plan"]}


def test_every_permanent_error_is_registered_and_only_those() -> None:
    declared = {cls for _, cls in inspect.getmembers(errors, inspect.isclass)
                if issubclass(cls, PermanentError) and cls is not PermanentError}
    assert declared == set(RAISED_BY)
    assert all(RAISED_BY[cls] for cls in declared)
    steps = {step for listed in RAISED_BY.values() for step in listed}
    assert steps == set(FUNCTIONS)


def test_errors_that_retrying_cannot_fix_are_permanent() -> None:
    """The same event always fails the same way: retrying only delays the failure."""
    assert {"MalformedEvent", "TooManyPartitions"} <= set(PERMANENT_ERRORS)
    assert {"PublishConflict", "CatalogError"}.isdisjoint(PERMANENT_ERRORS)


def test_an_unknown_step_never_retries_any_permanent_error() -> None:
    assert permanent_errors("toy") == PERMANENT_ERRORS


def test_every_lambda_task_never_retries_its_steps_permanent_errors() -> None:
    definition = state_machine_definition(load_config(ROOT / "tests/configs/all_options.yaml"))
    states = dict(definition["States"])
    states |= definition["States"]["ProcessChunks"]["ItemProcessor"]["States"]
    by_resource = {f"${{{spec.substitution}}}": name for name, spec in FUNCTIONS.items()}
    seen = set()
    for state in states.values():
        step = by_resource.get(state.get("Resource", ""))
        if step is None:
            continue
        seen.add(step)
        first = state["Retry"][0]
        assert first == {"ErrorEquals": list(permanent_errors(step)), "MaxAttempts": 0}
    assert seen == set(FUNCTIONS)
