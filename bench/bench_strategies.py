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
  SubmitOrder it caused (p50/p99/max; target p99 < 1 ms), on the engine thread's
  CPU clock (``thread_time``: what the engine itself spent, unaffected by other
  processes preempting it on a shared machine) and on the wall clock.

Every 30th batch crosses a minute boundary and closes a bar of every instrument
(the batch "closes the minute"); its numbers are printed apart.

The three runs share one process, so each collects the garbage of the engines before it
ahead of its clock (a live desk runs one engine; before, a ~5 ms collection of that
garbage landed inside the measured run as the max of tick-driven orders).

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
from engine.heap import settle_heap
from engine.model import Tick
from engine.strategies import StrategiesSettings, Strategy, StrategyManager
from engine.strategies.builtin import BUILTINS
from engine.strategies.testing import RecordingGateway, make_instruments, make_tick

Stamp = tuple[int, int]
"""``(perf_counter_ns, thread_time_ns)``: wall and engine-thread CPU time."""

INSTRUMENTS = 100
TARGET_TPS = 100_000
TARGET_P99_S = 0.001
BATCH_SECONDS = 2
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
        ts = start + b * BATCH_SECONDS * NS_PER_SECOND
        batch = []
        for t in tokens:
            p = price[t] = round(max(1.0, price[t] * (1 + rng.gauss(0, 0.002))), 2)
            volume[t] += rng.randint(1, 500)
            batch.append(make_tick(t, p, ts, volume[t], bid=p - 0.05, ask=p + 0.05))
        batches.append(batch)
    return batches


def stamp() -> Stamp:
    return time.perf_counter_ns(), time.thread_time_ns()


async def run(batches: list[list[Tick]], mode: str) -> dict:
    """``mode``: ``none`` (bus + cache), ``noop`` (5 no-op tick strategies) or ``builtins``."""
    clock = TestClock(START)
    bus = MessageBus()
    cache = MarketCache()
    instruments = make_instruments(*(f"S{i:03d}" for i in range(INSTRUMENTS)))
    cache.add_instruments(instruments)
    received: list[tuple[str, Stamp]] = []
    gateway = RecordingGateway(
        cache,
        bus=bus,
        clock=clock,
        on_submit=lambda cmd: received.append((cmd.strategy_id, stamp())),
    )
    bus.add_hot_path(cache.apply)
    # Per clock ("wall", "cpu"): order latencies by kind, hot-path time and whole-batch time per batch.
    latencies: dict[str, dict[str, list[float]]] = {c: {"tick": [], "bar": []} for c in CLOCKS}
    hot_path: dict[str, list[float]] = {c: [] for c in CLOCKS}
    whole: dict[str, list[float]] = {c: [] for c in CLOCKS}
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
    # The engines of the earlier runs in this process are cyclic garbage: collected here, not
    # by a ~5 ms collection in the middle of this run (a live desk runs one engine).
    gc.collect()
    started = stamp()
    for batch in batches:
        entered = stamp()
        before = len(received)
        bus.publish_ticks(batch)
        published = stamp()
        await asyncio.sleep(0)  # the feed yields; scheduled submits reach the gateway
        if manager is not None:
            await manager.settle()
            manager.drain_events()  # the order events and fills the gateway reported
        done = stamp()
        for c, clock_name in enumerate(CLOCKS):
            hot_path[clock_name].append((published[c] - entered[c]) / 1e9)
            whole[clock_name].append((done[c] - entered[c]) / 1e9)
            for strategy, at in received[before:]:
                kind = "tick" if strategy == "vwap" else "bar"
                latencies[clock_name][kind].append((at[c] - entered[c]) / 1e9)
    ended = stamp()
    ticks = sum(len(b) for b in batches)
    result: dict = {"ticks": ticks, "orders": len(received)}
    for c, clock_name in enumerate(CLOCKS):
        seconds = (ended[c] - started[c]) / 1e9
        lat = latencies[clock_name]
        result[clock_name] = {
            "seconds": seconds,
            "tps": ticks / seconds,
            "latency": {"all": lat["tick"] + lat["bar"], **lat},
            "hot_path": hot_path[clock_name],
            "whole": whole[clock_name],
        }
    return result


CLOCKS = ("wall", "cpu")


def p99_of(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


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
    # The pre-built ticks are the bench's own data, not the engine's: keep them out of GC
    # scans, and space collections out the way Kernel.run does.
    settle_heap()
    await run(batches[:200], "builtins")  # warm-up
    base = await run(batches, "none")
    noop = await run(batches, "noop")
    full = await run(batches, "builtins")
    ticks = base["ticks"]
    print(f"ticks: {ticks:,} in batches of {INSTRUMENTS}, 5 strategies x {INSTRUMENTS} instruments")
    print("throughput (ticks/s)                 wall clock      engine-thread CPU")
    for label, r in (("bus + cache only", base), ("bus + cache + 5 no-op on_tick", noop)):
        print(f"{label + ':':<34} {r['wall']['tps']:>12,.0f}   {r['cpu']['tps']:>12,.0f}")
    print(
        f"{'bus + cache + 5 built-ins:':<34} {full['wall']['tps']:>12,.0f}   "
        f"{full['cpu']['tps']:>12,.0f}  (target >= {TARGET_TPS:,} on CPU time: "
        f"{check(full['cpu']['tps'] >= TARGET_TPS)})"
    )
    per_tick = (noop["cpu"]["seconds"] - base["cpu"]["seconds"]) / ticks
    print(
        f"dispatch overhead (CPU): {per_tick * 1e6:.2f} us/tick "
        f"({per_tick / 5 * 1e9:.0f} ns per callback)"
    )
    built = (full["cpu"]["seconds"] - base["cpu"]["seconds"]) / ticks
    print(
        f"strategies' total cost (bars, indicators, signals, orders; CPU): {built * 1e6:.2f} us/tick"
    )
    if not full["orders"]:
        print("tick -> order: no orders were sent")
        return
    minute = 60 // BATCH_SECONDS
    for clock_name, title in (("cpu", "engine-thread CPU time"), ("wall", "wall clock")):
        r = full[clock_name]
        hot, whole = r["hot_path"], r["whole"]
        closing = [i for i in range(len(hot)) if i and i % minute == 0]
        print(f"-- {title} --")
        print(f"  hot path per 100-tick batch, all:       {quantiles(hot)}")
        print(f"  hot path, batches closing the minute:   {quantiles([hot[i] for i in closing])}")
        print(
            f"  whole batch incl. bars and orders, closing the minute: "
            f"{quantiles([whole[i] for i in closing])}"
        )
        latency = r["latency"]
        print(f"  tick -> order ({full['orders']:,} orders), from the batch entering the bus:")
        print(f"    all orders:                 {quantiles(latency['all'])}")
        print(f"    tick-driven (vwap on_tick): {quantiles(latency['tick'])}")
        print(f"    bar-driven (minute closes): {quantiles(latency['bar'])}")
        print(
            f"    target p99 < {TARGET_P99_S * 1e3:g} ms: {check(p99_of(latency['all']) < TARGET_P99_S)}"
        )


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 4000))
