"""Paper margin: what a position or an order blocks, and what the account has free.

- CNC: the full value (cash paid for delivery); a CNC sell needs holdings.
- MIS: ``mis_margin_fraction`` of the value; NRML: ``nrml_margin_fraction``.
- An open order blocks margin only for the part that adds exposure: a sell of
  up to the held long quantity (or a buy covering a short) blocks nothing.
- Available = capital + realized - charges - margin used + MTM losses of
  MIS/NRML positions (delivery holdings' MTM does not free or block cash).
"""

from __future__ import annotations

from collections.abc import Iterable

from engine.orders.model import Order, OrderType, Product
from engine.trading.portfolio import Portfolio
from engine.trading.settings import PaperSettings
from engine.trading.views import FundsView


def fraction(product: Product | str, paper: PaperSettings) -> float:
    """Share of value blocked for ``product``."""
    if product == Product.MIS:
        return paper.mis_margin_fraction
    if product == Product.NRML:
        return paper.nrml_margin_fraction
    return 1.0


def adding_quantity(side_sign: int, quantity: int, net: int) -> int:
    """How much of ``quantity`` on a side adds exposure to a position of ``net``."""
    if net == 0 or (net > 0) == (side_sign > 0):
        return quantity
    return max(0, quantity - abs(net))


def order_price(order_type: OrderType, price: float, trigger: float, ltp: float | None) -> float:
    """The price an order is valued at: its limit, else its trigger, else the LTP."""
    if order_type in (OrderType.LIMIT, OrderType.SL) and price > 0:
        return price
    if order_type is OrderType.SLM and trigger > 0:
        return trigger
    return ltp or 0.0


def order_margin(
    *,
    side_sign: int,
    quantity: int,
    product: Product,
    value_price: float,
    net: int,
    paper: PaperSettings,
) -> float:
    """Margin an order of ``quantity`` at ``value_price`` blocks against a position of ``net``."""
    return adding_quantity(side_sign, quantity, net) * value_price * fraction(product, paper)


def funds(
    portfolio: Portfolio,
    open_orders: Iterable[Order],
    ltps: dict[int, float],
    paper: PaperSettings,
) -> FundsView:
    """The account now."""
    used = 0.0
    unrealized = 0.0
    mtm_loss = 0.0
    for p in portfolio.positions.values():
        used += abs(p.net_quantity) * p.average_price * fraction(p.product, paper)
        u = p.unrealized_pnl
        unrealized += u
        if p.product != Product.CNC and u < 0:
            mtm_loss += u
    for o in open_orders:
        net = portfolio.positions.get((o.instrument_token, o.product.value, o.strategy_id))
        used += order_margin(
            side_sign=o.side.sign,
            quantity=o.pending_quantity,
            product=o.product,
            value_price=order_price(
                o.order_type, o.price, o.trigger_price, ltps.get(o.instrument_token)
            ),
            net=net.net_quantity if net is not None else 0,
            paper=paper,
        )
    realized = portfolio.realized()
    charges = portfolio.charges()
    available = paper.starting_capital + realized - charges - used + mtm_loss
    return FundsView(
        starting_capital=paper.starting_capital,
        available=available,
        margin_used=used,
        realized_pnl=realized,
        unrealized_pnl=unrealized,
        charges=charges,
    )
