"""The tick store: raw ticks and OHLC bars in ClickHouse, embedded (chDB) or a server.

Open with :meth:`TickStore.open`; feed :class:`TickWriter` from the engine's hot path;
read with :class:`TickQueries`. See ``docs/tickstore.md``.
"""

from importlib import import_module
from typing import Any

# Imported on first use: the settings module is needed at start-up, the database
# drivers are not, and they cost a few hundred milliseconds to import.
_EXPORTS = {
    "Bar": "queries",
    "DayStats": "queries",
    "Gap": "queries",
    "StorageSettings": "settings",
    "StoredRange": "queries",
    "TickQueries": "queries",
    "TickStore": "store",
    "TickStoreComponent": "component",
    "TickStoreError": "errors",
    "TickStoreLocked": "errors",
    "TickWriter": "writer",
    "WriterStats": "writer",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"engine.storage.{module}"), name)
