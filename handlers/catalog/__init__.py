"""The table catalog finalize registers committed files in: Glue on AWS, a JSON file
locally (`etlgen run`), behind one `Catalog` protocol."""

from handlers.catalog.base import Catalog, CatalogChange, FilePartitions, Partition, Superseded
from handlers.catalog.glue import GlueCatalog
from handlers.catalog.local import LocalCatalog

__all__ = ["Catalog", "CatalogChange", "FilePartitions", "GlueCatalog", "LocalCatalog",
           "Partition", "Superseded"]
