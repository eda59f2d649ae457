"""The process step's outputs stay exactly what they were when `reject_equivalence.json`
was recorded: rejected JSON lines byte for byte, valid rows by content, counts and reasons,
for deterministic files at several chunk sizes (`tests/handlers/reject_equivalence.py`),
with the usual pieces and with pieces of a few KiB, and with every piece's rejected lines
built column-wise and worded in Python (`reject_lines.PYTHON_ROWS`), which must agree."""

from __future__ import annotations

import json
from contextlib import nullcontext
from typing import Any

import pytest

from tests.handlers.reject_equivalence import FIXTURE, cases, lines_built, run_case, small_pieces

RECORDED: dict[str, Any] = json.loads(FIXTURE.read_text(encoding="utf-8"))
RUNS = [(case, size) for case in cases() for size in case.chunk_sizes]


def test_every_case_is_recorded() -> None:
    assert sorted(RECORDED) == sorted(f"{case.name}@{size}" for case, size in RUNS)


@pytest.mark.parametrize(("case", "size"), RUNS, ids=[f"{c.name}@{s}" for c, s in RUNS])
@pytest.mark.parametrize("pieces", ["usual", "small", "column-lines", "python-lines"])
def test_outputs_equal_the_recorded_ones(case: Any, size: int, pieces: str) -> None:
    modes = {"usual": nullcontext, "small": small_pieces,
             "column-lines": lambda: lines_built(-1), "python-lines": lambda: lines_built(10**9)}
    with modes[pieces]():
        found = run_case(case, size)
    assert json.loads(json.dumps(found)) == RECORDED[f"{case.name}@{size}"]
