"""The mock market feed component: paces :class:`MockMarket` and publishes its ticks."""

from __future__ import annotations

from datetime import datetime

import numpy as np

from engine.bus import MessageBus
from engine.clock import IST, NS_PER_SECOND, Clock
from engine.component import Component
from engine.feeds.mock_market import MockMarket, cycle_minute, minute_of_session_ist
from engine.feeds.universe import build_universe
from engine.model import Instrument, MarketDay
from engine.settings import FeedSettings


class FeedState:
    """What the header shows about the feed."""

    CONNECTING = "connecting"
    LIVE = "live"
    CLOSED = "closed"
    STOPPED = "stopped"


class MockFeed(Component):
    """A deterministic simulated NSE market at a configured tick rate."""

    name = "feed"

    def __init__(self, settings: FeedSettings, clock: Clock, bus: MessageBus) -> None:
        self.settings = settings
        self.clock = clock
        self.bus = bus
        self.market = MockMarket(
            build_universe(settings.universe_size), settings.scenario, settings.seed
        )
        self.state = FeedState.CONNECTING
        self.ticks_sent = 0
        self._carry = 0.0
        self._started_ns = clock.now_ns()

    def instruments(self) -> list[Instrument]:
        """Every instrument this feed ticks."""
        return list(self.market.instruments)

    def market_days(self) -> list[MarketDay]:
        """Previous close and circuit limits for the day."""
        return self.market.market_days()

    def session_minute(self, now_ns: int) -> float | None:
        """Minute of the trading session now, or ``None`` when the market is closed."""
        if self.settings.session == "always-open":
            return cycle_minute((now_ns - self._started_ns) / NS_PER_SECOND)
        now = datetime.fromtimestamp(now_ns / NS_PER_SECOND, tz=IST)
        if now.weekday() >= 5:
            return None
        return minute_of_session_ist(now.hour * 3600 + now.minute * 60 + now.second)

    def emit(self, count: int) -> int:
        """Generate and publish ``count`` ticks now, in batches of distinct instruments."""
        now_ns = self.clock.now_ns()
        minute = self.session_minute(now_ns)
        if minute is None:
            self.state = FeedState.CLOSED
            return 0
        self.state = FeedState.LIVE
        n = len(self.market.tokens)
        rng = self.market.rng
        sent = 0
        while sent < count:
            size = min(n, count - sent)
            idx = np.arange(n) if size == n else rng.choice(n, size=size, replace=False)
            self.bus.publish_ticks(self.market.step(idx, now_ns, minute))
            sent += size
        self.ticks_sent += sent
        return sent

    async def run(self) -> None:
        step_s = self.settings.step_ms / 1000.0
        rate = self.settings.ticks_per_second
        n = len(self.market.tokens)
        last_ns = self.clock.now_ns()
        while True:
            await self.clock.sleep(step_s)
            now_ns = self.clock.now_ns()
            # Pace by elapsed time, not by step count, so slow steps do not lower the rate.
            self._carry += rate * (now_ns - last_ns) / NS_PER_SECOND
            last_ns = now_ns
            count = int(self._carry)
            self._carry -= count
            while count > 0:
                sent = self.emit(min(count, n))
                if sent == 0:
                    self._carry = 0.0
                    break
                count -= sent
                if count > 0:
                    # Yield between batches so consumers run before the next batch lands.
                    await self.clock.sleep(0)

    async def stop(self) -> None:
        self.state = FeedState.STOPPED
