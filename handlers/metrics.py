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


class Metrics(Protocol):
    def put_counts(self, counts: dict[str, int]) -> None:
        """Record each named count once (units: Count)."""


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
        stream = self._stream or sys.stdout
        stream.write(json.dumps(self.document(counts)) + "\n")
        stream.flush()


class CollectingMetrics:
    """Keeps the counts in memory (local runs and tests)."""

    def __init__(self) -> None:
        self.records: list[dict[str, int]] = []

    def put_counts(self, counts: dict[str, int]) -> None:
        self.records.append(dict(counts))

    def totals(self) -> dict[str, int]:
        summed: dict[str, int] = {}
        for record in self.records:
            for name, value in record.items():
                summed[name] = summed.get(name, 0) + value
        return summed
