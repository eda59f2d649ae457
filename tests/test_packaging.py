"""The handlers zip: reproducible bytes, a key that changes exactly with the content."""

from __future__ import annotations

import dataclasses
import io
import json
import shutil
import zipfile
from pathlib import Path

import pytest

from etlgen.config import load_config
from etlgen.environment import packaged_settings
from etlgen.model import PipelineConfig
from etlgen.packaging import build_package, handlers_directory

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def config() -> PipelineConfig:
    return load_config(ROOT / "tests" / "configs" / "minimal.yaml")


@pytest.fixture
def handlers_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "handlers"
    shutil.copytree(handlers_directory(), copy)
    (copy / "__pycache__").mkdir(exist_ok=True)
    (copy / "__pycache__" / "stale.cpython-311.pyc").write_bytes(b"compiled")
    (copy / "__pycache__" / "ghost.py").write_text("skip me\n")
    return copy


def _archive(data: bytes) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(data))


def test_same_inputs_give_the_same_bytes_and_key(config: PipelineConfig) -> None:
    first, second = build_package(config), build_package(config)
    assert first.data == second.data
    assert first.key == second.key
    assert first.key == f"handlers/etlgen-handlers-{first.sha256[:16]}.zip"


def test_entries_are_the_handlers_sources_the_schema_and_the_settings(
    config: PipelineConfig, handlers_copy: Path,
) -> None:
    archive = _archive(build_package(config, handlers_copy).data)
    names = archive.namelist()
    expected_sources = sorted(
        f"handlers/{p.relative_to(handlers_copy).as_posix()}"
        for p in handlers_copy.rglob("*.py") if "__pycache__" not in p.parts
    )
    assert names == sorted(names)
    assert names == sorted([*expected_sources, "handlers/schema.json", "handlers/settings.json"])
    assert not any("__pycache__" in name for name in names)
    assert json.loads(archive.read("handlers/schema.json")) == config.schema
    settings = archive.read("handlers/settings.json")
    assert json.loads(settings) == packaged_settings(config)
    # canonical: sorted keys, no spaces, so equal settings are equal bytes
    assert settings == json.dumps(packaged_settings(config), sort_keys=True,
                                  separators=(",", ":")).encode() + b"\n"


def test_entries_have_fixed_timestamps_modes_and_compression(config: PipelineConfig) -> None:
    for info in _archive(build_package(config).data).infolist():
        assert info.date_time == (1980, 1, 1, 0, 0, 0)
        assert info.external_attr >> 16 == 0o100644
        assert info.compress_type == zipfile.ZIP_DEFLATED


def test_a_handler_change_gives_a_new_key(config: PipelineConfig, handlers_copy: Path) -> None:
    before = build_package(config, handlers_copy)
    assert before.data == build_package(config).data  # the copy packs like the original
    init = handlers_copy / "__init__.py"
    init.write_text(init.read_text() + "# changed\n")
    assert build_package(config, handlers_copy).key != before.key


def test_a_new_handler_module_gives_a_new_key(config: PipelineConfig, handlers_copy: Path) -> None:
    before = build_package(config, handlers_copy).key
    (handlers_copy / "extra.py").write_text('"""More code."""\n')
    assert build_package(config, handlers_copy).key != before


def test_a_schema_change_gives_a_new_key(config: PipelineConfig) -> None:
    changed = dataclasses.replace(config, schema={**config.schema, "title": "Other"})
    assert build_package(changed).key != build_package(config).key


@pytest.mark.parametrize(("section", "field", "value"), [
    ("processing", "chunk_size_mb", 8), ("output", "format", "csv"),
    ("input", "delimiter", ";")])
def test_a_packaged_setting_change_gives_a_new_key(
    config: PipelineConfig, section: str, field: str, value: object,
) -> None:
    """The static settings live in the zip, not in the template: only the key's hash can
    make a deploy bring a changed one to the functions."""
    changed = dataclasses.replace(
        config, **{section: dataclasses.replace(getattr(config, section), **{field: value})})
    assert packaged_settings(changed) != packaged_settings(config)
    assert build_package(changed).key != build_package(config).key
