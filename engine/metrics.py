"""Prometheus metrics of one engine, in a registry of its own."""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)

LATENCY_BUCKETS = (0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1)
FRAME_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25)


class EngineMetrics:
    """Every metric the engine exports. Names start with ``alphapt_``."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        r = self.registry
        self.ticks_received = Counter(
            "alphapt_ticks_received", "Ticks received from the feed.", registry=r
        )
        self.ticks_processed = Counter(
            "alphapt_ticks_processed", "Ticks applied to the market cache.", registry=r
        )
        self.ticks_dropped = Gauge(
            "alphapt_ticks_dropped",
            "Ticks a consumer skipped because a newer tick of the instrument replaced them.",
            ["consumer"],
            registry=r,
        )
        self.queue_depth = Gauge(
            "alphapt_bus_queue_depth", "Items waiting for a bus consumer.", ["consumer"], registry=r
        )
        self.feed_to_cache = Histogram(
            "alphapt_feed_to_cache_seconds",
            "Latency from a tick batch leaving the feed to the cache holding it.",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.snapshot_build = Histogram(
            "alphapt_snapshot_build_seconds",
            "Time the engine takes to build one UI snapshot.",
            buckets=FRAME_BUCKETS,
            registry=r,
        )
        self.snapshot_apply = Histogram(
            "alphapt_snapshot_apply_seconds",
            "Time the UI takes to apply one snapshot to its widgets.",
            buckets=FRAME_BUCKETS,
            registry=r,
        )
        self.component_up = Gauge(
            "alphapt_component_up",
            "1 when a component is running (or stopped cleanly), 0 when starting, degraded or failed.",
            ["component"],
            registry=r,
        )
        self.component_failures = Counter(
            "alphapt_component_failures", "Component crashes.", ["component"], registry=r
        )
