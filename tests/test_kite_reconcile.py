"""Startup reconciliation of delivery (CNC) positions with Kite's holdings, over real sockets.

Kite moves a CNC buy out of its positions into holdings (T1, then settled) after the
day it was bought; the ledger still has the position. Reconciliation must read that as
the same shares, and must never read a failed holdings query as "holds nothing".
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from engine.orders import OrderStatus
from engine.trading.live.reconcile import position_mismatch
from engine.trading.portfolio import Portfolio
from tests.kite_fake.server import FakeKite
from tests.test_kite_live import eventually, kernel_reconcile, limit, new_desk


@pytest.fixture
async def kite() -> AsyncIterator[FakeKite]:
    fake = FakeKite(seed_orders=False, tick_interval=None, heartbeat_interval=None)
    async with fake:
        yield fake


async def buy_through_the_desk(tmp_path: Path, kite: FakeKite, quantity: int = 5) -> None:
    """A desk buys RELIANCE CNC, Kite fills it, the desk stops (end of the day)."""
    desk = await new_desk(tmp_path, kite).start()
    try:
        coid = (await desk.service.submit(limit(quantity))).client_order_id
        order = await eventually(
            lambda: desk.order(coid).status is OrderStatus.OPEN and desk.order(coid)
        )
        await asyncio.to_thread(kite.fill_order, order.broker_order_id, price=1500.0)
        await eventually(lambda: desk.order(coid).status is OrderStatus.COMPLETE)
        assert desk.service.positions()[0].net_quantity == quantity
    finally:
        await desk.stop()


async def trade_outside_the_desk(kite: FakeKite, side: str, quantity: int) -> None:
    """The trader uses Kite's own app: an order without our tag, filled at once."""
    form = {
        "exchange": "NSE",
        "tradingsymbol": "RELIANCE",
        "transaction_type": side,
        "order_type": "LIMIT",
        "quantity": str(quantity),
        "price": "1500",
        "product": "CNC",
    }
    headers = {"Authorization": f"token {kite.api_key}:{kite.access_token}"}
    async with (
        aiohttp.ClientSession() as s,
        s.post(f"{kite.root}/orders/regular", data=form, headers=headers) as r,
    ):
        order_id = (await r.json())["data"]["order_id"]
    await asyncio.to_thread(kite.fill_order, order_id)


def reliance_holding(kite: FakeKite) -> dict[str, Any]:
    (holding,) = [h for h in kite.holdings() if h["tradingsymbol"] == "RELIANCE"]
    return holding


async def test_a_delivery_bought_yesterday_is_a_holding_not_a_missing_position(
    tmp_path: Path, kite: FakeKite
) -> None:
    await buy_through_the_desk(tmp_path, kite)
    await asyncio.to_thread(kite.next_day)
    assert reliance_holding(kite)["t1_quantity"] == 5
    for day in ("T1", "settled"):
        desk = await new_desk(tmp_path, kite).start(pump=False)
        try:
            assert desk.broker.reconcile_problem is None, day
            assert desk.service.positions()[0].net_quantity == 5
            assert kernel_reconcile(desk).state.value == "ACTIVE"
        finally:
            await desk.stop()
        await asyncio.to_thread(kite.next_day)  # T+1 settles: quantity 5, T1 0
    assert (reliance_holding(kite)["quantity"], reliance_holding(kite)["t1_quantity"]) == (5, 0)


async def test_shares_held_outside_the_desk_are_the_traders_own(
    tmp_path: Path, kite: FakeKite
) -> None:
    await buy_through_the_desk(tmp_path, kite, quantity=5)
    await trade_outside_the_desk(kite, "BUY", 3)
    await asyncio.to_thread(kite.next_day)
    assert reliance_holding(kite)["t1_quantity"] == 8
    desk = await new_desk(tmp_path, kite).start(pump=False)
    try:
        assert desk.broker.reconcile_problem is None
        assert desk.service.positions()[0].net_quantity == 5  # the desk's own, not the 8
    finally:
        await desk.stop()


async def test_held_shares_sold_outside_the_desk_fail_reconciliation(
    tmp_path: Path, kite: FakeKite
) -> None:
    await buy_through_the_desk(tmp_path, kite, quantity=5)
    await asyncio.to_thread(kite.next_day)
    await trade_outside_the_desk(kite, "SELL", 3)  # today's CNC position: -3
    desk = await new_desk(tmp_path, kite).start(pump=False)
    try:
        problem = desk.broker.reconcile_problem or ""
        assert problem == "positions differ: NSE:RELIANCE CNC ledger 5, Kite 2"
        assert kernel_reconcile(desk).state.value == "HALTED"
    finally:
        await desk.stop()


async def test_a_failed_holdings_query_is_never_read_as_no_holdings(
    tmp_path: Path, kite: FakeKite
) -> None:
    await buy_through_the_desk(tmp_path, kite)
    await asyncio.to_thread(kite.next_day)
    desk = new_desk(tmp_path, kite)
    real_call = desk.broker.call

    async def call(method: str, path: str, form: Any = None) -> Any:
        if path == "/portfolio/holdings":
            await asyncio.to_thread(kite.fail_next, 1, 503)
        return await real_call(method, path, form)

    desk.broker.call = call  # type: ignore[method-assign]
    await desk.start(pump=False)
    try:
        problem = desk.broker.reconcile_problem or ""
        assert problem.startswith("Kite holdings query failed")
        assert "\n" not in problem
        assert any("reconciliation failed" in m and "holdings" in m for _, _, m in desk.alerts)
        assert kernel_reconcile(desk).state.value == "HALTED"
    finally:
        await desk.stop()


@pytest.mark.parametrize("answer", [None, {"net": []}, [{"tradingsymbol": "X"}], "[]"])
def test_a_malformed_holdings_answer_is_a_problem_not_flat(answer: Any) -> None:
    positions = {"net": [], "day": []}
    problem = position_mismatch(positions, Portfolio(date(2026, 11, 25)), answer)
    assert problem == "Kite's holdings answer is not a list of holdings; not assuming none"
