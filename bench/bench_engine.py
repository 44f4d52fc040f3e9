"""Foundation benchmarks: engine throughput and latency, UI frame cost and loop lag, start-up.

Run: ``python bench/bench_engine.py`` (about two minutes). Prints one line per figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
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
    """Mock feed → cache alone, then through the whole engine tick path, one thread."""
    from engine.bus import MessageBus
    from engine.cache import MarketCache
    from engine.feeds.mock import MockFeed

    settings = settings_for(universe, Path(tempfile.mkdtemp()))
    bus = MessageBus()
    cache = MarketCache()
    feed = MockFeed(settings.feed, TestClock(), bus)
    cache.add_instruments(feed.instruments())
    bus.add_hot_path(cache.apply)
    print(
        f"headless mock feed -> cache, {universe} instruments: "
        f"{_rate(feed, universe, seconds):,.0f} ticks/s"
    )
    kernel = Kernel(settings, TestClock())
    stages = "quality, cache, paper broker, portfolio marks, strategy dispatch"
    print(
        f"headless mock feed -> full engine tick path ({stages}), {universe} instruments: "
        f"{_rate(kernel.feed, universe, seconds):,.0f} ticks/s"
    )


def _rate(feed, universe: int, seconds: float) -> float:
    feed.emit(universe)  # warm up
    start = time.perf_counter()
    sent = 0
    while time.perf_counter() - start < seconds:
        sent += feed.emit(universe)
    return sent / (time.perf_counter() - start)


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
    # The cash universe (the index options would tick too once watched).
    watch = [i.key for i in kernel.feed.instruments() if i.exchange != "NFO"][:universe]
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


def bench_startup(universe: int, steady_s: float = 60.0) -> None:
    """Seconds from launch to the first frame and to the first quotes on a real terminal (tmux).

    Also RSS 5 s after the first quotes and again ``steady_s`` later, split into anonymous
    memory and mapped files (mostly chDB's library: the desk drops its start-up pages, the
    tick store's inserts and merges fault part of them back, and its first insert's and first
    merge's one-time pages are dropped once more after the writer's sixth batch).
    """
    if shutil.which("tmux") is None:
        print("desk start-up: skipped (needs tmux to stand in for a terminal)")
        return
    data_dir = tempfile.mkdtemp()
    session = f"bench{os.getpid()}"
    env = (
        f"ALPHAPT_DATA_DIR={data_dir} ALPHAPT_METRICS__ENABLED=false "
        f"ALPHAPT_FEED__UNIVERSE_SIZE={universe}"
    )
    command = f"{env} {sys.executable} -m alphapt_tui"
    # A returning trader's data directory: the ledger exists (a first run also migrates it).
    subprocess.run(f"{command} migrate", shell=True, check=True, capture_output=True)
    started = time.perf_counter()
    subprocess.run(
        ["tmux", "new", "-d", "-s", session, "-x", "160", "-y", "48", command], check=True
    )
    framed = painted = None
    try:
        while time.perf_counter() - started < 30:
            screen = subprocess.run(
                ["tmux", "capture-pane", "-p", "-t", session], capture_output=True, text=True
            ).stdout
            if framed is None and "Market watch" in screen:
                framed = time.perf_counter() - started
            if "RELIANCE" in screen and "ticks/s" in screen:
                painted = time.perf_counter() - started
                break
            time.sleep(0.02)
        time.sleep(5)
        pid = subprocess.run(
            ["tmux", "list-panes", "-t", session, "-F", "#{pane_pid}"],
            capture_output=True,
            text=True,
        ).stdout.strip()
        early = _memory_mb(pid)
        time.sleep(steady_s)
        steady = _memory_mb(pid)
        subprocess.run(["tmux", "send-keys", "-t", session, "q"], check=False)
        time.sleep(2)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], check=False, capture_output=True)

    def seconds(value: float | None) -> str:
        return f"{value:.2f} s" if value is not None else "never (30 s)"

    def rss(mb: dict[str, float]) -> str:
        return (
            f"RSS {mb.get('VmRSS', 0):.0f} MB (anonymous {mb.get('RssAnon', 0):.0f} MB, "
            f"mapped files {mb.get('RssFile', 0):.0f} MB)"
        )

    print(
        f"desk start-up, {universe} instruments: first frame after {seconds(framed)}, "
        f"first quotes after {seconds(painted)}; tick store on: {rss(early)}; "
        f"{steady_s:.0f} s later {rss(steady)}"
    )


def _memory_mb(pid: str) -> dict[str, float]:
    """VmRSS, RssAnon and RssFile of process ``pid`` in MB."""
    memory: dict[str, float] = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name in ("VmRSS", "RssAnon", "RssFile"):
                memory[name] = int(value.split()[0]) / 1024
    return memory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each timed run")
    parser.add_argument(
        "--rss-after",
        type=float,
        default=60.0,
        help="seconds after the first RSS reading to read it again (300 shows the merges' churn)",
    )
    args = parser.parse_args()
    bench_headless(1000, args.seconds)
    bench_latency(1000, 100, 2000)
    bench_latency(1000, 1000, 500)
    asyncio.run(bench_ui(1000, 10_000, args.seconds * 2))
    bench_startup(1000, args.rss_after)


if __name__ == "__main__":
    main()
