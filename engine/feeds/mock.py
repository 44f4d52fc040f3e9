"""The mock market feed component: paces :class:`MockMarket` and publishes its ticks.

The cash universe always ticks. Its index options (NIFTY, BANKNIFTY) tick only while
subscribed, as on Kite: a chain of a few hundred contracts would otherwise take most of
the tick rate from the names on the watch. A subscribed option gets the same share of
the rate as one cash instrument, and a first quote at once.

The ``bad-data`` scenario is the calm market damaged on purpose, so the data quality
monitor has something to catch: every tick goes through a
:class:`~engine.feeds.faults.FaultInjector` at ``feed.fault_rate``, and now and then
one instrument, or the whole feed, falls silent (:class:`Silences`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from engine.bus import MessageBus
from engine.clock import IST, NS_PER_SECOND, Clock, now_ist
from engine.component import Component
from engine.feeds.faults import FaultInjector
from engine.feeds.mock_market import MockMarket, cycle_minute, minute_of_session_ist
from engine.feeds.universe import OPTION_UNDERLYINGS, build_option_chains, build_universe
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
        self.options = _option_market(self.market, settings, clock)
        """The index options, or ``None`` when the universe lacks their indices."""
        self._option_index = (
            {token: n for n, token in enumerate(self.options.tokens)} if self.options else {}
        )
        self._live_options: list[int] = []
        """Positions in :attr:`options` of the subscribed options, in subscription order."""
        self._option_carry = 0.0
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
        """Every instrument this feed can tick: the cash universe, then the options."""
        options = self.options.instruments if self.options else []
        return [*self.market.instruments, *options]

    def market_days(self) -> list[MarketDay]:
        """Previous close and circuit limits for the day."""
        options = self.options.market_days() if self.options else []
        return [*self.market.market_days(), *options]

    # -- subscriptions (the cash universe is always on) -----------------------------------------

    @property
    def subscribed(self) -> set[int]:
        """Tokens that tick: the whole cash universe and the subscribed options."""
        live = self.options.tokens if self.options else []
        return {*self.market.tokens, *(live[n] for n in self._live_options)}

    def subscribe(self, tokens: Iterable[int], mode: str | None = None) -> None:
        """Start ticking the options among ``tokens``, each with a first quote at once.

        Cash instruments tick anyway; tokens this market does not know are ignored
        (``mode`` too: every mock tick is a full quote).
        """
        added = [
            n
            for token in dict.fromkeys(tokens)
            if (n := self._option_index.get(token)) is not None and n not in self._live_options
        ]
        self._live_options.extend(added)
        if added and self.state == FeedState.LIVE:
            self._emit_options(np.array(added), self.clock.now_ns())

    def unsubscribe(self, tokens: Iterable[int]) -> None:
        """Stop ticking the options among ``tokens``."""
        gone = {self._option_index.get(token) for token in tokens}
        self._live_options = [n for n in self._live_options if n not in gone]

    def _emit_options(self, idx: np.ndarray, now_ns: int) -> None:
        assert self.options is not None
        minute = self.session_minute(now_ns)
        if minute is None:
            return
        ticks = self.options.step(idx, now_ns, minute)
        self.bus.publish_ticks(ticks)
        self.ticks_sent += len(ticks)

    def emit_options(self, count: int) -> int:
        """Publish ``count`` ticks (at most one each) of subscribed options; returns how many."""
        live = self._live_options
        if not live or count <= 0 or self.options is None:
            return 0
        if self.session_minute(self.clock.now_ns()) is None:
            return 0
        rng = self.options.rng
        size = min(count, len(live))
        picked = live if size == len(live) else rng.choice(live, size=size, replace=False)
        self._emit_options(np.asarray(picked), self.clock.now_ns())
        return size

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
        self.emit_options(len(self._live_options))
        last_ns = self.clock.now_ns()
        while True:
            await self.clock.sleep(step_s)
            now_ns = self.clock.now_ns()
            # Pace by elapsed time, not by step count, so slow steps do not lower the rate.
            elapsed_s = (now_ns - last_ns) / NS_PER_SECOND
            self._carry += rate * elapsed_s
            self._option_carry += rate / n * len(self._live_options) * elapsed_s
            last_ns = now_ns
            if self._option_carry >= 1:
                sent = self.emit_options(int(self._option_carry))
                self._option_carry = self._option_carry - sent if sent else 0.0
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


def _option_market(market: MockMarket, settings: FeedSettings, clock: Clock) -> MockMarket | None:
    """The index options priced off the cash market's indices, with a volatility leverage."""
    spots = {
        instrument.tradingsymbol: float(price_t * tick)
        for instrument, price_t, tick in zip(
            market.instruments, market.prev_close_t, market.tick_size, strict=True
        )
        if not instrument.tradable
    }
    now = now_ist(clock)
    minute = minute_of_session_ist(now.hour * 3600 + now.minute * 60 + now.second) or 0.0
    rows = build_option_chains(now.date(), spots, minute)
    if not rows:
        return None
    index_of = {spec.name: spec.index for spec in OPTION_UNDERLYINGS}
    # Elasticity of a premium to its index, roughly delta × spot / premium (delta ~ 0.5).
    leverage = np.array([0.5 * spots[index_of[i.name]] / price for i, price in rows])
    # Its own seed: adding options must not change the cash market's random stream.
    options = MockMarket(rows, settings.scenario, settings.seed + 0x0915, np.clip(leverage, 2, 40))
    # No circuit to speak of: a premium may fall to one tick or multiply.
    options.lower_t[:] = 1
    options.upper_t[:] = options.prev_close_t * 20 + 2000
    return options
