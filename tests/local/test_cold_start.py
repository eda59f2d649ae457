"""What a cold start loads and what a run leaves behind, checked on modules, processes and
files (never on time): a Lambda init and a local run load no AWS SDK and no pandas, workers
end with their run and keep their exit status and last output, a refused
run stops the worker it started early, the status file is whole after a run."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from etlgen.asl import TaskCall
from etlgen.cli import main
from etlgen.config import load_config
from etlgen.local.pool import LambdaPool
from etlgen.local.runner import WorkFolder, handler_environment, run_file
from etlgen.local.worker import WorkerContext, WorkerSpec
from handlers.status import SqliteStatusStore

from .csv_samples import CHUNK_BYTES, ROOT, transaction_rows
from .pool_target import write_a_partial_line_and_exit

TARGETS = __name__.rpartition(".")[0]
SDK = ("boto3", "botocore")


def _python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    """A fresh interpreter, as a Lambda container or `etlgen run` starts one."""
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], cwd=ROOT,
                          capture_output=True, text=True, check=False, timeout=300)


def test_a_lambda_init_loads_neither_the_aws_sdk_nor_pandas() -> None:
    """Lambda imports the handler module (the process module warms pyarrow up at import);
    boto3 loads only when `Deps.from_env` builds the AWS back ends, on the first event.
    Nor does it load `pyarrow.compute` (`handlers.arrow_compute`) or `numpy.ma`
    (`handlers.arrays`)."""
    result = _python("""
        import json, sys
        import handlers.process, handlers.validate, handlers.split, handlers.finalize
        print(json.dumps(sorted(name for name in ("boto3", "botocore", "pandas",
                                                  "pyarrow.compute", "numpy.ma")
                                if name in sys.modules)))
    """)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


def test_a_lambda_init_compiles_no_local_back_end() -> None:
    """The deployed code holds sources only, so a cold start compiles every module it
    imports: the SQLite status store, the local object store and the catalogs (the local
    ones never run on AWS, Glue only where finalize registers files) load on first use."""
    result = _python("""
        import json, sys
        import handlers.process, handlers.validate, handlers.split, handlers.finalize
        print(json.dumps(sorted(name for name in (
            "sqlite3", "handlers.status.sqlite", "handlers.catalog.local",
            "handlers.catalog.glue", "handlers.local_objects") if name in sys.modules)))
    """)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="counts threads in /proc")
def test_the_warm_up_starts_no_thread() -> None:
    """Arrow's thread pool, started at import, would have threads to stop when the
    interpreter exits: a warm-up has no use for them."""
    result = _python("""
        import os
        import numpy, pyarrow, pyarrow.compute, pyarrow.csv, pyarrow.parquet
        before = len(os.listdir("/proc/self/task"))
        import handlers.process
        print(len(os.listdir("/proc/self/task")) - before)
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "0"


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="counts threads in /proc")
def test_a_lambda_init_starts_no_blas_threads() -> None:
    """numpy's OpenBLAS would start a thread per core that spins ~0.1 s of CPU at every
    cold start; the handlers never call BLAS, so importing them keeps it to one thread
    (the same threads as with OPENBLAS_NUM_THREADS=1), unless the environment sets it."""
    code = """
        import os
        import handlers.process
        print(len(os.listdir("/proc/self/task")), os.environ["OPENBLAS_NUM_THREADS"])
    """
    clean = {name: value for name, value in os.environ.items()
             if name not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "GOTO_NUM_THREADS")}

    def threads(**env: str) -> list[str]:
        result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT,
                                capture_output=True, text=True, check=False, timeout=300,
                                env={**clean, **env})
        assert result.returncode == 0, result.stderr
        return result.stdout.split()

    assert threads() == threads(OPENBLAS_NUM_THREADS="1")
    assert threads(OPENBLAS_NUM_THREADS="2")[1] == "2"


# pyarrow 18 (the Lambda layer's) tries its C++ side's import of pandas again at each
# conversion, so the warm-up's answer (`handlers.pandas_probe`) holds from a later pyarrow.
PROBE_HOLDS = int(pa.__version__.split(".")[0]) >= 26


# Rows refused for each check the transactions schema makes, and rows of the wrong shape.
REFUSED_ROWS = [
    "TX99999999,AC00000001,2024-01-05,1.00,EUR,Shop,groceries",
    "TX9999999901,AC1,2024-01-05,1.00,EUR,Shop,groceries",
    "TX9999999902,AC00000001,2024-02-30,1.00,EUR,Shop,groceries",
    "TX9999999903,AC00000001,2024-01-05,1.005,EUR,Shop,groceries",
    "TX9999999904,AC00000001,2024-01-05,ten,EUR,Shop,groceries",
    "TX9999999905,AC00000001,2024-01-05,2000000,EUR,Shop,groceries",
    "TX9999999906,AC00000001,2024-01-05,1.00,EUR," + "M" * 101 + ",groceries",
    "TX9999999907,AC00000001,2024-01-05,1.00,EUR,Shop,toys",
    "TX9999999908,,2024-01-05,1.00,EUR,Shop,groceries",
    "TX9999999909,AC00000001,2024-01-05,1.00,EUR,Shop",
    "TX9999999910,AC00000001,2024-01-05,1.00,EUR,Shop,groceries,extra",
]


@pytest.mark.parametrize("modules", [
    SDK, pytest.param(("pandas",), marks=pytest.mark.skipif(
        not PROBE_HOLDS, reason="this pyarrow imports pandas at its first conversion")),
    pytest.param(("pyarrow.compute", "numpy.ma"), marks=pytest.mark.skipif(
        not PROBE_HOLDS, reason="this pyarrow imports pandas at its first conversion, "
                                "and pandas imports these"))],
    ids=["aws-sdk", "pandas", "pyarrow-compute-and-numpy-ma"])
def test_a_local_run_loads_neither_the_aws_sdk_nor_pandas(
        pipeline_yaml: Path, write_csv: Any, tmp_path: Path, modules: tuple[str, ...]) -> None:
    """The runner and the handlers with their local back ends, in one process: the worker's
    own dispatch (`invoke`) runs each call here, so the run's every import is seen. pyarrow
    looks for pandas at its first conversion of values: the warm-up answers that probe, so
    processing chunks imports no pandas either. Nor `pyarrow.compute` (40-60 ms: the
    handlers call Arrow's kernels through `handlers.arrow_compute`) or `numpy.ma` (15-20 ms:
    they make Arrow arrays of NumPy ones with `handlers.arrays.from_numpy`), along the paths
    of every check and every kind of refused row."""
    csv = write_csv(rows=[*transaction_rows(300, 25), *REFUSED_ROWS])
    out = tmp_path / "loaded.json"
    result = _python("""
        import json, sys
        from pathlib import Path
        from etlgen.asl import StatesError
        from etlgen.config import load_config
        from etlgen.local import worker
        from etlgen.local.runner import run_file

        class InProcessPool:
            restarts = 0
            workers = 1
            spec = None

            def start(self, count=None):
                pass

            def close(self):
                pass

            def __call__(self, module, event, call):
                status, value, cause = worker.invoke(self.spec, module, event, call.state)
                if status == "error":
                    raise StatesError(value, cause)
                return value

        config, csv, workdir, out, modules = sys.argv[1:]
        report = run_file(load_config(config), Path(csv), Path(workdir), workers=1,
                          retry_scale=0, chunk_size_bytes=2048, pool=InProcessPool())
        Path(out).write_text(json.dumps({
            "status": report.status, "chunks": report.chunks_done,
            "rejected": report.rows_rejected,
            "loaded": sorted(name for name in modules.split(",") if name in sys.modules),
        }))
    """, str(pipeline_yaml), str(csv), str(tmp_path / "work"), str(out), ",".join(modules))
    assert result.returncode == 0, result.stderr
    seen = json.loads(out.read_text())
    assert seen["status"] == "SUCCEEDED" and seen["chunks"] > 1
    assert seen["rejected"] == 12 + len(REFUSED_ROWS)
    assert seen["loaded"] == []


def test_the_runners_own_process_loads_neither_pyarrow_nor_numpy(tmp_path: Path) -> None:
    """`etlgen run` reads the config and drives the state machine while its first worker
    imports the handlers; its own process needs neither library, so it is ready sooner and
    leaves the cores to the worker's imports."""
    result = _python("""
        import json, sys
        from etlgen.cli import main
        from etlgen.config import load_config
        load_config("pipeline.yaml")
        after_config = sorted(name for name in ("numpy", "pyarrow") if name in sys.modules)
        code = main(["run", "pipeline.yaml", "samples/transactions.csv", "--workdir",
                     sys.argv[1], "--workers", "1", "--json"])
        print(json.dumps({"code": code, "after_config": after_config, "after_run": sorted(
            name for name in ("numpy", "pyarrow") if name in sys.modules)}))
    """, str(tmp_path / "work"))
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.splitlines()[-1])
    assert seen == {"code": 0, "after_config": [], "after_run": []}


def _children() -> set[int]:
    """This process's child processes (zombies included), but multiprocessing's resource
    tracker, which serves every pool of the process and stays."""
    pids: set[int] = set()
    for task in Path("/proc/self/task").iterdir():
        pids.update(int(pid) for pid in (_read(task / "children") or b"").split())
    return {pid for pid in pids if _counted(pid)}


def _counted(pid: int) -> bool:
    """Still there, and not the resource tracker."""
    command = _read(f"/proc/{pid}/cmdline")
    return command is not None and b"resource_tracker" not in command


def _read(path: Path | str) -> bytes | None:
    """A /proc file; None when its thread or process ended since it was listed (a pool's
    threads and processes come and go while the run goes on): a child gone is no child."""
    try:
        return Path(path).read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return None


needs_proc = pytest.mark.skipif(not Path("/proc/self/task").is_dir(),
                                reason="lists child processes through /proc")


@needs_proc
def test_no_worker_process_outlives_a_run(pipeline_yaml: Path, write_csv: Any,
                                          tmp_path: Path) -> None:
    csv = write_csv()
    before = _children()
    during: list[set[int]] = []

    def listen(event: dict[str, Any]) -> None:
        if event.get("type") == "TaskStateEntered" and not during:
            during.append(_children() - before)

    report = run_file(load_config(pipeline_yaml), csv, tmp_path / "work", workers=2,
                      retry_scale=0, chunk_size_bytes=CHUNK_BYTES, listener=listen)
    assert report.status == "SUCCEEDED" and report.chunks_done > 2
    assert during and during[0], "the run had worker processes"
    assert _children() - before == set()


@needs_proc
def test_etlgen_run_ends_its_workers_and_its_handlers_write_to_their_log(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capfd: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(ROOT)
    before = _children()
    code = main(["run", "pipeline.yaml", "samples/transactions.csv", "--workdir",
                 str(tmp_path / "work"), "--workers", "2", "--retry-scale", "0"])
    captured = capfd.readouterr()
    assert code == 0, captured.err
    assert _children() - before == set()
    logged = [json.loads(line)["message"]
              for line in (tmp_path / "work" / "handlers.log").read_text().splitlines()]
    assert {"header accepted", "chunk processed", "file completed"} <= set(logged)
    assert "chunk processed" not in captured.out + captured.err


@needs_proc
def test_a_refused_run_stops_the_worker_it_started(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    before = _children()
    not_a_folder = tmp_path / "work"
    not_a_folder.write_text("a file")
    code = main(["run", "pipeline.yaml", "samples/transactions.csv", "--workdir",
                 str(not_a_folder)])
    assert code == 2
    assert _children() - before == set()


def test_a_pool_that_never_ran_a_call_stops_its_workers_without_waiting() -> None:
    """The worker is still importing (its preload never finishes): closing the pool ends it
    by a signal instead of waiting for the import."""
    pool = LambdaPool(None, workers=1, preload=(f"{TARGETS}.slow_import_target",))
    pool.start()
    [process] = pool.processes
    pool.close()
    assert process.exitcode == -signal.SIGTERM


def test_a_worker_process_keeps_its_exit_status_and_its_last_output(
        capfd: pytest.CaptureFixture[str]) -> None:
    """Workers end with `os._exit`, skipping the interpreter teardown, not the flush."""
    process = WorkerContext().Process(target=write_a_partial_line_and_exit, args=(3,))
    process.start()
    process.join(timeout=120)
    assert process.exitcode == 3
    assert "the last words, without a line break" in capfd.readouterr().out


def test_the_early_worker_takes_the_log_of_its_first_call(tmp_path: Path) -> None:
    """Started before the run has a work folder, a worker writes nothing until its first
    call names the log, then writes there."""
    pool = LambdaPool(None, workers=1)
    pool.start()
    try:
        config = load_config(ROOT / "tests" / "configs" / "minimal.yaml")
        folder = WorkFolder(tmp_path)
        pool.spec = WorkerSpec(
            environment=tuple(sorted(handler_environment(config, folder).items())),
            bucket_root=str(folder.bucket), status_path=str(folder.status), queue_path="",
            schema_json=json.dumps(config.schema), log_path=str(folder.logs))
        result = pool(f"{TARGETS}.pool_target", {"say": "hello from the worker"},
                      TaskCall("Work", "arn:local", 0))
        assert result["pid"] != os.getpid()
    finally:
        pool.close()
    assert "hello from the worker" in folder.logs.read_text()


def test_after_a_run_the_status_file_alone_holds_every_item(
        pipeline_yaml: Path, write_csv: Any, tmp_path: Path) -> None:
    """The store keeps its connections open during the run; the last one to close folds
    SQLite's write-ahead log back, so no `-wal` file holds items the copy would miss."""
    report = run_file(load_config(pipeline_yaml), write_csv(), tmp_path / "work", workers=2,
                      retry_scale=0, chunk_size_bytes=CHUNK_BYTES)
    assert report.status == "SUCCEEDED"
    assert sorted(path.name for path in (tmp_path / "work").glob("status.sqlite3*")) == [
        "status.sqlite3"]
    copy = tmp_path / "copy.sqlite3"
    shutil.copyfile(tmp_path / "work" / "status.sqlite3", copy)
    store = SqliteStatusStore(copy)
    try:
        file_id = f"{report.key}#{report.version_id}"
        assert (store.get_file(file_id) or {}).get("status") == "COMPLETED"
        assert len(store.list_chunks(file_id)) == report.chunks_done
    finally:
        store.close()
