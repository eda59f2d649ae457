"""`etlgen validate --region`: the AWS SDK for pandas layer the functions use must exist there."""

from __future__ import annotations

from pathlib import Path

import pytest
from cfnlint.helpers import REGIONS as CFN_LINT_REGIONS

from etlgen.cli import main
from etlgen.config import load_config
from etlgen.config.schema import PIPELINE_SCHEMA
from etlgen.layer_regions import RELEASES, check_layer

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_VERSION = PIPELINE_SCHEMA["properties"]["functions"]["properties"][
    "pandas_layer_version"]["default"]
RUNTIMES = PIPELINE_SCHEMA["properties"]["functions"]["properties"]["runtime"]["enum"]
ARCHITECTURES = PIPELINE_SCHEMA["properties"]["functions"]["properties"]["architecture"]["enum"]


def test_the_default_version_has_a_layer_for_every_runtime_and_architecture() -> None:
    release = RELEASES[DEFAULT_VERSION]
    for runtime in RUNTIMES:
        for architecture in ARCHITECTURES:
            for region in release.regions:
                assert check_layer(DEFAULT_VERSION, runtime, architecture, region).status == "ok"


def test_every_region_in_the_table_is_an_aws_region() -> None:
    for release in RELEASES.values():
        assert release.regions <= set(CFN_LINT_REGIONS), release.version


@pytest.mark.parametrize("region", ["ca-west-1", "ap-southeast-5", "ap-southeast-7",
                                    "mx-central-1", "ap-east-2", "us-gov-west-1",
                                    "us-gov-east-1"])
def test_3_11_0_was_not_published_in(region: str) -> None:
    assert check_layer("3.11.0", "python3.12", "arm64", region).status == "missing"


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1", "me-south-1", "cn-north-1",
                                    "ap-southeast-4", "il-central-1"])
def test_3_11_0_was_published_in(region: str) -> None:
    assert check_layer("3.11.0", "python3.13", "x86_64", region).status == "ok"


def test_newer_versions_follow_their_own_table() -> None:
    assert check_layer("3.17.0", "python3.12", "arm64", "ca-west-1").status == "ok"
    assert check_layer("3.16.0", "python3.12", "arm64", "me-south-1").status == "missing"
    assert check_layer("3.15.0", "python3.9", "arm64", "us-east-1").status == "missing"


def _validate(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["validate", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_validate_for_a_region_with_the_layer(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _validate([str(ROOT / "pipeline.yaml"), "--region", "eu-central-1"],
                               capsys)
    assert (code, err) == (0, "")
    assert "AWS SDK for pandas 3.11.0 layer for python3.12 arm64: published in eu-central-1" \
        in out


def test_validate_for_a_region_without_the_layer_exits_1_with_one_line(
        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _validate([str(ROOT / "pipeline.yaml"), "--region", "ca-west-1",
                                "--region", "eu-west-1"], capsys)
    assert code == 1
    assert out.splitlines()[-1].endswith("published in eu-west-1")
    (line,) = err.strip().splitlines()
    assert "no AWS SDK for pandas 3.11.0 layer for python3.12 arm64 in ca-west-1" in line
    assert "versions with one there: 3.16.1, 3.17.0" in line


def test_validate_cannot_check_an_unknown_version(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "pipeline.yaml"
    config.write_text(f"name: demo\nschema: {ROOT / 'schemas' / 'transactions.schema.json'}\n"
                      "functions:\n  pandas_layer_version: 3.99.0\n")
    assert load_config(config).functions.pandas_layer_version == "3.99.0"
    code, out, err = _validate([str(config), "--region", "eu-west-1"], capsys)
    assert code == 0 and "passes cfn-lint for eu-west-1" in out
    (line,) = err.strip().splitlines()
    assert "3.99.0: not in etlgen's table of published layers" in line
    assert "cannot be checked" in line


def test_validate_refuses_a_region_that_does_not_exist(
        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _validate([str(ROOT / "pipeline.yaml"), "--region", "eu-wset-1"], capsys)
    assert (code, out) == (2, "")
    assert err.strip() == ("etlgen: --region eu-wset-1: not an AWS region known to cfn-lint "
                           "(did you mean eu-west-1?)")
