"""KiteFeed end to end: 9,000 instruments in full mode over 3 websockets from the fake Kite.

The fake server runs in a child process (so it does not share this process's GIL) and
sends one full-mode frame per connection every ``--interval`` seconds (3,000 packets,
~560 kB each). The feed decodes, converts to engine Ticks and publishes each frame on
the bus. Reports ticks/s received and converted, the feed's CPU per tick, and drops:
frames the server built but the feed never received, malformed frames, reconnects.
Target: no drops. A second pass replays captured frames through the feed's message
handler with no server at all: the feed's own ceiling. Prints numbers; asserts nothing.

    python bench/bench_kite_feed.py [--seconds 10] [--interval 0.1]
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.bus import MessageBus  # noqa: E402
from engine.clock import LiveClock  # noqa: E402
from engine.feeds.kite_ticker import KiteFeed  # noqa: E402
from engine.kite.settings import KiteSettings  # noqa: E402

INSTRUMENTS = 9000

SERVER = """
import sys
import tests.kite_fake.server as s
built = [0]
build = s.build_frame
def counting(packets):
    built[0] += 1
    return build(packets)
s.build_frame = counting
kite = s.FakeKite(tick_interval=float(sys.argv[1]), heartbeat_interval=1.0, seed_orders=False)
kite.start()
print(kite.port, kite.api_key, kite.access_token, flush=True)
for line in sys.stdin:
    if line.strip() == "stop":
        kite.tick_interval = None
        print(built[0], flush=True)
    elif line.strip() == "count":
        print(built[0], flush=True)
kite.stop()
"""


def ask(server: subprocess.Popen, command: str) -> int:
    server.stdin.write(command + "\n")
    server.stdin.flush()
    return int(server.stdout.readline())


async def live(seconds: float, interval: float) -> list[bytes]:
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(interval)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        port, api_key, token = server.stdout.readline().split()
        bus = MessageBus()
        consumer = bus.subscribe_ticks("bench")
        settings = KiteSettings(api_key=api_key, ws_url=f"ws://127.0.0.1:{port}/")
        feed = KiteFeed(settings, LiveClock(), bus, print, lambda: token)
        handle = feed.on_message
        busy = [0.0]
        captured: list[bytes] = []

        def timed(message):
            if len(captured) < 30 and isinstance(message, bytes) and len(message) > 1:
                captured.append(message)
            t0 = time.perf_counter()
            handle(message)
            busy[0] += time.perf_counter() - t0

        feed.on_message = timed
        feed.subscribe([(200_000 + i) << 8 | 1 for i in range(INSTRUMENTS)], "full")
        task = asyncio.create_task(feed.run())
        while feed.stats.frames < 6:
            await asyncio.sleep(0.05)
        built0 = await asyncio.to_thread(ask, server, "count")
        frames0, ticks0, busy0, cpu0 = (
            feed.stats.frames,
            feed.stats.ticks,
            busy[0],
            time.process_time(),
        )
        t0 = time.perf_counter()
        await asyncio.sleep(seconds)
        elapsed = time.perf_counter() - t0
        cpu = time.process_time() - cpu0
        frames, ticks = feed.stats.frames - frames0, feed.stats.ticks - ticks0
        built = await asyncio.to_thread(ask, server, "stop")
        for _ in range(200):  # let frames in flight arrive
            if feed.stats.frames >= built:
                break
            await asyncio.sleep(0.05)
        lost = built - feed.stats.frames
        reconnects = sum(s.connects - 1 for s in feed.shards)
        await feed.stop()
        await task
    finally:
        server.stdin.close()
        server.wait(timeout=30)

    per_tick = (busy[0] - busy0) / max(ticks, 1) * 1e6
    print(f"instruments             {INSTRUMENTS} full mode over {len(feed.shards)} connections")
    print(f"server frames/s         {(built - built0) / elapsed:10.1f}  (interval {interval} s)")
    print(f"frames/s received       {frames / elapsed:10.1f}")
    print(f"ticks/s received+conv   {ticks / elapsed:10.0f}")
    print(f"feed CPU per tick       {cpu / max(ticks, 1) * 1e6:10.2f} us  (whole process)")
    print(f"wall time in handler    {per_tick:10.2f} us/tick  (includes preemption by the server)")
    print(f"feed process CPU        {cpu / elapsed * 100:10.1f} % of one core")
    print(f"dropped frames          {lost:10d}  (target 0)")
    print(f"malformed frames        {feed.stats.malformed:10d}")
    print(f"reconnects              {reconnects:10d}")
    print(f"bus consumer waiting    {consumer.depth:10d} instruments (conflating queue)")
    return captured


def offline(frames: list[bytes], repeat: int = 5) -> None:
    bus = MessageBus()
    settings = KiteSettings(api_key="bench")
    feed = KiteFeed(settings, LiveClock(), bus, print, lambda: None)
    t0 = time.perf_counter()
    for _ in range(repeat):
        for frame in frames:
            feed.on_message(frame)
    elapsed = time.perf_counter() - t0
    print(f"offline ceiling         {feed.stats.ticks / elapsed:10.0f} ticks/s "
          f"({elapsed / feed.stats.ticks * 1e6:.2f} us/tick, {feed.stats.ticks} ticks, no server)")  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--interval", type=float, default=0.1)
    args = parser.parse_args()
    offline(asyncio.run(live(args.seconds, args.interval)))
