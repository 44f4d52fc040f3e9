"""The paper account's own refusals: funds, delivery holdings and the MIS cut-off."""

from __future__ import annotations

from collections.abc import Iterable

from engine.orders.model import Order, OrderType, Product, Side
from engine.trading.margin import funds, order_margin, order_price
from engine.trading.portfolio import Portfolio
from engine.trading.settings import PaperSettings


def account_problem(
    order: Order,
    portfolio: Portfolio,
    open_orders: Iterable[Order],
    ltps: dict[int, float],
    paper: PaperSettings,
    mis_closed: bool,
) -> str | None:
    """Why the account cannot take ``order`` (a new one, or a resting one modified), or None.

    ``open_orders`` are the resting orders already blocking margin; ``order``
    itself is left out of them, so a modification is checked as a whole.
    """
    others = [o for o in open_orders if o.client_order_id != order.client_order_id]
    key = (order.instrument_token, order.product.value, order.strategy_id)
    held = portfolio.positions.get(key)
    net = held.net_quantity if held is not None else 0
    pending = order.quantity - order.filled_quantity
    if order.product is Product.CNC and order.side is Side.SELL:
        holdings = portfolio.net_quantity(order.instrument_token, Product.CNC.value)
        selling = sum(
            o.pending_quantity
            for o in others
            if o.instrument_token == order.instrument_token
            and o.product is Product.CNC
            and o.side is Side.SELL
        )
        if pending > holdings - selling:
            return (
                f"insufficient holdings: {order.tradingsymbol} held {max(holdings, 0)},"
                f" {selling} already in open sell orders"
            )
    adds = pending if net == 0 or (net > 0) == (order.side is Side.BUY) else pending - abs(net)
    if mis_closed and order.product is Product.MIS and adds > 0:
        return f"MIS is closed for the day after the {paper.mis_squareoff_time:%H:%M} square-off"
    price = order_price(
        order.order_type, order.price, order.trigger_price, ltps.get(order.instrument_token)
    )
    if price <= 0 and order.order_type is OrderType.MARKET and adds > 0:
        return f"no price yet for {order.tradingsymbol}: a MARKET order needs a first tick"
    need = order_margin(
        side_sign=order.side.sign,
        quantity=pending,
        product=order.product,
        value_price=price,
        net=net,
        paper=paper,
    )
    if need <= 0:
        return None
    available = funds(portfolio, others, ltps, paper).available
    if need > available:
        return f"insufficient funds: margin required ₹{need:,.2f}, available ₹{available:,.2f}"
    return None
