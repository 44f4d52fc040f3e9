"""Ledger write throughput: order events + fills per second, SQLite and PostgreSQL.

Usage::

    python bench/bench_ledger.py                      # SQLite only (temp file)
    python bench/bench_ledger.py --pg postgresql+asyncpg://postgres@127.0.0.1:5432/test

With ``--pg`` a scratch database is created on that server and dropped afterwards.
Each flush writes what an engine flush would: per order event, the order's new
version and the event, plus a fill for every other event, and one position per
instrument; all in one transaction (``Ledger.write_batch``). The unbatched rows
write each order and event in its own transaction (``write_order_and_event``),
which is what batching avoids. Prints numbers; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncpg
from sqlalchemy.engine import make_url

from engine.clock import LiveClock
from engine.ledger import Ledger
from engine.ledger.migrate import upgrade

INSTRUMENTS = 50


def order(n: int, version: int) -> dict[str, Any]:
    return {
        "client_order_id": f"B{n:019d}",
        "broker_order_id": f"25{n:013d}",
        "strategy_id": "bench",
        "user": "AB1234",
        "exchange": "NSE",
        "tradingsymbol": f"SYM{n % INSTRUMENTS}",
        "instrument_token": 100_000 + n % INSTRUMENTS,
        "side": "BUY" if n % 2 else "SELL",
        "order_type": "LIMIT",
        "product": "MIS",
        "validity": "DAY",
        "variety": "regular",
        "quantity": 10,
        "price": 100.05 + n % 100,
        "trigger_price": 0.0,
        "market_protection": 0.0,
        "filled_quantity": 10 if version > 2 else 0,
        "average_price": 100.05 + n % 100 if version > 2 else 0.0,
        "status": ("OPEN PENDING", "OPEN", "COMPLETE")[min(version, 3) - 1],
        "status_message": "",
        "created_ns": n,
        "updated_ns": n + version,
        "modifications": 0,
        "version": version,
    }


def event(n: int, version: int) -> dict[str, Any]:
    return {
        "event_id": f"E{n}-{version}",
        "client_order_id": f"B{n:019d}",
        "seq": version,
        "kind": "OrderAccepted",
        "payload": {"broker_order_id": f"25{n:013d}", "status": "OPEN"},
        "ts_ns": n + version,
    }


def fill(n: int) -> dict[str, Any]:
    return {
        "trade_id": f"T{n}",
        "client_order_id": f"B{n:019d}",
        "broker_order_id": f"25{n:013d}",
        "instrument_token": 100_000 + n % INSTRUMENTS,
        "exchange": "NSE",
        "tradingsymbol": f"SYM{n % INSTRUMENTS}",
        "side": "BUY" if n % 2 else "SELL",
        "product": "MIS",
        "quantity": 10,
        "price": 100.05 + n % 100,
        "ts_ns": n + 3,
        "strategy_id": "bench",
    }


def flush(start: int, size: int) -> dict[str, list[dict[str, Any]]]:
    """One engine flush of ``size`` order events (and fills for half of them)."""
    orders, events, fills, positions = [], [], [], {}
    for k in range(size):
        n, version = (start + k) // 3, (start + k) % 3 + 1
        orders.append(order(n, version))
        events.append(event(n, version))
        if k % 2:
            fills.append(fill(start + k))
        token = 100_000 + n % INSTRUMENTS
        positions[token] = {
            "instrument_token": token,
            "product": "MIS",
            "strategy_id": "bench",
            "net_quantity": k,
            "average_price": 100.05,
            "realized_pnl": 0.0,
            "charges": 0.0,
            "updated_ns": start + k,
        }
    return {"orders": orders, "events": events, "fills": fills, "positions": [*positions.values()]}


async def timed(work: Callable[[], Awaitable[int]]) -> tuple[int, float]:
    clock = LiveClock()
    began = clock.monotonic()
    rows = await work()
    return rows, clock.monotonic() - began


async def bench_url(
    label: str, url: str, flushes: int, batch: int, single: int, **open_kw: Any
) -> None:
    await upgrade(url)
    ledger = await Ledger.open(url, LiveClock(), **open_kw)
    try:
        batches = [flush(i * batch, batch) for i in range(flushes)]

        async def batched() -> int:
            rows = 0
            for b in batches:
                await ledger.write_batch(**b)
                rows += len(b["events"]) + len(b["fills"])
            return rows

        rows, seconds = await timed(batched)
        report(label, f"batched ({batch}/flush)", rows, seconds, flushes)

        base = flushes * batch * 2

        async def unbatched() -> int:
            for k in range(single):
                n = (base + k) // 3
                await ledger.write_order_and_event(order(n, k % 3 + 1), event(n, k % 3 + 1))
            return single

        rows, seconds = await timed(unbatched)
        report(label, "one transaction per event", rows, seconds, single)
    finally:
        await ledger.close()


def report(label: str, mode: str, rows: int, seconds: float, commits: int) -> None:
    print(
        f"{label:<22} {mode:<28} {rows:>7} rows in {seconds:6.2f} s = "
        f"{rows / seconds:>9,.0f} events+fills/s  ({seconds / commits * 1e3:6.2f} ms/commit)"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", help="PostgreSQL URL (a scratch database is created on it)")
    parser.add_argument("--flushes", type=int, default=40, help="batched flushes per back-end")
    parser.add_argument("--batch", type=int, default=500, help="order events per flush")
    parser.add_argument("--single", type=int, default=300, help="unbatched events per back-end")
    args = parser.parse_args()
    sizes = (args.flushes, args.batch, args.single)

    with tempfile.TemporaryDirectory() as tmp:
        for synchronous in ("FULL", "NORMAL"):
            url = f"sqlite+aiosqlite:///{tmp}/{synchronous}/ledger.db"
            await bench_url(
                f"sqlite sync={synchronous}", url, *sizes, sqlite_synchronous=synchronous
            )

    if args.pg:
        server = make_url(args.pg)
        admin = server.set(drivername="postgresql").render_as_string(hide_password=False)
        name = f"alphapt_ledger_bench_{uuid.uuid4().hex[:12]}"
        conn = await asyncpg.connect(admin)
        await conn.execute(f'CREATE DATABASE "{name}"')
        try:
            url = server.set(database=name).render_as_string(hide_password=False)
            await bench_url("postgresql", url, *sizes)
        finally:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.close()


if __name__ == "__main__":
    asyncio.run(main())
