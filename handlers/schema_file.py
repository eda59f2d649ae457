"""Reads the CSV row schema shipped with the handlers (`handlers/schema.json` in the zip)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from handlers.row_schema_keywords import row_schema_problems

PACKAGE_DIR = Path(__file__).resolve().parent


class SchemaFileError(ValueError):
    """The row schema is missing, not JSON, or uses something the handlers cannot enforce."""


def schema_path(schema_file: str) -> Path:
    """`SCHEMA_FILE` is relative to the handlers package directory (absolute paths allowed)."""
    path = Path(schema_file)
    return path if path.is_absolute() else PACKAGE_DIR / path


def load_schema(schema_file: str) -> dict[str, Any]:
    path = schema_path(schema_file)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise SchemaFileError(f"{path}: cannot read the row schema ({error.strerror})") from None
    try:
        schema: dict[str, Any] = json.loads(text)  # row_schema_problems refuses a non-object
    except json.JSONDecodeError as error:
        raise SchemaFileError(f"{path}:{error.lineno}:{error.colno}: {error.msg}") from None
    problems = row_schema_problems(schema)
    if problems:
        details = "; ".join(f"{pointer or '/'}: {message}" for pointer, message in problems)
        raise SchemaFileError(f"{path}: {details}")
    return schema


def schema_sha256(schema: dict[str, Any]) -> str:
    """Hash of the canonical JSON form: equal schemas give equal hashes."""
    canonical = json.dumps(schema, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                           default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
