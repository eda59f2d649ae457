"""Staging the source file into the local bucket."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from etlgen.config import load_config
from etlgen.local.runner import stage_source


@pytest.mark.parametrize("can_link", [True, False], ids=["hard-link", "copy"])
def test_staged_source_has_the_bytes_and_a_content_version(
        pipeline_yaml: Path, write_csv: Callable[..., Path], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, can_link: bool) -> None:
    if not can_link:
        def cross_device(*_args: object) -> None:
            raise OSError(18, "Invalid cross-device link")
        monkeypatch.setattr(os, "link", cross_device)
    csv = write_csv()
    config = load_config(pipeline_yaml)
    key, version_id, size = stage_source(csv, config, tmp_path / "bucket")
    staged = tmp_path / "bucket" / key
    assert staged.read_bytes() == csv.read_bytes()
    assert size == csv.stat().st_size
    assert hashlib.sha256(csv.read_bytes()).hexdigest().startswith(version_id)
    assert staged.samefile(csv) is can_link
    assert [p.name for p in staged.parent.iterdir()] == [csv.name], "no temporary left behind"


def test_staging_the_same_file_again_gives_the_same_version(
        pipeline_yaml: Path, write_csv: Callable[..., Path], tmp_path: Path) -> None:
    csv = write_csv()
    config = load_config(pipeline_yaml)
    first = stage_source(csv, config, tmp_path / "bucket")
    assert stage_source(csv, config, tmp_path / "bucket") == first
