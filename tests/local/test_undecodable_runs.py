"""Whole `etlgen run`s over files with bytes that are not UTF-8 in a few rows at random
places: the run succeeds, exactly those rows are rejected (naming the field and the byte's
offset in the file), every other row is committed as Python's `csv` module and
`jsonschema` say over the file decoded line by line (tests/local/run_oracle.py), at random
chunk sizes, and the counts reconcile."""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path

from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from etlgen.config import load_config
from etlgen.local.runner import run_file
from tests.handlers.csv_generator import SCHEMA, GeneratedFile, csv_files
from tests.handlers.handler_rows import build_file, mixed_rows
from tests.handlers.test_undecodable_rows import assert_first_errors

from .csv_samples import ROOT
from .run_oracle import assert_exact, expected_outputs, pipeline_project

RUNS = itertools.count()
TRANSACTIONS = json.loads((ROOT / "schemas" / "transactions.schema.json").read_text())
NOT_UTF8 = [b"\xff", b"\xe9", b"\xc3\x28", b"\xed\xa0\x80", b"\xf0\x9f\x98"]


def _project(root: Path, schema: dict) -> Path:
    return pipeline_project(root, schema, name="undecodable", max_chunks=400)


def test_a_file_with_a_few_undecodable_rows_at_random_chunk_sizes(tmp_path: Path) -> None:
    rng = random.Random(20251203)
    data, _ = build_file(mixed_rows(3000, seed=11))
    data_offset = data.index(b"\n") + 1
    out = bytearray(data)
    places = [at for at in range(data_offset, len(data)) if b'"' not in data[at - 1:at + 1]]
    for at in sorted(rng.sample(places, 6), reverse=True):  # not next to a quote (RFC 4180)
        out[at:at] = rng.choice(NOT_UTF8)
    broken = bytes(out)
    config = load_config(_project(tmp_path, TRANSACTIONS))
    csv = tmp_path / "in" / "file.csv"
    csv.parent.mkdir()
    csv.write_bytes(broken)
    expected = expected_outputs(broken, TRANSACTIONS)
    for run, chunk_size in enumerate([rng.randint(500, 5000), rng.randint(5000, 60_000),
                                      1 << 20]):
        report = run_file(config, csv, tmp_path / f"work{run}", workers=2, retry_scale=0.0,
                          chunk_size_bytes=chunk_size)
        committed = assert_exact(report, expected, config)
        assert 1 <= assert_first_errors(broken, committed.rejects, list(
            TRANSACTIONS["properties"])) <= 6


@seed(20251204)
@settings(max_examples=6, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(generated=csv_files(max_rows=25, long_max=1 << 20, undecodable=4),
       chunk_size=st.one_of(st.just(1), st.integers(2, 300), st.integers(301, 2 << 20)),
       workers=st.sampled_from([1, 2]))
def test_whole_runs_reject_exactly_the_rows_that_do_not_decode(
        tmp_path_factory, generated: GeneratedFile, chunk_size: int, workers: int) -> None:
    root = tmp_path_factory.mktemp(f"undecodable{next(RUNS)}")
    csv = root / "in" / "file.csv"
    csv.parent.mkdir()
    csv.write_bytes(generated.data)
    config = load_config(_project(root, SCHEMA))
    report = run_file(config, csv, root / "work", workers=workers, retry_scale=0.0,
                      chunk_size_bytes=chunk_size)
    committed = assert_exact(report, expected_outputs(generated.data, SCHEMA,
                                                      generated.unterminated), config)
    assert_first_errors(generated.data, committed.rejects, list(SCHEMA["properties"]))
