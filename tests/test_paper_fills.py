"""The paper broker's fill model, through the trading service on a test clock and SQLite."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest

from engine.clock import IST, TestClock
from engine.orders import OrderStatus, OrderType, Product, Side, Validity, Variety
from tests.trading_helpers import EQ, FUT, Desk, order_cmd, trading_settings


async def started(tmp_path: Path, clock: TestClock | None = None, **paper: object) -> Desk:
    desk = Desk(trading_settings(tmp_path / "data", **paper), clock)
    await desk.service.start()
    return desk


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[Desk]:
    d = await started(tmp_path)
    d.tick(EQ.token, 100.0, asks=[(100.0, 5), (100.05, 5), (100.1, 10)], bids=[(99.95, 10)])
    yield d
    await d.service.stop()


def fills_of(desk: Desk, coid: str | None) -> list[tuple[int, float]]:
    return [(f.quantity, f.price) for f in desk.service.fills() if f.client_order_id == coid]


async def test_market_order_walks_the_depth(desk: Desk) -> None:
    result = await desk.service.submit(order_cmd(quantity=12))
    assert result.ok, result.message
    assert fills_of(desk, result.client_order_id) == [(5, 100.0), (5, 100.05), (2, 100.1)]
    order = desk.order(result.client_order_id)
    assert order.status is OrderStatus.COMPLETE
    assert order.average_price == pytest.approx((500 + 500.25 + 200.2) / 12)


async def test_short_depth_fills_partly_and_the_rest_on_later_ticks(desk: Desk) -> None:
    result = await desk.service.submit(order_cmd(quantity=25))
    assert desk.order(result.client_order_id).filled_quantity == 20
    assert desk.order(result.client_order_id).status is OrderStatus.OPEN
    desk.tick(EQ.token, 100.1, asks=[(100.15, 3)])
    assert desk.order(result.client_order_id).filled_quantity == 23
    desk.tick(EQ.token, 100.1, asks=[(100.1, 50)])
    assert desk.order(result.client_order_id).status is OrderStatus.COMPLETE
    assert fills_of(desk, result.client_order_id)[-1] == (2, 100.1)


async def test_two_orders_on_one_tick_do_not_share_depth(desk: Desk) -> None:
    first = await desk.service.submit(order_cmd(quantity=8, market_protection=0.06))
    second = await desk.service.submit(order_cmd(quantity=8, market_protection=0.06))
    assert desk.order(first.client_order_id).filled_quantity == 8
    # 0.06 % of 100 caps at 100.05: only 2 units are left there after the first order.
    assert desk.order(second.client_order_id).filled_quantity == 2


async def test_market_protection_is_never_exceeded(desk: Desk) -> None:
    desk.tick(EQ.token, 100.0, asks=[(100.0, 5), (101.5, 10)])
    r = await desk.service.submit(order_cmd(quantity=10, market_protection=1.0))
    assert fills_of(desk, r.client_order_id) == [(5, 100.0)]
    desk.tick(EQ.token, 101.2, asks=[(100.95, 2), (101.05, 10)])
    assert fills_of(desk, r.client_order_id) == [(5, 100.0), (2, 100.95)]
    assert desk.order(r.client_order_id).status is OrderStatus.OPEN


async def test_limit_fills_only_when_the_market_trades_through(desk: Desk) -> None:
    result = await desk.service.submit(
        order_cmd(quantity=10, order_type=OrderType.LIMIT, price=99.5)
    )
    coid = result.client_order_id
    assert desk.order(coid).status is OrderStatus.OPEN
    desk.tick(EQ.token, 99.5, asks=[(99.55, 10)])
    assert desk.order(coid).filled_quantity == 0, "a trade at the price fills nothing"
    desk.tick(EQ.token, 99.45, asks=[(99.6, 10)])
    assert fills_of(desk, coid) == [(10, 99.5)]


async def test_resting_limit_takes_an_ask_that_crosses_it(desk: Desk) -> None:
    result = await desk.service.submit(
        order_cmd(quantity=10, order_type=OrderType.LIMIT, price=99.5)
    )
    desk.tick(EQ.token, 99.8, asks=[(99.4, 3), (99.5, 4), (99.55, 10)])
    assert fills_of(desk, result.client_order_id) == [(3, 99.4), (4, 99.5)]


async def test_marketable_limit_fills_at_once_up_to_its_price(desk: Desk) -> None:
    result = await desk.service.submit(
        order_cmd(quantity=12, order_type=OrderType.LIMIT, price=100.05)
    )
    assert fills_of(desk, result.client_order_id) == [(5, 100.0), (5, 100.05)]
    assert desk.order(result.client_order_id).status is OrderStatus.OPEN


async def test_sl_triggers_on_ltp_and_then_works_as_a_limit(desk: Desk) -> None:
    cmd = order_cmd(quantity=5, order_type=OrderType.SL, price=101.5, trigger_price=101.0)
    coid = (await desk.service.submit(cmd)).client_order_id
    assert desk.order(coid).status is OrderStatus.TRIGGER_PENDING
    desk.tick(EQ.token, 100.95, asks=[(101.0, 50)])
    assert desk.order(coid).status is OrderStatus.TRIGGER_PENDING
    desk.tick(EQ.token, 101.0, asks=[(101.2, 2), (101.6, 50)])
    assert desk.order(coid).status is OrderStatus.OPEN
    assert fills_of(desk, coid) == [(2, 101.2)]


async def test_slm_sell_triggers_and_executes_at_market(desk: Desk) -> None:
    await desk.service.submit(order_cmd(quantity=10))
    cmd = order_cmd(Side.SELL, 10, OrderType.SLM, trigger_price=99.0)
    coid = (await desk.service.submit(cmd)).client_order_id
    desk.tick(EQ.token, 99.05, bids=[(99.0, 100)])
    assert desk.order(coid).filled_quantity == 0
    desk.tick(EQ.token, 99.0, bids=[(98.95, 4), (98.9, 100)])
    assert fills_of(desk, coid) == [(4, 98.95), (6, 98.9)]
    assert desk.order(coid).status is OrderStatus.COMPLETE


async def test_ioc_cancels_the_unfilled_remainder(desk: Desk) -> None:
    cmd = order_cmd(quantity=10, order_type=OrderType.LIMIT, price=100.0, validity=Validity.IOC)
    coid = (await desk.service.submit(cmd)).client_order_id
    order = desk.order(coid)
    assert (order.status, order.filled_quantity) == (OrderStatus.CANCELLED, 5)
    assert "IOC" in order.status_message


async def test_slippage_is_applied_to_market_fills(tmp_path: Path) -> None:
    desk = await started(tmp_path, slippage_bps=10.0)
    desk.tick(EQ.token, 100.0, asks=[(100.0, 50)])
    coid = (await desk.service.submit(order_cmd(quantity=5))).client_order_id
    assert fills_of(desk, coid) == [(5, 100.1)]
    await desk.service.stop()


async def test_latency_is_simulated_on_the_engine_clock(tmp_path: Path) -> None:
    desk = await started(tmp_path, latency_ms=200.0)
    desk.tick(EQ.token, 100.0, asks=[(100.0, 50)])
    coid = (await desk.service.submit(order_cmd(quantity=5))).client_order_id
    assert desk.order(coid).status is OrderStatus.OPEN_PENDING
    desk.clock.advance(0.1)
    desk.service.broker.run_due()
    assert desk.order(coid).status is OrderStatus.OPEN_PENDING
    desk.clock.advance(0.1)
    desk.service.broker.run_due()
    assert desk.order(coid).status is OrderStatus.COMPLETE
    await desk.service.stop()


# -- what a broker rejects -------------------------------------------------------------


async def test_price_outside_the_circuit_is_rejected_with_the_reason(desk: Desk) -> None:
    result = await desk.service.submit(order_cmd(order_type=OrderType.LIMIT, price=121.0))
    assert not result.ok and "circuit" in result.message
    order = desk.order(result.client_order_id)
    assert order.status is OrderStatus.REJECTED and "120" in order.status_message


@pytest.mark.parametrize(
    ("cmd", "reason"),
    [
        (order_cmd(quantity=30, product=Product.NRML, instrument=FUT), "lot size 75"),
        (order_cmd(order_type=OrderType.LIMIT, price=100.03), "tick size"),
        (order_cmd(quantity=0), "positive"),
        (order_cmd(side=Side.SELL, order_type=OrderType.SL, price=99, trigger_price=98), "trigger"),
    ],
)
async def test_invalid_input_is_refused_and_nothing_is_written(desk: Desk, cmd, reason) -> None:  # type: ignore[no-untyped-def]
    result = await desk.service.submit(cmd)
    assert not result.ok and reason in result.message
    assert result.client_order_id is None
    assert desk.service.orders() == ()
    assert desk.service.ledger is not None
    assert await desk.service.ledger.load_orders() == []


async def test_insufficient_funds_is_rejected(tmp_path: Path) -> None:
    desk = await started(tmp_path, starting_capital=50_000.0)
    desk.tick(EQ.token, 100.0, asks=[(100.0, 10_000)])
    result = await desk.service.submit(order_cmd(quantity=600))
    assert not result.ok and "insufficient funds" in result.message
    mis = await desk.service.submit(order_cmd(quantity=600, product=Product.MIS))
    assert mis.ok, "MIS blocks only 20 % of the value"
    await desk.service.stop()


async def test_cnc_sell_needs_holdings(desk: Desk) -> None:
    result = await desk.service.submit(order_cmd(Side.SELL, 5))
    assert not result.ok and "holdings" in result.message


# -- sessions ---------------------------------------------------------------------------


async def test_mis_is_squared_off_at_1520_with_market_orders(desk: Desk) -> None:
    await desk.service.submit(order_cmd(quantity=10, product=Product.MIS))
    resting = await desk.service.submit(
        order_cmd(quantity=5, order_type=OrderType.LIMIT, price=90.0, product=Product.MIS)
    )
    desk.tick(EQ.token, 101.0, bids=[(101.0, 100)], asks=[(101.05, 100)])
    await desk.service.housekeeping()
    assert desk.service.portfolio.net_quantity(EQ.token) == 10
    desk.clock.set_ns(int(datetime(2026, 11, 25, 15, 20, tzinfo=IST).timestamp()) * 10**9)
    await desk.service.housekeeping()
    assert desk.service.portfolio.net_quantity(EQ.token) == 0
    assert desk.order(resting.client_order_id).status is OrderStatus.CANCELLED
    squareoff = desk.service.orders()[-1]
    assert (squareoff.side, squareoff.order_type, squareoff.status) == (
        Side.SELL,
        OrderType.MARKET,
        OrderStatus.COMPLETE,
    )
    late = await desk.service.submit(order_cmd(quantity=1, product=Product.MIS))
    assert not late.ok and "MIS" in late.message


async def test_amo_waits_for_the_next_open(tmp_path: Path) -> None:
    clock = TestClock(datetime(2026, 11, 25, 19, 0, tzinfo=IST))
    desk = await started(tmp_path, clock)
    desk.tick(EQ.token, 100.0, asks=[(100.0, 50)])
    cmd = order_cmd(quantity=5, order_type=OrderType.LIMIT, price=100.0, variety=Variety.AMO)
    coid = (await desk.service.submit(cmd)).client_order_id
    assert desk.order(coid).status is OrderStatus.OPEN
    desk.tick(EQ.token, 99.0, asks=[(99.0, 50)])
    assert desk.order(coid).filled_quantity == 0
    clock.set_ns(int(datetime(2026, 11, 26, 9, 15, tzinfo=IST).timestamp()) * 10**9)
    desk.tick(EQ.token, 99.9, asks=[(99.95, 50)])
    assert fills_of(desk, coid) == [(5, 99.95)]
    await desk.service.stop()


async def test_amo_during_market_hours_is_rejected(desk: Desk) -> None:
    cmd = order_cmd(quantity=5, order_type=OrderType.LIMIT, price=100.0, variety=Variety.AMO)
    result = await desk.service.submit(cmd)
    assert not result.ok and "AMO" in result.message
