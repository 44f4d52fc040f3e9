"""What the kernel builds when ``nats.url`` or ``redis.url`` is set, in one call.

::

    parts = build_distributed(settings.nats, settings.redis, clock=..., bus=..., ...)
    bus.add_hot_path(parts.on_ticks)           # after quality, cache and trading
    components = [..., *parts.early, trading, strategies, feed, *parts.late]
    DistributedCollector registered; health connections += parts.connections()
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from engine.alerts import AlertSource, Severity
from engine.bus import MessageBus
from engine.cache import MarketCache
from engine.clock import Clock
from engine.component import Component
from engine.distributed.bridge import NatsBridge
from engine.distributed.connection import NatsConnection
from engine.distributed.feed import NatsFeed
from engine.distributed.observability import DistributedCollector
from engine.distributed.redis_cache import RedisCacheWriter
from engine.distributed.rpc_server import RpcServer, Served
from engine.distributed.settings import NatsSettings, RedisSettings
from engine.model import Instrument, MarketDay, Tick
from engine.trading.views import PositionView

RaiseAlert = Callable[[Severity, AlertSource, str], object]


def origin_id(clock: Clock) -> str:
    """Names this process's tick batches and alerts: host, pid and start time."""
    return f"{socket.gethostname()}-{os.getpid()}-{clock.now_ns()}"


def connect_nats(settings: NatsSettings, name: str = "alphapt-daemon") -> NatsConnection | None:
    """The process's NATS connection, or ``None`` when ``nats.url`` is unset."""
    return NatsConnection(settings, name) if settings.url else None


@dataclass
class Distributed:
    """The distributed components of one kernel (each ``None`` when off)."""

    connection: NatsConnection | None = None
    bridge: NatsBridge | None = None
    rpc: RpcServer | None = None
    redis: RedisCacheWriter | None = None
    feed: NatsFeed | None = None
    collector: DistributedCollector = field(default_factory=DistributedCollector)

    def on_ticks(self, ticks: Sequence[Tick]) -> Sequence[Tick]:
        """Hot-path stage (an append): ticks that passed quality go to the bridge."""
        return self.bridge.on_ticks(ticks) if self.bridge is not None else ticks

    @property
    def early(self) -> list[Component]:
        """Start with the bus bridge phase (after storage and cache, before risk/trading)."""
        return [c for c in (self.connection, self.bridge, self.redis) if c is not None]

    @property
    def late(self) -> list[Component]:
        """Start after the feed: attach answers only once the engine is up."""
        return [self.rpc] if self.rpc is not None else []

    def connections(self) -> tuple[tuple[str, str], ...]:
        """``("nats", state)`` and ``("redis", state)`` for the health report."""
        return self.collector.connections()


def nats_feed(
    settings: NatsSettings,
    connection: NatsConnection,
    clock: Clock,
    bus: MessageBus,
    instruments: Sequence[Instrument],
    market_days: Sequence[MarketDay],
    raise_alert: RaiseAlert,
) -> NatsFeed:
    """``feed.source = nats``: the feed over another process's ticks, alerting on gaps."""
    return NatsFeed(
        settings,
        connection,
        clock,
        bus,
        instruments,
        market_days,
        on_gap=lambda message: raise_alert(Severity.WARNING, AlertSource.FEED, message),
    )


def build_distributed(
    nats: NatsSettings,
    redis: RedisSettings,
    *,
    clock: Clock,
    bus: MessageBus,
    cache: MarketCache,
    kernel: Served,
    raise_alert: RaiseAlert,
    positions: Callable[[], Sequence[PositionView]] | None = None,
    trading_version: Callable[[], int] | None = None,
    connection: NatsConnection | None = None,
    feed: NatsFeed | None = None,
) -> Distributed:
    """Everything ``nats.*`` and ``redis.*`` ask for; pass the connection the feed already uses."""
    parts = Distributed(feed=feed)
    if nats.url:
        parts.connection = connection or NatsConnection(nats, "alphapt-daemon")
        # Ticks that came from NATS are not published back: that would loop.
        outgoing = nats.model_copy(update={"publish_ticks": False}) if feed is not None else nats
        parts.bridge = NatsBridge(
            outgoing,
            parts.connection,
            bus,
            clock,
            cache.instruments,
            origin_id(clock),
            on_trouble=lambda message: raise_alert(Severity.WARNING, AlertSource.SYSTEM, message),
        )
        if nats.serve_rpc:
            parts.rpc = RpcServer(nats, parts.connection, kernel)
    if redis.url:
        parts.redis = RedisCacheWriter(redis, clock, cache, positions, trading_version)
    parts.collector = DistributedCollector(parts.connection, parts.bridge, feed, parts.redis)
    return parts
