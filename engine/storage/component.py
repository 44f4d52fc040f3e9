"""The tick store as an engine component: opens the store, feeds the writer from the bus."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

import structlog

from engine.bus import MessageBus
from engine.clock import Clock
from engine.component import Component
from engine.storage.settings import StorageSettings

log = structlog.get_logger("engine.storage")

if TYPE_CHECKING:  # the ClickHouse client is imported only when the store opens
    from engine.storage.queries import TickQueries
    from engine.storage.store import TickStore
    from engine.storage.writer import TickWriter, WriterStats

WATCH_INTERVAL_S = 1.0


class TickStoreComponent(Component):
    """Phase ``storage``: open the store, start the writer, put it on the bus's hot path.

    ``stop`` flushes every queued tick (bounded by ``close_timeout_s``) and releases the
    store. ``run`` fails the component if the writer thread ever dies.
    """

    name = "storage"

    def __init__(
        self,
        settings: StorageSettings,
        data_dir: Path,
        clock: Clock,
        bus: MessageBus | None = None,
        *,
        close_timeout_s: float | None = None,
    ) -> None:
        self._settings = settings
        self._data_dir = Path(data_dir)
        self._clock = clock
        self._bus = bus
        self._close_timeout_s = close_timeout_s
        self.store: TickStore | None = None
        self.writer: TickWriter | None = None
        self.queries: TickQueries | None = None
        self._stopping = False

    async def start(self) -> None:
        """Open the store (raises ``TickStoreError``/``TickStoreLocked``) and start writing."""
        from engine.storage.store import TickStore

        self.store = await asyncio.to_thread(TickStore.open, self._settings, self._data_dir)
        if self.store.released_bytes:
            log.info(
                "tick store library pages released", mb=round(self.store.released_bytes / 2**20)
            )
        self.writer = self.store.writer(self._clock)
        self.writer.start()
        self.queries = self.store.queries()
        if self._bus is not None:
            self._bus.add_hot_path(self.writer.hot_path)

    async def run(self) -> None:
        """Watch the writer thread."""
        while True:
            await self._clock.sleep(WATCH_INTERVAL_S)
            if self._stopping:
                return  # stop() closed the writer: that is not a failure
            if self.writer is not None and not self.writer.running:
                raise RuntimeError(f"tick writer stopped: {self.writer.stats().last_error}")

    async def stop(self) -> None:
        """Flush the writer and close the store; later ticks are counted as dropped."""
        self._stopping = True
        if self.store is not None:
            await asyncio.to_thread(self.store.close, self._close_timeout_s)

    def stats(self) -> WriterStats | None:
        """The writer's counters, once started."""
        return self.writer.stats() if self.writer is not None else None
