"""Builds `Deps` once per Lambda container (on the first invocation) and reuses it."""

from __future__ import annotations

from handlers.deps import Deps

_deps: Deps | None = None


def container_deps() -> Deps:
    global _deps
    if _deps is None:
        _deps = Deps.from_env()
    return _deps


def reset_container_deps() -> None:
    """Forget the cached wiring (tests that change the environment)."""
    global _deps
    _deps = None
