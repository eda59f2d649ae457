"""Property: whole `etlgen run`s (state machine, worker processes, local bucket) over random
RFC 4180 files at random chunk sizes and worker counts commit exactly what Python's `csv`
module and `jsonschema` say: the typed Parquet rows, the rejects with their source offsets
and raw text, and committed prefixes holding exactly the manifest's parts. DuckDB over the
local catalog (`etlgen query`) then sees exactly those rows, once, with lineage offsets at
their records, also after a re-run and after a commit under a stricter schema was
replaced.

Each run spawns worker processes, so the examples are few but nasty (values of up to 3 MiB,
U+FEFF at record starts, quotes and line breaks everywhere); the in-process property test
(tests/handlers/test_property_chunks.py) covers many more files.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from etlgen.config import load_config
from etlgen.local.runner import run_file
from tests.handlers.csv_generator import SCHEMA, GeneratedFile, csv_files

from .run_oracle import assert_exact, assert_table_holds, expected_outputs, pipeline_project

RUNS = itertools.count()


def _project(root: Path, schema: dict = SCHEMA) -> Path:
    return pipeline_project(root, schema, name="property", max_chunks=40)


@seed(20240807)
@settings(max_examples=10, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(generated=csv_files(max_rows=25, long_max=3 << 20),
       chunk_size=st.one_of(st.just(1), st.integers(2, 300), st.integers(301, 2 << 20)),
       workers=st.sampled_from([1, 2]),
       earlier_chunk_size=st.one_of(st.none(), st.integers(1, 200)))
def test_whole_runs_commit_exactly_the_oracles_outputs(
        tmp_path_factory, generated: GeneratedFile, chunk_size: int, workers: int,
        earlier_chunk_size: int | None) -> None:
    """Half the files were committed before under a stricter schema and another chunk size:
    the run must then replace that commit entirely."""
    root = tmp_path_factory.mktemp(f"run{next(RUNS)}")
    csv = root / "in" / "file.csv"
    csv.parent.mkdir()
    csv.write_bytes(generated.data)
    if earlier_chunk_size is not None:
        stricter = json.loads(json.dumps(SCHEMA))
        stricter["properties"]["label"]["maxLength"] = 5
        earlier = run_file(load_config(_project(root, stricter)), csv, root / "work",
                           workers=workers, retry_scale=0.0,
                           chunk_size_bytes=earlier_chunk_size)
        assert_exact(earlier, expected_outputs(generated.data, stricter, generated.unterminated))
    config = load_config(_project(root))
    report = run_file(config, csv, root / "work", workers=workers, retry_scale=0.0,
                      chunk_size_bytes=chunk_size)
    expected = expected_outputs(generated.data, SCHEMA, generated.unterminated)
    assert_exact(report, expected, config)
    again = run_file(config, csv, root / "work", workers=workers, retry_scale=0.0,
                     chunk_size_bytes=chunk_size)
    assert again.status == "ALREADY_PROCESSED"
    assert_table_holds(config, root / "work", expected)
