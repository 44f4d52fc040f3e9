"""The tick store: raw ticks and OHLC bars in ClickHouse, embedded (chDB) or a server.

Open with :meth:`TickStore.open`; feed :class:`TickWriter` from the engine's hot path;
read with :class:`TickQueries`. See ``docs/tickstore.md``.
"""

from engine.storage.component import TickStoreComponent
from engine.storage.errors import TickStoreError, TickStoreLocked
from engine.storage.queries import Bar, DayStats, Gap, StoredRange, TickQueries
from engine.storage.settings import StorageSettings
from engine.storage.store import TickStore
from engine.storage.writer import TickWriter, WriterStats

__all__ = [
    "Bar",
    "DayStats",
    "Gap",
    "StorageSettings",
    "StoredRange",
    "TickQueries",
    "TickStore",
    "TickStoreComponent",
    "TickStoreError",
    "TickStoreLocked",
    "TickWriter",
    "WriterStats",
]
