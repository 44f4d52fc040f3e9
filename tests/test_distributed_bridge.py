"""The JetStream bridge against a real NATS server: round trips, dedup, tick batches, gaps."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable

import msgspec
import numpy as np
import pytest

from engine.alerts import AlertRaised, AlertSource, Severity
from engine.bus import MessageBus
from engine.clock import LiveClock
from engine.distributed.bridge import NatsBridge
from engine.distributed.codec import (
    EventEnvelope,
    TickBatch,
    encode_batch,
    encode_event,
    event_subject,
    msg_id,
    tick_subject,
)
from engine.distributed.connection import NatsConnection
from engine.distributed.events import NatsEventSource
from engine.distributed.feed import GapCounter, NatsFeed
from engine.distributed.settings import NatsSettings
from engine.distributed.streams import ensure_streams, stream_configs, stream_name
from engine.feeds.mock_market import MockMarket
from engine.feeds.universe import build_universe
from engine.model import Instrument, Tick
from engine.orders.events import OrderAccepted
from engine.orders.model import Fill, Product, Side
from tests.services import nats_url

__all__ = ["nats_url"]

UNIVERSE = build_universe(52)
INSTRUMENTS = {instrument.instrument_token: instrument for instrument, _ in UNIVERSE}


async def eventually(check: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll ``check`` until it holds; fail with a clear message after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        if loop.time() > deadline:
            pytest.fail(f"condition not met within {timeout} s")
        await asyncio.sleep(0.02)


def order_event(n: int) -> OrderAccepted:
    return OrderAccepted(
        event_id=f"E{n:08d}", ts_ns=n, client_order_id=f"C{n:08d}", broker_order_id=f"B{n}"
    )


def fill(n: int) -> Fill:
    instrument = INSTRUMENTS[next(iter(INSTRUMENTS))]
    return Fill(
        trade_id=f"T{n:08d}",
        client_order_id=f"C{n:08d}",
        instrument_token=instrument.instrument_token,
        exchange=instrument.exchange,
        tradingsymbol=instrument.tradingsymbol,
        side=Side.BUY,
        product=Product.MIS,
        quantity=1,
        price=100.0 + n,
        ts_ns=n,
    )


def market_ticks(seed: int = 1) -> list[Tick]:
    market = MockMarket(UNIVERSE, "calm", seed)
    return market.step(np.arange(len(UNIVERSE)), 1_000_000_000, 30.0)


@pytest.fixture
async def nats_settings(nats_url: str) -> AsyncIterator[NatsSettings]:
    """Settings with subjects and streams of this test's own (memory storage), deleted after."""
    prefix = "t" + uuid.uuid4().hex[:10]
    settings = NatsSettings(
        url=nats_url,
        subject_prefix=prefix,
        stream_prefix=prefix.upper(),
        storage="memory",
        tick_flush_ms=10,
        consumer_stall_s=1.0,
    )
    yield settings
    connection = NatsConnection(settings, "cleanup")
    await connection.start()
    assert connection.js is not None
    for config in stream_configs(settings):
        with contextlib.suppress(Exception):
            await connection.js.delete_stream(config.name)
    await connection.stop()


class Side_:
    """One process's worth of NATS plumbing: a connection, a bus, and what runs on them."""

    def __init__(self, settings: NatsSettings, name: str) -> None:
        self.settings = settings
        self.connection = NatsConnection(settings, name)
        self.bus = MessageBus()
        self.tasks: list[asyncio.Task[None]] = []
        self.components: list = []

    async def start(self, *components) -> None:
        await self.connection.start()
        assert self.connection.connected
        for component in components:
            await component.start()
            self.components.append(component)
            self.tasks.append(asyncio.create_task(component.run()))

    async def close(self) -> None:
        for component in reversed(self.components):
            await component.stop()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.connection.stop()


@pytest.fixture
async def sides(nats_settings: NatsSettings) -> AsyncIterator[tuple[Side_, Side_]]:
    """A publishing side and a consuming side."""
    publisher, consumer = Side_(nats_settings, "pub"), Side_(nats_settings, "sub")
    try:
        yield publisher, consumer
    finally:
        await publisher.close()
        await consumer.close()


def bridge_of(side: Side_, origin: str = "pub-1") -> NatsBridge:
    bridge = NatsBridge(side.settings, side.connection, side.bus, LiveClock(), INSTRUMENTS, origin)
    side.bus.add_hot_path(bridge.on_ticks)
    return bridge


# -- codec (no server) ----------------------------------------------------------------------


def test_subjects_are_safe_tokens() -> None:
    assert tick_subject("alphapt", "NSE", "M&M") == "alphapt.ticks.NSE.M&M"
    assert tick_subject("alphapt", "NSE", "A.B *>") == "alphapt.ticks.NSE.A_B___"
    assert event_subject("alphapt", "orders.manual") == "alphapt.orders.manual"
    assert event_subject("alphapt", "audit") == "alphapt.audit.default"


def test_alert_ids_are_qualified_by_origin_and_unknown_types_are_not_carried() -> None:
    alert = AlertRaised("A1", 1, Severity.INFO, AlertSource.SYSTEM, "x")
    assert msg_id(alert, "host-1") != msg_id(alert, "host-2")
    assert msg_id(fill(3), "x") == "fill:T00000003"
    assert encode_event("orders.manual", {"not": "an event"}, "x") is None


def test_gap_counter_counts_missed_and_drops_repeats() -> None:
    ticks = market_ticks()[:1] * 10
    counter = GapCounter()
    assert counter.admit("o", 1, 0, ticks[:4]) == (ticks[:4], 0)
    assert counter.admit("o", 1, 4, ticks[:4]) == (ticks[:4], 0)
    assert counter.admit("o", 1, 2, ticks[:4]) == ([], 0)  # 2..5 all seen
    kept, missed = counter.admit("o", 1, 11, ticks[:3])
    assert (kept, missed) == (ticks[:3], 3)
    kept, _ = counter.admit("o", 1, 12, ticks[:4])  # 12, 13 seen; 14, 15 new
    assert len(kept) == 2
    assert (counter.gaps, counter.ticks_missed, counter.ticks_duplicate) == (1, 3, 6)
    assert counter.admit("restarted", 1, 0, ticks[:1]) == (ticks[:1], 0)


# -- streams --------------------------------------------------------------------------------


async def test_stream_setup_is_idempotent(nats_settings: NatsSettings) -> None:
    connection = NatsConnection(nats_settings)
    await connection.start()
    try:
        assert connection.js is not None
        first = await ensure_streams(connection.js, nats_settings)
        second = await ensure_streams(connection.js, nats_settings)
        assert first == second
        assert len(first) == 5
        ticks = await connection.js.stream_info(stream_name(nats_settings, "ticks"))
        assert ticks.config.max_age == nats_settings.tick_max_age_s
        assert ticks.config.subjects == [f"{nats_settings.subject_prefix}.ticks.>"]
    finally:
        await connection.stop()


# -- events ---------------------------------------------------------------------------------


async def test_orders_fills_and_alerts_round_trip_in_order(sides) -> None:
    publisher, consumer = sides
    await publisher.start(bridge_of(publisher))
    source = NatsEventSource(consumer.settings, consumer.connection, LiveClock(), consumer.bus)
    received = consumer.bus.subscribe("probe", ["orders.", "fills.", "alerts."])
    await consumer.start(source)
    sent = []
    for n in range(300):
        event = order_event(n) if n % 3 else fill(n)
        topic = f"orders.s{n % 2}" if n % 3 else "fills.manual"
        publisher.bus.publish(topic, event)
        sent.append((topic, event))
    alert = AlertRaised("A1", 5, Severity.WARNING, AlertSource.RISK, "limit near")
    publisher.bus.publish(alert.topic, alert)
    await eventually(lambda: received.depth == 301)
    got = [received.get_nowait() for _ in range(301)]
    orders = [item for item in got if item[0].startswith("orders.")]
    assert orders == [item for item in sent if item[0].startswith("orders.")]
    assert sorted(f.trade_id for _, f in got if isinstance(f, Fill)) == sorted(
        e.trade_id for _, e in sent if isinstance(e, Fill)
    )
    assert ("alerts.risk", alert) in got


async def test_same_event_published_twice_is_stored_once(sides) -> None:
    publisher, _ = sides
    bridge = bridge_of(publisher)
    await publisher.start(bridge)
    event = order_event(7)
    publisher.bus.publish("orders.manual", event)
    publisher.bus.publish("orders.manual", event)
    await eventually(lambda: bridge.events_published == 2)
    assert bridge.events_duplicate == 1
    js = publisher.connection.js
    assert js is not None
    info = await js.stream_info(stream_name(publisher.settings, "orders"))
    assert info.state.messages == 1


async def test_consumer_drops_a_repeat_the_server_let_through(sides) -> None:
    publisher, consumer = sides
    await publisher.start(bridge_of(publisher))
    js = publisher.connection.js
    assert js is not None
    _, payload = encode_event("orders.manual", order_event(1), "pub-1")
    envelope = msgspec.msgpack.decode(payload, type=EventEnvelope)
    subject = event_subject(publisher.settings.subject_prefix, "orders.manual")
    # Two different Nats-Msg-Ids (as if outside the dedup window), one event id inside.
    await js.publish(subject, payload, headers={"Nats-Msg-Id": "first"})
    await js.publish(subject, payload, headers={"Nats-Msg-Id": "second"})
    source = NatsEventSource(consumer.settings, consumer.connection, LiveClock(), consumer.bus)
    received = consumer.bus.subscribe("probe", ["orders."])
    await consumer.start(source)
    await eventually(lambda: source.duplicates == 1)
    assert received.depth == 1
    assert source.received == 1
    assert received.get_nowait() == ("orders.manual", order_event(1))
    assert envelope.msg_id == "OrderAccepted:E00000001"


# -- ticks ----------------------------------------------------------------------------------


def nats_feed(side: Side_, gaps: list[str]) -> NatsFeed:
    return NatsFeed(
        side.settings,
        side.connection,
        LiveClock(),
        side.bus,
        [instrument for instrument, _ in UNIVERSE],
        on_gap=gaps.append,
    )


async def test_ticks_round_trip_in_batches_without_gaps(sides) -> None:
    publisher, consumer = sides
    bridge = bridge_of(publisher)
    await publisher.start(bridge)
    gaps: list[str] = []
    feed = nats_feed(consumer, gaps)
    seen: list[Tick] = []
    consumer.bus.add_hot_path(lambda batch: seen.extend(batch) or batch)
    await consumer.start(feed)
    await eventually(lambda: feed.consumer.subscribed)
    sent: list[Tick] = []
    for seed in range(20):
        batch = market_ticks(seed)
        publisher.bus.publish_ticks(batch)
        sent.extend(batch)
    await eventually(lambda: len(seen) >= len(sent))
    assert sorted(seen, key=_order) == sorted(sent, key=_order)
    assert bridge.tick_messages < len(sent), "many ticks per message"
    assert (feed.counter.gaps, gaps, feed.state) == (0, [], "live")


def _order(tick: Tick) -> tuple[int, int, float]:
    return tick.instrument_token, tick.exchange_ts_ns, tick.ltp


async def test_feed_counts_and_alerts_a_gap(sides) -> None:
    publisher, consumer = sides
    await publisher.start(bridge_of(publisher))
    gaps: list[str] = []
    feed = nats_feed(consumer, gaps)
    await consumer.start(feed)
    await eventually(lambda: feed.consumer.subscribed)
    js = publisher.connection.js
    assert js is not None
    tick = market_ticks()[0]
    instrument: Instrument = INSTRUMENTS[tick.instrument_token]
    subject = tick_subject(publisher.settings.subject_prefix, "NSE", instrument.tradingsymbol)
    await js.publish(subject, encode_batch(TickBatch("p", tick.instrument_token, 0, [tick] * 5)))
    await js.publish(subject, encode_batch(TickBatch("p", tick.instrument_token, 12, [tick] * 2)))
    await eventually(lambda: feed.ticks_received == 7)
    assert (feed.counter.gaps, feed.counter.ticks_missed) == (1, 7)
    assert gaps == ["nats feed gap: 7 ticks missed on 1 instruments"]
