"""Minute-candle backfill from the fake Kite into the chDB tick store's bars.

chDB hosts one data directory at a time in a process: like the tick-store tests, each
test opens its own store in a private directory and closes it before the next.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from pathlib import Path

import pytest

from engine.clock import IST, NS_PER_SECOND, LiveClock, TestClock
from engine.kite.backfill import BackfillError, backfill_minutes, candle_rows
from engine.kite.ratelimit import RateLimiter
from engine.kite.rest import KiteRest
from engine.model import Tick
from engine.storage import Bar, StorageSettings, TickStore
from tests.kite_fake.market import DATA_DIR
from tests.kite_fake.server import FakeKite

INFY = 408065
CANDLES = json.loads((DATA_DIR / "historical_minute.json").read_text())["data"]["candles"]
DAY_START = datetime(2017, 12, 15, 0, 0, tzinfo=IST)
OPEN = datetime(2017, 12, 15, 9, 15, tzinfo=IST)


def ns(dt: datetime) -> int:
    return int(dt.timestamp()) * NS_PER_SECOND


def expected_1m() -> list[Bar]:
    return [
        Bar(INFY, ns(datetime.strptime(c[0], "%Y-%m-%dT%H:%M:%S%z")), *c[1:5], c[5], 0)
        for c in CANDLES
    ]


@pytest.fixture
def store(tmp_path: Path):
    opened = TickStore.open(StorageSettings(retention_days=None), tmp_path)
    yield opened
    opened.close()


@pytest.fixture
def kite():
    with FakeKite(tick_interval=None, heartbeat_interval=None) as fake:
        yield fake


def history_calls(kite: FakeKite) -> list:
    return [r for r in kite.requests if r.path.startswith("/instruments/historical/")]


async def run_backfill(kite: FakeKite, store: TickStore, start: datetime, end: datetime) -> int:
    clock = LiveClock()
    async with KiteRest(kite.root, kite.api_key, lambda: kite.access_token) as rest:
        return await backfill_minutes(
            store.client(), INFY, start, end, rest=rest, limiter=RateLimiter(clock, 3), clock=clock
        )


async def test_backfilled_candles_are_bars_in_every_timeframe(kite: FakeKite, store: TickStore):
    written = await run_backfill(kite, store, OPEN, datetime(2017, 12, 15, 15, 30, tzinfo=IST))
    assert written == len(CANDLES) == 6
    (call,) = history_calls(kite)
    assert call.path == f"/instruments/historical/{INFY}/minute"
    assert call.params["from"] == ["2017-12-15 00:00:00"]  # from the IST day start
    assert call.params["to"] == ["2017-12-15 15:30:00"]

    queries = store.queries()
    lo, hi = ns(DAY_START), ns(DAY_START) + 86_400 * NS_PER_SECOND
    assert await queries.ohlc(INFY, "1m", lo, hi) == expected_1m()
    first5, sixth = expected_1m()[:5], expected_1m()[5]
    five = await queries.ohlc(INFY, "5m", lo, hi)
    assert five == [
        Bar(INFY, first5[0].ts_ns, first5[0].open, max(b.high for b in first5),
            min(b.low for b in first5), first5[-1].close, sum(b.volume for b in first5), 0),
        Bar(INFY, sixth.ts_ns, sixth.open, sixth.high, sixth.low, sixth.close, sixth.volume, 0),
    ]  # fmt: skip
    (fifteen,) = await queries.ohlc(INFY, "15m", lo, hi)
    (day,) = await queries.ohlc(INFY, "1d", lo, hi)
    assert fifteen.ts_ns == ns(datetime(2017, 12, 15, 9, 15, tzinfo=IST))
    assert day.ts_ns == ns(DAY_START)
    for bar in (fifteen, day):
        assert (bar.open, bar.close) == (CANDLES[0][1], CANDLES[-1][4])
        assert bar.high == max(c[2] for c in CANDLES) and bar.low == min(c[3] for c in CANDLES)
        assert bar.volume == sum(c[5] for c in CANDLES)
    assert (await queries.available_range()) is None  # no synthetic ticks in the raw table


async def test_running_twice_gives_the_same_bars(kite: FakeKite, store: TickStore) -> None:
    end = datetime(2017, 12, 15, 15, 30, tzinfo=IST)
    await run_backfill(kite, store, OPEN, end)
    await run_backfill(kite, store, OPEN, end)
    lo = ns(DAY_START)
    hi = lo + 86_400 * NS_PER_SECOND
    assert await store.queries().ohlc(INFY, "1m", lo, hi) == expected_1m()
    (day,) = await store.queries().ohlc(INFY, "1d", lo, hi)
    assert day.volume == sum(c[5] for c in CANDLES)


async def test_end_is_exclusive_and_live_ticks_merge(kite: FakeKite, store: TickStore) -> None:
    written = await run_backfill(kite, store, OPEN, datetime(2017, 12, 15, 9, 18, tzinfo=IST))
    assert written == 3
    # A live tick later that day, with Kite's cumulative day volume.
    day_volume = sum(c[5] for c in CANDLES[:3]) + 100
    ts = ns(datetime(2017, 12, 15, 9, 30, 5, tzinfo=IST))
    tick = Tick(INFY, 1701.0, 100, 1701.0, day_volume, 0, 0, 0, 0, 0, 0, ts, ts)
    writer = store.writer(TestClock())
    writer.start()
    writer.enqueue_many([tick])
    assert writer.flush(timeout=60)
    lo = ns(DAY_START)
    bars = await store.queries().ohlc(INFY, "1m", lo, lo + 86_400 * NS_PER_SECOND)
    assert bars[:3] == expected_1m()[:3]
    assert bars[3] == Bar(INFY, ts - 5 * NS_PER_SECOND, 1701.0, 1701.0, 1701.0, 1701.0, 100, 1)


async def test_long_ranges_are_split_into_60_day_calls(kite: FakeKite, store: TickStore):
    written = await run_backfill(kite, store, OPEN, datetime(2018, 5, 1, tzinfo=IST))
    calls = history_calls(kite)
    assert [c.params["from"][0][:10] for c in calls] == ["2017-12-15", "2018-02-13", "2018-04-14"]
    assert written == 6  # the fake answers every window with the same candles: de-duplicated


async def test_kite_errors_are_one_line(kite: FakeKite, store: TickStore) -> None:
    await asyncio.to_thread(kite.fail_next, 1, 500)
    with pytest.raises(BackfillError, match="GeneralException") as err:
        await run_backfill(kite, store, OPEN, datetime(2017, 12, 15, 15, 30, tzinfo=IST))
    assert "\n" not in str(err.value) and kite.access_token not in str(err.value)


async def test_a_429_is_retried(kite: FakeKite, store: TickStore) -> None:
    await asyncio.to_thread(kite.fail_next, 1, 429)
    assert await run_backfill(kite, store, OPEN, datetime(2017, 12, 15, 15, 30, tzinfo=IST)) == 6
    assert len(history_calls(kite)) == 2


async def test_the_rate_limiter_allows_three_calls_a_second() -> None:
    clock = TestClock()
    limiter = RateLimiter(clock, 3)
    for _ in range(3):
        await limiter.acquire()
    fourth = asyncio.create_task(limiter.acquire())
    await asyncio.sleep(0.01)
    assert not fourth.done()
    clock.advance(0.5)
    await asyncio.sleep(0.01)
    assert not fourth.done()
    clock.advance(0.5)
    await asyncio.wait_for(fourth, 5)
    assert limiter.waited == 1


def test_candle_rows_accumulate_day_volume_per_ist_day() -> None:
    candles = [
        ["2017-12-15T15:29:00+0530", 1, 2, 0.5, 1.5, 10],
        ["2017-12-15T09:15:00+0530", 1, 2, 0.5, 1.5, 5],
        ["2017-12-18T09:15:00+0530", 1, 2, 0.5, 1.5, 7, 1200],
    ]
    rows = candle_rows(INFY, candles, 0)
    assert [(r[6], r[7], r[8]) for r in rows] == [(5, 5, 0), (10, 15, 0), (7, 7, 1200)]
