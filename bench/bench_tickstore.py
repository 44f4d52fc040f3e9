"""Tick store speed on embedded chDB: ingest through TickWriter, 1-minute OHLC queries.

Targets: sustained ingest >= 200,000 ticks/s while the engine runs; 1-minute bars for
one day x 50 instruments in < 100 ms. Prints numbers; asserts nothing.

Ingest is measured twice: the writer alone on pre-built ticks, and inside a running
engine (mock feed at full speed through the whole tick path, the writer's enqueue one
of its stages, in a child process: chDB hosts one data directory per process), where
the writer's thread competes with the engine for the GIL and the cores. The mock feed's
batches carry every field as arrays, which the writer encodes without reading a tick;
ticks from a per-tick producer (the Kite websocket, the NATS feed) take the writer-alone
path, which reads each tick's fields.

    python bench/bench_tickstore.py [ticks]        (default 1,000,000)
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.clock import IST, NS_PER_SECOND, LiveClock
from engine.model import Tick
from engine.storage import StorageSettings, TickStore

INSTRUMENTS = 50
DAY = date(2026, 11, 24)
SESSION_S = 375 * 60  # 09:15-15:30 IST
TARGET_INGEST = 200_000
TARGET_QUERY_MS = 100.0


def make_ticks(n: int, seed: int = 1) -> list[Tick]:
    """``n`` full-depth ticks for 50 instruments spread over one IST session, time-ordered."""
    rng = np.random.default_rng(seed)
    open_ns = int(datetime(DAY.year, DAY.month, DAY.day, 9, 15, tzinfo=IST).timestamp())
    open_ns *= NS_PER_SECOND
    ts = np.sort(open_ns + rng.integers(0, SESSION_S * NS_PER_SECOND, n))
    tokens = rng.integers(0, INSTRUMENTS, n) * 256 + 408065
    ltp = np.round(1000 + rng.normal(0, 2, n).cumsum() / 50, 2)
    qty = rng.integers(1, 500, n)
    volume = np.cumsum(qty)
    depth = np.round(ltp[:, None] + np.arange(1, 6) * 0.05, 2)
    levels = rng.integers(1, 999, (n, 5))
    ticks = []
    for i, (tok, t, p, q, v) in enumerate(
        zip(tokens.tolist(), ts.tolist(), ltp.tolist(), qty.tolist(), volume.tolist(), strict=True)
    ):
        asks = tuple(depth[i].tolist())
        lv = tuple(levels[i].tolist())
        ticks.append(
            Tick(tok, p, q, p, v, v, v, p, p, p, p, t, t, asks, lv, lv, asks, lv, lv, 0, t)
        )
    return ticks


def bench_ingest(store: TickStore, ticks: list[Tick], feed_batch: int = 1000) -> None:
    writer = store.writer(LiveClock())
    writer.start()
    enqueue_s = 0.0
    cpu_started = time.process_time()
    started = time.perf_counter()
    for i in range(0, len(ticks), feed_batch):
        t0 = time.perf_counter()
        writer.enqueue_many(ticks[i : i + feed_batch])
        enqueue_s += time.perf_counter() - t0
    writer.flush()
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    stats = writer.stats()
    rate = stats.written / elapsed
    print(
        f"ingest: {stats.written:,} ticks in {elapsed:.2f} s = {rate:,.0f} ticks/s "
        f"(target >= {TARGET_INGEST:,}: {'ok' if rate >= TARGET_INGEST else 'MISSED'})"
    )
    print(
        f"  batches {stats.batches}, last batch {stats.last_batch_rows:,} rows in "
        f"{stats.last_batch_latency_s * 1000:.1f} ms, dropped {stats.dropped}, "
        f"failed {stats.failed}; hot-path enqueue {enqueue_s / len(ticks) * 1e9:.0f} ns/tick"
    )
    # CPU per tick (all threads, chDB's included) does not move with other load on the box.
    print(
        f"  CPU {cpu / len(ticks) * 1e6:.2f} us/tick over {cpu / elapsed:.2f} cores "
        f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)"
    )


async def bench_ohlc(store: TickStore, tokens: list[int], runs: int = 7) -> None:
    queries = store.queries()
    start = int(datetime(DAY.year, DAY.month, DAY.day, tzinfo=IST).timestamp()) * NS_PER_SECOND
    end = start + 86_400 * NS_PER_SECOND

    one_query: list[float] = []
    per_token: list[float] = []
    bars = 0
    for _ in range(runs):
        t0 = time.perf_counter()
        result = await queries.ohlc_many(tokens, "1m", start, end)
        one_query.append((time.perf_counter() - t0) * 1000)
        bars = sum(map(len, result.values()))
        t0 = time.perf_counter()
        await asyncio.gather(*(queries.ohlc(tok, "1m", start, end) for tok in tokens))
        per_token.append((time.perf_counter() - t0) * 1000)
    best = statistics.median(one_query)
    print(
        f"1m OHLC, 1 day x {len(tokens)} instruments ({bars:,} bars): "
        f"one query median {best:.1f} ms (min {min(one_query):.1f}) "
        f"(target < {TARGET_QUERY_MS:.0f} ms: {'ok' if best < TARGET_QUERY_MS else 'MISSED'})"
    )
    print(
        f"  {len(tokens)} concurrent per-instrument queries: median {statistics.median(per_token):.1f} ms"
    )
    for tf in ("5m", "15m", "1d"):
        t0 = time.perf_counter()
        await queries.ohlc_many(tokens, tf, start, end)
        print(f"  {tf} bars, same range: {(time.perf_counter() - t0) * 1000:.1f} ms")


def bench_ingest_with_engine(seconds: float = 10.0, universe: int = 1000) -> None:
    """Ticks stored per second while the mock feed drives the whole engine tick path."""
    from engine.clock import TestClock
    from engine.heap import settle_heap
    from engine.kernel import Kernel
    from engine.settings import load_settings

    data_dir = Path(tempfile.mkdtemp())
    settings = load_settings(
        data_dir=data_dir,
        metrics={"enabled": False},
        storage={"retention_days": None},
        feed={"universe_size": universe},
    )
    kernel = Kernel(settings, TestClock())
    assert kernel.storage is not None
    asyncio.run(kernel.storage.start())
    writer = kernel.storage.writer
    assert writer is not None
    feed = kernel.feed
    feed.emit(universe)  # warm-up
    writer.flush()
    settle_heap()  # as Kernel.run does once start-up is done
    before = writer.stats()
    cpu_before = thread_cpu()
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        feed.emit(universe)
    fed = time.perf_counter() - t0
    writer.flush()
    elapsed = time.perf_counter() - t0
    cpu_after = thread_cpu()
    after = writer.stats()
    stored = after.written - before.written
    rate = stored / elapsed
    print(
        f"ingest while the engine runs ({universe} instruments, mock feed at full speed, "
        f"{fed:.0f} s): {stored:,} ticks stored in {elapsed:.2f} s = {rate:,.0f} ticks/s, "
        f"dropped {after.dropped - before.dropped:,} "
        f"(target >= {TARGET_INGEST:,}: {'ok' if rate >= TARGET_INGEST else 'MISSED'})"
    )
    per_tick = {
        name: (cpu_after[name] - cpu_before.get(name, 0.0)) / stored * 1e6 for name in cpu_after
    }
    print(
        "  CPU per stored tick: "
        + ", ".join(f"{name} {us:.2f} us" for name, us in sorted(per_tick.items()))
        + f"; wall {elapsed / stored * 1e6:.2f} us"
    )
    writer.close()


def thread_cpu() -> dict[str, float]:
    """CPU seconds so far of the feed/engine thread, the tick writer and its insert thread."""
    names = {"MainThread": "feed+engine", "tick-writer": "writer (encode)"}
    seconds: dict[str, float] = {}
    for thread in threading.enumerate():
        label = names.get(thread.name)
        if label is None and thread.name.startswith("tick-writer-insert"):
            label = "insert (chDB)"
        if label is not None and thread.ident is not None:
            clock = time.pthread_getcpuclockid(thread.ident)
            seconds[label] = seconds.get(label, 0.0) + time.clock_gettime(clock)
    return seconds


def main() -> None:
    if sys.argv[1:] == ["--with-engine"]:
        bench_ingest_with_engine()
        return
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    t0 = time.perf_counter()
    ticks = make_ticks(n)
    print(f"generated {n:,} ticks in {time.perf_counter() - t0:.1f} s (not timed below)")
    tokens = sorted({t.instrument_token for t in ticks})
    with tempfile.TemporaryDirectory() as data_dir:
        settings = StorageSettings(retention_days=None, queue_capacity=max(n, 1))
        with TickStore.open(settings, Path(data_dir)) as store:
            bench_ingest(store, ticks)
            asyncio.run(bench_ohlc(store, tokens))
    subprocess.run([sys.executable, __file__, "--with-engine"], check=True)


if __name__ == "__main__":
    main()
