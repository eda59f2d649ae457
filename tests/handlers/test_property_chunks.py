"""Property: for any RFC 4180 file and any chunk size, planning + the process step over every
chunk give exactly the rows of Python's `csv` module and the verdicts of `jsonschema`.

In-process and fast (many examples), with the planner's windows and blocks and the
process step's pieces made tiny so every cut, every read-back and every piece boundary is
exercised; `tests/local/test_property_runs.py` runs fewer files through the whole pipeline.
With a process limit, a record larger than it is one chunk, rejected unread with a prefix of
its text; every other row is still exactly the oracle's.
"""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from handlers import process
from handlers.chunk_plan import plan_chunks
from handlers.file_head import inspect_head
from handlers.oversized import RAW_PREFIX_CHARS, TRUNCATION_MARK, oversized_reject
from handlers.row_validator import compiled_validator
from handlers.settings import Settings
from tests.handlers.conftest import base_env
from tests.handlers.csv_generator import SCHEMA, GeneratedFile, csv_files
from tests.handlers.handler_expected import expected_outputs, records_with_offsets

VALIDATOR = compiled_validator(SCHEMA)
MAX_CHUNKS = 400
SETTINGS = Settings.from_env(base_env(PROCESS_MEMORY_MB="1"))


def process_file(generated: GeneratedFile, chunk_size: int, sizes: dict[str, int | None]):
    """(valid rows, rejects of the loaded chunks, rejects of the oversized ones)."""
    data = generated.data
    read = lambda start, end: data[start:end]  # noqa: E731
    head = inspect_head(read, len(data), key="f.csv", delimiter=",", encoding="utf-8",
                        columns=VALIDATOR.columns, required=VALIDATOR.required)
    plan = plan_chunks(read, head.data_offset, len(data), chunk_size, MAX_CHUNKS, ",", **sizes)
    tables, rejects, oversized = [], [], []
    for index, (start, end) in enumerate(plan.ranges):
        if index in plan.oversized:
            oversized.append(oversized_reject(read, start, end, SETTINGS))
            continue
        result = process.process_bytes(data[start:end], start, head.header, VALIDATOR,
                                       delimiter=",", encoding="utf-8", label="f.csv",
                                       at_end_of_file=end == len(data))
        tables.append(result.valid_table)
        rejects.extend(result.rejects)
    valid = pa.concat_tables(tables).to_pylist() if tables else []
    return valid, rejects, oversized


def oracle_raw(generated: GeneratedFile, offset: int) -> str:
    """The raw text of the record at `offset`, by Python's csv module."""
    if generated.unterminated is not None and generated.unterminated[0] == offset:
        return generated.unterminated[1]
    data = generated.data
    if generated.unterminated is not None:
        data = data[:generated.unterminated[0]]
    (row,) = [row for row in records_with_offsets(data)[1] if row.offset == offset]
    return row.raw


@seed(20240806)
@settings(max_examples=250, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(generated=csv_files(max_rows=30, long_max=3000),
       chunk_size=st.one_of(st.just(1), st.integers(2, 80), st.integers(81, 5000)),
       lookback=st.sampled_from([1, 7, 64, 16384]), lookahead=st.sampled_from([1, 9, 16384]),
       back_block=st.sampled_from([1, 16, 65536]), pieces=st.sampled_from([1, 3]),
       limit=st.one_of(st.none(), st.none(), st.integers(1, 6000)))
def test_chunks_give_the_oracles_rows_and_rejects(generated: GeneratedFile, chunk_size: int,
                                                  lookback: int, lookahead: int,
                                                  back_block: int, pieces: int,
                                                  limit: int | None) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(process, "PIECE_MIN_BYTES", 32 if pieces > 1 else 1 << 40)
        patch.setattr(process, "PIECES", pieces)
        valid, rejects, oversized = process_file(generated, chunk_size, {
            "lookback": lookback, "lookahead": lookahead, "back_block": back_block,
            "process_limit": limit})
    skipped = frozenset(reject["offset"] for reject in oversized)
    expected = expected_outputs(generated.data, SCHEMA, generated.unterminated, skipped)
    assert [(r["offset"], r["raw"]) for r in rejects] == expected.rejects
    assert valid == expected.valid
    for reject in oversized:  # each one whole record of the oracle's, shown truncated
        raw = oracle_raw(generated, reject["offset"])
        shown = raw[:RAW_PREFIX_CHARS]
        assert reject["raw"] == (shown + TRUNCATION_MARK.format(
            size=f"{len(raw.encode()):,}", shown=len(shown)) if reject["truncated"] else raw)
        assert reject["truncated"] == (len(raw) > RAW_PREFIX_CHARS or
                                       len(raw.encode()) > 4 * RAW_PREFIX_CHARS)
