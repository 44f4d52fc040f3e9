"""Cost of the data quality monitor per tick, at 1,000 instruments.

Prints microseconds per tick for every check on clean ticks, then on a mix with
1 % faults (from the mock feed's fault injector), plus the cost of a sweep and a
snapshot. Run from the repository root: ``python bench/bench_quality.py``.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.clock import NS_PER_SECOND, TestClock
from engine.feeds.faults import FaultInjector
from engine.model import DEPTH_LEVELS, Instrument, MarketDay, Tick
from engine.quality import OK, QualityMonitor, QualitySettings
from engine.quality.columns import ColumnarTicks


def universe(n: int, rng: np.random.Generator):
    """``n`` equities with realistic price/tick pairs and ±10 % circuits."""
    instruments: dict[int, Instrument] = {}
    days: dict[int, MarketDay] = {}
    for i in range(n):
        token = 100_000 + i
        size = 0.05 if i % 4 else 0.1
        close = round(float(rng.uniform(250, 5000)) / size) * size
        instruments[token] = Instrument(token, token, f"S{i}", f"S{i}", "NSE", "NSE", "EQ", size, 1)
        days[token] = MarketDay(
            token,
            close,
            round(close * 0.9 / size) * size,
            round(close * 1.1 / size) * size,
        )
    return instruments, days


def clean_ticks(instruments, days, rounds: int, clock: TestClock, rng: np.random.Generator):
    """``rounds`` passes over the universe in a shuffled order, 50 µs apart."""
    tokens = np.array(list(instruments))
    n = len(tokens)
    size = np.array([instruments[int(t)].tick_size for t in tokens])
    base = np.array([round(days[int(t)].prev_close / s) for t, s in zip(tokens, size, strict=True)])
    ltp = base.copy()
    high = ltp.copy()
    low = ltp.copy()
    open_ = ltp.copy()
    volume = rng.integers(100, 1000, n)
    last_qty = np.ones(n, dtype=np.int64)
    last_trade = np.zeros(n, dtype=np.int64)
    out: list[Tick] = []
    for _ in range(rounds):
        order = rng.permutation(n)
        steps = rng.choice((-1, 0, 1), size=n, p=(0.25, 0.5, 0.25))
        trades = rng.random(n) < 0.7
        qty = rng.geometric(0.1, n)
        gaps = rng.integers(0, 2, n)
        spreads = rng.integers(1, 3, n)
        level_qty = rng.integers(1, 500, (n, 2 * DEPTH_LEVELS))
        for i in order:
            clock.advance(50e-6)
            now = clock.now_ns()
            second = now - now % NS_PER_SECOND
            if trades[i]:
                ltp[i] += steps[i] if abs(ltp[i] + steps[i] - base[i]) < 0.04 * base[i] else 0
                high[i] = max(high[i], ltp[i])
                low[i] = min(low[i], ltp[i])
                last_qty[i] = qty[i]
                volume[i] += qty[i]
                last_trade[i] = second
            g = float(size[i])
            bid0 = int(ltp[i] - gaps[i])
            ask0 = bid0 + int(spreads[i])
            q = level_qty[i].tolist()
            out.append(
                Tick(
                    instrument_token=int(tokens[i]),
                    ltp=int(ltp[i]) * g,
                    last_qty=int(last_qty[i]),
                    avg_price=int(ltp[i]) * g,
                    volume=int(volume[i]),
                    buy_qty=sum(q[:DEPTH_LEVELS]),
                    sell_qty=sum(q[DEPTH_LEVELS:]),
                    open=int(open_[i]) * g,
                    high=int(high[i]) * g,
                    low=int(low[i]) * g,
                    close=days[int(tokens[i])].prev_close,
                    exchange_ts_ns=second,
                    last_trade_ts_ns=int(last_trade[i]),
                    bid_px=tuple((bid0 - k) * g for k in range(DEPTH_LEVELS)),
                    bid_qty=tuple(q[:DEPTH_LEVELS]),
                    bid_orders=(1,) * DEPTH_LEVELS,
                    ask_px=tuple((ask0 + k) * g for k in range(DEPTH_LEVELS)),
                    ask_qty=tuple(q[DEPTH_LEVELS:]),
                    ask_orders=(1,) * DEPTH_LEVELS,
                    received_ns=now,
                )
            )
    return out


def time_checks(monitor: QualityMonitor, ticks: list[Tick]) -> tuple[float, float]:
    """µs per tick for one pass: (wall clock, process CPU time).

    CPU time leaves out the time the process was descheduled, which on a shared
    2-core machine is most of the run-to-run noise. Ticks hold no reference
    cycles, so the pass runs with the GC off as the engine's hot path would.
    """
    check = monitor.check
    gc.disable()
    wall = time.perf_counter()
    cpu = time.process_time()
    for tick in ticks:
        check(tick)
    cpu = time.process_time() - cpu
    wall = time.perf_counter() - wall
    gc.enable()
    return wall / len(ticks) * 1e6, cpu / len(ticks) * 1e6


def report(label: str, runs: list[tuple[float, float]]) -> str:
    """Median and best of several passes, wall and CPU."""
    wall = [w for w, _ in runs]
    cpu = [c for _, c in runs]
    return (
        f"{label}: {statistics.median(wall):.2f} µs/tick wall, {statistics.median(cpu):.2f} "
        f"CPU (median of {len(runs)} passes; best {min(wall):.2f} wall, {min(cpu):.2f} CPU)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--instruments", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=60, help="ticks per instrument")
    parser.add_argument("--warmup", type=int, default=20, help="rounds not timed")
    parser.add_argument("--fault-rate", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--passes", type=int, default=5, help="timed passes per case")
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    instruments, days = universe(args.instruments, rng)
    clock = TestClock()
    ticks = clean_ticks(instruments, days, args.rounds, clock, rng)
    split = args.warmup * args.instruments
    warm, timed = ticks[:split], ticks[split:]

    def fresh() -> QualityMonitor:
        monitor = QualityMonitor(instruments, days, QualitySettings(), clock)
        for tick in warm:
            monitor.check(tick)
        return monitor

    # Each pass needs a monitor that has not seen the timed ticks (else: duplicates).
    clean_runs = [time_checks(fresh(), timed) for _ in range(args.passes)]
    monitor = fresh()
    fired = sum(monitor.check(t) is not OK for t in timed)
    print(f"instruments {args.instruments}, timed ticks {len(timed)} (after {len(warm)} warm-up)")
    print(report("clean ticks", clean_runs))
    print(f"false positives on clean ticks: {fired}/{len(timed)}")

    injector = FaultInjector(args.fault_rate, np.random.default_rng(args.seed), instruments, days)
    prev: dict[int, Tick] = {t.instrument_token: t for t in warm}
    mixed = []
    for tick in timed:
        bad, _ = injector.maybe_corrupt(tick, prev.get(tick.instrument_token))
        prev[tick.instrument_token] = tick
        mixed.append(bad)
    faults = sum(injector.counts.values())
    mixed_runs = [time_checks(fresh(), mixed) for _ in range(args.passes)]
    monitor = fresh()
    caught = sum(monitor.check(t) is not OK for t in mixed)
    print(report(f"{faults / len(mixed):.2%} fault mix", mixed_runs))
    print(f"ticks judged bad: {caught} for {faults} faults injected (default policies)")

    batch = 200
    monitor = fresh()
    start = time.perf_counter()
    for i in range(0, len(timed), batch):
        monitor.filter(timed[i : i + batch])
    per = (time.perf_counter() - start) / len(timed) * 1e6
    print(f"filter() in batches of {batch}: {per:.2f} µs/tick")

    # The columnar path: the same ticks as the mock feed hands them over, columns attached.
    rounds = [timed[i : i + args.instruments] for i in range(0, len(timed), args.instruments)]
    columnar = [ColumnarTicks.from_ticks(r) for r in rounds]
    runs = []
    for _ in range(args.passes):
        monitor = fresh()
        gc.disable()
        cpu = time.process_time()
        for batch in columnar:
            monitor.filter(batch)
        runs.append(time.process_time() - cpu)
        gc.enable()
    per = statistics.median(runs) / len(timed) * 1e6
    print(f"filter() on columnar batches of {args.instruments}: {per:.2f} µs/tick CPU")

    start = time.perf_counter()
    for _ in range(100):
        monitor.sweep(clock.now_ns())
    print(f"sweep(): {(time.perf_counter() - start) * 10:.3f} ms per sweep")
    start = time.perf_counter()
    for _ in range(100):
        monitor.snapshot()
    print(f"snapshot(): {(time.perf_counter() - start) * 10:.3f} ms per snapshot")


if __name__ == "__main__":
    main()
