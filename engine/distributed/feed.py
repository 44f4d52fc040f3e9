"""``feed.source = nats``: ticks another process published to JetStream, into the local bus.

Each :class:`~engine.distributed.codec.TickBatch` says how many ticks of its instrument
the publisher sent before it, so the feed knows exactly what an outage lost: it counts
gaps and missed ticks, raises one alert per gap burst, and drops redelivered ticks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import msgspec
import structlog
from nats.aio.msg import Msg
from nats.js.api import DeliverPolicy

from engine.bus import MessageBus
from engine.clock import Clock
from engine.component import Component
from engine.distributed.codec import decode_batch
from engine.distributed.connection import NatsConnection
from engine.distributed.consumer import SupervisedPullConsumer
from engine.distributed.settings import NatsSettings
from engine.distributed.streams import stream_name
from engine.model import Instrument, MarketDay, Tick

log = structlog.get_logger("engine.distributed")

GapHook = Callable[[str], None]


class GapCounter:
    """Per (publisher, instrument): which tick comes next, and what went missing."""

    def __init__(self) -> None:
        self.gaps = 0
        """Times an instrument's ticks jumped ahead."""
        self.ticks_missed = 0
        self.ticks_duplicate = 0
        self._next: dict[tuple[str, int], int] = {}

    def admit(
        self, origin: str, token: int, first: int, ticks: list[Tick]
    ) -> tuple[list[Tick], int]:
        """The ticks not seen before, and how many were missed just before them."""
        key = (origin, token)
        expected = self._next.get(key)
        end = first + len(ticks)
        if expected is not None and end <= expected:
            self.ticks_duplicate += len(ticks)
            return [], 0
        self._next[key] = end
        if expected is None or first == expected:
            return ticks, 0
        if first < expected:
            self.ticks_duplicate += expected - first
            return ticks[expected - first :], 0
        missed = first - expected
        self.gaps += 1
        self.ticks_missed += missed
        return ticks, missed


class NatsFeed(Component):
    """A feed whose ticks come from the ticks stream; the kernel treats it like any feed."""

    name = "feed"

    def __init__(
        self,
        settings: NatsSettings,
        connection: NatsConnection,
        clock: Clock,
        bus: MessageBus,
        instruments: Sequence[Instrument],
        market_days: Sequence[MarketDay] = (),
        on_gap: GapHook | None = None,
        subject: str | None = None,
    ) -> None:
        self.settings = settings
        self.connection = connection
        self.bus = bus
        self.on_gap = on_gap
        self._instruments = list(instruments)
        self._market_days = list(market_days)
        self.counter = GapCounter()
        self.ticks_received = 0
        self.bad_messages = 0
        self._stopped = False
        self.consumer = SupervisedPullConsumer(
            connection,
            settings,
            clock,
            stream=stream_name(settings, "ticks"),
            durable=f"{settings.consumer_name}-feed",
            subject=subject or f"{settings.subject_prefix}.ticks.>",
            handler=self._handle,
            ack=False,
            deliver=DeliverPolicy.LAST_PER_SUBJECT,
        )

    @property
    def state(self) -> str:
        """``live`` while connected, ``connecting`` while not, ``stopped`` after stop."""
        if self._stopped:
            return "stopped"
        return "live" if self.connection.connected else "connecting"

    def instruments(self) -> list[Instrument]:
        """The instruments this desk knows (the publisher's universe)."""
        return list(self._instruments)

    def market_days(self) -> list[MarketDay]:
        """Previous close and circuit limits, as given."""
        return list(self._market_days)

    async def run(self) -> None:
        await self.consumer.run()

    async def stop(self) -> None:
        self._stopped = True
        await self.consumer.close()

    async def _handle(self, msgs: list[Msg]) -> None:
        ticks: list[Tick] = []
        missed = 0
        gapped = 0
        for msg in msgs:
            try:
                batch = decode_batch(msg.data)
            except msgspec.DecodeError:
                self.bad_messages += 1
                continue
            fresh, lost = self.counter.admit(batch.origin, batch.token, batch.first, batch.ticks)
            if lost:
                missed += lost
                gapped += 1
            ticks.extend(fresh)
        if missed:
            message = f"nats feed gap: {missed} ticks missed on {gapped} instruments"
            log.warning(message)
            if self.on_gap is not None:
                self.on_gap(message)
        if ticks:
            self.ticks_received += len(ticks)
            self.bus.publish_ticks(ticks)
