"""Row counters as CloudWatch Embedded Metric Format (EMF) lines on stdout.

Lambda ships stdout to CloudWatch Logs, which turns EMF lines into metrics: no SDK call and
no extra dependency. The local runner uses `CollectingMetrics` instead.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any, Protocol, TextIO

ROW_METRICS = ("RowsIn", "RowsValid", "RowsRejected")
REJECTION_METRIC = "RowsRejectedByReason"
"""Rejected rows per (field, kind) of their first error: dimensions Pipeline, Field, Kind.
A row-level reject (a bad record, an oversized one) has the field `(row)`."""
REJECTION_DIMENSIONS = ("Pipeline", "Field", "Kind")
ROW_FIELD = "(row)"
Reason = tuple[str | None, str, int]  # (field, kind, rows)
ReasonKey = tuple[str | None, str]  # (field, kind): what rejected rows are counted by


class Metrics(Protocol):
    def put_counts(self, counts: dict[str, int]) -> None:
        """Record each named count once (units: Count)."""

    def put_rejections(self, reasons: list[Reason]) -> None:
        """Record the rejected rows per (field, kind) once."""


class EmfMetrics:
    """Prints one EMF document per call, dimension `Pipeline`."""

    def __init__(self, namespace: str, pipeline: str, stream: TextIO | None = None) -> None:
        self.namespace = namespace
        self.pipeline = pipeline
        self._stream = stream

    def document(self, counts: dict[str, int]) -> dict[str, Any]:
        return {
            "_aws": {
                "Timestamp": int(time.time() * 1000),
                "CloudWatchMetrics": [{
                    "Namespace": self.namespace,
                    "Dimensions": [["Pipeline"]],
                    "Metrics": [{"Name": name, "Unit": "Count"} for name in counts],
                }],
            },
            "Pipeline": self.pipeline,
            **counts,
        }

    def put_counts(self, counts: dict[str, int]) -> None:
        self._write([self.document(counts)])

    def rejection_document(self, field: str | None, kind: str, rows: int) -> dict[str, Any]:
        return {
            "_aws": {
                "Timestamp": int(time.time() * 1000),
                "CloudWatchMetrics": [{
                    "Namespace": self.namespace,
                    "Dimensions": [list(REJECTION_DIMENSIONS)],
                    "Metrics": [{"Name": REJECTION_METRIC, "Unit": "Count"}],
                }],
            },
            "Pipeline": self.pipeline, "Field": field or ROW_FIELD, "Kind": kind,
            REJECTION_METRIC: rows,
        }

    def put_rejections(self, reasons: list[Reason]) -> None:
        self._write([self.rejection_document(*reason) for reason in reasons])

    def _write(self, documents: list[dict[str, Any]]) -> None:
        if not documents:
            return
        stream = self._stream or sys.stdout
        stream.write("".join(json.dumps(document) + "\n" for document in documents))
        stream.flush()


class CollectingMetrics:
    """Keeps the counts in memory (local runs and tests)."""

    def __init__(self) -> None:
        self.records: list[dict[str, int]] = []
        self.rejections: list[Reason] = []

    def put_counts(self, counts: dict[str, int]) -> None:
        self.records.append(dict(counts))

    def put_rejections(self, reasons: list[Reason]) -> None:
        self.rejections.extend(reasons)

    def totals(self) -> dict[str, int]:
        summed: dict[str, int] = {}
        for record in self.records:
            for name, value in record.items():
                summed[name] = summed.get(name, 0) + value
        return summed
