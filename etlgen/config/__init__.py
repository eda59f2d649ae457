"""Load pipeline.yaml into the frozen `PipelineConfig`, or explain every problem at once.

Order: read the file, parse YAML with positions, check the JSON Schema, check rules across
fields, load the row schema. All problems found are raised together in one `ConfigError`,
one `file:line:col: field: message` line each, so a user fixes them in one pass.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from etlgen.config.checks import semantic_problems, table_problems
from etlgen.config.problems import Position, Problem, render_all
from etlgen.config.row_schema import load_row_schema
from etlgen.config.validate import schema_problems
from etlgen.config.yaml_source import YamlDocument, parse_yaml
from etlgen.errors import ConfigError
from etlgen.model import (
    AlertsConfig,
    CatalogConfig,
    DatePartition,
    FunctionsConfig,
    InputConfig,
    OutputConfig,
    PipelineConfig,
    ProcessingConfig,
    ResultsQueueConfig,
    RetentionConfig,
    RetryConfig,
)

__all__ = ["load_config"]

_SECTIONS: dict[str, type] = {
    "input": InputConfig,
    "output": OutputConfig,
    "processing": ProcessingConfig,
    "retries": RetryConfig,
    "functions": FunctionsConfig,
    "retention": RetentionConfig,
    "results_queue": ResultsQueueConfig,
    "alerts": AlertsConfig,
    "catalog": CatalogConfig,
}
# Values the YAML gives as a mapping and the model holds as a dataclass.
_NESTED: dict[tuple[str, str], type] = {("output", "partition_by"): DatePartition}


def load_config(path: Path | str) -> PipelineConfig:
    """Read, validate and freeze one pipeline.yaml; raise ConfigError naming every problem."""
    shown = str(path)
    source = Path(path).resolve()
    text = _read(source, shown)
    document, problems = parse_yaml(text)
    if document is None:
        raise ConfigError(render_all(shown, problems or [Problem(
            None, (), "the file is empty: expected a mapping with at least 'name' and 'schema'"
        )]))
    if not isinstance(document.data, dict):
        problems.append(Problem(
            document.value_position(()), (),
            f"the top level must be a mapping of settings, got {_kind(document.data)}",
        ))
        raise ConfigError(render_all(shown, problems))

    problems.extend(schema_problems(document))
    problems.extend(semantic_problems(document, {problem.field for problem in problems}))

    schema_path, row_schema = source.parent, None
    schema_value = document.data.get("schema")
    if isinstance(schema_value, str) and schema_value:
        schema_path, row_schema, schema_issues, locate = load_row_schema(
            schema_value, source, shown, document.value_position(("schema",))
        )
        problems.extend(schema_issues)
        if row_schema is not None and not schema_issues:
            problems.extend(table_problems(
                document, {problem.field for problem in problems}, row_schema, locate))
    if problems or row_schema is None:
        raise ConfigError(render_all(shown, problems))
    return _build(document, source, schema_path, row_schema)


def _read(source: Path, shown: str) -> str:
    def fail(message: str) -> ConfigError:
        return ConfigError(render_all(shown, [Problem(None, (), message)]))

    try:
        data = source.read_bytes()
    except FileNotFoundError:
        raise fail("file not found") from None
    except IsADirectoryError:
        raise fail("is a directory, expected a YAML file") from None
    except OSError as error:
        raise fail(f"cannot be read: {error.strerror or error}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ConfigError(render_all(shown, [Problem(
            Position(line, 1), (), "is not UTF-8 text"
        )])) from None


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "plain text"
    return f"a single value ({value!r})"


def _build(document: YamlDocument, source: Path, schema_path: Path,
           row_schema: dict[str, Any]) -> PipelineConfig:
    data = document.data
    sections = {
        name: _section(name, cls, data.get(name, {})) for name, cls in _SECTIONS.items()
    }
    if "tags" in data:  # else the model's default
        sections["tags"] = tuple((str(key), str(value)) for key, value in data["tags"].items())
    return PipelineConfig(
        name=data["name"],
        source=source,
        schema_path=schema_path,
        schema=row_schema,
        **sections,
    )


def _section(name: str, cls: type, given: dict[str, Any]) -> Any:
    """Build one section, turning YAML numbers into the type of the model's default.

    JSON Schema counts 4.0 as an integer and 2 as a number; the model should not care
    how the number was written, so equal configs compare equal.
    """
    values: dict[str, Any] = {}
    for field in dataclasses.fields(cls):
        if field.name not in given:
            continue
        value = given[field.name]
        nested = _NESTED.get((name, field.name))
        if nested is not None and isinstance(value, dict):
            values[field.name] = nested(**value)
        elif isinstance(field.default, bool) or value is None:
            values[field.name] = value
        elif isinstance(field.default, int | float):
            values[field.name] = type(field.default)(value)
        else:
            values[field.name] = value
    return cls(**values)
