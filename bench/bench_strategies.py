"""Strategy manager throughput and tick → order latency, headless.

Five built-in strategies (SMA crossover, RSI reversion, VWAP reversion on ticks,
opening range, Bollinger breakout) each trade 100 instruments. The manager runs
as a hot-path stage of a real MessageBus after the market cache. Ticks arrive in batches of one per instrument,
the loop yielding between batches as a feed does. The gateway validates each
order and reports it accepted and (MARKET) filled at the LTP over the bus, as the
trading service will. Prints:

* ticks/s through the bus with the five strategies (target ≥ 100,000);
* dispatch overhead per tick: five no-op ``on_tick`` strategies vs the bus without them;
* tick → order latency: from a batch entering the bus to the gateway receiving a
  SubmitOrder it caused (p50/p99/max; target p99 < 1 ms).

    python bench/bench_strategies.py [batches]      (default 4000, 100 ticks each)
"""

from __future__ import annotations

import asyncio
import gc
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.bus import MessageBus
from engine.cache import MarketCache
from engine.clock import IST, NS_PER_SECOND, TestClock
from engine.model import Tick
from engine.strategies import StrategiesSettings, Strategy, StrategyManager
from engine.strategies.builtin import BUILTINS
from engine.strategies.testing import RecordingGateway, make_instruments, make_tick

INSTRUMENTS = 100
TARGET_TPS = 100_000
TARGET_P99_S = 0.001
START = datetime(2026, 11, 25, 9, 15, tzinfo=IST)


class Noop(Strategy):
    """Receives every tick and does nothing: the cost of dispatch alone."""

    def on_tick(self, tick: Tick) -> None:
        pass


def entries(symbols: list[str], noop: bool) -> list[dict]:
    if noop:
        return [{"name": f"noop{i}", "class": "noop", "instruments": symbols} for i in range(5)]
    return [
        {"name": "sma", "class": "sma_crossover", "instruments": symbols, "params": {"fast": 3, "slow": 8}},
        {"name": "rsi", "class": "rsi_reversion", "instruments": symbols, "params": {"period": 5}},
        {"name": "vwap", "class": "vwap_reversion", "instruments": symbols, "params": {"band_pct": 0.3}},
        {"name": "orb", "class": "opening_range", "instruments": symbols},
        {"name": "bb", "class": "bollinger_breakout", "instruments": symbols, "params": {"period": 10, "k": 1.5}},
    ]  # fmt: skip


def make_batches(n_batches: int, seed: int = 5) -> list[list[Tick]]:
    """Random walks, one tick per instrument per batch, 2 s of exchange time per batch."""
    rng = random.Random(seed)
    tokens = [101 + i for i in range(INSTRUMENTS)]
    price = {t: rng.uniform(100, 2000) for t in tokens}
    volume = dict.fromkeys(tokens, 0)
    start = int(START.timestamp() * NS_PER_SECOND)
    batches = []
    for b in range(n_batches):
        ts = start + b * 2 * NS_PER_SECOND
        batch = []
        for t in tokens:
            p = price[t] = round(max(1.0, price[t] * (1 + rng.gauss(0, 0.002))), 2)
            volume[t] += rng.randint(1, 500)
            batch.append(make_tick(t, p, ts, volume[t], bid=p - 0.05, ask=p + 0.05))
        batches.append(batch)
    return batches


async def run(batches: list[list[Tick]], mode: str) -> dict[str, float]:
    """``mode``: ``none`` (bus + cache), ``noop`` (5 no-op tick strategies) or ``builtins``."""
    clock = TestClock(START)
    bus = MessageBus()
    cache = MarketCache()
    instruments = make_instruments(*(f"S{i:03d}" for i in range(INSTRUMENTS)))
    cache.add_instruments(instruments)
    received: list[tuple[str, int]] = []
    gateway = RecordingGateway(
        cache,
        bus=bus,
        clock=clock,
        on_submit=lambda cmd: received.append((cmd.strategy_id, time.perf_counter_ns())),
    )
    bus.add_hot_path(cache.apply)
    sent_at = [0]
    latencies: dict[str, list[float]] = {"tick": [], "bar": []}
    batch_seconds: list[float] = []
    manager = None
    if mode != "none":
        symbols = [i.key for i in instruments]
        settings = StrategiesSettings.model_validate(
            {"entries": entries(symbols, mode == "noop"), "entry_points": False}
        )
        manager = StrategyManager(
            settings,
            clock=clock,
            bus=bus,
            cache=cache,
            gateway=gateway,
            raise_alert=lambda *a: None,
            data_dir=Path(tempfile.mkdtemp()),
            builtins={**BUILTINS, "noop": Noop},
        )
        bus.add_hot_path(manager.on_ticks)
        await manager.start()
    started = time.perf_counter()
    for batch in batches:
        sent_at[0] = time.perf_counter_ns()
        before = len(received)
        bus.publish_ticks(batch)
        batch_seconds.append((time.perf_counter_ns() - sent_at[0]) / 1e9)
        await asyncio.sleep(0)  # the feed yields; scheduled submits reach the gateway
        if manager is not None:
            await manager.settle()
            manager.drain_events()  # the order events and fills the gateway reported
        for strategy, at in received[before:]:
            kind = "tick" if strategy == "vwap" else "bar"
            latencies[kind].append((at - sent_at[0]) / 1e9)
    elapsed = time.perf_counter() - started
    ticks = sum(len(b) for b in batches)
    result: dict = {"ticks": ticks, "seconds": elapsed, "tps": ticks / elapsed}
    result["orders"] = len(received)
    result["latency"] = {"all": latencies["tick"] + latencies["bar"], **latencies}
    result["batch"] = batch_seconds
    return result


def quantiles(values: list[float]) -> str:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (
        f"p50 {statistics.median(ordered) * 1e6:>6.0f} us, p99 {p99 * 1e6:>6.0f} us, "
        f"max {ordered[-1] * 1e6:>6.0f} us"
    )


def check(ok: bool) -> str:
    return "ok" if ok else "BELOW TARGET"


async def main(n_batches: int) -> None:
    batches = make_batches(n_batches)
    # The pre-built ticks are the bench's own data, not the engine's: keep them out of GC scans.
    gc.collect()
    gc.freeze()
    await run(batches[:200], "builtins")  # warm-up
    base = await run(batches, "none")
    noop = await run(batches, "noop")
    full = await run(batches, "builtins")
    ticks = base["ticks"]
    print(f"ticks: {ticks:,} in batches of {INSTRUMENTS}, 5 strategies x {INSTRUMENTS} instruments")
    print(f"bus + cache only:              {base['tps']:>12,.0f} ticks/s")
    print(f"bus + cache + 5 no-op on_tick: {noop['tps']:>12,.0f} ticks/s")
    print(
        f"bus + cache + 5 built-ins:     {full['tps']:>12,.0f} ticks/s  "
        f"(target >= {TARGET_TPS:,}: {check(full['tps'] >= TARGET_TPS)})"
    )
    per_tick = (noop["seconds"] - base["seconds"]) / ticks
    print(
        f"dispatch overhead: {per_tick * 1e6:.2f} us/tick ({per_tick / 5 * 1e9:.0f} ns per callback)"
    )
    built = (full["seconds"] - base["seconds"]) / ticks
    print(f"strategies' total cost (bars, indicators, signals, orders): {built * 1e6:.2f} us/tick")
    batch = sorted(full["batch"])
    boundary = batch[-len(batch) // 30 :]  # one batch in 30 closes the minute bars
    print(
        f"hot-path time per 100-tick batch: {quantiles(batch)}; "
        f"minute-boundary batches (400 on_bar calls) mean {statistics.fmean(boundary) * 1e6:.0f} us"
    )
    latency = full["latency"]
    if not latency["all"]:
        print("tick -> order: no orders were sent")
        return
    p99 = sorted(latency["all"])[int(len(latency["all"]) * 0.99)]
    print(f"tick -> order ({full['orders']:,} orders), from the batch entering the bus:")
    print(f"  all orders:                 {quantiles(latency['all'])}")
    print(f"  tick-driven (vwap on_tick): {quantiles(latency['tick'])}")
    print(f"  bar-driven (minute closes): {quantiles(latency['bar'])}")
    print(f"  target p99 < {TARGET_P99_S * 1e3:g} ms: {check(p99 < TARGET_P99_S)}")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 4000))
