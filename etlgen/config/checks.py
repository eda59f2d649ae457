"""Rules across fields that a JSON Schema cannot express.

Each runs on the values that will be used (given or default) and skips a field that
already failed the schema, so one mistake is reported once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import Any

from etlgen.catalog.tables import ATHENA_RESULTS_PREFIX, reserved_names
from etlgen.config.problems import Path, Problem, dotted
from etlgen.config.row_schema import Locator
from etlgen.config.yaml_source import YamlDocument
from etlgen.history import HISTORY_LIMIT, max_chunks_bound
from etlgen.model import INGEST_DATE, PipelineConfig
from handlers.row_schema_keywords import column_kind
from handlers.settings import MEMORY_PER_CHUNK as MEMORY_PER_CHUNK_MB

_FORBIDDEN_DELIMITERS = {'"': "the quote character", "\r": "carriage return (CR)",
                         "\n": "line feed (LF)"}


class _Values:
    """Effective config values: from the YAML when given, else the model default."""

    def __init__(self, document: YamlDocument, invalid: Iterable[Path]) -> None:
        self.document = document
        self.invalid = set(invalid)
        self.defaults: dict[str, dict[str, Any]] = {}
        for field in dataclasses.fields(PipelineConfig):
            factory = field.default_factory
            if factory is not dataclasses.MISSING:
                self.defaults[field.name] = dataclasses.asdict(factory())

    def usable(self, path: Path) -> bool:
        """False when this value, or what contains it, already failed the schema."""
        return not any(path[:length] in self.invalid for length in range(1, len(path) + 1))

    def get(self, path: Path) -> Any:
        section, key = path
        given = self.document.data.get(section)
        if isinstance(given, dict) and key in given:
            return given[key]
        return self.defaults[str(section)][str(key)]

    def given(self, path: Path) -> bool:
        return self.document.has(path)


def semantic_problems(document: YamlDocument, invalid: Iterable[Path]) -> list[Problem]:
    values = _Values(document, invalid)
    checks: list[Callable[[_Values], list[Problem]]] = [
        _prefixes_do_not_overlap, _prefixes_avoid_query_results, _delimiter_is_usable,
        _memory_fits_chunk, _chunks_fit_the_history, _catalog_reads_parquet,
        _storage_stays_queryable,
    ]
    return [problem for check in checks for problem in check(values)]


def table_problems(document: YamlDocument, invalid: Iterable[Path],
                   row_schema: dict[str, Any], locate: Locator) -> list[Problem]:
    """Rules between the config and the row schema's columns (the schema itself is valid)."""
    values = _Values(document, invalid)
    return _partition_column(values, row_schema) + _column_names(values, row_schema, locate)


def _prefixes_do_not_overlap(values: _Values) -> list[Problem]:
    """Outputs must never match the trigger's prefix, or every output restarts the pipeline;
    processed, rejected and staged objects must not share a prefix either (publishing
    deletes whatever under a file's output prefixes it did not publish)."""
    incoming: Path = ("input", "prefix")
    outputs: list[Path] = [("output", "processed_prefix"), ("output", "rejected_prefix"),
                           ("output", "staging_prefix")]
    problems: list[Problem] = []
    if not all(values.usable(path) for path in [incoming, *outputs]):
        return problems
    pairs = [(outputs[0], incoming), (outputs[1], incoming), (outputs[2], incoming),
             (outputs[1], outputs[0]), (outputs[2], outputs[0]), (outputs[2], outputs[1])]
    for output, other in pairs:
        if not _overlap(values.get(output), values.get(other)):
            continue
        # Blame the key the user wrote; when both are defaults nothing can overlap.
        path, against = (output, other) if values.given(output) else (other, output)
        mine, theirs = values.get(path), values.get(against)
        if mine == theirs:
            relation = "equals"
        elif mine.startswith(theirs):
            relation = "lies under"
        else:
            relation = "contains"
        default = "" if values.given(against) else " (the default)"
        if other == incoming:
            reason = "outputs written there would trigger the pipeline again"
        elif outputs[2] in (output, other):
            reason = ("staged parts must stay apart from processed and rejected rows "
                      "(publishing removes what it did not publish there)")
        else:
            reason = "processed and rejected rows must stay apart"
        problems.append(Problem(
            values.document.value_position(path), path,
            f"{mine!r} {relation} {dotted(against)} {theirs!r}{default}: {reason}",
        ))
    return problems


def _overlap(prefix: str, other: str) -> bool:
    return prefix.startswith(other) or other.startswith(prefix)


def _catalog_on(values: _Values) -> bool:
    path: Path = ("catalog", "enabled")
    return values.usable(path) and values.get(path) is True


def _prefixes_avoid_query_results(values: _Values) -> list[Problem]:
    """The workgroup writes query results (`.csv` files) under athena-results/."""
    if not _catalog_on(values):
        return []
    paths: list[Path] = [("input", "prefix"), ("output", "processed_prefix"),
                         ("output", "rejected_prefix"), ("output", "staging_prefix")]
    problems = []
    for path in paths:
        if not values.usable(path) or not _overlap(values.get(path), ATHENA_RESULTS_PREFIX):
            continue
        prefix = values.get(path)
        relation = ("equals" if prefix == ATHENA_RESULTS_PREFIX else
                    "lies under" if prefix.startswith(ATHENA_RESULTS_PREFIX) else "contains")
        problems.append(Problem(
            values.document.value_position(path), path,
            f"{prefix!r} {relation} {ATHENA_RESULTS_PREFIX!r}, where the Athena workgroup "
            "writes query results (catalog.enabled): choose another prefix",
        ))
    return problems


def _catalog_reads_parquet(values: _Values) -> list[Problem]:
    """The Glue table describes typed Parquet; a CSV table would read every column as
    text (OpenCSVSerDe) and lose the types the row schema gives."""
    format_path: Path = ("output", "format")
    if not (_catalog_on(values) and values.usable(format_path)) \
            or values.get(format_path) != "csv":
        return []
    at = format_path if values.given(format_path) else ("catalog", "enabled")
    default = "" if values.given(("catalog", "enabled")) else ", on by default"
    return [Problem(
        values.document.value_position(at), format_path,
        f"csv cannot be read by the catalog table (catalog.enabled{default}): the Glue "
        "table reads typed Parquet files; use format parquet or set catalog.enabled: false",
    )]


def _storage_stays_queryable(values: _Values) -> list[Problem]:
    path: Path = ("retention", "storage_class")
    allow: Path = ("retention", "allow_unqueryable_storage")
    days: Path = ("retention", "glacier_after_days")
    if not (_catalog_on(values) and values.usable(path) and values.usable(allow)):
        return []
    storage = values.get(path)
    if storage not in ("GLACIER", "DEEP_ARCHIVE") or values.get(allow) is True:
        return []
    after = f" ({values.get(days)})" if values.usable(days) else ""
    return [Problem(
        values.document.value_position(path), path,
        f"{storage}: Athena cannot read objects in S3 Glacier Flexible Retrieval (GLACIER: "
        "queries skip them) or S3 Glacier Deep Archive (DEEP_ARCHIVE: queries fail), so the "
        f"table would lose every partition older than retention.glacier_after_days{after}; "
        "use GLACIER_IR (S3 Glacier Instant Retrieval, which Athena reads) or none, or set "
        "retention.allow_unqueryable_storage: true",
    )]


def _chosen_partition(values: _Values) -> dict[str, Any] | str | None:
    """`output.partition_by` as given (a mapping with a text `column`, or `ingest_date`);
    None when it already failed the schema."""
    path: Path = ("output", "partition_by")
    chosen = values.get(path)
    if not values.usable(path) or not values.usable((*path, "column")):
        return None
    if isinstance(chosen, dict):
        return chosen if isinstance(chosen.get("column"), str) else None
    return chosen if chosen == INGEST_DATE else None


def _partition_column(values: _Values, row_schema: dict[str, Any]) -> list[Problem]:
    chosen = _chosen_partition(values)
    if not isinstance(chosen, dict):
        return []
    column_path: Path = ("output", "partition_by", "column")
    column = chosen["column"]
    columns: dict[str, Any] = row_schema["properties"]
    dates = [name for name, spec in columns.items() if _is_date(spec)]
    if column in dates:
        return []
    listed = (f"its format: date columns: {', '.join(dates)}" if dates else
              f"it has no format: date column (partition by {INGEST_DATE} instead)")
    if column in columns:
        message = f"{column!r} is not a format: date column of the row schema; {listed}"
    else:
        message = f"{column!r} is not a column of the row schema; {listed}"
    return [Problem(values.document.value_position(column_path), column_path, message)]


def _is_date(spec: dict[str, Any]) -> bool:
    return column_kind(spec)[0] == "string" and spec.get("format") == "date"


def _column_names(values: _Values, row_schema: dict[str, Any],
                  locate: Locator) -> list[Problem]:
    """No row-schema column may take a name of the table's own columns; with the catalog
    on, names are lower case (Glue stores them so and Athena lower-cases names in queries,
    so `Amount` and `amount` could not be told apart)."""
    lineage: Path = ("output", "lineage")
    chosen = _chosen_partition(values)
    if chosen is None or not values.usable(lineage):
        return []
    key = (f"{chosen['column']}_{chosen.get('granularity', 'day')}"
           if isinstance(chosen, dict) else INGEST_DATE)
    reserved = reserved_names(key, values.get(lineage) is True)
    problems = []
    for name in row_schema["properties"]:
        where: list[str | int] = ["properties", name]
        if name in reserved:
            way_out = (" or set output.lineage: false"
                       if "lineage" in reserved[name] else "")
            problems.append(locate(where, f"column {name!r} is also {reserved[name]}: "
                                          f"rename the column{way_out}"))
        if not _catalog_on(values):
            continue
        if name != name.lower():
            problems.append(locate(where, f"column {name!r}: Glue and Athena column names "
                                          "are lower case (Athena lower-cases every name in "
                                          "a query): rename it or set catalog.enabled: false"))
        elif len(name.encode("utf-8")) > 255:
            problems.append(locate(where, "Glue and Athena column names have at most 255 "
                                          "bytes: rename it or set catalog.enabled: false"))
    return problems


def _delimiter_is_usable(values: _Values) -> list[Problem]:
    path: Path = ("input", "delimiter")
    if not values.usable(path):
        return []
    delimiter = values.get(path)
    if delimiter not in _FORBIDDEN_DELIMITERS:
        return []
    return [Problem(
        values.document.value_position(path), path,
        f"{_FORBIDDEN_DELIMITERS[delimiter]} cannot separate fields: it has its own meaning "
        "in CSV",
    )]


def _memory_fits_chunk(values: _Values) -> list[Problem]:
    memory_path: Path = ("functions", "memory_mb")
    chunk_path: Path = ("processing", "chunk_size_mb")
    if not (values.usable(memory_path) and values.usable(chunk_path)):
        return []
    memory, chunk = values.get(memory_path), values.get(chunk_path)
    needed = MEMORY_PER_CHUNK_MB * chunk
    if memory >= needed:
        return []
    at = memory_path if values.given(memory_path) else chunk_path
    return [Problem(
        values.document.value_position(at), memory_path,
        f"{_number(memory)} MB is too little for processing.chunk_size_mb {chunk}: need at least "
        f"{needed} ({MEMORY_PER_CHUNK_MB} x the chunk size, because the process step holds "
        "the chunk, its Arrow table and the outputs in memory at once)",
    )]


def _chunks_fit_the_history(values: _Values) -> list[Problem]:
    """Every chunk retried to the full must still fit Step Functions' 25,000 events."""
    chunks_path: Path = ("processing", "max_chunks")
    retries_path: Path = ("retries", "max_attempts")
    if not (values.usable(chunks_path) and values.usable(retries_path)):
        return []
    chunks, retries = values.get(chunks_path), values.get(retries_path)
    bound = max_chunks_bound(retries)
    if chunks <= bound:
        return []
    at = chunks_path if values.given(chunks_path) else retries_path
    return [Problem(
        values.document.value_position(at), chunks_path,
        f"{chunks} is more than {bound}, the most chunks whose events (each retried "
        f"retries.max_attempts {retries} times) fit one execution's history of "
        f"{HISTORY_LIMIT:,} events",
    )]


def _number(value: float) -> str:
    """4096.0 -> '4096': YAML lets users write whole numbers either way."""
    return str(int(value)) if float(value).is_integer() else str(value)
