"""The watchlist drives the feed: add subscribes, remove releases unless something needs it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from engine.bus import MessageBus
from engine.clock import LiveClock, TestClock
from engine.feeds.kite_ticker import KiteFeed
from engine.kernel import Kernel
from engine.kite.settings import KiteSettings
from engine.orders.commands import CancelOrder
from engine.orders.model import OrderType, Product
from engine.quality import QualityMonitor
from engine.quality.settings import QualitySettings
from engine.snapshot import AddToWatchlist, RemoveFromWatchlist
from engine.subscriptions import FeedSubscriptions
from tests.trading_helpers import order_cmd

OPTION = "NFO:NIFTY26D0126050CE"


async def eventually(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    async with asyncio.timeout(timeout):
        while not (result := check()):
            await asyncio.sleep(0.02)
    return result


async def started(settings, ticks_per_second: int) -> AsyncIterator[Kernel]:
    """A started paper kernel on the real clock (the default session is always open)."""
    settings = settings.model_copy(
        update={"feed": settings.feed.model_copy(update={"ticks_per_second": ticks_per_second})}
    )
    kernel = Kernel(settings, LiveClock())
    shutdown = asyncio.Event()
    task = asyncio.create_task(kernel.run(shutdown))
    await asyncio.wait_for(kernel.started.wait(), 10)
    yield kernel
    shutdown.set()
    await asyncio.wait_for(task, 10)


@pytest.fixture
async def running(settings) -> AsyncIterator[Kernel]:
    """A busy market: every instrument trades many times a second."""
    async for kernel in started(settings, 2000):
        yield kernel


@pytest.fixture
async def quiet(settings) -> AsyncIterator[Kernel]:
    """A slow market, so a resting order 2.5 % away does not fill during the test."""
    async for kernel in started(settings, 10):
        yield kernel


def option_key(kernel: Kernel) -> str:
    # The chain is built from today's date: take its nearest ATM call.
    chain = kernel.option_chain("NIFTY")
    atm = next(row for row in chain.strikes if row.strike == chain.atm_strike)
    assert atm.call is not None
    return atm.call.instrument.key


async def test_an_added_option_ticks_and_a_removed_one_is_released(running: Kernel) -> None:
    kernel = running
    key = option_key(kernel)
    token = kernel.cache.by_key[key].instrument_token
    assert token not in kernel.feed.subscribed
    assert token not in kernel.cache.last, "options do not tick unsubscribed"

    added = await kernel.execute(AddToWatchlist(key))
    assert added.ok, added.message
    assert token in kernel.feed.subscribed
    # The first quote comes at once, then the option trades with the rest of the market.
    first = kernel.cache.last[token]
    await eventually(lambda: kernel.cache.last[token].volume > first.volume)
    rows = {row.instrument_token: row for row in kernel.snapshot(0).quotes}
    assert rows[token].ltp > 0

    removed = await kernel.execute(RemoveFromWatchlist(key))
    assert removed.ok, removed.message
    assert token not in kernel.feed.subscribed
    again = await kernel.execute(AddToWatchlist(key))
    assert again.ok and token in kernel.feed.subscribed


async def test_removal_keeps_the_feed_while_an_open_order_needs_it(quiet: Kernel) -> None:
    kernel = quiet
    key = option_key(kernel)
    option = kernel.cache.by_key[key]
    assert (await kernel.execute(AddToWatchlist(key))).ok
    order = order_cmd(
        quantity=option.lot_size,
        order_type=OrderType.LIMIT,
        product=Product.NRML,
        instrument=option,
        # Inside the 3 % price band, below the market: it rests.
        price=round(round(kernel.cache.last[option.instrument_token].ltp * 0.975 / 0.05) * 0.05, 2),
    )
    placed = await kernel.execute(order)
    assert placed.ok, placed.message

    assert (await kernel.execute(RemoveFromWatchlist(key))).ok
    assert option.instrument_token in kernel.feed.subscribed, "its open order still needs ticks"

    cancel = CancelOrder(user="AB1234", client_order_id=placed.client_order_id or "")
    assert (await kernel.execute(cancel)).ok
    assert (await kernel.execute(AddToWatchlist(key))).ok
    assert (await kernel.execute(RemoveFromWatchlist(key))).ok
    assert option.instrument_token not in kernel.feed.subscribed


def test_kites_limit_refuses_an_add_in_one_line() -> None:
    settings = KiteSettings(api_key="k", max_connections=1, max_instruments_per_connection=2)
    feed = KiteFeed(settings, TestClock(), MessageBus(100), lambda *a: None, lambda: None)
    subscriptions = FeedSubscriptions(feed, set)
    assert subscriptions.subscribe([11, 12]) is None
    refused = subscriptions.subscribe([13])
    assert refused == (
        "cannot subscribe 1 more instruments: Kite carries at most 2 "
        "(1 connections × 2), 2 subscribed"
    )
    assert set(feed.subscribed) == {11, 12}
    assert subscriptions.release([11, 12], watched=[12]) == [11]
    assert set(feed.subscribed) == {12}


def test_a_feed_without_subscriptions_is_left_alone() -> None:
    subscriptions = FeedSubscriptions(object(), set)
    assert subscriptions.subscribe([1]) is None
    assert subscriptions.release([1], watched=[]) == []


def test_only_subscribed_instruments_can_go_stale(settings) -> None:
    kernel = Kernel(settings, TestClock())
    instruments = dict(kernel.cache.instruments)
    clock = TestClock()
    quiet = QualitySettings(session="always-open", feed_gap={"enabled": False})
    everything = QualityMonitor(instruments, {}, quiet, clock)
    watched = QualityMonitor(instruments, {}, quiet, clock)
    reliance = kernel.cache.by_key["NSE:RELIANCE"].instrument_token
    watched.watch_only([reliance])
    clock.advance(120)
    assert len(everything.sweep()) == len(instruments) == 302  # 250 options never subscribed
    assert [b.instrument_token for b in watched.sweep()] == [reliance]


async def test_a_strategy_added_on_an_unwatched_option_gets_its_ticks(running: Kernel) -> None:
    from engine.strategies.commands import AddStrategy

    kernel = running
    key = option_key(kernel)
    token = kernel.cache.by_key[key].instrument_token
    assert token not in kernel.feed.subscribed and key not in kernel.watchlist.keys
    added = await kernel.execute(
        AddStrategy(name="opt", class_name="sma_crossover", instruments=(key,), start=True)
    )
    assert added.ok, added.message
    assert token in kernel.feed.subscribed, "a running strategy's instrument must tick"
    await eventually(lambda: token in kernel.cache.last)
