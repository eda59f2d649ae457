"""Fixtures for local runs: a small pipeline config and CSV files of transactions."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from .csv_samples import HEADER, ROOT, transaction_rows


@pytest.fixture
def pipeline_yaml(tmp_path: Path) -> Path:
    path = tmp_path / "pipeline.yaml"
    path.write_text(
        "name: local-test\n"
        f"schema: {ROOT / 'schemas' / 'transactions.schema.json'}\n"
        "output:\n  format: parquet\n  max_reject_rate: 0.1\n"
        "processing:\n  max_concurrency: 4\n"
        "retries:\n  max_attempts: 2\n  interval_seconds: 1\n"
        "results_queue:\n  enabled: true\n"
        "alerts:\n  enabled: true\n",
        encoding="utf-8")
    return path


@pytest.fixture
def write_csv(tmp_path: Path) -> Callable[..., Path]:
    def write(name: str = "transactions.csv", rows: list[str] | None = None,
              header: str = HEADER, text: str | None = None) -> Path:
        path = tmp_path / "in" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if text is None:
            lines = [header, *(rows if rows is not None else transaction_rows(300, 25))]
            text = "\n".join(lines) + "\n"
        path.write_text(text, encoding="utf-8")
        return path

    return write
