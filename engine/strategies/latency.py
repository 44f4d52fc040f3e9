"""Per-strategy callback latency: a cheap in-process histogram exported to Prometheus.

``prometheus_client.Histogram.observe`` costs about 1 µs (a lock and a bucket
scan); at hundreds of thousands of callbacks a second that alone would eat the
tick budget. The hot path only appends each duration to
:attr:`LatencyStats.samples`; :meth:`LatencyStats.fold` buckets them in bulk with
numpy (on the manager's timer, when read, or when many are pending) and
:class:`StrategyLatencyCollector` exposes the buckets as the histogram
``alphapt_strategy_tick_seconds{strategy}`` when Prometheus scrapes.

A sample is one callback: one ``on_tick``, one ``on_bar``, or one ``on_bars`` call
covering every bar of a bucket (a batch strategy's sample is its whole minute close).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator

import numpy as np
from prometheus_client.core import HistogramMetricFamily
from prometheus_client.registry import Collector

BUCKETS = (1e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 5e-2, 0.1)
"""Upper bounds in seconds; one more bucket holds everything slower."""
RECENT = 2048
_EDGES = np.asarray(BUCKETS)


class LatencyStats:
    """Bucket counts, sum and the most recent durations of one strategy's callbacks."""

    __slots__ = ("count", "counts", "recent", "samples", "total")

    def __init__(self) -> None:
        self.samples: list[float] = []
        """Durations not yet folded; the hot path appends here."""
        self.counts = np.zeros(len(BUCKETS) + 1, dtype=np.int64)
        self.count = 0
        self.total = 0.0
        self.recent: deque[float] = deque(maxlen=RECENT)

    def observe(self, seconds: float) -> None:
        """Record one callback's duration."""
        self.samples.append(seconds)

    def fold(self) -> None:
        """Move pending samples into the buckets."""
        samples = self.samples
        if not samples:
            return
        values = np.asarray(samples)
        samples.clear()  # in place: the hot path holds a bound ``append``
        self.counts += np.bincount(
            np.searchsorted(_EDGES, values, side="left"), minlength=len(self.counts)
        )
        self.count += len(values)
        self.total += float(values.sum())
        self.recent.extend(values[-RECENT:].tolist())

    def p99(self) -> float | None:
        """The 99th percentile of the recent samples, or ``None`` before any."""
        self.fold()
        if not self.recent:
            return None
        ordered = sorted(self.recent)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


class StrategyLatencyCollector(Collector):
    """Exports every strategy's :class:`LatencyStats` as one labelled histogram."""

    def __init__(self, source: Callable[[], Iterable[tuple[str, LatencyStats]]]) -> None:
        self._source = source

    def collect(self) -> Iterator[HistogramMetricFamily]:
        family = HistogramMetricFamily(
            "alphapt_strategy_tick_seconds",
            "Time a strategy spends in one market-data callback (on_tick, on_bar, or on_bars for a bucket).",
            labels=["strategy"],
        )
        for name, stats in self._source():
            stats.fold()
            cumulative = 0
            buckets = []
            for bound, count in zip((*BUCKETS, float("inf")), stats.counts.tolist(), strict=True):
                cumulative += count
                buckets.append((_bound(bound), cumulative))
            family.add_metric([name], buckets, stats.total)
        yield family

    def describe(self) -> Iterator[HistogramMetricFamily]:
        yield HistogramMetricFamily(
            "alphapt_strategy_tick_seconds",
            "Time a strategy spends in one market-data callback (on_tick, on_bar, or on_bars for a bucket).",
            labels=["strategy"],
        )


def _bound(value: float) -> str:
    return "+Inf" if value == float("inf") else repr(value)
