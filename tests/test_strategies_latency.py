"""The per-strategy callback histogram: samples folded in bulk keep their count, sum and buckets."""

from __future__ import annotations

import pytest

from engine.strategies.latency import BUCKETS, LatencyStats


def test_fold_counts_every_sample_once() -> None:
    stats = LatencyStats()
    record = stats.samples.append  # what the hot path holds
    for seconds in (2e-6, 3e-6, 2e-3):
        record(seconds)
    stats.fold()
    assert stats.count == 3
    assert stats.total == pytest.approx(2e-6 + 3e-6 + 2e-3)
    assert int(stats.counts.sum()) == 3
    assert stats.counts[BUCKETS.index(5e-6)] == 2  # (1 us, 5 us]
    record(4e-6)
    stats.fold()
    stats.fold()  # nothing pending: no change
    assert stats.count == 4
    assert int(stats.counts.sum()) == 4
    assert stats.samples == []
    assert stats.p99() == 2e-3
