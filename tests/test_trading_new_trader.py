"""The new trader's first session, at engine level, through the Kernel's front-end API."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.clock import TestClock
from engine.kernel import Kernel
from engine.orders import CancelOrder, OrderStatus, OrderType, Product, Side, SubmitOrder
from engine.settings import Settings
from tests.conftest import FROZEN_START


def buy_or_sell(kernel: Kernel, side: Side, qty: int, **kw: object) -> SubmitOrder:
    reliance = kernel.cache.resolve("RELIANCE")
    assert reliance is not None
    kw.setdefault("order_type", OrderType.MARKET)
    if kw["order_type"] is OrderType.MARKET:
        kw.setdefault("market_protection", -1.0)
    return SubmitOrder(
        user="AB1234",
        exchange="NSE",
        tradingsymbol="RELIANCE",
        instrument_token=reliance.instrument_token,
        side=side,
        product=Product.CNC,
        quantity=qty,
        **kw,  # type: ignore[arg-type]
    )


async def started(settings: Settings, clock: TestClock) -> Kernel:
    kernel = Kernel(settings, clock)
    await kernel.trading.start()
    kernel.reconcile()
    kernel.feed.emit(len(kernel.feed.market.tokens))
    return kernel


async def test_buy_see_fill_limit_cancel_square_off_quit_restart(settings: Settings) -> None:
    clock = TestClock(FROZEN_START)
    kernel = await started(settings, clock)

    bought = await kernel.execute(buy_or_sell(kernel, Side.BUY, 10))
    assert bought.ok and bought.client_order_id in bought.message
    snap = kernel.snapshot(0)
    assert snap.fills is not None and sum(f.quantity for f in snap.fills) == 10
    assert snap.positions is not None and snap.positions[0].net_quantity == 10
    assert snap.positions[0].charges > 0 and snap.funds is not None and snap.funds.charges > 0

    ltp = kernel.trading.ltp(snap.positions[0].instrument_token)
    assert ltp is not None
    limit = await kernel.execute(
        buy_or_sell(kernel, Side.BUY, 5, order_type=OrderType.LIMIT, price=round(ltp * 0.98, 1))
    )
    assert limit.ok and kernel.trading.order(limit.client_order_id).status is OrderStatus.OPEN  # type: ignore[union-attr]
    cancel = await kernel.execute(CancelOrder(user="AB1234", client_order_id=limit.client_order_id))  # type: ignore[arg-type]
    assert cancel.ok

    unchanged = kernel.snapshot(snap.version, trading_since=kernel.trading.version)
    assert unchanged.orders is None and unchanged.positions is None

    assert (await kernel.execute(buy_or_sell(kernel, Side.SELL, 10))).ok
    flat = kernel.snapshot(0)
    assert flat.positions is not None and flat.positions[0].net_quantity == 0
    assert flat.funds is not None
    assert flat.funds.net_pnl == pytest.approx(flat.positions[0].realized_pnl - flat.funds.charges)
    await kernel.trading.stop()

    again = Kernel(settings, clock)
    await again.trading.start()
    again.reconcile()
    restored = again.snapshot(0)
    assert restored.orders == flat.orders
    assert restored.fills == flat.fills
    assert [(p.net_quantity, p.realized_pnl, p.charges) for p in restored.positions or ()] == [
        (p.net_quantity, p.realized_pnl, p.charges) for p in flat.positions
    ]
    assert restored.funds is not None
    assert restored.funds.net_pnl == pytest.approx(flat.funds.net_pnl)
    await again.trading.stop()


async def test_the_ticket_estimate_through_the_kernel(settings: Settings, tmp_path: Path) -> None:
    kernel = await started(settings, TestClock(FROZEN_START))
    estimate = kernel.estimate(buy_or_sell(kernel, Side.BUY, 10))
    assert estimate.ok and estimate.value > 0 and estimate.charges > 0
    assert not kernel.estimate(buy_or_sell(kernel, Side.BUY, -1)).ok
    await kernel.trading.stop()
