"""Invariants of the mock market over thousands of ticks, several seeds and every scenario."""

from __future__ import annotations

import asyncio
from datetime import datetime

import numpy as np
import pytest

from engine.bus import MessageBus
from engine.clock import IST, TestClock
from engine.feeds.mock import FeedState, MockFeed
from engine.feeds.mock_market import u_shape
from engine.feeds.universe import NIFTY_50, build_universe
from engine.model import Tick, on_tick_grid
from engine.settings import FeedSettings

SCENARIOS = ["calm", "trending", "volatile", "gap-open", "circuit"]


def run_feed(
    scenario: str, seed: int, steps: int = 60, universe: int = 60
) -> tuple[MockFeed, list[Tick]]:
    clock = TestClock(datetime(2026, 11, 25, 9, 15, tzinfo=IST))
    bus = MessageBus()
    ticks: list[Tick] = []
    bus.add_hot_path(lambda batch: ticks.extend(batch) or batch)
    feed = MockFeed(FeedSettings(scenario=scenario, seed=seed, universe_size=universe), clock, bus)
    for _ in range(steps):
        clock.advance(0.5)
        feed.emit(universe)
    return feed, ticks


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("seed", [1, 7, 42])
def test_every_tick_is_a_valid_market_state(scenario: str, seed: int) -> None:
    feed, ticks = run_feed(scenario, seed)
    assert len(ticks) == 60 * 60
    instruments = {i.instrument_token: i for i in feed.instruments()}
    days = {d.instrument_token: d for d in feed.market_days()}
    last_volume: dict[int, int] = {}
    for tick in ticks:
        instrument = instruments[tick.instrument_token]
        day = days[tick.instrument_token]
        grid = instrument.tick_size or 0.05
        for price in (tick.ltp, tick.open, tick.high, tick.low, *tick.bid_px, *tick.ask_px):
            assert on_tick_grid(price, grid), (instrument.tradingsymbol, price)
        assert tick.low <= tick.ltp <= tick.high
        assert tick.low <= tick.open <= tick.high
        if instrument.tradable:
            assert day.lower_circuit <= tick.ltp <= day.upper_circuit
            bids = [p for p in tick.bid_px if p > 0]
            asks = [p for p in tick.ask_px if p > 0]
            assert bids == sorted(bids, reverse=True) and len(set(bids)) == len(bids)
            assert asks == sorted(asks) and len(set(asks)) == len(asks)
            if bids and asks:
                assert asks[0] - bids[0] >= grid - 1e-9
            assert all(day.lower_circuit <= p <= day.upper_circuit for p in bids + asks)
            assert all(q > 0 for p, q in zip(tick.bid_px, tick.bid_qty, strict=True) if p > 0)
            assert tick.last_qty >= 1
        assert tick.volume >= last_volume.get(tick.instrument_token, 0)
        last_volume[tick.instrument_token] = tick.volume


def test_same_seed_same_market_other_seed_other_market() -> None:
    _, a = run_feed("volatile", 5, steps=20)
    _, b = run_feed("volatile", 5, steps=20)
    _, c = run_feed("volatile", 6, steps=20)
    assert a == b
    assert [t.ltp for t in a] != [t.ltp for t in c]


def test_default_universe_is_nifty_50_plus_two_indices_at_real_prices() -> None:
    universe = build_universe(52)
    symbols = [i.tradingsymbol for i, _ in universe]
    assert symbols[:3] == ["RELIANCE", "HDFCBANK", "ICICIBANK"]
    assert {"NIFTY 50", "NIFTY BANK"} <= set(symbols)
    assert len(set(symbols)) == 52 == len({i.instrument_token for i, _ in universe})
    reliance = next(price for symbol, _, _, price in NIFTY_50 if symbol == "RELIANCE")
    assert 500 < reliance < 5000
    assert all(i.tick_size == 0.05 for i, _ in universe if i.tradable)


def test_universe_scales_to_5000_distinct_instruments() -> None:
    universe = build_universe(5000)
    assert len({i.instrument_token for i, _ in universe}) == 5000
    assert len({i.tradingsymbol for i, _ in universe}) == 5000
    assert all(on_tick_grid(price, 0.05) for _, price in universe)


def test_indices_tick_without_depth_or_volume() -> None:
    _feed, ticks = run_feed("calm", 3, steps=5)
    nifty = [t for t in ticks if t.instrument_token == 256265]
    assert nifty and all(t.volume == 0 and t.best_bid == 0 for t in nifty)


def test_gap_open_opens_away_from_previous_close() -> None:
    _feed, ticks = run_feed("gap-open", 11, steps=1)
    gaps = [abs(t.open - t.close) / t.close for t in ticks]
    assert np.median(gaps) > 0.015


def test_circuit_scenario_locks_some_names_at_a_limit_with_one_sided_book() -> None:
    feed, ticks = run_feed("circuit", 3, steps=400)
    days = {d.instrument_token: d for d in feed.market_days()}
    locked = [
        t
        for t in ticks
        if t.ltp in (days[t.instrument_token].upper_circuit, days[t.instrument_token].lower_circuit)
    ]
    assert locked, "no instrument reached its circuit"
    for tick in locked:
        day = days[tick.instrument_token]
        if tick.ltp == day.upper_circuit:
            assert tick.best_ask == 0
        else:
            assert tick.best_bid == 0


def test_volume_is_u_shaped_over_the_session() -> None:
    assert u_shape(0) > u_shape(187) < u_shape(374)
    assert u_shape(0) == pytest.approx(u_shape(375))


async def test_ist_session_feed_is_closed_outside_market_hours() -> None:
    clock = TestClock(datetime(2026, 11, 25, 8, 0, tzinfo=IST))
    bus = MessageBus()
    feed = MockFeed(FeedSettings(session="ist", universe_size=5), clock, bus)
    assert feed.emit(5) == 0
    assert feed.state == FeedState.CLOSED
    clock.advance(2 * 3600)  # 10:00 IST, a Wednesday
    assert feed.emit(5) == 5
    assert feed.state == FeedState.LIVE
    saturday = TestClock(datetime(2026, 11, 28, 11, 0, tzinfo=IST))
    assert MockFeed(FeedSettings(session="ist", universe_size=5), saturday, bus).emit(5) == 0


async def test_running_feed_paces_ticks_by_its_clock() -> None:
    clock = TestClock()
    bus = MessageBus()
    count = []
    bus.add_hot_path(lambda batch: count.append(len(batch)) or batch)
    feed = MockFeed(FeedSettings(ticks_per_second=100, step_ms=100, universe_size=52), clock, bus)
    task = asyncio.create_task(feed.run())
    for _ in range(50):
        await asyncio.sleep(0)
        clock.advance(0.1)
        await asyncio.sleep(0)
    task.cancel()
    assert count[0] == 52  # the opening quote of every instrument
    assert 480 <= sum(count[1:]) <= 500
