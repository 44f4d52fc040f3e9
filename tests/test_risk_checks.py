"""Every pre-trade check: one order it passes and one it rejects, with the reason line."""

from __future__ import annotations

from datetime import datetime

import msgspec
import pytest

from engine.clock import IST
from engine.orders.model import OrderStatus, OrderType, Product, Side, Variety
from engine.risk import RiskSettings, TradingState
from engine.risk.freeze import FreezeTable
from tests.test_risk_support import (
    INFY,
    NIFTY_CE,
    NIFTY_FUT,
    NIFTY_INDEX,
    RELIANCE,
    Desk,
    modify,
    submit,
)


def settings(**sections: dict[str, object]) -> RiskSettings:
    return RiskSettings.model_validate(sections)


def test_trading_state_passes_when_active_and_rejects_when_halted() -> None:
    desk = Desk()
    assert desk.check(submit()) is None
    desk.risk.halt("operator says stop", user="AB1234")
    reason = desk.check(submit(price=1521.0))
    assert (
        reason
        == "rejected by trading_state: trading is HALTED (operator says stop); only cancels pass"
    )
    assert desk.rejections("trading_state") == 1


def test_trading_state_reducing_passes_only_reducing_orders() -> None:
    desk = Desk()
    desk.ctx.nets[RELIANCE.token] = 100
    desk.risk.reduce_only("soft loss")
    assert desk.check(submit(side=Side.SELL, quantity=60)) is None
    reason = desk.check(submit(side=Side.BUY, quantity=10))
    assert reason is not None and reason.startswith(
        "rejected by trading_state: trading is REDUCING"
    )
    # A sell larger than the position would flip it: that grows |exposure|.
    assert desk.check(submit(side=Side.SELL, quantity=101, price=1519.0)) is not None


def test_reducing_counts_resting_same_side_orders() -> None:
    desk = Desk()
    desk.ctx.nets[RELIANCE.token] = 100
    desk.ctx.rest(submit(side=Side.SELL, quantity=80, price=1530.0))
    desk.risk.reduce_only("soft loss")
    assert desk.check(submit(side=Side.SELL, quantity=20, price=1519.0)) is None
    assert desk.check(submit(side=Side.SELL, quantity=21, price=1518.0)) is not None


def test_instrument_known_and_tradable() -> None:
    desk = Desk()
    assert desk.check(submit(RELIANCE)) is None
    assert desk.check(submit(NIFTY_INDEX, price=24000.0)) == (
        "rejected by instrument: NSE:NIFTY 50 is an index and cannot be traded"
    )
    unknown = msgspec.structs.replace(submit(), instrument_token=42, tradingsymbol="NOPE")
    assert desk.check(unknown) == "rejected by instrument: unknown instrument token 42"


def test_permissions_per_strategy() -> None:
    desk = Desk(
        settings(
            permissions={"strategies": {"sma": {"order_types": ["LIMIT"], "products": ["MIS"]}}}
        )
    )
    assert desk.check(submit(strategy_id="sma")) is None
    assert desk.check(submit(order_type=OrderType.MARKET, strategy_id="sma")) == (
        "rejected by permissions: strategy sma may not send MARKET orders"
    )
    assert desk.check(submit(product=Product.CNC, strategy_id="sma", price=1521.0)) == (
        "rejected by permissions: strategy sma may not use product CNC"
    )
    assert desk.check(submit(order_type=OrderType.MARKET, strategy_id="manual")) is None


def test_market_protection_never_zero_on_market_and_slm() -> None:
    desk = Desk()
    assert desk.check(submit(order_type=OrderType.MARKET, market_protection=-1.0)) is None
    reason = desk.check(
        submit(order_type=OrderType.SLM, trigger_price=1500.0, market_protection=0.0)
    )
    assert reason is not None and reason.startswith(
        "rejected by market_protection: SL-M order needs"
    )


def test_market_protection_applies_to_a_modification_to_market() -> None:
    desk = Desk()
    order = desk.ctx.rest(submit(price=1500.0))
    assert desk.check(modify(order, order_type=OrderType.MARKET)) is not None
    assert desk.check(modify(order, order_type=OrderType.MARKET, market_protection=3.0)) is None


def test_session_open_on_weekday_hours_closed_at_night() -> None:
    desk = Desk()
    assert desk.check(submit()) is None
    desk.clock.set_ns(int(datetime(2026, 11, 25, 15, 31, tzinfo=IST).timestamp()) * 10**9)
    desk.advance(0)
    assert desk.check(submit(price=1521.0)) == "rejected by session: the market is closed"
    assert desk.check(submit(price=1522.0, variety=Variety.AMO)) is None


def test_session_weekend_closed_unless_always_open() -> None:
    saturday = int(datetime(2026, 11, 28, 11, 0, tzinfo=IST).timestamp()) * 10**9
    desk = Desk()
    desk.clock.set_ns(saturday)
    desk.advance(0)
    assert desk.check(submit()) == "rejected by session: the market is closed"
    always = Desk(settings(session={"session": "always-open"}))
    always.clock.set_ns(saturday)
    always.advance(0)
    assert always.check(submit()) is None


def test_freeze_quantity_uses_the_table_for_index_options() -> None:
    desk = Desk()
    assert desk.check(submit(NIFTY_CE, quantity=1800, price=120.0)) is None
    assert desk.check(submit(NIFTY_CE, quantity=1875, price=120.5)) == (
        "rejected by freeze_quantity: quantity 1,875 exceeds the per-order limit 1,800; split the order"
    )


def test_freeze_quantity_configured_max_for_equity() -> None:
    desk = Desk(settings(freeze_quantity={"max_quantity": 200}, order_value={"max_value": 10**8}))
    assert desk.check(submit(quantity=200)) is None
    reason = desk.check(submit(quantity=201))
    assert reason is not None and "per-order limit 200" in reason


def test_freeze_table_ships_nifty_and_banknifty() -> None:
    table = FreezeTable.load()
    assert table.freeze(NIFTY_CE) == 1800
    assert table.freeze(RELIANCE) is None
    with pytest.raises(ValueError, match="row 2"):
        FreezeTable.from_csv("exchange,name,freeze_quantity\nNFO,NIFTY,zero\n")


def test_modifications_per_order() -> None:
    desk = Desk(settings(modifications={"max_per_order": 3}))
    order = desk.ctx.rest(submit(price=1500.0), modifications=2)
    assert desk.check(modify(order, price=1501.0)) is None
    order = desk.ctx.rest(submit(price=1500.0, quantity=11), modifications=3)
    reason = desk.check(modify(order, price=1502.0))
    assert (
        reason
        == f"rejected by modifications: order {order.client_order_id} was already modified 3 times (limit 3)"
    )


def test_unknown_order_modification_is_rejected() -> None:
    desk = Desk()
    ghost = msgspec.structs.replace(desk.ctx.rest(submit()), client_order_id="GHOST1")
    reason = desk.check(modify(ghost, price=1521.0))
    assert reason == "rejected by order: unknown order"


def test_market_data_fresh_and_stale() -> None:
    desk = Desk()
    desk.clock.advance(5.0)
    assert desk.check(submit()) is None
    desk.clock.advance(7.5)
    assert desk.check(submit(price=1521.0)) == (
        "rejected by market_data: last tick for NSE:RELIANCE is 12.5 s old (limit 5 s)"
    )


def test_order_value_limit() -> None:
    desk = Desk(settings(order_value={"max_value": 100_000}))
    assert desk.check(submit(quantity=65)) is None
    assert desk.check(submit(quantity=66)) == (
        "rejected by order_value: order value 100,320.00 exceeds the limit 100,000.00"
    )


def test_price_band_percent() -> None:
    desk = Desk()
    assert desk.check(submit(price=1560.0)) is None
    assert desk.check(submit(price=1612.0)) == (
        "rejected by price_band: 1,612.00 is 6.1% above LTP 1,519.40 (limit 3%)"
    )


def test_price_band_checks_sl_triggers() -> None:
    desk = Desk()
    ok = submit(side=Side.SELL, order_type=OrderType.SL, price=1490.0, trigger_price=1495.0)
    assert desk.check(ok) is None
    far = submit(side=Side.SELL, order_type=OrderType.SLM, trigger_price=1400.0)
    reason = desk.check(far)
    assert reason is not None and reason.startswith(
        "rejected by price_band: trigger 1,400.00 is 7.9% below"
    )


def test_price_band_absolute_for_cheap_options() -> None:
    desk = Desk()
    desk.ctx.tick(NIFTY_CE.token, 10.0)
    # 30% above LTP but within the ₹3 absolute band for a cheap option.
    assert desk.check(submit(NIFTY_CE, quantity=75, price=13.0)) is None
    assert desk.check(submit(NIFTY_CE, quantity=75, price=13.5)) == (
        "rejected by price_band: 13.50 is 3.50 above LTP 10.00 (limit ±3.00)"
    )


def test_duplicate_within_window() -> None:
    desk = Desk()
    assert desk.check(submit()) is None
    assert (
        desk.check(submit())
        == "rejected by duplicate: the same order was sent 0.0 s ago (window 5 s)"
    )
    desk.advance(5.0)
    assert desk.check(submit()) is None


def test_throttle_per_second() -> None:
    desk = Desk(settings(throttle={"per_second": 3}))
    for n in range(3):
        assert desk.check(submit(price=1500.0 + n)) is None
    assert (
        desk.check(submit(price=1510.0))
        == "rejected by throttle: 3 orders in the last second (limit 3/s)"
    )
    desk.advance(1.0)
    assert desk.check(submit(price=1511.0)) is None


def test_throttle_counts_only_orders_that_pass() -> None:
    desk = Desk(settings(throttle={"per_second": 2}))
    assert desk.check(submit(price=1700.0)) is not None  # price band
    assert desk.check(submit(price=1500.0)) is None
    assert desk.check(submit(price=1501.0)) is None


def test_open_orders_limit() -> None:
    desk = Desk(settings(open_orders={"max_open": 2}))
    desk.ctx.rest(submit(INFY, price=1500.0))
    assert desk.check(submit()) is None
    desk.ctx.rest(submit(INFY, price=1501.0))
    assert (
        desk.check(submit(price=1521.0)) == "rejected by open_orders: 2 orders are open (limit 2)"
    )


def test_self_trade_against_resting_opposite_order() -> None:
    desk = Desk()
    resting = desk.ctx.rest(submit(side=Side.SELL, price=1525.0))
    assert desk.check(submit(side=Side.BUY, price=1524.0)) is None
    assert desk.check(submit(side=Side.BUY, price=1525.0, quantity=11)) == (
        f"rejected by self_trade: would cross our own resting SELL {resting.client_order_id} at 1,525.00"
    )
    assert desk.check(submit(side=Side.BUY, order_type=OrderType.MARKET, quantity=12)) is not None


def test_self_trade_ignores_untriggered_stops() -> None:
    desk = Desk()
    desk.ctx.rest(
        submit(side=Side.SELL, order_type=OrderType.SL, price=1500.0, trigger_price=1501.0),
        status=OrderStatus.TRIGGER_PENDING,
    )
    assert desk.check(submit(side=Side.BUY, price=1520.0)) is None


def test_daily_loss_soft_and_hard_pre_trade() -> None:
    desk = Desk()
    desk.ctx.nets[RELIANCE.token] = 50
    desk.ctx.realized = -30_000.0
    assert desk.check(submit(side=Side.SELL, quantity=50)) is None
    assert desk.check(submit(side=Side.BUY, quantity=5)) == (
        "rejected by daily_loss: day loss 30,000.00 reached the soft limit 25,000.00; reducing orders only"
    )
    desk.ctx.realized = -50_000.0
    assert desk.check(submit(side=Side.SELL, quantity=40, price=1519.0)) == (
        "rejected by daily_loss: day loss 50,000.00 reached the hard limit 50,000.00"
    )


def test_position_limit_counts_position_and_resting_orders() -> None:
    desk = Desk(settings(position_limit={"max_value": 200_000}))
    desk.ctx.nets[RELIANCE.token] = 100
    assert desk.check(submit(quantity=31)) is None
    desk.ctx.rest(submit(quantity=20, price=1510.0))
    reason = desk.check(submit(quantity=31, price=1519.0))
    assert (
        reason
        == "rejected by position_limit: position in NSE:RELIANCE would be 229,429.40 (limit 200,000.00)"
    )


def test_gross_exposure_limit() -> None:
    desk = Desk(settings(gross_exposure={"max_value": 300_000}))
    desk.ctx.nets[INFY.token] = 100  # 151,285
    assert desk.check(submit(quantity=90)) is None
    reason = desk.check(submit(quantity=100, price=1519.0))
    assert (
        reason
        == "rejected by gross_exposure: gross exposure would be 303,225.00 (limit 300,000.00)"
    )


def test_funds_margin_estimate() -> None:
    desk = Desk()
    desk.ctx.capital = 100_000.0
    # MIS equity at 20%: 300 × 1,520 × 0.2 = 91,200.
    assert desk.check(submit(quantity=300)) is None
    reason = desk.check(submit(quantity=300, price=1519.0, product=Product.CNC))
    assert reason == "rejected by funds: needs about 455,700.00 margin, 100,000.00 available"


def test_funds_short_option_uses_strike() -> None:
    desk = Desk()
    desk.ctx.capital = 200_000.0
    assert desk.check(submit(NIFTY_CE, side=Side.BUY, quantity=75, price=120.0)) is None
    reason = desk.check(submit(NIFTY_CE, side=Side.SELL, quantity=75, price=120.0))
    assert reason == "rejected by funds: needs about 270,000.00 margin, 200,000.00 available"


def test_reducing_orders_skip_money_limits() -> None:
    limits = {"max_value": 1_000}
    desk = Desk(
        settings(gross_exposure=limits, position_limit=limits, order_value={"max_value": 2e6})
    )
    desk.ctx.nets[NIFTY_FUT.token] = 75
    desk.ctx.capital = 0.0
    assert desk.check(submit(NIFTY_FUT, side=Side.SELL, quantity=75, price=24100.0)) is None
    reason = desk.check(submit(NIFTY_FUT, side=Side.BUY, quantity=75, price=24100.0))
    assert reason is not None and reason.startswith("rejected by position_limit")


def test_disabled_check_passes() -> None:
    desk = Desk(settings(price_band={"enabled": False}))
    assert desk.check(submit(price=2000.0)) is None
    assert desk.risk.state is TradingState.ACTIVE
