"""The alert notifier: a bus subscriber on ``alerts.`` feeding one worker per enabled channel."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

import structlog

from engine.alerts import AlertRaised
from engine.bus import MessageBus
from engine.clock import Clock
from engine.component import Component
from engine.logs import register_secret
from engine.notify.outbox import ChannelStats, ChannelWorker
from engine.notify.settings import NotifySettings

if TYPE_CHECKING:
    import aiohttp

log = structlog.get_logger("engine.notify")

ALERTS_PREFIX = "alerts."


class AlertNotifier(Component):
    """Forwards every ``AlertRaised`` to the enabled channels, without ever blocking the loop."""

    name = "notify"
    critical = False

    def __init__(self, settings: NotifySettings, bus: MessageBus, clock: Clock) -> None:
        self.settings = settings
        self._session: aiohttp.ClientSession | None = None
        self.workers: list[ChannelWorker] = []
        desk = settings.desk_name
        s = settings
        if s.webhook.enabled or s.slack.enabled or s.email.enabled:
            # The HTTP client is imported only when a channel is on: it is slow to import.
            from engine.notify.channels import (
                EmailChannel,
                HttpChannel,
                slack_payload,
                webhook_payload,
            )
        for name, http, payload in (
            ("webhook", s.webhook, "webhook_payload"),
            ("slack", s.slack, "slack_payload"),
        ):
            if http.enabled and http.url is not None:
                url = http.url.get_secret_value()
                register_secret(url)
                build = webhook_payload if payload == "webhook_payload" else slack_payload
                channel = HttpChannel(name, url, build, desk, self._http, http.timeout_s)
                self.workers.append(ChannelWorker(channel, http, clock))
        if s.email.enabled:
            if s.email.password is not None:
                register_secret(s.email.password.get_secret_value())
            self.workers.append(ChannelWorker(EmailChannel(s.email, desk), s.email, clock))
        self._queue = bus.subscribe("notify", [ALERTS_PREFIX]) if self.workers else None
        self._bus = bus
        self._tasks: list[asyncio.Task[None]] = []

    def _http(self) -> aiohttp.ClientSession:
        import aiohttp

        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        return self._session

    async def run(self) -> None:
        """Pump alerts from the bus into the outboxes while the workers deliver."""
        if self._queue is None:
            return
        self._tasks = [
            asyncio.create_task(w.run(), name=f"notify-{w.channel.name}") for w in self.workers
        ]
        try:
            while True:
                _, event = await self._queue.get()
                if isinstance(event, AlertRaised):
                    for worker in self.workers:
                        worker.offer(event)
        finally:
            for task in self._tasks:
                task.cancel()

    async def flush(self, timeout_s: float | None = None) -> bool:
        """Wait (bounded) until every outbox is empty; returns whether they all emptied."""
        if self._queue is not None:
            while (item := self._queue.get_nowait()) is not None:
                if isinstance(item[1], AlertRaised):
                    for worker in self.workers:
                        worker.offer(item[1])
        timeout = self.settings.flush_timeout_s if timeout_s is None else timeout_s
        try:
            async with asyncio.timeout(timeout):
                for worker in self.workers:
                    await worker.wait_idle()
        except TimeoutError:
            return False
        return True

    async def stop(self) -> None:
        """Give pending alerts a bounded chance to go out, then close the HTTP session."""
        if any(not task.done() for task in self._tasks) and not await self.flush():
            log.warning(
                "notify outboxes not empty at shutdown",
                channels=[s.channel for s in self.stats() if s.pending],
            )
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._queue is not None:
            self._bus.unsubscribe(self._queue)
        if self._session is not None:
            await self._session.close()

    def stats(self) -> list[ChannelStats]:
        """Counters of every channel."""
        return [worker.stats() for worker in self.workers]
