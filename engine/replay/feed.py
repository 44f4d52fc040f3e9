"""The replay feed: stored ticks, in time order, onto the bus in simulated time.

Before each group of ticks that share a timestamp the replay clock moves to that
time (exchange time, the store's order key; received time if exchange time is 0),
timers that fall due run, then the group is published exactly as a live feed would.
After each group the feed waits until the strategies' order commands have reached
the paper broker (``settle``): in a replay an order takes no simulated time to get
there, so the same ticks always give the same fills, at any speed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

import numpy as np

from engine.bus import MessageBus
from engine.clock import NS_PER_SECOND, Clock, LiveClock
from engine.component import Component
from engine.model import Instrument, MarketDay, Tick
from engine.quality.columns import ColumnarTicks
from engine.replay.clock import ReplayClock
from engine.replay.progress import ReplayProgress

TickSource = Callable[[], AsyncIterator[Sequence[Tick]]]
"""Opens the stored ticks of the replay as an async iterator of time-ordered chunks."""


def parse_speed(text: str) -> float | None:
    """``max`` → None (no waiting); ``1x``, ``10x``, ``2.5x`` → that multiple of real time."""
    value = text.strip().lower()
    if value == "max":
        return None
    try:
        speed = float(value.removesuffix("x")) if value.endswith("x") else float("nan")
    except ValueError:
        speed = float("nan")
    if not speed > 0 or speed > 1_000_000:
        raise ValueError(f"speed must be max or a multiple like 1x or 10x, got {text!r}")
    return speed


class ReplayFeed(Component):
    """A feed component that plays stored ticks instead of a market.

    ``speed`` None replays as fast as the engine takes the ticks; otherwise gaps
    between ticks are slept on ``wall`` divided by ``speed`` (a gap longer than
    ``max_idle_s`` of simulated time — a night, a weekend — is cut to nothing).
    ``on_sample(ns)`` is called each time simulated time enters a new
    ``sample_every_s`` bucket, before that bucket's ticks, with the end of the bucket
    just left (``ns``): one equity-curve point per bar.
    """

    name = "feed"

    def __init__(
        self,
        source: TickSource,
        total: int,
        instruments: Sequence[Instrument],
        market_days: Sequence[MarketDay],
        clock: ReplayClock,
        bus: MessageBus | None = None,
        *,
        speed: float | None = None,
        wall: Clock | None = None,
        settle: Callable[[], Awaitable[None]] | None = None,
        on_sample: Callable[[int], None] | None = None,
        sample_every_s: float = 60.0,
        max_idle_s: float = 300.0,
        first_ns: int = 0,
        last_ns: int = 0,
    ) -> None:
        self._source = source
        self.total = total
        self._instruments = list(instruments)
        self._days = list(market_days)
        self.clock = clock
        self.bus = bus
        self.speed = speed
        self._wall = wall or LiveClock()
        self._settle = settle
        self._on_sample = on_sample
        self._sample_ns = int(sample_every_s * NS_PER_SECOND)
        self._max_idle_ns = int(max_idle_s * NS_PER_SECOND)
        self.first_ns = first_ns
        self.last_ns = last_ns
        self.done = 0
        self.finished = asyncio.Event()
        """Set when the replay ends: every tick played (:attr:`completed`), failed or stopped."""
        self.completed = False
        """Every tick was published and the last orders settled."""
        self.error: BaseException | None = None
        self._started_wall: float | None = None
        self._ended_wall: float | None = None

    def bind(
        self,
        bus: MessageBus,
        *,
        settle: Callable[[], Awaitable[None]] | None = None,
        on_sample: Callable[[int], None] | None = None,
    ) -> None:
        """Attach the kernel's bus (and settle/sample hooks) once the kernel is built."""
        self.bus = bus
        self._settle = settle
        self._on_sample = on_sample

    # -- what the kernel asks of a feed ---------------------------------------------

    def instruments(self) -> list[Instrument]:
        """The instruments being replayed."""
        return list(self._instruments)

    def market_days(self) -> list[MarketDay]:
        """Previous close and circuit limits, as the live feed gave them (may be empty)."""
        return list(self._days)

    def subscribe(self, tokens: object, mode: str | None = None) -> None:
        """Nothing to subscribe: the replay plays what was chosen up front."""

    @property
    def state(self) -> str:
        """Shown in the desk header: replay progress in percent, then ``finished``."""
        if self.completed:
            return "replay finished"
        if self.finished.is_set():
            return "replay stopped"
        return f"replay {self.progress().fraction * 100:.0f}%"

    def progress(self) -> ReplayProgress:
        """Ticks done and simulated time, for the command line and the desk."""
        wall = 0.0
        if self._started_wall is not None:
            end = self._ended_wall if self._ended_wall is not None else self._wall.monotonic()
            wall = end - self._started_wall
        return ReplayProgress(
            done=self.done,
            total=self.total,
            sim_ns=self.clock.now_ns(),
            first_ns=self.first_ns,
            last_ns=self.last_ns,
            finished=self.completed,
            wall_s=wall,
        )

    # -- the replay loop ------------------------------------------------------------

    async def run(self) -> None:
        """Publish every stored tick in order, then set :attr:`finished`."""
        self._started_wall = self._wall.monotonic()
        try:
            await self._play()
            if self._settle is not None:
                await self._settle()
            await asyncio.sleep(0)
            self.completed = True
        except BaseException as exc:
            self.error = exc
            raise
        finally:
            self._ended_wall = self._wall.monotonic()
            self.finished.set()

    async def _play(self) -> None:
        if self.bus is None:
            raise RuntimeError("replay feed is not bound to a bus")
        clock, publish, settle = self.clock, self.bus.publish_ticks, self._settle
        queues = self.bus.event_queues()
        sample_ns, on_sample = self._sample_ns, self._on_sample
        next_sample = 0
        pace = self.speed is not None
        anchor_sim = anchor_wall = 0.0
        last_ts = 0
        async for chunk in self._source():
            n = len(chunk)
            columnar = isinstance(chunk, ColumnarTicks)
            for i, j, ts in _instants(chunk):
                if pace:
                    if not anchor_wall or ts - last_ts > self._max_idle_ns:
                        anchor_sim, anchor_wall = ts, self._wall.monotonic()
                    wait = anchor_wall + (ts - anchor_sim) / NS_PER_SECOND / self.speed
                    wait -= self._wall.monotonic()
                    if wait > 0:
                        await self._wall.sleep(wait)
                last_ts = ts
                if on_sample is not None and ts >= next_sample:
                    if next_sample:
                        on_sample(next_sample)
                    next_sample = (ts // sample_ns + 1) * sample_ns
                if clock.due(ts):
                    clock.move_to(ts)
                    # Let the timers that fell due run before the ticks of their time.
                    await asyncio.sleep(0)
                else:
                    clock.move_to(ts)
                if j - i == n:
                    publish(chunk)
                else:
                    publish(chunk.rows(i, j) if columnar else chunk[i:j])  # type: ignore[attr-defined]
                self.done += j - i
                if settle is not None:
                    await settle()
                if any(q.depth for q in queues):
                    # Order events and fills reach the strategies before the next tick.
                    await asyncio.sleep(0)


def _instants(chunk: Sequence[Tick]) -> list[tuple[int, int, int]]:
    """``(start, stop, time)`` of each run of ticks that share one exchange time."""
    if isinstance(chunk, ColumnarTicks) and len(chunk):
        c = chunk.columns
        times = np.where(c.exchange_ts_ns != 0, c.exchange_ts_ns, c.received_ns)
        cuts = (np.flatnonzero(times[1:] != times[:-1]) + 1).tolist()
        starts, stops = [0, *cuts], [*cuts, len(chunk)]
        return [(i, j, int(times[i])) for i, j in zip(starts, stops, strict=True)]
    runs: list[tuple[int, int, int]] = []
    n = len(chunk)
    i = 0
    while i < n:
        first = chunk[i]
        ts = first.exchange_ts_ns or first.received_ns
        j = i + 1
        while j < n and (chunk[j].exchange_ts_ns or chunk[j].received_ns) == ts:
            j += 1
        runs.append((i, j, ts))
        i = j
    return runs
