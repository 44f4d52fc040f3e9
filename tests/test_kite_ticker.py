"""The Kite ticker feed against the fake Kite over real sockets."""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import structlog

from engine.alerts import AlertSource, Severity
from engine.bus import MessageBus
from engine.clock import IST, NS_PER_SECOND, Clock, LiveClock, TestClock
from engine.feeds.kite_backoff import Backoff
from engine.feeds.kite_ticker import LOGIN_REQUIRED, KiteFeed, KiteSubscriptionError
from engine.kite.settings import KiteSettings
from engine.logs import configure_logging
from engine.model import Tick
from tests.kite_fake.server import FakeKite

INFY = 408065
NIFTY = 256265
USDINR = 412675
GUARD_S = 20.0  # a hung test fails instead of waiting forever; nothing here is a speed check


async def wait_until(predicate: Callable[[], Any], guard_s: float = GUARD_S) -> Any:
    """Poll ``predicate`` until truthy (the fake runs on another thread)."""
    async with asyncio.timeout(guard_s):
        while not (result := predicate()):
            await asyncio.sleep(0.005)
        return result


def kite_settings(kite: FakeKite, **overrides: Any) -> KiteSettings:
    values: dict[str, Any] = {
        "api_key": kite.api_key,
        "ws_url": f"ws://127.0.0.1:{kite.port}/",
        "heartbeat_timeout_s": 5.0,
        "reconnect_initial_s": 0.01,
        "reconnect_max_s": 0.05,
    }
    values.update(overrides)
    return KiteSettings(**values)


class Harness:
    """A running KiteFeed with everything it published and alerted recorded."""

    def __init__(self, feed: KiteFeed, ticks: list[Tick], alerts: list[tuple], updates: list):
        self.feed = feed
        self.ticks = ticks
        self.alerts = alerts
        self.updates = updates

    def tokens_seen(self) -> set[int]:
        return {t.instrument_token for t in self.ticks}


@asynccontextmanager
async def running_feed(
    kite: FakeKite,
    clock: Clock | None = None,
    provider: Callable[[], str | None] | None = None,
    **overrides: Any,
) -> AsyncIterator[Harness]:
    bus = MessageBus()
    ticks: list[Tick] = []
    alerts: list[tuple] = []
    updates: list[dict] = []
    bus.add_hot_path(lambda batch: ticks.extend(batch) or batch)
    feed = KiteFeed(
        kite_settings(kite, **overrides),
        clock or LiveClock(),
        bus,
        lambda *alert: alerts.append(alert),
        provider or (lambda: kite.access_token),
        on_order_update=updates.append,
        rng=random.Random(7),
    )
    task = asyncio.create_task(feed.run())
    try:
        yield Harness(feed, ticks, alerts, updates)
    finally:
        await feed.stop()
        await asyncio.wait_for(task, GUARD_S)
    assert feed.state == "stopped"


@pytest.fixture
def fake_kite():
    with FakeKite(tick_interval=0.02, heartbeat_interval=0.1) as kite:
        yield kite


@pytest.fixture
def quiet_kite():
    """No automatic ticks: tests push exactly what they want."""
    with FakeKite(tick_interval=None, heartbeat_interval=0.1) as kite:
        yield kite


# -- ticks ------------------------------------------------------------------------------------


async def test_pushed_ticks_arrive_in_engine_units(quiet_kite: FakeKite) -> None:
    clock = TestClock(datetime(2026, 11, 25, 10, 0, tzinfo=IST))
    ets = datetime(2026, 11, 25, 9, 59, 58, tzinfo=IST)
    full = {
        "instrument_token": INFY,
        "mode": "full",
        "last_price": 1512.35,
        "last_traded_quantity": 7,
        "average_traded_price": 1510.1,
        "volume_traded": 123456,
        "total_buy_quantity": 1000,
        "total_sell_quantity": 2000,
        "ohlc": {"open": 1500.0, "high": 1520.5, "low": 1499.95, "close": 1505.0},
        "last_trade_time": ets - timedelta(seconds=1),
        "exchange_timestamp": ets,
        "oi": 0,
        "depth": {
            "buy": [{"price": 1512.3 - i * 0.05, "quantity": 10 + i, "orders": i + 1} for i in range(5)],
            "sell": [{"price": 1512.4 + i * 0.05, "quantity": 20 + i, "orders": i + 2} for i in range(3)],
        },
    }  # fmt: skip
    async with running_feed(quiet_kite, clock=clock) as h:
        h.feed.subscribe([INFY], "full")
        h.feed.subscribe([USDINR], "ltp")
        await wait_until(lambda: quiet_kite.subscriptions() == {INFY: "full", USDINR: "ltp"})
        await asyncio.to_thread(
            quiet_kite.push,
            [full, {"instrument_token": USDINR, "mode": "ltp", "last_price": 83.1225}],
        )
        await wait_until(lambda: len(h.ticks) == 2)
    infy, usdinr = h.ticks
    ets_ns = int(ets.timestamp()) * NS_PER_SECOND
    assert infy == Tick(
        instrument_token=INFY,
        ltp=1512.35,
        last_qty=7,
        avg_price=1510.1,
        volume=123456,
        buy_qty=1000,
        sell_qty=2000,
        open=1500.0,
        high=1520.5,
        low=1499.95,
        close=1505.0,
        exchange_ts_ns=ets_ns,
        last_trade_ts_ns=ets_ns - NS_PER_SECOND,
        bid_px=pytest.approx(tuple(1512.3 - i * 0.05 for i in range(5))),
        bid_qty=(10, 11, 12, 13, 14),
        bid_orders=(1, 2, 3, 4, 5),
        ask_px=pytest.approx((1512.4, 1512.45, 1512.5, 0.0, 0.0)),
        ask_qty=(20, 21, 22, 0, 0),
        ask_orders=(2, 3, 4, 0, 0),
        oi=0,
        received_ns=clock.now_ns(),
    )
    # LTP mode: a price (CDS divisor) and the receive time stands in for the exchange time.
    assert usdinr.ltp == pytest.approx(83.1225)
    assert usdinr.exchange_ts_ns == usdinr.received_ns == clock.now_ns()
    assert usdinr.volume == 0 and usdinr.bid_px == ()


async def test_streamed_ticks_follow_modes_and_unsubscribe(fake_kite: FakeKite) -> None:
    async with running_feed(fake_kite) as h:
        h.feed.subscribe([INFY, NIFTY], "full")
        h.feed.subscribe([USDINR], "quote")
        await wait_until(lambda: h.tokens_seen() == {INFY, NIFTY, USDINR})
        assert fake_kite.subscriptions() == {INFY: "full", NIFTY: "full", USDINR: "quote"}
        last = {t.instrument_token: t for t in h.ticks}
        assert len(last[INFY].bid_px) == 5 and last[INFY].volume > 0
        assert last[NIFTY].bid_px == () and last[NIFTY].ltp > 10_000  # index: no depth
        assert last[USDINR].bid_px == () and 60 < last[USDINR].ltp < 100

        h.feed.set_mode([INFY], "ltp")
        h.feed.unsubscribe([NIFTY, USDINR])
        await wait_until(lambda: fake_kite.subscriptions() == {INFY: "ltp"})
        h.ticks.clear()
        await wait_until(lambda: len(h.ticks) >= 3)
        assert h.tokens_seen() == {INFY}
        assert h.feed.state == "live"


async def test_heartbeats_are_counted_and_keep_a_quiet_socket_up(quiet_kite: FakeKite) -> None:
    async with running_feed(quiet_kite, heartbeat_timeout_s=1.0) as h:
        await wait_until(lambda: h.feed.stats.heartbeats >= 15)  # 1.5 s: past the timeout
        assert h.feed.shards[0].connects == 1
        assert h.feed.state == "live"
        assert h.ticks == []


async def test_silence_past_the_timeout_reconnects() -> None:
    with FakeKite(tick_interval=None, heartbeat_interval=None) as kite:
        async with running_feed(kite, heartbeat_timeout_s=0.2) as h:
            h.feed.subscribe([INFY])
            shard = h.feed.shards[0]
            await wait_until(lambda: shard.connects >= 2)
            assert "no heartbeat" in shard.last_error
            await wait_until(lambda: kite.subscriptions() == {INFY: "full"})  # resubscribed


async def test_reconnects_after_a_drop_and_resubscribes(fake_kite: FakeKite) -> None:
    async with running_feed(fake_kite) as h:
        h.feed.subscribe([INFY, NIFTY], "full")
        h.feed.subscribe([USDINR], "ltp")
        await wait_until(lambda: h.tokens_seen() == {INFY, NIFTY, USDINR})
        before = dict(fake_kite.subscriptions())
        assert await asyncio.to_thread(fake_kite.drop_websockets) == 1
        shard = h.feed.shards[0]
        await wait_until(lambda: shard.connects == 2 and fake_kite.connection_count() == 1)
        await wait_until(lambda: fake_kite.subscriptions() == before)
        h.ticks.clear()
        await wait_until(lambda: h.tokens_seen() == {INFY, NIFTY, USDINR})
        assert "code 1006" in shard.last_error
        assert h.feed.state == "live"
        assert h.alerts == []


async def test_refused_handshakes_back_off_and_recover(fake_kite: FakeKite) -> None:
    await asyncio.to_thread(fake_kite.refuse_websockets, 3)
    async with running_feed(fake_kite) as h:
        h.feed.subscribe([INFY])
        await wait_until(lambda: h.tokens_seen() == {INFY})
        shard = h.feed.shards[0]
        assert shard.attempts == 4 and shard.connects == 1
        assert h.alerts == []  # a 503 is not an expired session


def test_backoff_doubles_with_jitter_up_to_the_cap() -> None:
    backoff = Backoff(1.0, 8.0, random.Random(3))
    delays = [backoff.next() for _ in range(7)]
    bases = [1, 2, 4, 8, 8, 8, 8]
    assert all(b / 2 <= d <= b for d, b in zip(delays, bases, strict=True))
    assert len(set(delays)) == len(delays)  # jittered
    backoff.reset()
    assert backoff.next() <= 1.0


# -- sharding ---------------------------------------------------------------------------------


async def test_nine_thousand_instruments_shard_over_three_connections() -> None:
    tokens = [(100_000 + i) << 8 | 1 for i in range(9000)]  # NSE segment
    with FakeKite(tick_interval=0.2, heartbeat_interval=0.5) as kite:
        async with running_feed(kite) as h:
            h.feed.subscribe(tokens, "ltp")
            assert [len(s.modes) for s in h.feed.shards] == [3000, 3000, 3000]
            await wait_until(lambda: len(kite.subscriptions()) == 9000)
            assert kite.connection_count() == 3
            await wait_until(lambda: h.tokens_seen() >= set(tokens))
            with pytest.raises(KiteSubscriptionError, match="at most 9000"):
                h.feed.subscribe([7 << 8 | 1])
            assert len(h.feed.subscribed) == 9000
            h.feed.unsubscribe(tokens[6000:])  # the third connection empties and closes
            await wait_until(lambda: kite.connection_count() == 2)
            assert h.feed.state == "live"


# -- session expiry ---------------------------------------------------------------------------


async def test_expired_token_means_login_required_one_alert_and_no_spin(
    fake_kite: FakeKite,
) -> None:
    async with running_feed(fake_kite, max_instruments_per_connection=1) as h:
        h.feed.subscribe([INFY, NIFTY, USDINR])  # three connections to expire at once
        await wait_until(lambda: h.tokens_seen() == {INFY, NIFTY, USDINR})
        old_token = fake_kite.access_token
        await asyncio.to_thread(fake_kite.expire_token)
        await wait_until(lambda: h.feed.state == LOGIN_REQUIRED)
        await wait_until(lambda: all(s.state == LOGIN_REQUIRED for s in h.feed.shards))
        attempts = [s.attempts for s in h.feed.shards]
        # Reconnect delays here are 10-50 ms: a spinning feed would retry many times in this window.
        await asyncio.sleep(0.5)
        assert [s.attempts for s in h.feed.shards] == attempts
        assert len(h.alerts) == 1
        severity, source, message = h.alerts[0]
        assert (severity, source) == (Severity.CRITICAL, AlertSource.FEED)
        assert "run alphapt-tui login" in message
        assert old_token not in message

        # A new login elsewhere: the provider now hands out the new token.
        await asyncio.to_thread(_relogin, fake_kite)
        assert fake_kite.access_token != old_token
        h.feed.set_access_token(fake_kite.access_token)
        h.ticks.clear()
        await wait_until(lambda: h.tokens_seen() == {INFY, NIFTY, USDINR})
        assert h.feed.state == "live"
        assert len(h.alerts) == 1


def _relogin(kite: FakeKite) -> None:
    import requests

    form = {"api_key": kite.api_key, "request_token": kite.request_token}
    form["checksum"] = kite.checksum()
    response = requests.post(f"{kite.root}/session/token", data=form, timeout=5)
    assert response.status_code == 200


async def test_no_token_at_all_waits_for_one_without_connecting(fake_kite: FakeKite) -> None:
    token: list[str | None] = [None]
    clock = TestClock()
    async with running_feed(fake_kite, clock=clock, provider=lambda: token[0]) as h:
        await wait_until(lambda: h.feed.state == LOGIN_REQUIRED)
        assert h.feed.shards[0].attempts == 0
        assert len(h.alerts) == 1
        token[0] = fake_kite.access_token
        clock.advance(h.feed.settings.token_poll_s)  # the feed re-reads the stored token
        await wait_until(lambda: h.feed.state == "live")
        assert len(h.alerts) == 1


# -- bad input --------------------------------------------------------------------------------


async def test_malformed_frames_are_counted_and_survived(quiet_kite: FakeKite) -> None:
    async with running_feed(quiet_kite) as h:
        h.feed.subscribe([INFY], "ltp")
        await wait_until(lambda: quiet_kite.subscriptions() == {INFY: "ltp"})
        await asyncio.to_thread(quiet_kite.push, b"\x00\x05garbage")
        await asyncio.to_thread(quiet_kite.push, b"\x00\x01\x00\x08\x00\x06")  # truncated
        await asyncio.to_thread(quiet_kite.push, "{not json")
        await asyncio.to_thread(
            quiet_kite.push, [{"instrument_token": INFY, "mode": "ltp", "last_price": 1401.5}]
        )
        await wait_until(lambda: h.ticks)
        assert h.ticks[0].ltp == 1401.5
        assert h.feed.stats.malformed == 3
        assert h.feed.shards[0].connects == 1
        assert h.feed.state == "live"


def test_bad_subscriptions_are_refused(quiet_kite: FakeKite) -> None:
    feed = KiteFeed(kite_settings(quiet_kite), LiveClock(), MessageBus(), print, lambda: None)
    with pytest.raises(KiteSubscriptionError, match="unknown ticker mode"):
        feed.subscribe([INFY], "depth")
    with pytest.raises(ValueError, match="api_key"):
        KiteFeed(KiteSettings(), LiveClock(), MessageBus(), print, lambda: None)


# -- text messages ----------------------------------------------------------------------------


async def test_order_updates_reach_the_callback_once(fake_kite: FakeKite) -> None:
    async with running_feed(fake_kite, max_instruments_per_connection=1) as h:
        h.feed.subscribe([INFY, NIFTY])  # two connections, each receives every update
        await wait_until(lambda: h.tokens_seen() == {INFY, NIFTY})
        await asyncio.to_thread(_place_and_fill, fake_kite)
        await wait_until(lambda: len(h.updates) == 2)
        assert [u["status"] for u in h.updates] == ["OPEN", "COMPLETE"]
        assert {u["tag"] for u in h.updates} == {"TICKER1"}
        await asyncio.to_thread(fake_kite.push, json.dumps({"type": "error", "data": "bad"}))
        await wait_until(lambda: h.alerts)
        assert h.alerts == [(Severity.WARNING, AlertSource.FEED, "Kite ticker error: bad")]
        assert len(h.updates) == 2


def _place_and_fill(kite: FakeKite) -> None:
    import requests

    headers = {"Authorization": f"token {kite.api_key}:{kite.access_token}", "X-Kite-Version": "3"}
    form = {
        "exchange": "NSE",
        "tradingsymbol": "INFY",
        "transaction_type": "BUY",
        "quantity": "1",
        "product": "CNC",
        "order_type": "LIMIT",
        "price": "1400",
        "tag": "TICKER1",
    }
    response = requests.post(f"{kite.root}/orders/regular", data=form, headers=headers, timeout=5)
    kite.fill_order(response.json()["data"]["order_id"])


# -- secrets ----------------------------------------------------------------------------------


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    for handler in root.handlers:
        handler.close()
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.reset_defaults()


async def test_the_access_token_never_reaches_logs_errors_or_reprs(
    tmp_path: Path, restore_logging: None
) -> None:
    canary = "CANARYtok3n9f8e7d6c5b4a"
    log_file = tmp_path / "alphapt.log"
    configure_logging(LiveClock(), level="debug", file=log_file)
    with FakeKite(access_token=canary, tick_interval=0.02, heartbeat_interval=0.1) as kite:
        async with running_feed(kite, heartbeat_timeout_s=0.5) as h:
            h.feed.subscribe([INFY])
            await wait_until(lambda: h.ticks)
            await asyncio.to_thread(kite.drop_websockets)
            await wait_until(lambda: h.feed.shards[0].connects == 2)
            await asyncio.to_thread(kite.push, b"\x00\x05garbage")
            await wait_until(lambda: h.feed.stats.malformed)
            await asyncio.to_thread(kite.expire_token)
            await wait_until(lambda: h.feed.state == LOGIN_REQUIRED)
            texts = [
                repr(h.feed),
                *map(repr, h.feed.shards),
                *(s.last_error for s in h.feed.shards),
            ]
            texts += [str(a) for a in h.alerts]
    for handler in logging.getLogger().handlers:
        handler.flush()
    written = log_file.read_text()
    assert "kite ticker disconnected" in written  # the log did record the drops
    assert "kite session expired" in written
    assert canary not in written
    assert not [t for t in texts if canary in t]
