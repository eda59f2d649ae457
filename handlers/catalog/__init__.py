"""The table catalog finalize registers committed files in: Glue on AWS, a JSON file
locally (`etlgen run`), behind one `Catalog` protocol. Each back end is imported on first
use: most functions need neither, and each cold start compiles every module it imports."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from handlers.catalog.base import Catalog, CatalogChange, FilePartitions, Partition, Superseded

if TYPE_CHECKING:
    from handlers.catalog.glue import GlueCatalog
    from handlers.catalog.local import LocalCatalog

__all__ = ["Catalog", "CatalogChange", "FilePartitions", "GlueCatalog", "LocalCatalog",
           "Partition", "Superseded"]
_ON_FIRST_USE = {"GlueCatalog": "handlers.catalog.glue", "LocalCatalog": "handlers.catalog.local"}


def __getattr__(name: str) -> Any:
    if name not in _ON_FIRST_USE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_ON_FIRST_USE[name]), name)
