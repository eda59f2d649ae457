"""Staging the source file into the local bucket: a snapshot, never a temporary left behind;
and how the run shares the machine's cores among its workers."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from etlgen.cli import main
from etlgen.config import load_config
from etlgen.local import cli as local_cli
from etlgen.local import runner, staging
from etlgen.local.errors import RunInputError
from etlgen.local.runner import process_threads, stage_source
from etlgen.local.worker import WorkerSpec


def _names(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


@pytest.fixture(params=["kernel copy", "kernel copy refused", "no kernel copy"])
def copy_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every way of copying: copy_file_range, its fallback, and systems without it."""
    if request.param == "kernel copy refused":
        def cross_device(*_args: object) -> int:
            raise OSError(18, "Invalid cross-device link")
        monkeypatch.setattr(os, "copy_file_range", cross_device)
    elif request.param == "no kernel copy":
        monkeypatch.delattr(os, "copy_file_range", raising=False)
    return str(request.param)


def test_the_staged_object_is_a_snapshot_with_a_content_version(
        pipeline_yaml: Path, write_csv: Callable[..., Path], tmp_path: Path,
        copy_path: str) -> None:
    csv = write_csv()
    config = load_config(pipeline_yaml)
    key, version_id, size = stage_source(csv, config, tmp_path / "bucket")
    staged = tmp_path / "bucket" / key
    original = csv.read_bytes()
    assert staged.read_bytes() == original and size == len(original)
    assert hashlib.sha256(original).hexdigest().startswith(version_id)
    assert not staged.samefile(csv)

    with csv.open("a") as source:  # the source goes on growing after the run
        source.write("TX9999999999,AC00000001,2024-01-01,1.00,EUR,late,groceries\n")
    assert staged.read_bytes() == original
    assert _names(staged.parent) == [csv.name], "no temporary left behind"


def test_staging_again_replaces_the_object_and_leaves_no_temporary(
        pipeline_yaml: Path, write_csv: Callable[..., Path], tmp_path: Path,
        copy_path: str) -> None:
    csv = write_csv()
    config = load_config(pipeline_yaml)
    first = stage_source(csv, config, tmp_path / "bucket")
    assert stage_source(csv, config, tmp_path / "bucket") == first
    csv.write_text(csv.read_text() + csv.read_text().splitlines()[1] + "\n")
    key, version_id, size = stage_source(csv, config, tmp_path / "bucket")
    assert version_id != first[1] and size == csv.stat().st_size
    assert (tmp_path / "bucket" / key).read_bytes() == csv.read_bytes()
    assert _names((tmp_path / "bucket" / key).parent) == [csv.name]


def test_a_source_that_changes_while_staging_is_refused(
        pipeline_yaml: Path, write_csv: Callable[..., Path], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    csv = write_csv()
    copy = staging._kernel_copy

    def copy_then_append(source: int, out: int) -> int:
        copied = copy(source, out)
        with csv.open("a") as writer:
            writer.write("more\n")
        return copied

    monkeypatch.setattr(staging, "_kernel_copy", copy_then_append)
    with pytest.raises(RunInputError, match="changed while it was being staged"):
        stage_source(csv, load_config(pipeline_yaml), tmp_path / "bucket")
    assert _names(tmp_path / "bucket" / "incoming") == []


def test_an_interrupted_staging_leaves_nothing(
        pipeline_yaml: Path, write_csv: Callable[..., Path], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(_source: int, _out: int) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(staging, "_kernel_copy", interrupted)
    with pytest.raises(KeyboardInterrupt):
        stage_source(write_csv(), load_config(pipeline_yaml), tmp_path / "bucket")
    assert _names(tmp_path / "bucket" / "incoming") == []


def test_temporaries_of_killed_runs_and_old_hard_links_are_cleared(
        pipeline_yaml: Path, write_csv: Callable[..., Path], tmp_path: Path) -> None:
    csv = write_csv()
    incoming = tmp_path / "bucket" / "incoming"
    incoming.mkdir(parents=True)
    os.link(csv, incoming / ".incoming-linked")  # what earlier versions left on every re-run
    (incoming / ".incoming-killed").write_text("half a file")
    old = time.time() - 2 * staging.STALE_TEMPORARY_SECONDS
    os.utime(incoming / ".incoming-killed", (old, old))
    (incoming / ".incoming-busy").write_text("another run staging right now")
    stage_source(csv, load_config(pipeline_yaml), tmp_path / "bucket")
    assert _names(incoming) == [".incoming-busy", csv.name]


def test_rerunning_after_the_source_grew_processes_the_new_version(
        pipeline_yaml: Path, write_csv: Callable[..., Path], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    csv = write_csv()
    args = ["run", str(pipeline_yaml), str(csv), "--workdir", str(tmp_path / "work"),
            "--workers", "1", "--retry-scale", "0"]
    assert main(args) == 0
    assert main(args) == 0
    assert "already processed" in capsys.readouterr().out
    incoming = tmp_path / "work" / "bucket" / "incoming"
    staged = (incoming / csv.name).read_bytes()
    with csv.open("a") as source:
        source.write(csv.read_text().splitlines()[1] + "\n")
    assert (incoming / csv.name).read_bytes() == staged
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "already processed" not in out and "SUCCEEDED" in out
    assert (incoming / csv.name).read_bytes() == csv.read_bytes()
    assert _names(incoming) == [csv.name]


@pytest.mark.parametrize(("workers", "chunks", "threads"), [
    (2, 15, 2), (4, 15, 1), (8, 40, 1), (2, 1, 4), (1, 9, 4), (3, 15, 1)])
def test_workers_share_the_cores_among_their_piece_threads(
        monkeypatch: pytest.MonkeyPatch, workers: int, chunks: int, threads: int) -> None:
    """On 4 cores: workers running chunks side by side split them (a file of one chunk runs
    on one worker, which gets them all); never fewer than one thread."""
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 1, 2, 3}, raising=False)
    assert process_threads(workers, chunks) == threads


def test_the_default_workers_are_the_cores_the_run_may_use(
        pipeline_yaml: Path, write_csv: Callable[..., Path], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Without --workers, a run confined to one core of eight (a `taskset`, a container's
    cpuset) starts one worker, not eight that would only contend for it."""
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {3}, raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    started: list[int] = []
    pool = local_cli.LambdaPool

    def recording(handlers: Any, workers: int, **options: Any) -> Any:
        started.append(workers)
        return pool(handlers, workers, **options)

    monkeypatch.setattr(local_cli, "LambdaPool", recording)
    assert main(["run", str(pipeline_yaml), str(write_csv()), "--workdir",
                 str(tmp_path / "w"), "--retry-scale", "0"]) == 0
    assert started == [1]


def test_the_workers_are_told_their_share_of_the_cores(
        pipeline_yaml: Path, write_csv: Callable[..., Path], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The run passes PROCESS_THREADS to the handlers: with two workers and two chunks on
    2 cores, each process step checks one piece at a time."""
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 1}, raising=False)
    seen: list[dict[str, str]] = []
    spec = WorkerSpec

    def recording(**fields: Any) -> Any:
        seen.append(dict(fields["environment"]))
        return spec(**fields)

    monkeypatch.setattr(runner, "WorkerSpec", recording)
    csv = write_csv()
    monkeypatch.setenv(runner.CHUNK_SIZE_VARIABLE, str(csv.stat().st_size // 2 + 1))
    assert main(["run", str(pipeline_yaml), str(csv), "--workdir", str(tmp_path / "w"),
                 "--workers", "2", "--retry-scale", "0"]) == 0
    assert [env["PROCESS_THREADS"] for env in seen] == ["1"]
