"""The mock market feed component: paces :class:`MockMarket` and publishes its ticks.

The ``bad-data`` scenario is the calm market damaged on purpose, so the data quality
monitor has something to catch: every tick goes through a
:class:`~engine.feeds.faults.FaultInjector` at ``feed.fault_rate``, and now and then
one instrument, or the whole feed, falls silent (:class:`Silences`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from engine.bus import MessageBus
from engine.clock import IST, NS_PER_SECOND, Clock
from engine.component import Component
from engine.feeds.faults import FaultInjector
from engine.feeds.mock_market import MockMarket, cycle_minute, minute_of_session_ist
from engine.feeds.universe import build_universe
from engine.model import Instrument, MarketDay, Tick
from engine.settings import FeedSettings

BAD_DATA = "bad-data"


@dataclass(frozen=True, slots=True)
class Silences:
    """When the bad-data scenario goes quiet, in clock seconds; an ``every`` of 0 turns one off.

    The waits between silences are uniform within ±50 % of the given mean. The default
    lengths outlast the quality monitor's default thresholds (an instrument is stale
    after 60 s, the feed gapped after 5 s), so each silence is caught.
    """

    instrument_every_s: float = 240.0
    """Mean time between one random instrument falling silent."""
    instrument_for_s: float = 75.0
    """How long that instrument stays silent."""
    feed_every_s: float = 600.0
    """Mean time between the whole feed falling silent."""
    feed_for_s: float = 8.0
    """How long the whole feed stays silent."""
    warmup_ticks: int = 30
    """Clean ticks per instrument before its first fault (the stateful checks need history)."""


class BadData:
    """The damage of the bad-data scenario: faults on ticks and silences, seeded."""

    def __init__(
        self,
        fault_rate: float,
        seed: int,
        market: MockMarket,
        silences: Silences,
        now_ns: int,
    ) -> None:
        self._rng = np.random.default_rng([seed, 0xBAD])
        self.injector = FaultInjector(
            fault_rate,
            self._rng,
            {i.instrument_token: i for i in market.instruments},
            {d.instrument_token: d for d in market.market_days()},
        )
        self.silences = silences
        self._universe = len(market.tokens)
        self._prev: dict[int, Tick] = {}
        self._seen: dict[int, int] = {}
        self.silent_index: int | None = None
        """Position in the market of the instrument silent now, if any."""
        self.gaps = 0
        """Whole-feed silences started."""
        self.instrument_silences = 0
        """Single-instrument silences started."""
        self._gap_until = 0
        self._quiet_until = 0
        self._next_gap = now_ns + self._wait(silences.feed_every_s)
        self._next_quiet = now_ns + self._wait(silences.instrument_every_s)

    def _wait(self, mean_s: float) -> float:
        if mean_s <= 0:
            return math.inf
        return float(self._rng.uniform(0.5, 1.5)) * mean_s * NS_PER_SECOND

    def gapped(self, now_ns: int) -> bool:
        """Advance the silence schedules to ``now_ns``; ``True`` while the whole feed is silent."""
        s = self.silences
        if self.silent_index is not None and now_ns >= self._quiet_until:
            self.silent_index = None
            self._next_quiet = now_ns + self._wait(s.instrument_every_s)
        if self.silent_index is None and now_ns >= self._next_quiet:
            self.silent_index = int(self._rng.integers(self._universe))
            self._quiet_until = now_ns + s.instrument_for_s * NS_PER_SECOND
            self.instrument_silences += 1
        if now_ns < self._gap_until:
            return True
        if now_ns >= self._next_gap:
            self._gap_until = now_ns + s.feed_for_s * NS_PER_SECOND
            self._next_gap = self._gap_until + self._wait(s.feed_every_s)
            self.gaps += 1
            return True
        return False

    def audible(self, idx: np.ndarray) -> np.ndarray:
        """``idx`` without the silent instrument (which therefore does not trade either)."""
        if self.silent_index is None:
            return idx
        return idx[idx != self.silent_index]

    def corrupt(self, ticks: list[Tick]) -> list[Tick]:
        """The batch as sent: some ticks replaced by a faulted copy (one fault each)."""
        warmup = self.silences.warmup_ticks
        seen = self._seen
        prev = self._prev
        maybe_corrupt = self.injector.maybe_corrupt
        sent: list[Tick] = []
        for tick in ticks:
            token = tick.instrument_token
            count = seen.get(token, 0) + 1
            seen[token] = count
            sent.append(maybe_corrupt(tick, prev.get(token))[0] if count > warmup else tick)
            # The clean tick is the reference: the one after a fault is always left clean.
            prev[token] = tick
        return sent


class FeedState:
    """What the header shows about the feed."""

    CONNECTING = "connecting"
    LIVE = "live"
    CLOSED = "closed"
    STOPPED = "stopped"


class MockFeed(Component):
    """A deterministic simulated NSE market at a configured tick rate."""

    name = "feed"

    def __init__(
        self,
        settings: FeedSettings,
        clock: Clock,
        bus: MessageBus,
        silences: Silences | None = None,
    ) -> None:
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
        self.bad_data: BadData | None = None
        """The faults and silences of the bad-data scenario (``None`` in the others)."""
        if settings.scenario == BAD_DATA:
            self.bad_data = BadData(
                settings.fault_rate,
                settings.seed,
                self.market,
                silences or Silences(),
                self._started_ns,
            )

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
        """Generate and publish ``count`` ticks now, in batches of distinct instruments.

        Returns ``count``, or 0 when the market is closed or (bad-data) the feed is
        silent; an instrument silenced by the bad-data scenario is left out of the batch.
        """
        now_ns = self.clock.now_ns()
        minute = self.session_minute(now_ns)
        if minute is None:
            self.state = FeedState.CLOSED
            return 0
        # A silent feed still looks connected: only the quality monitor can tell.
        self.state = FeedState.LIVE
        bad = self.bad_data
        if bad is not None and bad.gapped(now_ns):
            return 0
        n = len(self.market.tokens)
        rng = self.market.rng
        sent = 0
        while sent < count:
            size = min(n, count - sent)
            idx = np.arange(n) if size == n else rng.choice(n, size=size, replace=False)
            sent += size
            if bad is None:
                ticks = self.market.step_columns(idx, now_ns, minute)
            else:
                idx = bad.audible(idx)
                if not len(idx):
                    continue
                ticks = bad.corrupt(self.market.step(idx, now_ns, minute))
            self.bus.publish_ticks(ticks)
            self.ticks_sent += len(ticks)
        return sent

    async def run(self) -> None:
        step_s = self.settings.step_ms / 1000.0
        rate = self.settings.ticks_per_second
        n = len(self.market.tokens)
        # Like Kite on subscribe: a first quote of every instrument at once, so a large
        # universe does not leave the watch empty until each instrument trades.
        self.emit(n)
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
