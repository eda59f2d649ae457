"""Rules across fields that a JSON Schema cannot express.

Each runs on the values that will be used (given or default) and skips a field that
already failed the schema, so one mistake is reported once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import Any

from etlgen.config.problems import Path, Problem, dotted
from etlgen.config.yaml_source import YamlDocument
from etlgen.history import HISTORY_LIMIT, max_chunks_bound
from etlgen.model import PipelineConfig
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
        _prefixes_do_not_overlap, _delimiter_is_usable, _memory_fits_chunk,
        _chunks_fit_the_history,
    ]
    return [problem for check in checks for problem in check(values)]


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
