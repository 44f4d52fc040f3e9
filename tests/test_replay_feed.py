"""The replay feed on a fake tick source: simulated time, timers, groups, samples, pacing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import datetime

import pytest

from engine.bus import MessageBus
from engine.clock import IST, NS_PER_SECOND
from engine.model import Tick
from engine.replay import ReplayClock, ReplayFeed

START = datetime(2026, 11, 25, 10, 0, tzinfo=IST)
T0 = int(START.timestamp()) * NS_PER_SECOND
SEC = NS_PER_SECOND


def tick(token: int, ts: int, ltp: float = 100.0) -> Tick:
    return Tick(token, ltp, 1, ltp, 10, 0, 0, ltp, ltp, ltp, ltp, ts, ts, received_ns=ts)


def source(*chunks: Sequence[Tick]):
    async def open_() -> AsyncIterator[Sequence[Tick]]:
        for chunk in chunks:
            await asyncio.sleep(0)
            yield list(chunk)

    return open_


class FakeWall:
    """A wall clock that records what the feed sleeps and moves only by those sleeps."""

    def __init__(self) -> None:
        self.t = 1000.0
        self.slept: list[float] = []

    def now_ns(self) -> int:
        return int(self.t * NS_PER_SECOND)

    def monotonic(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.t += seconds


def make_feed(chunks: list[list[Tick]], **kwargs) -> tuple[ReplayFeed, ReplayClock, MessageBus]:
    clock = ReplayClock(START)
    bus = MessageBus()
    total = sum(len(c) for c in chunks)
    feed = ReplayFeed(source(*chunks), total, [], [], clock, bus, **kwargs)
    return feed, clock, bus


async def test_clock_is_at_each_ticks_time_when_the_engine_sees_it() -> None:
    chunks = [
        [tick(1, T0 + SEC), tick(2, T0 + SEC), tick(1, T0 + 2 * SEC)],
        [tick(2, T0 + 2 * SEC)],
    ]
    feed, clock, bus = make_feed(chunks)
    seen: list[tuple[int, list[int]]] = []
    bus.add_hot_path(lambda b: seen.append((clock.now_ns(), [t.exchange_ts_ns for t in b])) or b)
    await feed.run()
    assert seen == [
        (T0 + SEC, [T0 + SEC, T0 + SEC]),  # one group per timestamp
        (T0 + 2 * SEC, [T0 + 2 * SEC]),
        (T0 + 2 * SEC, [T0 + 2 * SEC]),  # a timestamp split across chunks
    ]
    progress = feed.progress()
    assert (progress.done, progress.total, progress.finished) == (4, 4, True)
    assert progress.sim_ns == T0 + 2 * SEC and feed.state == "replay finished"


async def test_timers_fire_in_simulated_time_before_the_ticks_of_their_time() -> None:
    feed, clock, bus = make_feed([[tick(1, T0 + 5 * SEC), tick(1, T0 + 30 * SEC)]])
    events: list[str] = []

    async def timer() -> None:
        await clock.sleep(10)
        events.append(f"timer@{(clock.now_ns() - T0) // SEC}")

    bus.add_hot_path(lambda b: events.append(f"tick@{(b[0].exchange_ts_ns - T0) // SEC}") or b)
    waiting = asyncio.create_task(timer())
    await asyncio.sleep(0)
    await feed.run()
    await waiting
    assert events == ["tick@5", "timer@30", "tick@30"]


async def test_settle_runs_after_every_group_and_samples_once_per_bar() -> None:
    ticks = [tick(1, T0 + s * SEC) for s in (1, 2, 61, 62, 185)]
    feed, clock, bus = make_feed([ticks])
    settled: list[int] = []
    samples: list[int] = []

    async def settle() -> None:
        settled.append(clock.now_ns())

    feed.bind(bus, settle=settle, on_sample=samples.append)
    await feed.run()
    # Once per group, and once more at the end.
    assert len(settled) == len(ticks) + 1
    minute = 60 * SEC
    # Entering minutes 1 and 3: each sample is stamped with the end of the bar just left.
    assert samples == [T0 + minute, T0 + 2 * minute]


async def test_speed_sleeps_scaled_gaps_and_cuts_long_idle_stretches() -> None:
    times = [1, 2, 4, 4 + 3600, 4 + 3601]
    wall = FakeWall()
    feed, _, _ = make_feed(
        [[tick(1, T0 + s * SEC) for s in times]], speed=10.0, wall=wall, max_idle_s=300
    )
    await feed.run()
    assert wall.slept == pytest.approx([0.1, 0.2, 0.1])  # the hour is not waited for
    assert feed.progress().wall_s == pytest.approx(0.4)


async def test_max_speed_never_sleeps_and_progress_counts() -> None:
    wall = FakeWall()
    feed, _, _ = make_feed([[tick(1, T0 + s * SEC) for s in range(1, 50)]], wall=wall)
    assert feed.progress().done == 0 and feed.state == "replay 0%"
    await feed.run()
    assert wall.slept == [] and feed.progress().done == 49


async def test_the_clock_never_goes_backwards() -> None:
    feed, clock, _ = make_feed([[tick(1, T0 + 10 * SEC), tick(2, T0 + 5 * SEC)]])
    await feed.run()
    assert clock.now_ns() == T0 + 10 * SEC


async def test_an_unbound_feed_fails_loudly() -> None:
    clock = ReplayClock(START)
    feed = ReplayFeed(source([tick(1, T0)]), 1, [], [], clock)
    with pytest.raises(RuntimeError, match="not bound"):
        await feed.run()
    assert feed.finished.is_set() and isinstance(feed.error, RuntimeError)
    assert not feed.completed and not feed.progress().finished
    assert feed.state == "replay stopped"


async def test_columnar_chunks_are_published_per_instant_with_their_columns() -> None:
    from engine.quality.columns import ColumnarTicks

    chunks = [
        [tick(1, T0 + SEC), tick(2, T0 + SEC), tick(1, T0 + 2 * SEC)],
        [tick(2, T0 + 3 * SEC), tick(3, T0 + 3 * SEC)],
    ]

    async def columnar() -> AsyncIterator[Sequence[Tick]]:
        for chunk in chunks:
            yield ColumnarTicks.from_ticks(chunk)

    clock = ReplayClock(START)
    bus = MessageBus()
    feed = ReplayFeed(columnar, 5, [], [], clock, bus)
    seen: list[tuple[int, list[int], list[int]]] = []

    def stage(batch: Sequence[Tick]) -> Sequence[Tick]:
        assert isinstance(batch, ColumnarTicks)
        tokens = [t.instrument_token for t in batch]
        seen.append((clock.now_ns(), tokens, batch.columns.token.tolist()))
        return batch

    bus.add_hot_path(stage)
    await feed.run()
    assert seen == [
        (T0 + SEC, [1, 2], [1, 2]),
        (T0 + 2 * SEC, [1], [1]),
        (T0 + 3 * SEC, [2, 3], [2, 3]),  # a whole chunk goes as it is
    ]
