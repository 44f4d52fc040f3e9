"""Fault tests on servers of the test's own: NATS and Redis stopped and started mid-run.

Never the shared servers: each test gets its own from the services plugin, on a free
port (NATS with its own store directory, so JetStream keeps the streams across the
restart). Under CI a server that cannot be started fails the test.
"""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis
from nats.js.api import AckPolicy, ConsumerConfig

from engine.cache import MarketCache
from engine.clock import LiveClock
from engine.distributed.codec import decode_event
from engine.distributed.events import NatsEventSource
from engine.distributed.redis_cache import RedisCacheWriter, read_instruments, read_last_tick
from engine.distributed.settings import NatsSettings, RedisSettings
from engine.distributed.streams import stream_name
from engine.orders.model import Fill
from tests.services import ServerHandle, own_nats, own_redis
from tests.test_distributed_bridge import (
    INSTRUMENTS,
    Side_,
    bridge_of,
    eventually,
    fill,
    market_ticks,
    nats_feed,
    order_event,
)

__all__ = ["own_nats", "own_redis"]

EVENTS = 10_000
DOWN_AT, UP_AT = 4_000, 6_000


async def test_nats_restart_during_10k_events_stores_each_once_and_counts_the_tick_gap(
    own_nats: ServerHandle,
) -> None:
    settings = NatsSettings(
        url=own_nats.url,
        tick_flush_ms=10,
        ack_timeout_s=1.0,
        reconnect_wait_s=0.05,
        reconnect_max_wait_s=0.5,
        consumer_stall_s=1.0,
    )
    publisher, consumer = Side_(settings, "pub"), Side_(settings, "sub")
    bridge = bridge_of(publisher)
    gaps: list[str] = []
    feed = nats_feed(consumer, gaps)
    source = NatsEventSource(settings, consumer.connection, LiveClock(), consumer.bus)
    received = consumer.bus.subscribe("probe", ["orders.", "fills."])
    try:
        await publisher.start(bridge)
        await consumer.start(feed, source)
        await eventually(lambda: feed.consumer.subscribed)
        sent = []
        for n in range(EVENTS):
            event = fill(n) if n % 4 == 0 else order_event(n)
            topic = "fills.manual" if n % 4 == 0 else "orders.manual"
            publisher.bus.publish(topic, event)
            sent.append((topic, event))
            if n % 50 == 0:
                publisher.bus.publish_ticks(market_ticks(n))
            if n % 100 == 0:
                await asyncio.sleep(0.005)
            if n == DOWN_AT:
                await asyncio.to_thread(own_nats.stop)
                await eventually(lambda: not publisher.connection.connected)
            if n == UP_AT:
                await asyncio.to_thread(own_nats.start)
        await eventually(lambda: received.depth >= EVENTS, timeout=60)

        async def keep_ticking() -> None:
            while not feed.counter.gaps:
                publisher.bus.publish_ticks(market_ticks(0))
                await asyncio.sleep(0.02)

        await asyncio.wait_for(keep_ticking(), 30)
        await eventually(lambda: not bridge.pending_acks and bridge.events_published >= EVENTS)

        js = publisher.connection.js
        assert js is not None
        orders = await js.stream_info(stream_name(settings, "orders"))
        fills = await js.stream_info(stream_name(settings, "fills"))
        n_fills = sum(isinstance(event, Fill) for _, event in sent)
        assert (orders.state.messages, fills.state.messages) == (EVENTS - n_fills, n_fills)
        got = [received.get_nowait() for _ in range(received.depth)]
        assert len(got) == EVENTS
        assert sorted(got, key=_key) == sorted(sent, key=_key)
        stored = await read_stream(js, settings, "orders", EVENTS - n_fills)
        assert stored == [e for t, e in sent if t.startswith("orders.")], "stored in bus order"
        assert bridge.event_retries >= 1, "the outage made the bridge resend"
        assert publisher.connection.reconnects >= 1
        assert feed.counter.gaps >= 1 and feed.counter.ticks_missed > 0
        assert gaps and gaps[0].startswith("nats feed gap:")
    finally:
        await publisher.close()
        await consumer.close()


async def read_stream(js, settings: NatsSettings, root: str, count: int) -> list[object]:
    """Every event of one stream in stream order, through a throwaway consumer."""
    sub = await js.pull_subscribe(
        f"{settings.subject_prefix}.{root}.>",
        stream=stream_name(settings, root),
        config=ConsumerConfig(ack_policy=AckPolicy.NONE),
    )
    events: list[object] = []
    while len(events) < count:
        for msg in await sub.fetch(1000, timeout=5):
            events.append(decode_event(msg.data)[1])
    await sub.unsubscribe()
    return events


def _key(item: tuple[str, object]) -> str:
    topic, event = item
    return f"{topic}:{getattr(event, 'event_id', '') or getattr(event, 'trade_id', '')}"


async def test_redis_restart_mid_run_keeps_the_desk_going_and_rewrites_everything(
    own_redis: ServerHandle,
) -> None:
    settings = RedisSettings(url=own_redis.url, flush_ms=20, reconnect_max_wait_s=0.3)
    cache = MarketCache()
    cache.add_instruments(INSTRUMENTS.values())
    writer = RedisCacheWriter(settings, LiveClock(), cache)
    reader = aioredis.from_url(own_redis.url)
    task = asyncio.create_task(writer.run())
    instrument = next(iter(INSTRUMENTS.values()))
    try:
        cache.apply(market_ticks(1))
        await eventually(lambda: writer.state == "up" and writer.ticks_written >= len(INSTRUMENTS))
        assert (
            await read_last_tick(reader, "alphapt", instrument.key) == cache.last[instrument.token]
        )

        await asyncio.to_thread(own_redis.stop)
        cache.apply(market_ticks(2))
        await eventually(lambda: writer.state == "down")
        assert writer.outages == 1
        cache.apply(market_ticks(3))  # the desk keeps running on in-process state
        latest = cache.last[instrument.token]

        await asyncio.to_thread(own_redis.start)
        await reader.aclose()
        reader = aioredis.from_url(own_redis.url)
        await eventually(lambda: writer.state == "up")
        await writer.flush()
        assert await read_last_tick(reader, "alphapt", instrument.key) == latest
        registry = await read_instruments(reader, "alphapt")
        assert {i.instrument_token for i in registry} == set(INSTRUMENTS)
        assert writer.failures >= 1
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await writer.stop()
        await reader.aclose()
