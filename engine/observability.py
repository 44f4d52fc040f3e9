"""Prometheus views of data quality and the tick store, read at scrape time.

:class:`DeskCollector` adds no work to the tick path: the monitor and the tick
writer already count everything, and a scrape (every 15 s or so) reads those
counters from the HTTP thread. Register it once on the kernel's registry::

    DeskCollector(kernel).register(kernel.metrics.registry)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Protocol

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from engine.quality import QualityMonitor

if TYPE_CHECKING:
    from engine.storage.writer import WriterStats


class _TickStore(Protocol):
    def stats(self) -> WriterStats | None: ...


class _Desk(Protocol):
    quality: QualityMonitor
    storage: _TickStore | None


QUALITY_METRICS: tuple[str, ...] = (
    "alphapt_quality_checks_total",
    "alphapt_quality_score",
    "alphapt_quality_worst_instrument_score",
    "alphapt_quality_ticks_checked_total",
    "alphapt_quality_ticks_flagged_total",
    "alphapt_quality_ticks_quarantined_total",
    "alphapt_quality_stale_instruments",
    "alphapt_quality_feed_gap",
    "alphapt_quality_alerts_total",
)
"""Sample names this collector always exports."""

STORAGE_METRICS: tuple[str, ...] = (
    "alphapt_storage_ticks_enqueued_total",
    "alphapt_storage_ticks_written_total",
    "alphapt_storage_ticks_dropped_total",
    "alphapt_storage_ticks_failed_total",
    "alphapt_storage_batches_total",
    "alphapt_storage_retries_total",
    "alphapt_storage_pending_ticks",
    "alphapt_storage_lag_seconds",
    "alphapt_storage_last_batch_seconds",
)
"""Sample names exported while the tick store is on and started."""


class DeskCollector(Collector):
    """Data quality and tick-store metrics of one kernel, computed when scraped."""

    def __init__(self, desk: _Desk) -> None:
        self._desk = desk

    def register(self, registry: CollectorRegistry) -> DeskCollector:
        """Add this collector to ``registry`` and return it."""
        registry.register(self)
        return self

    def describe(self) -> Iterator[Metric]:
        """Every family this collector may export (so the registry rejects clashes)."""
        yield from _quality_families()
        yield from _storage_families()

    def collect(self) -> Iterator[Metric]:
        """Read the monitor and the writer now."""
        yield from self._quality()
        storage = self._desk.storage
        stats = storage.stats() if storage is not None else None
        if stats is not None:
            yield from _storage(stats)

    def _quality(self) -> Iterator[Metric]:
        snap = self._desk.quality.snapshot()
        checks, score, worst, ticks, flagged, quarantined, stale, gap, alerts = _quality_families()
        for check in snap.checks:
            checks.add_metric([check.name, check.policy], check.count)
        score.add_metric([], snap.score)
        worst.add_metric([], snap.worst[0].score if snap.worst else 100.0)
        ticks.add_metric([], snap.ticks)
        flagged.add_metric([], snap.flagged)
        quarantined.add_metric([], snap.quarantined)
        stale.add_metric([], len(snap.stale))
        gap.add_metric([], 1.0 if snap.feed_gap else 0.0)
        alerts.add_metric(["raised"], snap.alerts_raised)
        alerts.add_metric(["suppressed"], snap.alerts_suppressed)
        return iter((checks, score, worst, ticks, flagged, quarantined, stale, gap, alerts))


def _quality_families() -> tuple[Metric, ...]:
    return (
        CounterMetricFamily(
            "alphapt_quality_checks",
            "Firings of each data quality check (policy: pass, flag or quarantine).",
            labels=["check", "policy"],
        ),
        GaugeMetricFamily(
            "alphapt_quality_score", "Percentage of all ticks so far that were valid."
        ),
        GaugeMetricFamily(
            "alphapt_quality_worst_instrument_score",
            "Score of the lowest-scoring instrument with a bad tick (100 when none).",
        ),
        CounterMetricFamily("alphapt_quality_ticks_checked", "Ticks judged by the monitor."),
        CounterMetricFamily(
            "alphapt_quality_ticks_flagged", "Ticks passed downstream marked suspect."
        ),
        CounterMetricFamily(
            "alphapt_quality_ticks_quarantined", "Ticks withheld from every downstream consumer."
        ),
        GaugeMetricFamily(
            "alphapt_quality_stale_instruments",
            "Instruments silent too long as of the last sweep.",
        ),
        GaugeMetricFamily(
            "alphapt_quality_feed_gap", "1 while the whole feed is silent (last sweep), else 0."
        ),
        CounterMetricFamily(
            "alphapt_quality_alerts",
            "Data quality alerts raised, and those withheld by the rate limit.",
            labels=["outcome"],
        ),
    )


def _storage_families() -> tuple[Metric, ...]:
    return (
        CounterMetricFamily(
            "alphapt_storage_ticks_enqueued", "Ticks accepted into the tick store's queue."
        ),
        CounterMetricFamily("alphapt_storage_ticks_written", "Ticks stored (insert acknowledged)."),
        CounterMetricFamily(
            "alphapt_storage_ticks_dropped",
            "Ticks refused because the writer queue was full or closed.",
        ),
        CounterMetricFamily(
            "alphapt_storage_ticks_failed", "Ticks taken from the queue but not stored."
        ),
        CounterMetricFamily("alphapt_storage_batches", "Tick batches stored."),
        CounterMetricFamily("alphapt_storage_retries", "Insert attempts retried."),
        GaugeMetricFamily("alphapt_storage_pending_ticks", "Ticks waiting in the writer queue."),
        GaugeMetricFamily(
            "alphapt_storage_lag_seconds", "How long the oldest waiting tick has waited."
        ),
        GaugeMetricFamily(
            "alphapt_storage_last_batch_seconds",
            "From taking the last stored batch off the queue to its insert acknowledged.",
        ),
    )


def _storage(stats: WriterStats) -> Iterator[Metric]:
    values = (
        stats.enqueued,
        stats.written,
        stats.dropped,
        stats.failed,
        stats.batches,
        stats.retries,
        stats.pending,
        stats.lag_s,
        stats.last_batch_latency_s,
    )
    for family, value in zip(_storage_families(), values, strict=True):
        family.add_metric([], value)
        yield family
