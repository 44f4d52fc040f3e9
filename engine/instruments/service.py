"""Keep the instruments dump fresh: download once a day after 08:30 IST, cache, parse.

Kite publishes the day's dump early in the morning; a dump downloaded before today's
refresh time (default 08:30 IST, injected clock) is stale. :meth:`InstrumentsService.ensure`
returns a registry from the freshest source: the disk cache, else the shared cache
(Redis), else a download. A download that fails or does not parse raises one
:class:`InstrumentsError` line and leaves every cache as it was. Parsing and indexing
100k rows takes a noticeable fraction of a second, so it runs in a worker thread, off
the engine's loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, time, timedelta
from pathlib import Path

import msgspec
import structlog

from engine.clock import IST, NS_PER_SECOND, Clock, ns_to_ist
from engine.instruments.cache import DiskCache, InstrumentsMeta, SharedCache, digest
from engine.instruments.parse import InstrumentsError, parse_instruments_csv
from engine.instruments.registry import InstrumentRegistry
from engine.kite.rest import KiteApiError, KiteRest

log = structlog.get_logger("engine.instruments")


class DownloadProgress(msgspec.Struct, frozen=True):
    """How far a download has come."""

    bytes_read: int
    total_bytes: int | None
    """Declared size, when the server sends one."""
    rows: int
    """Instrument rows received so far."""


ProgressFn = Callable[[DownloadProgress], None]


def last_refresh_point(now_ns: int, at: time) -> datetime:
    """The most recent ``at`` (IST) at or before ``now_ns``."""
    now = ns_to_ist(now_ns)
    point = datetime.combine(now.date(), at, tzinfo=IST)
    return point if now >= point else point - timedelta(days=1)


def refresh_due(meta: InstrumentsMeta | None, now_ns: int, at: time) -> bool:
    """Whether a dump downloaded per ``meta`` predates the last refresh point."""
    if meta is None:
        return True
    return meta.downloaded_ns < int(last_refresh_point(now_ns, at).timestamp()) * NS_PER_SECOND


def build_registry(data: bytes) -> InstrumentRegistry:
    """Parse a dump and index it (raises :class:`InstrumentsError`)."""
    return InstrumentRegistry(parse_instruments_csv(data))


class InstrumentsService:
    """Downloads, caches and parses the instruments dump."""

    def __init__(
        self,
        data_dir: Path,
        clock: Clock,
        rest: KiteRest | None,
        *,
        refresh_at: str = "08:30",
        shared: SharedCache | None = None,
    ) -> None:
        self.clock = clock
        self.rest = rest
        self.disk = DiskCache(Path(data_dir) / "instruments")
        self.shared = shared
        self.refresh_at = time.fromisoformat(refresh_at)
        self.meta: InstrumentsMeta | None = None
        """Meta of the dump behind the current registry."""

    def due(self) -> bool:
        """Whether the disk cache is missing or stale now."""
        cached = self.disk.read()
        return refresh_due(cached[1] if cached else None, self.clock.now_ns(), self.refresh_at)

    def stale(self) -> bool:
        """Whether the dump behind the current registry predates the last refresh point.

        Reads no file: ``meta`` is what :meth:`load_cached` or a refresh last loaded.
        """
        return refresh_due(self.meta, self.clock.now_ns(), self.refresh_at)

    def load_cached(self) -> InstrumentRegistry | None:
        """The registry from the disk cache (fresh or not); None if there is none or it is bad."""
        return self._registry_of(self.disk.read())

    def _registry_of(
        self, cached: tuple[bytes, InstrumentsMeta | None] | None
    ) -> InstrumentRegistry | None:
        if cached is None:
            return None
        try:
            registry = InstrumentRegistry(parse_instruments_csv(cached[0]))
        except InstrumentsError as exc:
            log.warning("cached instruments unusable", error=str(exc))
            return None
        self.meta = cached[1]
        return registry

    async def ensure(self, progress: ProgressFn | None = None) -> InstrumentRegistry:
        """A registry from a fresh dump: disk, else shared cache, else download."""
        now = self.clock.now_ns()
        # One read of the cache (several MB, hashed) both judges and loads it.
        cached = await asyncio.to_thread(self.disk.read)
        if not refresh_due(cached[1] if cached else None, now, self.refresh_at):
            registry = await asyncio.to_thread(self._registry_of, cached)
            if registry is not None:
                return registry
        if self.shared is not None:
            shared = await self._shared_get()
            if shared is not None and not refresh_due(shared[1], now, self.refresh_at):
                try:
                    registry = await asyncio.to_thread(build_registry, shared[0])
                except InstrumentsError as exc:
                    log.warning("shared instruments unusable", error=str(exc))
                else:
                    await asyncio.to_thread(self.disk.write, *shared)
                    self.meta = shared[1]
                    return registry
        return await self.refresh(progress)

    async def refresh(self, progress: ProgressFn | None = None) -> InstrumentRegistry:
        """Download now; on success replace the caches. Raises :class:`InstrumentsError`."""
        data = await self._download(progress)
        registry = await asyncio.to_thread(build_registry, data)
        meta = InstrumentsMeta(self.clock.now_ns(), len(registry), len(data), digest(data))
        await asyncio.to_thread(self.disk.write, data, meta)
        self.meta = meta
        if self.shared is not None:
            try:
                await self.shared.put(data, meta)
            except Exception as exc:  # the shared cache is a convenience, never a failure
                log.warning("could not share instruments", error=type(exc).__name__)
        log.info("instruments downloaded", rows=meta.rows, bytes=meta.bytes)
        return registry

    async def _download(self, progress: ProgressFn | None) -> bytes:
        if self.rest is None:
            raise InstrumentsError("instruments download needs kite.api_key and a login")
        chunks: list[bytes] = []
        total: list[int | None] = [None]
        read = rows = 0

        def on_length(n: int | None) -> None:
            total[0] = n

        try:
            async for chunk in self.rest.stream("/instruments", on_length=on_length):
                chunks.append(chunk)
                read += len(chunk)
                rows += chunk.count(b"\n")
                if progress is not None:
                    progress(DownloadProgress(read, total[0], max(rows - 1, 0)))
        except KiteApiError as exc:
            raise InstrumentsError(f"instruments download failed: {exc}") from None
        return b"".join(chunks)

    async def _shared_get(self) -> tuple[bytes, InstrumentsMeta] | None:
        assert self.shared is not None
        try:
            return await self.shared.get()
        except Exception as exc:
            log.warning("shared instruments cache unavailable", error=type(exc).__name__)
            return None
