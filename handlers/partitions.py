"""The table's first partition key (`PARTITION_BY`, from `output.partition_by`) and how a
chunk's valid rows are split by it.

`ingest_date` (the default) puts all of a file's rows in one partition, the UTC day its
ingest started. `<column>:<granularity>` partitions by a `format: date` column: the key is
`<column>_<granularity>`, the values `YYYY-MM-DD`, `YYYY-MM` or `YYYY`, and rows whose date
is null go to `__HIVE_DEFAULT_PARTITION__` (which Athena reads as null). The split is
vectorized: one stable sort of the rows by their partition code, then slices. numpy and
pyarrow are imported by the methods that use them: the object layout (`handlers.layout`),
which the local runner's own process reads, needs only the key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from handlers.errors import TooManyPartitions
from handlers.settings import INGEST_DATE, SettingsError

if TYPE_CHECKING:
    import pyarrow as pa

SOURCE_FILE = "source_file"
"""The second partition key of both tables: the committed file (`handlers.layout`)."""
HIVE_DEFAULT_PARTITION = "__HIVE_DEFAULT_PARTITION__"
MAX_PARTITIONS_PER_CHUNK = 10_000
"""More partition values in one chunk would overflow its status item (DynamoDB's 400 KB)
and make a partition per value pointless: a coarser granularity is the fix."""
_UNITS = {"day": "D", "month": "M", "year": "Y"}
_NULL_CODE = -(2**63)  # the smallest int64: no date's code


@dataclass(frozen=True)
class PartitionBy:
    column: str | None  # None: ingest_date
    granularity: str = "day"

    @classmethod
    def parse(cls, setting: str) -> PartitionBy:
        if setting == INGEST_DATE:
            return cls(None)
        column, _, granularity = setting.rpartition(":")
        return cls(column, granularity)

    @property
    def key(self) -> str:
        return INGEST_DATE if self.column is None else f"{self.column}_{self.granularity}"

    def check(self, schema: pa.Schema) -> None:
        """The column must be a date column of the valid rows."""
        import pyarrow as pa

        if self.column is None:
            return
        if self.column not in schema.names or not pa.types.is_date32(
                schema.field(self.column).type):
            dates = [f.name for f in schema if pa.types.is_date32(f.type)]
            raise SettingsError(
                f"output.partition_by.column in pipeline.yaml: {self.column!r} is not a "
                "format: date column of the row schema (date columns: "
                f"{', '.join(dates) or 'none'})")

    def split(self, table: pa.Table, ingest_day: str) -> list[tuple[str, pa.Table]]:
        """(partition value, its rows in row order), in partition value order."""
        import numpy as np
        import pyarrow as pa

        from handlers import arrow_compute as compute
        from handlers.arrays import from_numpy
        from handlers.validation.kernels import mask_of

        if table.num_rows == 0:
            return []
        if self.column is None:
            return [(ingest_day, table)]
        column = table.column(self.column)
        days = compute.fill_null(compute.cast(column, pa.int32()), 0).to_numpy().astype(np.int64)
        unit = _UNITS[self.granularity]
        codes = days if unit == "D" else \
            days.astype("datetime64[D]").astype(f"datetime64[{unit}]").astype(np.int64)
        if column.null_count:
            codes[~mask_of(compute.is_valid(column))] = _NULL_CODE
        values, inverse, counts = np.unique(codes, return_inverse=True, return_counts=True)
        if values.size > MAX_PARTITIONS_PER_CHUNK:
            raise TooManyPartitions(
                f"the rows fall into {values.size:,} partitions of {self.key}, more than the "
                f"{MAX_PARTITIONS_PER_CHUNK:,} one chunk can hold: choose a coarser "
                "output.partition_by.granularity")
        texts = [self._text(int(code), unit) for code in values.tolist()]
        if values.size == 1:
            return [(texts[0], table)]
        ordered = compute.take(table, from_numpy(np.argsort(inverse, kind="stable")))
        starts = np.concatenate(([0], np.cumsum(counts)[:-1])).tolist()
        return [(text, ordered.slice(start, count))
                for text, start, count in zip(texts, starts, counts.tolist(), strict=True)]

    @staticmethod
    def _text(code: int, unit: str) -> str:
        import numpy as np

        if code == _NULL_CODE:
            return HIVE_DEFAULT_PARTITION
        return str(np.datetime_as_string(np.array(code, dtype=f"datetime64[{unit}]")))


def ingest_day(ingested_at: str) -> str:
    """The `ingest_date` value of an ingest that started at `ingested_at` (ISO, UTC)."""
    return ingested_at[:10]
