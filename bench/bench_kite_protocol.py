"""Kite binary frame decoding: engine parse_frame vs kiteconnect's KiteTicker._parse_binary.

Both decode the same full-mode frames (100 packets of 184 bytes each, 100 instruments,
exchange timestamps advancing one second per frame as in a live stream). Target: parse_frame
at least 3x faster. Prints numbers; asserts nothing.

    python bench/bench_kite_protocol.py [frames]        (default 500)
"""

from __future__ import annotations

import random
import sys
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.clock import IST
from engine.feeds.kite_protocol import parse_frame
from tests.kite_fake.frames import build_frame

PACKETS_PER_FRAME = 100
TARGET_RATIO = 3.0


def make_frames(n_frames: int, seed: int = 7) -> list[bytes]:
    """``n_frames`` full-mode frames of 100 NSE instruments each."""
    rng = random.Random(seed)
    start = int(datetime(2026, 11, 25, 9, 15, tzinfo=IST).timestamp())
    tokens = [408065 + 256 * i for i in range(PACKETS_PER_FRAME)]
    prices = {t: rng.uniform(100, 3000) for t in tokens}
    frames = []
    for f in range(n_frames):
        packets = []
        for t in tokens:
            p = prices[t] = max(1.0, prices[t] + rng.uniform(-1, 1))
            packets.append(
                {
                    "instrument_token": t,
                    "mode": "full",
                    "last_price": p,
                    "last_traded_quantity": rng.randint(1, 500),
                    "average_traded_price": p,
                    "volume_traded": rng.randint(0, 10_000_000),
                    "total_buy_quantity": rng.randint(0, 100_000),
                    "total_sell_quantity": rng.randint(0, 100_000),
                    "ohlc": {"open": p, "high": p + 5, "low": p - 5, "close": p - 1},
                    "last_trade_time": start + f - rng.randint(0, 2),
                    "oi": 0,
                    "oi_day_high": 0,
                    "oi_day_low": 0,
                    "exchange_timestamp": start + f,
                    "depth": {
                        "buy": [
                            {"quantity": 10 * i, "price": p - 0.05 * i, "orders": i}
                            for i in range(1, 6)
                        ],
                        "sell": [
                            {"quantity": 10 * i, "price": p + 0.05 * i, "orders": i}
                            for i in range(1, 6)
                        ],
                    },
                }
            )
        frames.append(build_frame(packets))
    return frames


def run(name: str, parse, frames: list[bytes], repeats: int = 3) -> float:
    """Best-of-``repeats`` seconds per frame; prints ticks/s and µs/frame."""
    parse(frames[0])  # warm up
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for frame in frames:
            parse(frame)
        best = min(best, (time.perf_counter() - t0) / len(frames))
    print(f"{name:<34} {PACKETS_PER_FRAME / best:>12,.0f} ticks/s {best * 1e6:>10,.1f} µs/frame")
    return best


def main() -> None:
    from kiteconnect import KiteTicker  # imported here: it pulls in Twisted

    n_frames = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    frames = make_frames(n_frames)
    print(f"{n_frames} frames x {PACKETS_PER_FRAME} full packets ({len(frames[0])} bytes each)")
    ours = run("engine parse_frame", parse_frame, frames)
    theirs = run("kiteconnect KiteTicker._parse_binary", KiteTicker("k", "t")._parse_binary, frames)
    ratio = theirs / ours
    verdict = "meets" if ratio >= TARGET_RATIO else "MISSES"
    print(f"speed-up {ratio:.2f}x ({verdict} the {TARGET_RATIO:.0f}x target)")


if __name__ == "__main__":
    main()
