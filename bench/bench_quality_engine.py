"""Mock feed -> bus -> cache throughput at 1,000 instruments, data quality on vs off.

QualitySettings has no master switch (each check has ``enabled``), so "off" is built
from the same pieces the kernel wires, without the monitor's stage:

* on:  feed -> bus -> QualityMonitor.filter -> MarketCache.apply
* off: feed -> bus -> MarketCache.apply

Prints ticks per CPU-second for both, the drop (target <= 25 %), and the cost per
tick of the checks. Run from the repository root: ``python bench/bench_quality_engine.py``.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.bus import MessageBus
from engine.cache import MarketCache
from engine.clock import IST, TestClock
from engine.feeds.mock import MockFeed, Silences
from engine.quality import QualityMonitor, QualitySettings
from engine.settings import FeedSettings

TARGET_DROP_PCT = 25.0


def pipeline(scenario: str, universe: int, quality: bool, seed: int) -> tuple[MockFeed, TestClock]:
    """A feed publishing into a bus whose hot path is (quality ->) cache."""
    clock = TestClock(datetime(2026, 11, 25, 9, 15, tzinfo=IST))
    bus = MessageBus()
    settings = FeedSettings(scenario=scenario, seed=seed, universe_size=universe, fault_rate=0.01)
    # No silences: every step sends the whole universe, so both runs carry equal work.
    feed = MockFeed(settings, clock, bus, Silences(instrument_every_s=0, feed_every_s=0))
    cache = MarketCache()
    cache.add_instruments(feed.instruments())
    cache.set_market_days(feed.market_days())
    if quality:
        monitor = QualityMonitor(
            dict(cache.instruments),
            dict(cache.days),
            QualitySettings(session="always-open"),
            clock,
        )
        bus.add_hot_path(monitor.filter)
    bus.add_hot_path(cache.apply)
    return feed, clock


def run(scenario: str, universe: int, quality: bool, steps: int, seed: int) -> float:
    """Ticks per CPU-second through the pipeline (after a warm-up)."""
    feed, clock = pipeline(scenario, universe, quality, seed)
    for _ in range(50):
        clock.advance(0.05)
        feed.emit(universe)
    gc.collect()
    sent = feed.ticks_sent
    # CPU time of this process: the pipeline is single-threaded, and wall time on a
    # shared 2-core machine mostly measures the neighbours.
    started = time.process_time()
    for _ in range(steps):
        clock.advance(0.05)
        feed.emit(universe)
    elapsed = time.process_time() - started
    return (feed.ticks_sent - sent) / elapsed


def main() -> None:
    """Run each configuration ``--repeat`` times and print medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instruments", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=200, help="full-universe batches per run")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    n = args.instruments
    print(f"mock feed -> cache, {n:,} instruments, {args.steps} batches x {args.repeat} runs")
    results: dict[str, float] = {}
    for label, scenario, quality in (
        ("calm, quality off", "calm", False),
        ("calm, quality on", "calm", True),
        ("bad-data 1%, quality on", "bad-data", True),
    ):
        rates = [run(scenario, n, quality, args.steps, seed) for seed in range(args.repeat)]
        results[label] = statistics.median(rates)
        print(f"  {label:<26} {results[label]:>12,.0f} ticks/CPU-s  (min {min(rates):,.0f})")
    off = results["calm, quality off"]
    on = results["calm, quality on"]
    drop = 100.0 * (off - on) / off
    per_tick_us = (1.0 / on - 1.0 / off) * 1e6
    verdict = "within" if drop <= TARGET_DROP_PCT else "OVER"
    print(
        f"  throughput drop with quality on: {drop:.1f} % ({verdict} the {TARGET_DROP_PCT:.0f} % target)"
    )
    print(f"  cost of the checks per tick:     {per_tick_us:.2f} us")


if __name__ == "__main__":
    main()
