"""Trading benchmarks: tick → paper fill latency, ledger throughput, ticks/s with positions.

Run: ``/work/venv/bin/python bench/bench_trading.py [--pg URL]``. Prints numbers only;
targets: tick→fill p99 < 1 ms, ledger ≥ 2,000 order events + fills/s, headless
≥ 200,000 ticks/s at 1,000 instruments.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.clock import TestClock
from engine.kernel import Kernel
from engine.ledger.migrate import upgrade
from engine.orders import OrderType, Product, Side, SubmitOrder
from engine.settings import load_settings
from tests.conftest import FROZEN_START
from tests.trading_helpers import EQ, Desk, order_cmd, trading_settings

PG_DEFAULT = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


async def tick_to_fill(data_dir: Path, n: int = 2000) -> None:
    desk = Desk(trading_settings(data_dir, starting_capital=1e12))
    await desk.service.start()
    desk.tick(EQ.token, 100.0, asks=[(100.05, 10)], bids=[(99.95, 10)])
    samples = []
    for _ in range(n):
        placed = await desk.service.submit(
            order_cmd(quantity=1, order_type=OrderType.LIMIT, price=99.5)
        )
        desk.clock.advance(0.001)
        started = time.perf_counter()
        desk.tick(EQ.token, 99.45, asks=[(99.6, 10)], bids=[(99.4, 10)])
        samples.append(time.perf_counter() - started)
        assert desk.service.book[placed.client_order_id].filled_quantity == 1
        desk.tick(EQ.token, 100.0, asks=[(100.05, 10)], bids=[(99.95, 10)])
        if len(desk.service.journal._events) > 500:
            await desk.service.flush()
    samples.sort()
    p50 = statistics.median(samples) * 1e6
    p99 = samples[int(len(samples) * 0.99)] * 1e6
    print(f"tick -> paper fill (hot path, {n} fills): p50 {p50:.0f} us, p99 {p99:.0f} us")
    await desk.service.stop()


async def ledger_throughput(data_dir: Path, url: str | None, label: str, n: int = 1000) -> None:
    desk = Desk(trading_settings(data_dir, url, starting_capital=1e12))
    await desk.service.start()
    desk.tick(EQ.token, 100.0, asks=[(100.05, 10**9)], bids=[(99.95, 10**9)])
    ledger = desk.service.ledger
    assert ledger is not None
    started = time.perf_counter()
    for i in range(n):
        await desk.service.submit(
            order_cmd(Side.BUY if i % 2 else Side.SELL, 1, product=Product.MIS)
        )
        if i % 50 == 49:
            await desk.service.flush()
    await desk.service.flush()
    elapsed = time.perf_counter() - started
    rows = len(await ledger.load_events()) + len(await ledger.load_fills())
    print(
        f"ledger via service [{label}]: {n} market orders, {rows} events+fills in {elapsed:.2f} s"
        f" = {rows / elapsed:,.0f}/s ({n / elapsed:,.0f} orders/s, each written before sending)"
    )
    await desk.service.stop()


async def batched_flush(data_dir: Path, url: str | None, label: str, n: int = 2000) -> None:
    desk = Desk(trading_settings(data_dir, url, starting_capital=1e12))
    await desk.service.start()
    desk.tick(EQ.token, 100.0, asks=[(100.05, 10)], bids=[(99.95, 10)])
    for _ in range(n):
        await desk.service.submit(order_cmd(quantity=1, order_type=OrderType.LIMIT, price=99.5))
    await desk.service.flush()
    desk.tick(EQ.token, 99.45, asks=[(99.6, 10)], bids=[(99.4, 10)])
    rows = desk.service.journal.pending
    started = time.perf_counter()
    await desk.service.flush()
    elapsed = time.perf_counter() - started
    print(
        f"batched flush [{label}]: {n} fills ({rows} rows: orders, events, fills, positions)"
        f" in {elapsed * 1000:.0f} ms = {rows / elapsed:,.0f} rows/s"
    )
    await desk.service.stop()


async def ticks_per_second(
    data_dir: Path, positions: int, seconds: int = 20, trading: bool = True
) -> float:
    settings = load_settings(
        data_dir=data_dir,
        metrics={"enabled": False},
        storage={"enabled": False},
        feed={"universe_size": 1000},
        paper={"starting_capital": 1e12},
    )
    clock = TestClock(FROZEN_START)
    kernel = Kernel(settings, clock)
    await kernel.trading.start()
    kernel.reconcile()
    if not trading:
        kernel.bus._hot_path.remove(kernel.trading.on_ticks)
    universe = len(kernel.feed.market.tokens)
    clock.advance(1.0)
    kernel.feed.emit(universe)
    tradable = [i for i in kernel.cache.instruments.values() if i.tradable][:positions]
    # Opening 200 positions in one go is not what this measures: the order-rate throttle
    # would refuse it, so risk is bypassed for the set-up and put back before the run.
    kernel.trading.pre_trade = None
    for instrument in tradable:
        result = await kernel.trading.submit(
            SubmitOrder(
                user="BENCH",
                exchange=instrument.exchange,
                tradingsymbol=instrument.tradingsymbol,
                instrument_token=instrument.instrument_token,
                side=Side.BUY,
                order_type=OrderType.MARKET,
                product=Product.CNC,
                quantity=instrument.lot_size,
                market_protection=-1.0,
            )
        )
        assert result.ok, result.message
    assert len(kernel.trading.portfolio.positions) == positions
    kernel.trading.pre_trade = kernel.risk.check
    sent = 0
    started = time.perf_counter()
    for _ in range(seconds):
        clock.advance(1.0)
        sent += kernel.feed.emit(universe * 10)
    elapsed = time.perf_counter() - started
    await kernel.trading.stop()
    return sent / elapsed


async def pg_database(url: str) -> tuple[str, str]:
    name = f"alphapt_bench_{uuid.uuid4().hex[:12]}"
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    bench_url = make_url(url).set(database=name).render_as_string(hide_password=False)
    await upgrade(bench_url)
    return bench_url, name


async def drop_pg(url: str, name: str) -> None:
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await conn.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pg", default=PG_DEFAULT, help="PostgreSQL server URL ('' to skip)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        await tick_to_fill(root / "a")
        await ledger_throughput(root / "b", None, "SQLite FULL")
        await batched_flush(root / "b2", None, "SQLite FULL")
        if args.pg:
            url, name = await pg_database(args.pg)
            try:
                await ledger_throughput(root / "c", url, "PostgreSQL")
                await batched_flush(root / "c2", url, "PostgreSQL")
            finally:
                await drop_pg(args.pg, name)
        bare = await ticks_per_second(root / "d0", 0, trading=False)
        base = await ticks_per_second(root / "d", 0)
        held = await ticks_per_second(root / "e", 200)
        print(f"headless ticks/s, 1,000 instruments, no trading stage: {bare:,.0f}")
        print(f"headless ticks/s, 1,000 instruments, no positions: {base:,.0f}")
        print(f"headless ticks/s, 1,000 instruments, 200 positions marked: {held:,.0f}")


if __name__ == "__main__":
    asyncio.run(main())
