"""Messages speak of what the user edits (pipeline.yaml keys), not of the environment
variables the generator derives from it."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from etlgen.cli import main
from etlgen.config import load_config
from etlgen.environment import function_environment
from handlers.settings import SETTING_SOURCES, Settings, SettingsError

from .csv_samples import ROOT, transaction_rows

VARIABLE = re.compile(r"\b(" + "|".join(SETTING_SOURCES) + r")\b")
MESSAGE_MODULES = sorted([*(ROOT / "handlers").glob("*.py"), *(ROOT / "etlgen" / "local").glob(
    "*.py")])
# settings.py names the variables it reads (and words its errors with SETTING_SOURCES)
SCANNED = [path for path in MESSAGE_MODULES if path.name != "settings.py"]


def _texts_that_can_reach_a_user(path: Path) -> list[tuple[int, str]]:
    """String constants other than docstrings, dictionary keys and subscripts."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                and isinstance(body[0].value, ast.Constant):
            skipped.add(id(body[0].value))
        if isinstance(node, ast.Subscript):
            skipped.update(id(part) for part in ast.walk(node.slice))
        if isinstance(node, ast.Dict):
            skipped.update(id(key) for key in node.keys if key is not None)
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and id(node) not in skipped and VARIABLE.search(node.value)]


@pytest.mark.parametrize("path", SCANNED, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_message_names_an_internal_setting(path: Path) -> None:
    assert _texts_that_can_reach_a_user(path) == []


def test_every_generated_setting_names_its_config_key() -> None:
    config = load_config(ROOT / "pipeline.yaml")
    assert set(function_environment(config)) <= set(SETTING_SOURCES)


def test_a_bad_setting_names_the_config_key_too() -> None:
    environment = function_environment(load_config(ROOT / "pipeline.yaml"))
    with pytest.raises(SettingsError, match=r"MAX_REJECT_RATE='7': must be a number between "
                                            r"0 and 1 \(set from output.max_reject_rate in "
                                            r"pipeline.yaml\)"):
        Settings.from_env({**environment, "MAX_REJECT_RATE": "7"})


def test_the_reject_rate_failure_names_output_max_reject_rate(
        pipeline_yaml: Path, write_csv: Callable[..., Path], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    csv = write_csv(rows=transaction_rows(40, 2))  # every second row rejected: 50 % > 10 %
    code = main(["run", str(pipeline_yaml), str(csv), "--workdir", str(tmp_path / "work"),
                 "--workers", "1", "--retry-scale", "0"])
    err = capsys.readouterr().err
    assert code == 1
    failure = err.strip().splitlines()[-1]
    assert "RejectRateExceeded" in failure
    assert "more than output.max_reject_rate 10.00%" in failure
    assert "MAX_REJECT_RATE" not in err
