"""The benchmark's contenders do the same validation as etlgen: on every variant file, and on
a file of CSV corner cases, DuckDB and polars keep exactly the rows etlgen keeps (the same
valid rows with the same typed values) and reject the same number."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from benchmarks.compare import Cell
from benchmarks.contenders import CONTENDERS, REFERENCE
from benchmarks.contenders.counts import Counts
from benchmarks.generate import HEADER, variant
from benchmarks.run import parser, process_targets
from handlers.lineage import LINEAGE_NAMES

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((ROOT / "schemas" / "transactions.schema.json").read_text())
VALIDATING = [name for name, c in CONTENDERS.items() if c.validates and name != REFERENCE]

CORNER_CASES = HEADER + "".join(line + "\n" for line in [
    "TX0000000001,AC00000001,2024-01-31,12.30,USD,Corner Grocery,groceries",
    "",  # an empty line between records is no record
    'TX0000000002,AC00000002,2024-02-29,-0.50,EUR,"Farmers Market\n\nStall 12, North",other',
    'TX0000000003,AC00000003,2024-03-01,7,GBP,"Joe\'s ""Famous"", Pizza",dining',
    'TX0000000004,AC00000004,2024-03-02,1.10,JPY,"",',  # quoted empty merchant, no category
    "TX0000000005,AC00000005,2024-03-03,1.00,CHF,Acme,travel,",  # one empty field too many
    "TX0000000006,AC00000006,2024-03-04,1.00,CHF,Acme,travel,,",  # two
    "TX0000000007,AC00000007,2024-03-05,1.00,CHF,Acme",  # too few fields
    "TX0000000008,AC00000008,2024-03-06,1.00,CHF,Acme,",  # empty category: valid
    "TX0000000009,AC00000009,2024-03-07,1000000.00,AUD,Acme,health",  # on the bound
    "TX0000000010,AC00000010,2024-03-08,1000000.001,AUD,Acme,health",
    "TX0000000011,AC00000011,2024-03-09,2.500,CAD,Acme,health",  # trailing zeros
    "TX0000000012,AC00000012,2024-03-10,+3.5,CAD,Acme,health",
    "TX0000000013,AC00000013,0000-01-01,1.00,CAD,Acme,health",
    "TX0000000014,AC00000014,2024-04-31,1.00,CAD,Acme,health",
    'TX0000000015,AC00000015,2024-03-11,1.00,CAD,"' + "é" * 100 + '",health',  # 100 chars
    'TX0000000016,AC00000016,2024-03-12,1.00,CAD,"' + "é" * 101 + '",health',
    "TX0000000017,AC00000017,2024-03-13,,CAD,Acme,health",
    "TX0000000018,AC00000018,2024-03-14,1.00,,Acme,health",
    "TX0000000019,AC00000019,2024-03-15,1.00,usd,Acme,health",
    'TX0000000020,AC00000020,2024-03-16,1.00,USD,"unclosed, then, closed",Misc',
    "TX0000000021,AC00000021,2024-03-17,1.5e1,USD,Acme,other",  # an exponent, 2 decimals
    "TX0000000022,AC0000002X,2024-03-18,1.00,USD,Acme,other",
])


def _run(name: str, csv_path: Path, out: Path) -> tuple[Counts, Counter[tuple[Any, ...]]]:
    out.mkdir()
    counts = CONTENDERS[name].load()(csv_path, out, SCHEMA)
    valid = pq.read_table(out / "valid.parquet")
    if name == REFERENCE:  # measured as pipeline.yaml runs it: with the lineage columns
        assert tuple(valid.column_names[len(SCHEMA["properties"]):]) == LINEAGE_NAMES
    rows = valid.select(list(SCHEMA["properties"])).to_pylist()
    return counts, Counter(tuple(row.values()) for row in rows)


def _agree(csv_path: Path, tmp_path: Path) -> Counts:
    pytest.importorskip("duckdb")
    pytest.importorskip("polars")
    expected, expected_rows = _run(REFERENCE, csv_path, tmp_path / REFERENCE)
    assert expected.rows_valid == sum(expected_rows.values())
    for name in VALIDATING:
        counts, rows = _run(name, csv_path, tmp_path / name)
        assert counts == expected, name
        assert rows == expected_rows, f"{name} keeps other rows than etlgen"
    return expected


@pytest.mark.parametrize("percent", [1, 50, 100])
def test_contenders_keep_and_reject_the_rows_etlgen_does(percent: int, tmp_path: Path) -> None:
    csv_path = variant(tmp_path / f"variant-{percent}.csv", 300_000, percent)
    counts = _agree(csv_path, tmp_path)
    assert counts.rows_rejected is not None
    share = counts.rows_rejected / counts.rows_in
    assert percent / 100 * 0.8 <= share <= min(1.0, percent / 100 * 1.25), share


def test_contenders_agree_on_csv_corner_cases(tmp_path: Path) -> None:
    csv_path = tmp_path / "corner.csv"
    csv_path.write_text(CORNER_CASES, encoding="utf-8", newline="")
    counts = _agree(csv_path, tmp_path)
    assert counts == Counts(rows_in=22, rows_valid=10, rows_rejected=12)


def test_an_all_invalid_file_breaks_every_column_and_the_row_shape(tmp_path: Path) -> None:
    csv_path = variant(tmp_path / "variant-100.csv", 300_000, 100)
    out = tmp_path / "out"
    out.mkdir()
    CONTENDERS[REFERENCE].load()(csv_path, out, SCHEMA)
    fields = {error["field"] for line in (out / "rejected.jsonl").read_text().splitlines()
              for error in json.loads(line)["errors"]}
    assert fields == {*SCHEMA["properties"], None}  # None: wrong number of fields


@pytest.mark.parametrize("bad", ["1,x", "150", "", "-1"])
def test_variants_must_be_percentages(bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        parser().parse_args(["--variants", bad])
    assert stop.value.code == 2
    assert "--variants" in capsys.readouterr().err


def test_run_level_measures_start_from_compiled_sources(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A fresh `etlgen run` is timed as an installed package runs: its modules byte-compiled,
    even where the shell sets PYTHONDONTWRITEBYTECODE."""
    from benchmarks import run_level
    for package in ("etlgen", "handlers"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "mod.py").write_text("VALUE = 1\n")
    monkeypatch.setattr(run_level, "ROOT", tmp_path)
    run_level.compile_sources()
    for package in ("etlgen", "handlers"):
        assert list((tmp_path / package / "__pycache__").glob("mod.*.pyc"))


def test_lambda_init_is_timed_from_the_deployed_sources_compiling_them(tmp_path: Path) -> None:
    """The handlers zip holds sources only, so a cold start compiles what it imports: the
    measure runs from exactly the zip's files and fails if bytecode was found instead."""
    import zipfile
    from io import BytesIO

    from benchmarks import run_level
    from etlgen.config import load_config
    from etlgen.packaging import build_package

    code = run_level.deployed_code(tmp_path)
    zipped = zipfile.ZipFile(BytesIO(build_package(load_config(run_level.CONFIG)).data))
    written = sorted(p.relative_to(code).as_posix() for p in code.rglob("*") if p.is_file())
    assert written == sorted(zipped.namelist())
    assert not [name for name in written if name.endswith(".pyc")]
    init = run_level.lambda_init(1, 2)
    assert init["seconds"] > 0 and init["pandas"] is False and init["boto3"] is False


def test_the_targets_are_set_against_the_contenders_of_the_same_run() -> None:
    """Absolute speeds move with the host; the 1 % target also reads as a ratio to
    pyarrow's parse measured beside it, and the rivals' speeds are this run's."""
    def cell(contender: str, percent: float, seconds: float, rss: float = 300) -> Cell:
        return Cell(contender, percent, 100_000_000,
                    [{"seconds": seconds, "peak_rss_mib": rss}])

    lines = process_targets([cell(REFERENCE, 1, 0.8), cell("pyarrow-parse", 1, 0.5),
                             cell("polars", 1, 1.0), cell(REFERENCE, 100, 2.0, rss=450),
                             cell("pyarrow-parse", 100, 4.0), cell("polars", 100, 1.0)])
    assert lines == [
        "- 1 % invalid: 125 MB/s, target ≥ 200: no; peak RSS 300 MiB, target ≤ 400 MiB: yes",
        "  - within 2x the time of pyarrow's parse of the same bytes (200 MB/s): 1.60x, yes",
        "  - faster than polars, same validation (100 MB/s): yes",
        "- 100 % invalid: 50 MB/s, target ≥ 100: no; peak RSS 450 MiB, target ≤ 400 MiB: no",
        "  - faster than polars, same validation (100 MB/s): no",
    ]
