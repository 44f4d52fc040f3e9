"""One outbox and one delivery task per channel: bounded, retried with backoff, never blocking.

:meth:`ChannelWorker.offer` is called on the engine loop and only appends to a
deque. The worker task sends the oldest alert, retrying transient failures with
exponential backoff; a full outbox drops its oldest alert and counts it.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Protocol

import msgspec
import structlog

from engine.alerts import AlertRaised, Severity
from engine.clock import Clock
from engine.notify.channels import SEVERITY_RANK, DeliveryError
from engine.notify.settings import ChannelSettings

log = structlog.get_logger("engine.notify")


class Channel(Protocol):
    """Something that can deliver one alert."""

    name: str

    async def send(self, alert: AlertRaised) -> None:
        """Deliver or raise :class:`~engine.notify.channels.DeliveryError`."""
        ...


class ChannelStats(msgspec.Struct, frozen=True):
    """Delivery counters of one channel, for the health screen."""

    channel: str
    pending: int
    sent: int
    retries: int
    failed: int
    dropped: int
    last_error: str = ""


class ChannelWorker:
    """The outbox and delivery loop of one channel."""

    def __init__(self, channel: Channel, settings: ChannelSettings, clock: Clock) -> None:
        self.channel = channel
        self._settings = settings
        self._clock = clock
        self._min_rank = SEVERITY_RANK[Severity(settings.min_severity)]
        self._outbox: deque[AlertRaised] = deque()
        self._ready = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self.sent = 0
        self.retries = 0
        self.failed = 0
        self.dropped = 0
        self.last_error = ""

    def offer(self, alert: AlertRaised) -> bool:
        """Queue ``alert`` if it is severe enough; never blocks. Returns whether it was queued."""
        if SEVERITY_RANK[alert.severity] < self._min_rank:
            return False
        if len(self._outbox) >= self._settings.outbox_capacity:
            self._outbox.popleft()
            self.dropped += 1
        self._outbox.append(alert)
        self._idle.clear()
        self._ready.set()
        return True

    async def run(self) -> None:
        """Deliver queued alerts, oldest first, until cancelled."""
        while True:
            while not self._outbox:
                self._idle.set()
                self._ready.clear()
                await self._ready.wait()
            await self._deliver(self._outbox.popleft())

    async def wait_idle(self) -> None:
        """Wait until the outbox is empty and nothing is being sent."""
        await self._idle.wait()

    async def _deliver(self, alert: AlertRaised) -> None:
        s = self._settings
        delay = s.backoff_initial_s
        for attempt in range(1, s.max_attempts + 1):
            try:
                await asyncio.wait_for(self.channel.send(alert), s.timeout_s * 2)
            except (DeliveryError, TimeoutError) as exc:
                transient = not isinstance(exc, DeliveryError) or exc.transient
                self.last_error = str(exc) or type(exc).__name__
                if not transient or attempt == s.max_attempts:
                    self.failed += 1
                    log.warning(
                        "alert not delivered",
                        channel=self.channel.name,
                        alert_id=alert.alert_id,
                        attempts=attempt,
                        error=self.last_error,
                    )
                    return
                self.retries += 1
                await self._clock.sleep(delay)
                delay = min(delay * 2, s.backoff_max_s)
            else:
                self.sent += 1
                return

    def stats(self) -> ChannelStats:
        """Current counters."""
        return ChannelStats(
            self.channel.name,
            len(self._outbox),
            self.sent,
            self.retries,
            self.failed,
            self.dropped,
            self.last_error,
        )
