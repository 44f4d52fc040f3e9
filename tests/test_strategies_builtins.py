"""Each built-in strategy on a scripted tick sequence whose correct orders are known.

One tick per minute at ``close`` makes a one-tick bar; a bar closes on the first tick
of the next minute, so the order a bar triggers is sent on that next tick and the
recording gateway fills it at that tick's price.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.orders.commands import SubmitOrder
from engine.orders.model import OrderType, Product, Side
from engine.strategies.bars import Bar
from engine.strategies.testing import Harness

AAA = 101


def entry(name: str, cls: str, **params: object) -> dict:
    return {"name": name, "class": cls, "instruments": ["NSE:AAA"], "params": params}


async def run_closes(h: Harness, closes: list[float], last: float | None = None) -> None:
    """One tick per minute at each close, then one more tick to close the last bar."""
    for minute, close in enumerate(closes):
        await h.step(AAA, close, h.at(minute))
    await h.step(AAA, closes[-1] if last is None else last, h.at(len(closes)))


def market(strategy: str, side: Side, qty: int, coid: str) -> SubmitOrder:
    return SubmitOrder(
        user="local",
        exchange="NSE",
        tradingsymbol="AAA",
        instrument_token=AAA,
        side=side,
        order_type=OrderType.MARKET,
        product=Product.MIS,
        quantity=qty,
        market_protection=-1.0,
        strategy_id=strategy,
        client_order_id=coid,
    )


async def test_sma_crossover_exact_orders_and_pnl(tmp_path: Path) -> None:
    h = Harness([entry("xover", "sma_crossover", fast=2, slow=4)], tmp_path)
    await h.manager.start()
    # fast/slow after each bar: 9 → below (first state, no signal); 12 → 10.5/10.25 above:
    # BUY; 13 above; 8 → 10.5/10.5 equal (no change); 7 → 7.5/10 below: SELL to -1.
    await run_closes(h, [10, 10, 10, 10, 9, 12, 13, 8, 7])
    assert h.gateway.submits == [
        market("xover", Side.BUY, 1, "S000001"),
        market("xover", Side.SELL, 2, "S000002"),
    ]
    (view,) = h.manager.views()
    # Bought 1 at 13 (the tick after the cross-up bar), sold 2 at 7: realized -6, short 1 at 7.
    assert view.realized_pnl == pytest.approx(-6.0)
    assert [(p.net_qty, p.avg_price) for p in view.positions] == [(-1, 7.0)]
    assert view.signals == 2
    assert view.state == "running"


async def test_ema_crossover_uses_exponential_averages(tmp_path: Path) -> None:
    h = Harness([entry("ema", "ema_crossover", fast=2, slow=3, allow_short=False)], tmp_path)
    await h.manager.start()
    # EMA(2) seeds at bar 2, EMA(3) at bar 3 (SMA seeds): bar 3 fast 10.667 > slow 10.333
    # (first state); bar 4 close 8: fast 8.889 < slow 9.167 → cross down, no shorting → nothing;
    # bar 5 close 12: fast 10.963 > slow 10.583 → BUY 1.
    await run_closes(h, [10, 10, 11, 8, 12])
    assert h.orders() == [("ema", "BUY", "AAA", 1)]


async def test_rsi_reversion_exact_orders(tmp_path: Path) -> None:
    h = Harness([entry("rsi", "rsi_reversion", period=2)], tmp_path)
    await h.manager.start()
    # Wilder RSI(2): 10,9,8 → 0 (BUY); 8.5 → 33.3 (hold); 10 → 77.8 (short: SELL 2);
    # 9 → 41.2 ≤ 50 while short (cover: BUY 1).
    await run_closes(h, [10, 9, 8, 8.5, 10, 9])
    assert h.orders() == [
        ("rsi", "BUY", "AAA", 1),
        ("rsi", "SELL", "AAA", 2),
        ("rsi", "BUY", "AAA", 1),
    ]


async def test_bollinger_breakout_exact_orders(tmp_path: Path) -> None:
    h = Harness([entry("bb", "bollinger_breakout", period=3, k=1.0)], tmp_path)
    await h.manager.start()
    # Bands of 10,11,12: 10.18/11/11.82 → 13 breaks out (BUY); bands of 11,12,13 middle 12 →
    # 11.5 below the middle while long (SELL 1); bands of 12,13,11.5 lower 11.54 → 10 (SELL 1).
    await run_closes(h, [10, 11, 12, 13, 11.5, 10])
    assert h.orders() == [
        ("bb", "BUY", "AAA", 1),
        ("bb", "SELL", "AAA", 1),
        ("bb", "SELL", "AAA", 1),
    ]


async def test_vwap_reversion_exact_orders(tmp_path: Path) -> None:
    h = Harness([entry("vwap", "vwap_reversion", band_pct=1.0, warmup_ticks=2)], tmp_path)
    await h.manager.start()
    # (price, volume step): the first tick only sets the volume baseline.
    script = [(100, 100), (100, 100), (100, 100), (98.5, 100), (99.0, 0), (100.5, 100), (102, 100)]
    for second, (price, step) in enumerate(script):
        await h.step(AAA, price, h.at(0, second + 1), volume_step=step)
    # VWAP 99.625 at 98.5 (-1.13%: BUY); 100.5 ≥ VWAP 99.8 while long (SELL 1);
    # 102 vs VWAP 100.17 (+1.83%: SELL 1 to go short).
    assert h.orders() == [
        ("vwap", "BUY", "AAA", 1),
        ("vwap", "SELL", "AAA", 1),
        ("vwap", "SELL", "AAA", 1),
    ]


async def test_opening_range_breakout_exact_orders(tmp_path: Path) -> None:
    h = Harness([entry("orb", "opening_range")], tmp_path)
    await h.manager.start()
    prices = [100, 105, 95] + [100] * 12  # 09:15 … 09:29: range 95–105
    for minute, price in enumerate(prices):
        await h.step(AAA, price, h.at(minute))
    for minute, price in [(15, 104), (16, 106), (17, 94), (18, 100)]:
        await h.step(AAA, price, h.at(minute))  # 09:31 closes above 105: BUY on the 09:32 tick
    assert h.orders() == [("orb", "BUY", "AAA", 1)]  # 94 later is ignored: one trade a day
    await h.step(AAA, 101, h.at(354))  # 15:09
    await h.step(AAA, 101, h.at(355))  # closes the 15:09 bar, which ends at the 15:10 exit
    assert h.orders() == [("orb", "BUY", "AAA", 1), ("orb", "SELL", "AAA", 1)]


def zigzag_history(token: int, count: int) -> list[Bar]:
    """Closes alternating 101/100 (ending on 100), one-minute bars the day before."""
    base = 1_764_000_000 * 1_000_000_000
    bars = []
    for i in range(count):
        close = 100.0 if (count - 1 - i) % 2 == 0 else 101.0
        start = base + i * 60_000_000_000
        bars.append(
            Bar(token, "1m", start, start + 60_000_000_000, close, close, close, close, 500, 1)
        )
    return bars


async def test_ml_direction_learns_history_and_trades_confident_calls(tmp_path: Path) -> None:
    asked: list[tuple[int, str, int]] = []

    def history(token: int, timeframe: str, count: int) -> list[Bar]:
        asked.append((token, timeframe, count))
        return zigzag_history(token, count)

    params = {
        "horizons": [1, 2],
        "rsi_period": 2,
        "volume_window": 3,
        "history_bars": 300,
        "threshold": 0.6,
        "min_oos_hit_rate": 0.9,
    }
    h = Harness([entry("ml", "ml_direction", **params)], tmp_path, history=history)
    await h.manager.start()
    await h.settle()  # the training job runs in a worker thread
    assert asked == [(AAA, "1m", 300)]
    stats = dict(h.manager.views()[0].stats)
    assert stats["model"] == '"trading"'
    assert float(stats["oos_hit_rate"]) == 1.0
    # History ends on a down bar; live closes continue the zigzag: up → expect down (SELL 1),
    # down → expect up (BUY 2), up → SELL 2.
    await run_closes(h, [101, 100, 101], last=100)
    assert h.orders() == [
        ("ml", "SELL", "AAA", 1),
        ("ml", "BUY", "AAA", 2),
        ("ml", "SELL", "AAA", 2),
    ]


async def test_ml_direction_does_not_trade_without_a_model(tmp_path: Path) -> None:
    h = Harness([entry("ml", "ml_direction", history_bars=0, min_train_bars=50)], tmp_path)
    await h.manager.start()
    await run_closes(h, [100 + (i % 3) for i in range(10)])
    assert h.orders() == []
    assert dict(h.manager.views()[0].stats) == {"model": '"untrained"'}
