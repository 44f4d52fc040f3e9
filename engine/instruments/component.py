"""The instruments dump as an engine component (``instruments``): refreshed once a day.

The desk starts on the cached dump (the kernel refuses to start without one). The
component then keeps it fresh: whenever the dump behind the registry predates the last
08:30 IST (injected clock) it fetches the day's dump, from the shared cache (Redis) if
another desk already has it, else from Kite, showing progress in its health detail. A
desk left running overnight therefore refreshes the next morning. On success the new
registry replaces the old one (``on_refresh``); a failed refresh leaves the registry
and both caches as they were, raises one alert per run of failures, marks the
component degraded and tries again every ``retry_s``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import structlog

from engine.alerts import AlertSource, Severity
from engine.clock import NS_PER_SECOND, Clock, ns_to_ist
from engine.component import Component
from engine.health import HealthState
from engine.instruments.parse import InstrumentsError
from engine.instruments.registry import InstrumentRegistry
from engine.instruments.service import DownloadProgress, InstrumentsService, last_refresh_point

log = structlog.get_logger("engine.instruments")

RaiseAlert = Callable[[Severity, AlertSource, str], Any]
Report = Callable[[HealthState, str], None]
CHECK_S = 60.0
"""Longest sleep between looks at the clock (a suspended laptop wakes up late)."""


def _stamp(ns: int) -> str:
    return ns_to_ist(ns).strftime("%d %b %H:%M IST")


class InstrumentsComponent(Component):
    """Keeps the instruments registry on today's dump."""

    name = "instruments"

    def __init__(
        self,
        service: InstrumentsService,
        registry: InstrumentRegistry,
        raise_alert: RaiseAlert,
        on_refresh: Callable[[InstrumentRegistry], None] | None = None,
        *,
        retry_s: float = 300.0,
    ) -> None:
        self.service = service
        self.clock: Clock = service.clock
        self.registry = registry
        """The current registry (replaced as a whole on each refresh)."""
        self._raise_alert = raise_alert
        self.on_refresh = on_refresh
        self.retry_s = retry_s
        self.report: Report = lambda state, detail: None
        """Set by the kernel: shows the component's state and detail on the health screen."""
        self.wakeups = 0
        """Turns of the refresh loop (each looks at the clock once)."""
        self.refreshes = 0
        self.failures = 0
        """Failed refreshes in a row (0 after a success)."""
        self._step = -1

    def describe(self) -> str:
        """One line on the current dump."""
        meta = self.service.meta
        when = f"dump of {_stamp(meta.downloaded_ns)}" if meta else "dump of unknown age"
        return f"{len(self.registry):,} instruments, {when}"

    async def start(self) -> None:
        """Open the REST session the downloads use."""
        if self.service.rest is not None:
            await self.service.rest.__aenter__()

    async def stop(self) -> None:
        """Close the REST session (a download in progress was cancelled with ``run``)."""
        if self.service.rest is not None:
            await self.service.rest.__aexit__()

    async def run(self) -> None:
        """Refresh whenever the dump is stale; otherwise sleep towards the next 08:30 IST."""
        self.report(HealthState.RUNNING, self.describe())
        while True:
            self.wakeups += 1
            if self.service.stale() and not await self.refresh():
                await self.clock.sleep(self.retry_s)
                continue
            await self.clock.sleep(min(CHECK_S, self._seconds_to_next_refresh()))

    def _seconds_to_next_refresh(self) -> float:
        now = self.clock.now_ns()
        point: datetime = last_refresh_point(now, self.service.refresh_at) + timedelta(days=1)
        return max(point.timestamp() - now / NS_PER_SECOND, 0.001)

    async def refresh(self) -> bool:
        """Fetch today's dump now; whether the registry was replaced."""
        self._step = -1
        self.report(HealthState.RUNNING, "refreshing instruments: starting")
        log.info("instruments refresh started", current=self.describe())
        try:
            registry = await self.service.ensure(self._progress)
        except InstrumentsError as exc:
            self.failures += 1
            kept = f"keeping {self.describe()}"
            self.report(HealthState.DEGRADED, f"refresh failed: {exc}; {kept}")
            log.warning("instruments refresh failed", error=str(exc), failures=self.failures)
            if self.failures == 1:
                self._raise_alert(
                    Severity.WARNING,
                    AlertSource.SYSTEM,
                    f"instruments refresh failed: {exc}; {kept}, retrying every {self.retry_s:g} s",
                )
            return False
        self.registry = registry
        self.refreshes += 1
        if self.failures:
            self._raise_alert(
                Severity.INFO,
                AlertSource.SYSTEM,
                f"instruments refreshed after {self.failures} failed attempt(s)",
            )
        self.failures = 0
        if self.on_refresh is not None:
            self.on_refresh(registry)
        self.report(HealthState.RUNNING, self.describe())
        log.info("instruments refreshed", instruments=len(registry))
        return True

    def _progress(self, progress: DownloadProgress) -> None:
        # One health update per percent (or 256 kB): the view changes, not every chunk.
        if progress.total_bytes:
            step = 100 * progress.bytes_read // progress.total_bytes
            done = f"{step}%"
        else:
            step = progress.bytes_read // (256 * 1024)
            done = f"{progress.bytes_read // 1024:,} kB"
        if step != self._step:
            self._step = step
            self.report(
                HealthState.RUNNING, f"downloading instruments: {done}, {progress.rows:,} rows"
            )


def build_instruments(settings: Any, clock: Clock, raise_alert: RaiseAlert) -> InstrumentsComponent:
    """The component from the desk settings (``kite`` section, stored login, Redis URL).

    Raises :class:`InstrumentsError` (one line) when no dump is cached: the Kite feed
    cannot map a token without one, so the desk does not start.
    """
    from engine.instruments.cache import RedisCache
    from engine.kite.rest import KiteRest
    from engine.kite.token_store import token_provider

    kite = settings.kite
    redis = getattr(settings, "redis", None)
    redis_url = kite.redis_url or getattr(redis, "url", None)
    prefix = getattr(redis, "key_prefix", "alphapt")
    rest = None
    if kite.api_key:
        rest = KiteRest(
            kite.root,
            kite.api_key,
            token_provider(kite.resolved_token_file(settings.data_dir), clock),
            timeout_s=kite.instruments_timeout_s,
        )
    service = InstrumentsService(
        settings.data_dir,
        clock,
        rest,
        refresh_at=kite.instruments_refresh_at,
        shared=RedisCache(redis_url, key=f"{prefix}:instruments") if redis_url else None,
    )
    registry = service.load_cached()
    if registry is None:
        raise InstrumentsError(
            "no Kite instruments dump is cached; "
            "run `alphapt-tui login` (it downloads the dump after logging in)"
        )
    return InstrumentsComponent(service, registry, raise_alert, retry_s=kite.instruments_retry_s)
