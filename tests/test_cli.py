"""The command line as a user meets it: one line and exit 2 for every bad argument, help for
every argument, `--version`, `run` with or without the config."""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from etlgen import cli

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "pipeline.yaml"
SAMPLE = ROOT / "samples" / "transactions.csv"
README = ROOT / "README.md"
ETLGEN = Path(sys.executable).parent / "etlgen"


def invoke(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = cli.main(argv)
    except SystemExit as stop:  # argparse: usage errors, --help, --version
        code = int(stop.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _file(tmp: Path, name: str, text: str = "x") -> Path:
    path = tmp / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# argv (built from the test's tmp folder) -> expected exit code and a piece of the one line
CASES: dict[str, tuple[Callable[[Path], list[str]], int, str]] = {
    "no command": (lambda t: [], 2, "required: COMMAND"),
    "unknown command": (lambda t: ["deploy"], 2, "invalid choice: 'deploy'"),
    "unknown option": (lambda t: ["render", str(CONFIG), "--bogus"], 2, "--bogus"),
    "render: default config missing": (lambda t: ["render"], 2, "pipeline.yaml: file not found"),
    "render: config is a folder": (lambda t: ["render", str(t)], 2, "is a directory"),
    "render: bad format": (lambda t: ["render", str(CONFIG), "--format", "xml"], 2,
                           "invalid choice: 'xml'"),
    "render: -o in a missing folder": (
        lambda t: ["render", str(CONFIG), "-o", str(t / "missing" / "dir" / "t.json")], 2,
        "no such folder"),
    "render: -o is a folder": (lambda t: ["render", str(CONFIG), "-o", str(t)], 2,
                               "is a folder, expected a file name"),
    "render: -o under a file": (
        lambda t: ["render", str(CONFIG), "-o", str(_file(t, "f") / "t.json")], 2,
        "is not a folder"),
    "render: -o full device": (lambda t: ["render", str(CONFIG), "-o", "/dev/full"], 2,
                               "cannot write"),
    "validate: missing config": (lambda t: ["validate", str(t / "nope.yaml")], 2,
                                 "file not found"),
    "validate: not YAML": (lambda t: ["validate", str(_file(t, "bad.yaml", "a: [\n"))], 2,
                           "invalid YAML"),
    "validate: unknown region": (lambda t: ["validate", str(CONFIG), "--region", "mars-1"],
                                 2, "--region mars-1: not an AWS region"),
    "package: -o is a file": (lambda t: ["package", str(CONFIG), "-o", str(README)], 2,
                              "is a file, expected a folder"),
    "package: handlers/ is a file": (
        lambda t: ["package", str(CONFIG), "-o", str(_file(t, "dist/handlers").parent)], 2,
        "is a file, expected a folder"),
    "diff: missing OLD": (lambda t: ["diff", str(t / "deployed.json")], 2, "file not found"),
    "diff: no committed template": (lambda t: ["diff"], 2,
                                    "templates/pipeline.json: file not found"),
    "diff: unparseable": (lambda t: ["diff", str(_file(t, "d.json", '{"Resources":'))], 2,
                          "neither JSON"),
    "diff: neither template nor config": (lambda t: ["diff", str(_file(t, "d.yaml", "a: 1"))],
                                          2, "neither a CloudFormation template"),
    "diff: NEW and --config": (lambda t: ["diff", str(CONFIG), str(CONFIG), "--config",
                                          str(CONFIG)], 2, "give NEW or --config, not both"),
    "diff: bad config as NEW": (
        lambda t: ["diff", str(CONFIG), str(_file(t, "p.yaml", "name: demo\nschema: s.json\n"))],
        2, "p.yaml:2:9: schema: "),
    "graph: missing config": (lambda t: ["graph", str(t / "nope.yaml")], 2, "file not found"),
    "run: nothing to run": (lambda t: ["run"], 2, "required: FILE.csv"),
    "run: only the config": (lambda t: ["run", str(CONFIG)], 2,
                             "is a config; say which CSV file to run"),
    "run: swapped": (lambda t: ["run", str(SAMPLE), str(CONFIG)], 2,
                     "give the config first, then the CSV file"),
    "run: two configs": (lambda t: ["run", str(CONFIG), str(CONFIG)], 2,
                         "is a config, not a CSV file"),
    "run: missing CSV": (lambda t: ["run", str(CONFIG), str(t / "missing.csv")], 2,
                         "no such file"),
    "run: CSV is a folder": (lambda t: ["run", str(CONFIG), str(t)], 2, "is a directory"),
    "run: wrong suffix": (lambda t: ["run", str(CONFIG), str(README)], 2,
                          "only picks up files ending with '.csv'"),
    "run: workdir is a file": (
        lambda t: ["run", str(CONFIG), str(SAMPLE), "--workdir", str(README)], 2,
        "is a file, expected a folder"),
    "run: workdir bucket is a file": (
        lambda t: ["run", str(CONFIG), str(SAMPLE), "--workdir",
                   str(_file(t, "work/bucket").parent)], 2, "is a file, expected a folder"),
    "run: workdir status store is not one": (
        lambda t: ["run", str(CONFIG), str(SAMPLE), "--workdir",
                   str(_file(t, "work/status.sqlite3", "garbage" * 100).parent)], 2,
        "is not a status store"),
    "run: workers 0": (lambda t: ["run", str(CONFIG), str(SAMPLE), "--workers", "0"], 2,
                       "--workers must be at least 1"),
    "run: workers text": (lambda t: ["run", str(CONFIG), str(SAMPLE), "--workers", "many"], 2,
                          "invalid int value: 'many'"),
    "run: negative retry scale": (
        lambda t: ["run", str(CONFIG), str(SAMPLE), "--retry-scale", "-1"], 2,
        "--retry-scale must be a number of at least 0"),
    "run: retry scale nan": (
        lambda t: ["run", str(CONFIG), str(SAMPLE), "--retry-scale", "nan"], 2,
        "--retry-scale must be a number of at least 0"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_bad_argument_gives_one_line_and_its_exit_code(
        case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    build, expected_code, fragment = CASES[case]
    if case.endswith("full device") and not Path("/dev/full").exists():
        pytest.skip("no /dev/full here")
    monkeypatch.chdir(tmp_path)
    argv = build(tmp_path)
    code, _out, err = invoke(argv, capsys)
    lines = err.strip().splitlines()
    assert "Traceback" not in err
    assert (code, len(lines)) == (expected_code, 1), err
    assert fragment in lines[0]
    assert not (tmp_path / ".etlgen").exists(), "a refused run must not create its work folder"


def test_the_installed_command_prints_no_traceback(tmp_path: Path) -> None:
    """The console script itself, as the quick start installs it."""
    result = subprocess.run([str(ETLGEN), "render", str(CONFIG), "-o",
                             str(tmp_path / "missing" / "t.json")],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"etlgen: -o {tmp_path / 'missing' / 't.json'}: {tmp_path / 'missing'}: no such folder"]


@pytest.mark.parametrize("rows, expected_code", [
    (["TX1000000001,AC00000001,2024-03-27,12.30,EUR,Corner Grocery,other"], 0),
    (["TX1,AC1,2024-13-27,12.345,EUR,Corner Grocery,other"] * 3, 1),  # over the reject rate
])
def test_the_installed_command_run_ends_with_its_whole_report(
        tmp_path: Path, rows: list[str], expected_code: int) -> None:
    """`etlgen run` ends without the interpreter's teardown: its report, written to a pipe,
    must still come out whole, with the run's exit status."""
    csv = tmp_path / "sample.csv"
    header = (ROOT / "samples" / "transactions.csv").read_text().splitlines()[0]
    csv.write_text("\n".join([header, *rows]) + "\n")
    buffered = {name: value for name, value in os.environ.items()
                if name != "PYTHONUNBUFFERED"}  # as a pipe's output usually is
    result = subprocess.run([str(ETLGEN), "run", str(CONFIG), str(csv), "--workdir",
                             str(tmp_path / "work"), "--json"], env=buffered,
                            capture_output=True, text=True, check=False, timeout=300)
    assert result.returncode == expected_code, result.stderr
    report = json.loads(result.stdout)
    assert report["rows_in"] == len(rows)
    assert report["status"] == ("SUCCEEDED" if expected_code == 0 else "FAILED")
    assert "Traceback" not in result.stderr
    if expected_code:
        assert result.stderr.strip().splitlines()[-1].startswith(f"etlgen: {csv} failed: ")


def test_version_is_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = invoke(["--version"], capsys)
    assert (code, out.strip()) == (0, f"etlgen {importlib.metadata.version('etlgen')}")


def _all_parsers(parser: argparse.ArgumentParser, path: str = "etlgen"
                 ) -> list[tuple[str, argparse.ArgumentParser]]:
    found = [(path, parser)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                found.extend(_all_parsers(child, f"{path} {name}"))
    return found


def test_every_command_argument_and_option_has_help() -> None:
    missing = []
    for path, parser in _all_parsers(cli._parser()):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                listed = {choice.dest for choice in action._choices_actions if choice.help}
                missing.extend(f"{path} {name}" for name in action.choices if name not in listed)
            elif not action.help or action.help == argparse.SUPPRESS:
                missing.append(f"{path} {'/'.join(action.option_strings) or action.dest}")
    assert not missing, f"no help text: {missing}"


def test_every_command_prints_its_help(capsys: pytest.CaptureFixture[str]) -> None:
    for path, _parser in _all_parsers(cli._parser()):
        code, out, _ = invoke([*path.split()[1:], "--help"], capsys)
        assert code == 0 and out.startswith("usage: " + path)


@pytest.mark.parametrize("form", ["csv only", "config and csv"])
def test_run_takes_the_config_or_defaults_to_pipeline_yaml(
        form: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(ROOT)  # where pipeline.yaml is; every output goes to tmp_path
    csv = Path("samples") / "transactions.csv"
    argv = ["run", str(csv)] if form == "csv only" else ["run", "pipeline.yaml", str(csv)]
    code, out, err = invoke([*argv, "--workdir", str(tmp_path / "work"), "--workers", "1",
                             "--retry-scale", "0", "--json"], capsys)
    assert code == 0, err
    summary = json.loads(out)
    assert summary["status"] == "SUCCEEDED" and summary["rows_in"] > 0
    assert summary["key"] == "incoming/transactions.csv"
