"""Names a package exports but imports only when first asked for (PEP 562): a cold start
compiles every module it imports, and a Lambda function never needs some back ends."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def exports_on_first_use(package: str, modules: Mapping[str, str]) -> Callable[[str], Any]:
    """The package's module `__getattr__`: each name in `modules` taken from its module
    (imported then), any other name missing as usual."""
    def attribute(name: str) -> Any:
        if name not in modules:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(modules[name]), name)
    return attribute
