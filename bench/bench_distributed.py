"""Distributed-mode benchmarks on a private nats-server (never the shared one).

1. Ticks through JetStream: a publishing *subprocess* runs a NatsBridge fed by its bus;
   this process runs a NatsFeed into its own bus and counts what arrives.
   Target: at least 100,000 ticks/s end to end.
2. Attach: snapshot round trips of a NatsEngineClient against an RpcServer serving a
   warmed kernel on its own loop and thread. Target: p99 under 50 ms on loopback.

Run: ``python bench/bench_distributed.py`` (about half a minute). Prints one line per figure.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from engine.bus import MessageBus
from engine.clock import LiveClock, TestClock
from engine.distributed.bridge import NatsBridge
from engine.distributed.connection import NatsConnection
from engine.distributed.feed import NatsFeed
from engine.distributed.rpc_client import NatsEngineClient
from engine.distributed.rpc_server import RpcServer
from engine.distributed.settings import NatsSettings
from engine.distributed.testing import ThrowawayNats
from engine.feeds.mock_market import MockMarket
from engine.feeds.universe import build_universe
from engine.kernel import Kernel
from engine.settings import load_settings

UNIVERSE = 200


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def nats_settings(url: str) -> NatsSettings:
    return NatsSettings(url=url, tick_flush_ms=20, fetch_batch=1024)


# -- publisher subprocess ------------------------------------------------------------------


async def publish(url: str, total: int) -> None:
    settings = nats_settings(url)
    universe = build_universe(UNIVERSE)
    instruments = {i.instrument_token: i for i, _ in universe}
    market = MockMarket(universe, "calm", 7)
    batches = [market.step(np.arange(UNIVERSE), k * 1_000_000, 30.0) for k in range(50)]
    connection = NatsConnection(settings, "bench-publisher")
    await connection.start()
    bus = MessageBus()
    bridge = NatsBridge(settings, connection, bus, LiveClock(), instruments, "bench")
    bus.add_hot_path(bridge.on_ticks)
    await bridge.start()
    runner = asyncio.create_task(bridge.run())
    started = time.perf_counter()
    sent = 0
    k = 0
    while sent < total:
        batch = batches[k % len(batches)]
        bus.publish_ticks(batch)
        sent += len(batch)
        k += 1
        if k % 25 == 0:
            # A live feed is paced; here the flush runs every 5,000 ticks instead of on its timer.
            await bridge.flush_ticks()
    await bridge.flush_ticks()
    js = connection.js
    assert js is not None
    await js.publish_async_completed()
    elapsed = time.perf_counter() - started
    print(f"publisher: {sent} ticks in {elapsed:.2f} s, dropped {bridge.ticks_dropped}", flush=True)
    runner.cancel()
    await connection.stop()


# -- consumer ------------------------------------------------------------------------------


async def consume(url: str, total: int) -> None:
    settings = nats_settings(url)
    connection = NatsConnection(settings, "bench-consumer")
    await connection.start()
    universe = build_universe(UNIVERSE)
    bus = MessageBus()
    counted = [0, 0.0, 0.0]
    done = asyncio.Event()

    def count(batch):
        if not counted[0]:
            counted[1] = time.perf_counter()
        counted[0] += len(batch)
        if counted[0] >= total:
            counted[2] = time.perf_counter()
            done.set()
        return batch

    bus.add_hot_path(count)
    feed = NatsFeed(settings, connection, LiveClock(), bus, [i for i, _ in universe])
    # Create the streams the publisher will use, and the consumer, before anything is sent.
    bridge = NatsBridge(settings, connection, MessageBus(), LiveClock(), {}, "setup")
    await bridge.start()
    runner = asyncio.create_task(feed.run())
    while not feed.consumer.subscribed:
        await asyncio.sleep(0.01)
    publisher = subprocess.Popen(
        [sys.executable, __file__, "--publish", url, "--ticks", str(total)],
    )
    try:
        await asyncio.wait_for(done.wait(), 120)
    finally:
        publisher.wait(60)
        runner.cancel()
        await connection.stop()
    rate = counted[0] / (counted[2] - counted[1])
    print(
        f"jetstream ticks: {counted[0]} received at {rate:,.0f} ticks/s "
        f"(target >= 100,000), gaps {feed.counter.gaps}"
    )


# -- attach --------------------------------------------------------------------------------


class ServedKernel:
    """A warmed kernel answering attach requests on its own loop in a thread."""

    def __init__(self, url: str, data_dir: Path) -> None:
        settings = load_settings(
            data_dir=data_dir, metrics={"enabled": False}, storage={"enabled": False}
        )
        clock = TestClock()
        self.kernel = Kernel(settings, clock)
        for _ in range(10):
            clock.advance(1.0)
            self.kernel.feed.emit(len(self.kernel.feed.market.tokens))
        self.settings = nats_settings(url)
        self.ready = threading.Event()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.stop_event: asyncio.Event | None = None
        self.thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    async def _main(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.stop_event = asyncio.Event()
        connection = NatsConnection(self.settings, "bench-daemon")
        await connection.start()
        server = RpcServer(self.settings, connection, self.kernel)
        await server.start()
        self.ready.set()
        await self.stop_event.wait()
        await server.stop()
        await connection.stop()

    def __enter__(self) -> ServedKernel:
        self.thread.start()
        self.ready.wait(10)
        return self

    def __exit__(self, *_: object) -> None:
        assert self.loop is not None and self.stop_event is not None
        self.loop.call_soon_threadsafe(self.stop_event.set)
        self.thread.join(10)


async def attach_round_trips(url: str, rounds: int) -> None:
    client = NatsEngineClient(url)
    await client.connect()
    for label, incremental in (("full", False), ("incremental", True)):
        version, trading = 0, None
        timings = []
        for _ in range(rounds):
            started = time.perf_counter()
            snapshot = await client.snapshot(version if incremental else 0, trading)
            timings.append((time.perf_counter() - started) * 1000)
            if incremental:
                version, trading = snapshot.version, snapshot.trading_version
        print(
            f"attach snapshot ({label}, {len(snapshot.quotes)} quotes last): "
            f"p50 {statistics.median(timings):.2f} ms, p99 {percentile(timings, 0.99):.2f} ms "
            f"(target p99 < 50 ms)"
        )
    await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ticks", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=1000)
    parser.add_argument("--publish", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.publish:
        asyncio.run(publish(args.publish, args.ticks))
        return
    with tempfile.TemporaryDirectory() as tmp, ThrowawayNats(Path(tmp) / "js") as server:
        asyncio.run(consume(server.url, args.ticks))
        with ServedKernel(server.url, Path(tmp) / "data"):
            asyncio.run(attach_round_trips(server.url, args.rounds))


if __name__ == "__main__":
    main()
