"""Prometheus metrics and health lines of the distributed components, read at scrape time.

Register once on the kernel's registry, with whichever components exist::

    DistributedCollector(connection, bridge, feed, redis).register(kernel.metrics.registry)
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from engine.distributed.bridge import NatsBridge
from engine.distributed.connection import NatsConnection
from engine.distributed.feed import NatsFeed
from engine.distributed.redis_cache import RedisCacheWriter, RedisState


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    metric = GaugeMetricFamily(name, doc)
    metric.add_metric([], value)
    return metric


def _counter(name: str, doc: str, value: float) -> CounterMetricFamily:
    metric = CounterMetricFamily(name, doc)
    metric.add_metric([], value)
    return metric


class DistributedCollector(Collector):
    """NATS and Redis metrics; a missing component exports nothing."""

    def __init__(
        self,
        connection: NatsConnection | None = None,
        bridge: NatsBridge | None = None,
        feed: NatsFeed | None = None,
        redis: RedisCacheWriter | None = None,
    ) -> None:
        self.connection = connection
        self.bridge = bridge
        self.feed = feed
        self.redis = redis

    def register(self, registry: CollectorRegistry) -> None:
        """Add this collector to ``registry``."""
        registry.register(self)

    def connections(self) -> tuple[tuple[str, str], ...]:
        """``(name, state)`` lines for :attr:`engine.snapshot.HealthReport.connections`."""
        lines: list[tuple[str, str]] = []
        if self.connection is not None:
            lines.append(("nats", self.connection.state))
        if self.redis is not None:
            lines.append(("redis", self.redis.state))
        return tuple(lines)

    def collect(self) -> Iterator[Metric]:
        c, b, f, r = self.connection, self.bridge, self.feed, self.redis
        if c is not None:
            yield _gauge("alphapt_nats_connected", "1 while connected to NATS", int(c.connected))
            yield _counter("alphapt_nats_reconnects", "NATS reconnections", c.reconnects)
            yield _counter("alphapt_nats_disconnects", "NATS disconnections", c.disconnects)
        if b is not None:
            published = CounterMetricFamily(
                "alphapt_nats_published", "Published to JetStream", labels=["kind"]
            )
            published.add_metric(["ticks"], b.ticks_published)
            published.add_metric(["events"], b.events_published)
            yield published
            yield _gauge("alphapt_nats_pending_acks", "Publishes awaiting an ack", b.pending_acks)
            yield _counter("alphapt_nats_ticks_dropped", "Ticks not published", b.ticks_dropped)
            yield _counter("alphapt_nats_ack_failures", "Failed or timed-out acks", b.ack_failures)
            yield _counter(
                "alphapt_nats_events_duplicate",
                "Events the server deduplicated",
                b.events_duplicate,
            )
        if f is not None:
            yield _counter("alphapt_nats_feed_ticks", "Ticks received from NATS", f.ticks_received)
            yield _counter("alphapt_nats_feed_gaps", "Tick gaps seen", f.counter.gaps)
            yield _counter(
                "alphapt_nats_feed_ticks_missed", "Ticks lost in gaps", f.counter.ticks_missed
            )
            yield _counter(
                "alphapt_nats_consumer_recreated",
                "Silent pull subscriptions re-created",
                f.consumer.recreated,
            )
        if r is not None:
            yield _gauge(
                "alphapt_redis_up", "1 while Redis accepts writes", r.state == RedisState.UP
            )
            yield _counter("alphapt_redis_failures", "Failed Redis flushes", r.failures)
            yield _counter("alphapt_redis_outages", "Times Redis became unreachable", r.outages)
            yield _counter("alphapt_redis_ticks_written", "Last-tick keys written", r.ticks_written)
