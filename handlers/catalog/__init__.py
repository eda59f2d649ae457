"""The table catalog finalize registers committed files in: Glue on AWS, a JSON file
locally (`etlgen run`), behind one `Catalog` protocol. Each back end is imported on first
use: most functions need neither, and each cold start compiles every module it imports."""

from __future__ import annotations

from typing import TYPE_CHECKING

from handlers.catalog.base import Catalog, CatalogChange, FilePartitions, Partition, Superseded
from handlers.first_use import exports_on_first_use

if TYPE_CHECKING:
    from handlers.catalog.glue import GlueCatalog
    from handlers.catalog.local import LocalCatalog

__all__ = ["Catalog", "CatalogChange", "FilePartitions", "GlueCatalog", "LocalCatalog",
           "Partition", "Superseded"]
__getattr__ = exports_on_first_use(__name__, {"GlueCatalog": "handlers.catalog.glue",
                                              "LocalCatalog": "handlers.catalog.local"})
