"""What the paper broker refuses on arrival, as Kite's RMS and the exchange would.

The service has already validated the order (quantity, lots, tick grid, prices,
product); these are the checks that depend on the market at arrival: the
instrument is tradable, the price is inside today's circuit band, and an AMO
arrives outside market hours. Funds, holdings and the MIS cut-off are the
account's business (see :mod:`engine.trading.account`).
"""

from __future__ import annotations

from engine.model import Instrument, MarketDay
from engine.orders.model import Order, OrderType, Variety
from engine.orders.validation import check_quantity, check_tick
from engine.trading.paper.session import is_market_open
from engine.trading.settings import PaperSettings


def circuit_problem(order: Order, day: MarketDay | None) -> str | None:
    """A limit or trigger price outside today's circuit limits."""
    if day is None or day.upper_circuit <= 0:
        return None
    lo, hi = day.lower_circuit, day.upper_circuit
    checks = []
    if order.order_type in (OrderType.LIMIT, OrderType.SL):
        checks.append(("price", order.price))
    if order.order_type in (OrderType.SL, OrderType.SLM):
        checks.append(("trigger price", order.trigger_price))
    for what, value in checks:
        if not lo <= value <= hi:
            return f"{what} {value:g} is outside the circuit limits {lo:g}–{hi:g}"
    return None


def broker_refusal(
    order: Order,
    instrument: Instrument | None,
    day: MarketDay | None,
    now_ns: int,
    paper: PaperSettings,
    *,
    modifying: bool = False,
) -> str | None:
    """Why the broker would reject ``order`` now, or ``None``."""
    if instrument is None:
        return f"unknown instrument token {order.instrument_token}"
    if not instrument.tradable:
        return f"{instrument.key} is not tradable"
    problem = check_quantity(order.quantity, instrument.lot_size)
    if problem is None and order.order_type in (OrderType.LIMIT, OrderType.SL):
        problem = check_tick(order.price, instrument.tick_size)
    if problem is None and order.order_type in (OrderType.SL, OrderType.SLM):
        problem = check_tick(order.trigger_price, instrument.tick_size, "trigger price")
    if problem:
        return problem
    if problem := circuit_problem(order, day):
        return problem
    if (
        not modifying
        and order.variety is Variety.AMO
        and is_market_open(now_ns, paper.market_open, paper.market_close)
    ):
        return "AMO orders are accepted only outside market hours; place a regular order"
    return None
