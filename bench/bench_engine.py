"""Foundation benchmarks: engine throughput and latency, UI frame cost and loop lag, start-up.

Run: ``python bench/bench_engine.py`` (about a minute). Prints one line per figure.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import pty
import select
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from engine.clock import LiveClock, TestClock
from engine.kernel import Kernel
from engine.settings import load_settings


def settings_for(universe: int, data_dir: Path, **feed: object):
    return load_settings(
        data_dir=data_dir,
        metrics={"enabled": False},
        storage={"enabled": False},
        feed={"universe_size": universe, **feed},
    )


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def bench_headless(universe: int, seconds: float) -> None:
    """Mock feed → quality → cache on one thread, as fast as it goes."""
    kernel = Kernel(settings_for(universe, Path(tempfile.mkdtemp())), TestClock())
    feed = kernel.feed
    feed.emit(universe)  # warm up
    start = time.perf_counter()
    sent = 0
    while time.perf_counter() - start < seconds:
        sent += feed.emit(universe)
    elapsed = time.perf_counter() - start
    print(f"headless mock feed -> cache, {universe} instruments: {sent / elapsed:,.0f} ticks/s")


def bench_latency(universe: int, batch: int, batches: int) -> None:
    """Time from a batch starting to be built to the cache holding its ticks."""
    kernel = Kernel(settings_for(universe, Path(tempfile.mkdtemp())), TestClock())
    applied: list[int] = []
    kernel.bus.add_hot_path(lambda ticks: applied.append(time.perf_counter_ns()) or ticks)
    latencies: list[float] = []
    for _ in range(batches):
        started = time.perf_counter_ns()
        kernel.feed.emit(batch)
        latencies.append((applied[-1] - started) / 1000)
    print(
        f"feed -> cache latency, batches of {batch}: p50 {statistics.median(latencies):.0f} µs, "
        f"p99 {percentile(latencies, 0.99):.0f} µs (whole batch, worst tick in it)"
    )


async def bench_ui(universe: int, rate: float, seconds: float) -> None:
    """The desk over a live engine thread: frame apply time, loop lag, engine drops."""
    from alphapt_tui.app import DeskApp
    from engine.client import LocalEngineClient
    from engine.runner import EngineThread

    data_dir = Path(tempfile.mkdtemp())
    settings = settings_for(universe, data_dir, ticks_per_second=rate, step_ms=20)
    kernel = Kernel(settings, LiveClock())
    watch = [instrument.key for instrument in kernel.feed.instruments()]
    (data_dir / "watchlist.json").write_text(json.dumps({"symbols": watch}))
    kernel = Kernel(settings, LiveClock())
    engine = EngineThread(kernel)
    engine.start()
    app = DeskApp(LocalEngineClient(engine), settings)
    frames: list[float] = []
    original = app.apply_snapshot

    def timed(snapshot) -> None:
        started = time.perf_counter()
        original(snapshot)
        frames.append((time.perf_counter() - started) * 1000)

    app.apply_snapshot = timed  # type: ignore[method-assign]
    lags: list[float] = []
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause(2.0)  # first full frame and warm-up
        frames.clear()
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            before = time.perf_counter()
            await asyncio.sleep(0.01)
            lags.append((time.perf_counter() - before - 0.01) * 1000)
        await pilot.press("q")
    engine.stop()
    sent = kernel.feed.ticks_sent
    applied = kernel.cache.ticks_applied
    print(
        f"UI at {universe} rows, engine at {rate:,.0f} ticks/s: snapshot apply per frame "
        f"p50 {statistics.median(frames):.1f} ms, p99 {percentile(frames, 0.99):.1f} ms; "
        f"UI loop lag p50 {statistics.median(lags):.1f} ms, p99 {percentile(lags, 0.99):.1f} ms; "
        f"engine drops {sent - applied} of {sent:,} ticks"
    )


def bench_startup(universe: int) -> None:
    """Seconds from exec to the first quotes on screen, and RSS after 5 s."""
    data_dir = tempfile.mkdtemp()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ALPHAPT_")},
        "ALPHAPT_DATA_DIR": data_dir,
        "ALPHAPT_METRICS__ENABLED": "false",
        "ALPHAPT_FEED__UNIVERSE_SIZE": str(universe),
        "TERM": "xterm-256color",
        "COLUMNS": "160",
        "LINES": "48",
    }
    started = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:
        os.execvpe(sys.executable, [sys.executable, "-m", "alphapt_tui"], env)
    seen = b""
    painted = None
    while time.perf_counter() - started < 20:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                seen += os.read(fd, 65536)
            except OSError:
                break
            if painted is None and b"RELIANCE" in seen and b"1,5" in seen:
                painted = time.perf_counter() - started
        if painted is not None and time.perf_counter() - started > painted + 5:
            break
    rss_kb = 0
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                rss_kb = int(line.split()[1])
    os.write(fd, b"q")
    for _ in range(100):
        if os.waitpid(pid, os.WNOHANG) != (0, 0):
            break
        with contextlib.suppress(OSError):
            os.read(fd, 65536)
        time.sleep(0.05)
    else:
        subprocess.run(["kill", "-9", str(pid)], check=False)
    print(
        f"desk start-up, {universe} instruments: first quotes painted after "
        f"{painted:.2f} s; RSS {rss_kb / 1024:.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each timed run")
    args = parser.parse_args()
    bench_headless(1000, args.seconds)
    bench_latency(1000, 100, 2000)
    bench_latency(1000, 1000, 500)
    asyncio.run(bench_ui(1000, 10_000, args.seconds * 2))
    bench_startup(1000)


if __name__ == "__main__":
    main()
