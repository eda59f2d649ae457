"""Build the handlers zip deterministically, named by its content hash.

CloudFormation redeploys a function's S3 code only when `S3Key` changes; a key holding the
zip's hash changes exactly when the code, the row schema or the packaged settings do.
Determinism (sorted entries, fixed timestamps and modes, one compression level) makes the
same sources give the same bytes on every machine, so the key is reproducible.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

from etlgen.environment import SCHEMA_FILE_IN_PACKAGE, packaged_settings_text
from etlgen.errors import EtlgenError
from etlgen.model import PipelineConfig
from handlers.settings import SETTINGS_FILE

PACKAGE_NAME = "handlers"
FIXED_TIMESTAMP = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o100644  # regular file, rw-r--r--
UNIX_SYSTEM = 3
COMPRESS_LEVEL = 9
KEY_HASH_LENGTH = 16


@dataclass(frozen=True)
class Package:
    data: bytes
    key: str
    sha256: str


def handlers_directory() -> Path:
    """The directory of the installed `handlers` package.

    Located through a module every handlers package has (`handlers.errors`), not through
    `handlers` itself: a plain directory named `handlers` earlier on `sys.path` (such as
    `tests/handlers` under pytest) would make `handlers` an empty namespace package, while
    its submodules still resolve through the installed package.
    """
    try:
        module = importlib.import_module(f"{PACKAGE_NAME}.errors")
    except ImportError as error:
        raise EtlgenError(f"cannot find the '{PACKAGE_NAME}' package: {error}") from error
    if module.__file__ is None:
        raise EtlgenError(f"the '{PACKAGE_NAME}' package has no files on disk")
    return Path(module.__file__).resolve().parent


def package_entries(config: PipelineConfig, directory: Path | None = None) -> dict[str, bytes]:
    """Zip entry name -> content: every handlers `*.py`, the row schema and the static
    settings (`etlgen.environment.packaged_settings`), sorted."""
    root = directory if directory is not None else handlers_directory()
    entries = {
        f"{PACKAGE_NAME}/{path.relative_to(root).as_posix()}": path.read_bytes()
        for path in root.rglob("*.py")
        if "__pycache__" not in path.relative_to(root).parts
    }
    schema = json.dumps(config.schema, indent=2, ensure_ascii=False) + "\n"
    entries[f"{PACKAGE_NAME}/{SCHEMA_FILE_IN_PACKAGE}"] = schema.encode("utf-8")
    entries[f"{PACKAGE_NAME}/{SETTINGS_FILE}"] = packaged_settings_text(config).encode("utf-8")
    return dict(sorted(entries.items()))


def zip_entries(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=FIXED_TIMESTAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = UNIX_SYSTEM
            info.external_attr = FILE_MODE << 16
            archive.writestr(info, entries[name], compresslevel=COMPRESS_LEVEL)
    return buffer.getvalue()


def package_key(sha256: str) -> str:
    return f"{PACKAGE_NAME}/etlgen-handlers-{sha256[:KEY_HASH_LENGTH]}.zip"


def build_package(config: PipelineConfig, directory: Path | None = None) -> Package:
    """The handlers zip; `directory` replaces the installed package's (for tests)."""
    data = zip_entries(package_entries(config, directory))
    sha256 = hashlib.sha256(data).hexdigest()
    return Package(data=data, key=package_key(sha256), sha256=sha256)
