"""Replay throughput with one SMA crossover, and NautilusTrader's backtest engine on the same ticks.

    python bench/bench_replay.py [--ticks 1000000] [--instruments 50] [--profile] [--no-nautilus]

Writes mock full-depth ticks (volatile scenario, every instrument once a second) to a
temporary chDB store, then measures: reading them back (``TickQueries.ticks`` and the
replay's own prefetched columnar reader), the engine alone on ticks
already in memory (ReplayFeed → bus hot path: quality, cache, paper broker, strategies
with bars), and the full replay (``ReplaySession``: store → engine). The engine runs
twice on memory: on plain tick lists, and on the blocks the store hands a replay
(``ColumnarTicks`` of ClickHouse's 65,409 rows, which the quality monitor screens per
block); full replay minus the second is what reading and decoding the store costs the
engine's thread. NautilusTrader
(``pip install nautilus_trader``; not a project dependency) runs an equivalent SMA
crossover on the same prices as trade ticks with internally aggregated 1-minute bars.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import tempfile
import time
from datetime import datetime
from pathlib import Path

import numpy as np

from engine.clock import IST, NS_PER_SECOND, TestClock
from engine.feeds.mock_market import MockMarket
from engine.feeds.universe import build_universe
from engine.kernel import Kernel
from engine.logs import configure_logging
from engine.model import Instrument, Tick
from engine.quality.columns import ColumnarTicks
from engine.replay import ReplayClock, ReplayFeed, ReplayRequest, ReplaySession, StoredTicks
from engine.replay.request import replay_settings
from engine.settings import load_settings
from engine.storage import StorageSettings, TickStore
from engine.strategies.settings import StrategyEntry

START = datetime(2026, 11, 25, 9, 15, tzinfo=IST)
STEP_NS = NS_PER_SECOND
FAST, SLOW, QTY = 10, 30, 1
READ_BLOCK_ROWS = 65_409
"""Rows per block the store reader hands a replay (ClickHouse's block size)."""


def make_ticks(n_ticks: int, n_instruments: int) -> tuple[list[Instrument], list[Tick]]:
    market = MockMarket(build_universe(n_instruments), "volatile", 7)
    tradable = [i for i, ins in enumerate(market.instruments) if ins.tradable]
    idx = np.array(tradable)
    now = int(START.timestamp()) * NS_PER_SECOND
    ticks: list[Tick] = []
    minute = 0.0
    while len(ticks) < n_ticks:
        ticks.extend(market.step(idx, now, minute))
        now += STEP_NS
        minute += STEP_NS / 60e9
    return [market.instruments[i] for i in tradable], ticks[:n_ticks]


def settings_for(data_dir: Path, symbols: list[str]):
    entry = {
        "name": "sma",
        "class": "sma_crossover",
        "instruments": symbols,
        "params": {"fast": FAST, "slow": SLOW, "quantity": QTY},
    }
    return load_settings(
        data_dir=data_dir,
        metrics={"enabled": False},
        storage={"retention_days": None},
        feed={"universe_size": ARGS.instruments, "scenario": "volatile", "seed": 7},
        log={"level": "error"},
        strategies={"entries": [entry]},
    ), StrategyEntry.model_validate(entry)


def write_store(data_dir: Path, ticks: list[Tick]) -> float:
    started = time.perf_counter()
    store = TickStore.open(StorageSettings(retention_days=None), data_dir)
    writer = store.writer(TestClock(START))
    writer.start()
    for i in range(0, len(ticks), 50_000):
        while writer.enqueue_many(ticks[i : i + 50_000]) == 0:
            time.sleep(0.01)
        writer.flush()
    store.close()
    return time.perf_counter() - started


async def read_back(data_dir: Path, tokens: list[int], n: int) -> float:
    store = TickStore.open(StorageSettings(retention_days=None), data_dir, read_only=True)
    try:
        started = time.perf_counter()
        got = 0
        async for chunk in store.queries().ticks(tokens, 0, 2**62, 20_000):
            got += len(chunk)
        elapsed = time.perf_counter() - started
    finally:
        store.close()
    assert got == n, (got, n)
    return elapsed


async def replay_reader(data_dir: Path, tokens: list[int], n: int) -> float:
    store = TickStore.open(StorageSettings(retention_days=None), data_dir, read_only=True)
    try:
        started = time.perf_counter()
        got = 0
        async for chunk in StoredTicks(store, tokens, 0, 2**62).chunks():
            got += len(chunk)
        elapsed = time.perf_counter() - started
    finally:
        store.close()
    assert got == n, (got, n)
    return elapsed


async def engine_only(
    data_dir: Path, instruments: list[Instrument], ticks: list[Tick], blocks: bool = False
) -> tuple[float, int]:
    """The engine on ticks in memory: plain lists of 20,000, or (``blocks``) the
    ``ColumnarTicks`` blocks the store reader hands a replay, built before timing starts."""
    settings, entry = settings_for(data_dir, [i.tradingsymbol for i in instruments])
    # The replay kernel's own settings (throwaway ledger on the loop, no tick store).
    settings = replay_settings(settings, data_dir, entry)
    clock = ReplayClock(START)
    if blocks:
        chunks = [
            ColumnarTicks.from_ticks(ticks[i : i + READ_BLOCK_ROWS])
            for i in range(0, len(ticks), READ_BLOCK_ROWS)
        ]
    else:
        chunks = [ticks[i : i + 20_000] for i in range(0, len(ticks), 20_000)]

    async def source():
        for chunk in chunks:
            yield chunk

    market = MockMarket(build_universe(ARGS.instruments), "volatile", 7)
    feed = ReplayFeed(source, len(ticks), instruments, market.market_days(), clock)
    kernel = Kernel(settings, clock, feed=feed)
    feed.bind(kernel.bus, settle=kernel.strategies.settle)
    shutdown = asyncio.Event()
    engine = asyncio.create_task(kernel.run(shutdown))
    await feed.finished.wait()
    elapsed = feed.progress().wall_s
    fills = len(kernel.trading.orders())
    shutdown.set()
    await engine
    return elapsed, fills


def full_replay(data_dir: Path, instruments: list[Instrument], n: int) -> tuple[float, int, float]:
    symbols = [i.tradingsymbol for i in instruments]
    settings, entry = settings_for(data_dir, symbols)
    start_ns = int(START.timestamp()) * NS_PER_SECOND
    request = ReplayRequest(start_ns, start_ns + 86_400 * NS_PER_SECOND, tuple(symbols), entry)
    session = ReplaySession(settings, request)
    started = time.perf_counter()
    session.open()
    try:
        asyncio.run(session.run())
        summary = session.summary()
    finally:
        session.close()
    total = time.perf_counter() - started
    assert summary.ticks == n, (summary.ticks, n)
    return summary.wall_s, summary.orders, total


def run_nautilus(instruments: list[Instrument], ticks: list[Tick]) -> tuple[float, int] | str:
    """NautilusTrader's BacktestEngine: the same prices as trade ticks, one SMA crossover
    strategy on internally aggregated 1-minute bars of every instrument, market orders to
    the target position (as ``target_position`` does). Returns (run seconds, orders)."""
    try:
        from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
        from nautilus_trader.config import LoggingConfig, StrategyConfig
        from nautilus_trader.indicators import SimpleMovingAverage
        from nautilus_trader.model.currencies import Currency
        from nautilus_trader.model.data import Bar, BarType, TradeTick
        from nautilus_trader.model.enums import AccountType, AggressorSide, OmsType, OrderSide
        from nautilus_trader.model.identifiers import InstrumentId, Symbol, TradeId, Venue
        from nautilus_trader.model.instruments import Equity
        from nautilus_trader.model.objects import Money, Price, Quantity
        from nautilus_trader.trading.strategy import Strategy
    except ImportError as exc:
        return f"skipped: nautilus_trader does not import here ({exc})"

    class SmaCrossConfig(StrategyConfig, frozen=True):
        bar_types: list[str]
        fast: int
        slow: int
        quantity: int

    class SmaCross(Strategy):
        def __init__(self, config: SmaCrossConfig) -> None:
            super().__init__(config)
            self.averages: dict = {}
            self.above: dict = {}

        def on_start(self) -> None:
            for text in self.config.bar_types:
                bar_type = BarType.from_str(text)
                self.averages[bar_type.instrument_id] = (
                    SimpleMovingAverage(self.config.fast),
                    SimpleMovingAverage(self.config.slow),
                )
                self.subscribe_bars(bar_type)

        def on_bar(self, bar: Bar) -> None:
            iid = bar.bar_type.instrument_id
            fast, slow = self.averages[iid]
            close = bar.close.as_double()
            fast.update_raw(close)
            slow.update_raw(close)
            if not (fast.initialized and slow.initialized) or fast.value == slow.value:
                return
            above = fast.value > slow.value
            was = self.above.get(iid)
            self.above[iid] = above
            if was is None or was == above:
                return
            target = self.config.quantity if above else -self.config.quantity
            net = int(self.portfolio.net_position(iid))
            delta = target - net
            if delta:
                side = OrderSide.BUY if delta > 0 else OrderSide.SELL
                order = self.order_factory.market(iid, side, Quantity.from_int(abs(delta)))
                self.submit_order(order)

    inr = Currency.from_str("INR")
    venue = Venue("NSE")
    engine = BacktestEngine(
        BacktestEngineConfig(trader_id="BENCH-001", logging=LoggingConfig(log_level="ERROR"))
    )
    engine.add_venue(
        venue,
        OmsType.NETTING,
        AccountType.MARGIN,
        [Money(100_000_000, inr)],
        base_currency=inr,
        trade_execution=True,
    )
    ids = {}
    for ins in instruments:
        iid = InstrumentId(Symbol(ins.tradingsymbol), venue)
        ids[ins.instrument_token] = iid
        engine.add_instrument(
            Equity(
                iid,
                Symbol(ins.tradingsymbol),
                inr,
                2,
                Price.from_str("0.05"),
                Quantity.from_int(1),
                0,
                0,
            )
        )
    data = [
        TradeTick(
            ids[t.instrument_token],
            Price(t.ltp, 2),
            Quantity(max(t.last_qty, 1), 0),
            AggressorSide.NO_AGGRESSOR,
            TradeId(str(n)),
            t.exchange_ts_ns,
            t.exchange_ts_ns,
        )
        for n, t in enumerate(ticks, 1)
    ]
    engine.add_data(data)
    bar_types = [f"{iid}-1-MINUTE-LAST-INTERNAL" for iid in ids.values()]
    engine.add_strategy(
        SmaCross(SmaCrossConfig(bar_types=bar_types, fast=FAST, slow=SLOW, quantity=QTY))
    )
    started = time.perf_counter()
    engine.run()
    elapsed = time.perf_counter() - started
    orders = len(engine.cache.orders())
    engine.dispose()
    return elapsed, orders


def main() -> None:
    configure_logging(TestClock(START), "error", stream=io.StringIO())
    instruments, ticks = make_ticks(ARGS.ticks, ARGS.instruments)
    n = len(ticks)
    tokens = [i.instrument_token for i in instruments]
    print(f"{n:,} ticks, {len(instruments)} instruments, one sma_crossover({FAST},{SLOW}) on all")
    with tempfile.TemporaryDirectory(prefix="bench-replay-") as tmp:
        data_dir = Path(tmp)
        print(f"write to chDB         {rate(n, write_store(data_dir, ticks))}")
        print(f"TickQueries.ticks     {rate(n, asyncio.run(read_back(data_dir, tokens, n)))}")
        print(f"replay reader (store) {rate(n, asyncio.run(replay_reader(data_dir, tokens, n)))}")
        engine_s, fills = asyncio.run(engine_only(data_dir / "lists", instruments, ticks))
        print(f"engine only (memory)  {rate(n, engine_s)}  orders {fills}")
        blocks_s, fills = asyncio.run(
            engine_only(data_dir / "blocks", instruments, ticks, blocks=True)
        )
        print(f"engine only (blocks)  {rate(n, blocks_s)}  orders {fills}")
        profiler = cProfile.Profile() if ARGS.profile else None
        if profiler:
            profiler.enable()
        replay_s, fills, total = full_replay(data_dir, instruments, n)
        if profiler:
            profiler.disable()
        print(
            f"full replay           {rate(n, replay_s)}  orders {fills} (open+close {total:.2f} s)"
        )
        if profiler:
            pstats.Stats(profiler).sort_stats("tottime").print_stats(20)
    if ARGS.no_nautilus:
        return
    result = run_nautilus(instruments, ticks)
    if isinstance(result, str):
        print(f"nautilus_trader       {result}")
        return
    naut_s, naut_orders = result
    print(f"nautilus backtest     {rate(n, naut_s)}  orders {naut_orders}")
    print(
        f"ours / nautilus       engine on lists {naut_s / engine_s:.2f}x, on the store's blocks "
        f"{naut_s / blocks_s:.2f}x, full replay {naut_s / replay_s:.2f}x the ticks per second "
        "(>1: ours is faster)"
    )


def rate(n: int, seconds: float) -> str:
    """Ticks per second, seconds and microseconds per tick."""
    return f"{n / seconds:>10,.0f} ticks/s  ({seconds:6.2f} s, {seconds / n * 1e6:5.2f} µs/tick)"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=1_000_000)
    parser.add_argument("--instruments", type=int, default=50)
    parser.add_argument("--profile", action="store_true", help="cProfile the full replay")
    parser.add_argument("--no-nautilus", action="store_true")
    ARGS = parser.parse_args()
    main()
