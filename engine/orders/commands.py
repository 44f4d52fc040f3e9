"""Order commands: imperative requests from the UI, strategies or risk.

A command asks; only the events it leads to change state. Every command names the
``user`` (the Kite user id) it acts for, so one engine can serve several accounts.
Commands are ``gc=False`` like the order records (no field can hold a cycle).
"""

from __future__ import annotations

import msgspec

from engine.orders.model import OrderType, Product, Side, Validity, Variety


class SubmitOrder(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Place a new order; carries every parameter Kite's place-order call takes.

    ``client_order_id`` is normally left empty and minted by execution (then
    written to the ledger before anything is sent); a caller that must know the
    id up front may mint one itself.
    """

    user: str
    exchange: str
    tradingsymbol: str
    instrument_token: int
    side: Side
    order_type: OrderType
    product: Product
    quantity: int
    price: float = 0.0
    trigger_price: float = 0.0
    market_protection: float = 0.0
    validity: Validity = Validity.DAY
    variety: Variety = Variety.REGULAR
    strategy_id: str = "manual"
    client_order_id: str | None = None


class ModifyOrder(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Change a resting order; ``None`` leaves a parameter as it is."""

    user: str
    client_order_id: str
    quantity: int | None = None
    price: float | None = None
    trigger_price: float | None = None
    order_type: OrderType | None = None
    validity: Validity | None = None
    market_protection: float | None = None


class CancelOrder(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Cancel one order. Cancels always pass risk."""

    user: str
    client_order_id: str


class CancelAllOrders(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Cancel every open order of ``user`` (of one strategy if ``strategy_id`` is set).

    The kill switch sends this and then halts trading.
    """

    user: str
    strategy_id: str | None = None
    reason: str = ""


OrderCommand = SubmitOrder | ModifyOrder | CancelOrder | CancelAllOrders
"""Any order command."""
