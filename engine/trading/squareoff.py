"""The market order that flattens a position: used by square-off, MIS close-out and the kill switch."""

from __future__ import annotations

from typing import Protocol

from engine.orders.commands import SubmitOrder
from engine.orders.model import MARKET_PROTECTION_AUTO, OrderType, Product, Side


class Flattenable(Protocol):
    """What a position must say to be closed (PositionView and the portfolio's own record)."""

    instrument_token: int
    exchange: str
    tradingsymbol: str
    product: str
    strategy_id: str
    net_quantity: int


def square_off_order(
    position: Flattenable, user: str, strategy_id: str | None = None
) -> SubmitOrder:
    """A MARKET order (with market protection) for the opposite side of the net quantity."""
    return SubmitOrder(
        user=user,
        exchange=position.exchange,
        tradingsymbol=position.tradingsymbol,
        instrument_token=position.instrument_token,
        side=Side.SELL if position.net_quantity > 0 else Side.BUY,
        order_type=OrderType.MARKET,
        product=Product(position.product),
        quantity=abs(position.net_quantity),
        market_protection=MARKET_PROTECTION_AUTO,
        strategy_id=strategy_id or position.strategy_id,
    )
