"""A running kernel with NATS and Redis wired as docs/distributed.md says: attach, ticks, cache."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import redis.asyncio as aioredis

from engine.clock import LiveClock
from engine.distributed.redis_cache import read_last_tick
from engine.distributed.rpc_client import NatsEngineClient
from engine.distributed.settings import NatsSettings, RedisSettings
from engine.distributed.wiring import build_distributed, connect_nats, nats_feed
from engine.kernel import Kernel
from engine.settings import Settings
from engine.snapshot import AddToWatchlist, RemoveFromWatchlist
from tests.services import nats_url, redis_url
from tests.test_distributed_bridge import Side_, eventually

__all__ = ["nats_url", "redis_url"]


async def test_daemon_with_nats_and_redis_serves_attach_publishes_ticks_and_caches(
    settings: Settings, nats_url: str, redis_url: str
) -> None:
    prefix = "t" + uuid.uuid4().hex[:10]
    nats = NatsSettings(
        url=nats_url, subject_prefix=prefix, stream_prefix=prefix.upper(), storage="memory"
    )
    redis = RedisSettings(url=redis_url, key_prefix=prefix, flush_ms=50)
    kernel = Kernel(settings, LiveClock())
    parts = build_distributed(
        nats,
        redis,
        clock=kernel.clock,
        bus=kernel.bus,
        cache=kernel.cache,
        kernel=kernel,
        raise_alert=kernel.raise_alert,
        positions=kernel.trading.positions,
        trading_version=lambda: kernel.trading.version,
    )
    kernel.bus.add_hot_path(parts.on_ticks)
    at = kernel.components.index(kernel.trading)
    kernel.components[at:at] = parts.early
    kernel.components.extend(parts.late)

    other = Side_(nats, "other-process")
    connection = connect_nats(nats, "other-process")
    assert connection is not None
    other.connection = connection
    gaps: list[str] = []
    feed = nats_feed(
        nats, connection, LiveClock(), other.bus, kernel.feed.instruments(), [], lambda *a: None
    )
    feed.on_gap = gaps.append
    received: list[int] = []
    other.bus.add_hot_path(lambda batch: received.append(len(batch)) or batch)

    shutdown = asyncio.Event()
    engine = asyncio.create_task(kernel.run(shutdown))
    client_a = NatsEngineClient(nats_url, prefix, timeout=5)
    client_b = NatsEngineClient(nats_url, prefix, timeout=5)
    reader = aioredis.from_url(redis_url)
    try:
        await asyncio.wait_for(kernel.started.wait(), 30)
        await eventually(lambda: parts.bridge is not None and parts.bridge.streams_ready)
        await other.start(feed)
        await eventually(lambda: sum(received) > 0, timeout=20)
        snapshot = await client_a.snapshot(0)
        assert snapshot.quotes
        key = snapshot.watchlist[0]
        assert (await client_a.send(RemoveFromWatchlist(key))).ok
        assert key not in (await client_b.snapshot(0)).watchlist
        assert (await client_b.send(AddToWatchlist(key))).ok
        token, _tick = next(iter(kernel.cache.last.items()))
        ticked = kernel.cache.instruments[token].key
        for _ in range(200):  # polling with a bound: the writer flushes every 50 ms
            if await read_last_tick(reader, prefix, ticked) is not None:
                break
            await asyncio.sleep(0.05)
        cached = await read_last_tick(reader, prefix, ticked)
        assert cached is not None and cached.instrument_token == token
        assert dict(parts.connections()) == {"nats": "connected", "redis": "up"}
        assert gaps == []
    finally:
        shutdown.set()
        await asyncio.wait_for(engine, 30)
        await other.close()
        await client_a.close()
        await client_b.close()
        keys = [k async for k in reader.scan_iter(f"{prefix}:*")]
        if keys:
            await reader.delete(*keys)
        await reader.aclose()
        cleanup = connect_nats(nats, "cleanup")
        assert cleanup is not None
        await cleanup.start()
        assert cleanup.js is not None
        for root in ("TICKS", "ORDERS", "FILLS", "ALERTS", "AUDIT"):
            with contextlib.suppress(Exception):
                await cleanup.js.delete_stream(f"{nats.stream_prefix}_{root}")
        await cleanup.stop()
