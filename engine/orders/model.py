"""Order domain records: Kite's enums, the :class:`Order` and the :class:`Fill`.

Enum values are Kite Connect's own spellings, so a record can be sent to or read
from Kite without a translation table. Records are frozen ``msgspec.Struct``s;
a state change is a new record (see :mod:`engine.orders.state`). They are
``gc=False``: holding only scalars, strings and other such records, they cannot
form a reference cycle, and the orders, fills and events a day accumulates (every
book keeps them) would otherwise be re-scanned by each older-generation collection:
about 1.5 ms per gen-1 pass after a few thousand orders, on the tick path.
"""

from __future__ import annotations

from enum import StrEnum

import msgspec


class Side(StrEnum):
    """Kite ``transaction_type``."""

    BUY = "BUY"
    SELL = "SELL"

    @property
    def sign(self) -> int:
        """+1 for BUY, -1 for SELL: the sign a fill adds to a position."""
        return 1 if self is Side.BUY else -1


class OrderType(StrEnum):
    """Kite ``order_type``."""

    MARKET = "MARKET"
    LIMIT = "LIMIT"
    SL = "SL"
    SLM = "SL-M"


class Product(StrEnum):
    """Kite ``product``: delivery (CNC), intraday (MIS), carry-forward F&O (NRML)."""

    CNC = "CNC"
    MIS = "MIS"
    NRML = "NRML"


class Validity(StrEnum):
    """Kite ``validity``."""

    DAY = "DAY"
    IOC = "IOC"


class Variety(StrEnum):
    """Kite ``variety`` (the URL segment of the place-order call)."""

    REGULAR = "regular"
    AMO = "amo"


class StatusGroup(StrEnum):
    """Coarse order lifecycle, NautilusTrader-style.

    LOCAL: recorded in the ledger, not yet sent. IN_FLIGHT: sent, the broker's
    answer is pending (a timeout stays here until reconciliation). OPEN: resting
    at the exchange. CLOSED: terminal.
    """

    LOCAL = "LOCAL"
    IN_FLIGHT = "IN_FLIGHT"
    OPEN = "OPEN"
    CLOSED = "CLOSED"


class OrderStatus(StrEnum):
    """Kite order ``status`` values.

    Kite's transient ``MODIFY VALIDATION PENDING`` maps to ``MODIFY PENDING`` and
    ``MODIFIED`` to the resting status, in the live adapter.
    """

    PUT_ORDER_REQ_RECEIVED = "PUT ORDER REQ RECEIVED"
    VALIDATION_PENDING = "VALIDATION PENDING"
    OPEN_PENDING = "OPEN PENDING"
    OPEN = "OPEN"
    TRIGGER_PENDING = "TRIGGER PENDING"
    MODIFY_PENDING = "MODIFY PENDING"
    CANCEL_PENDING = "CANCEL PENDING"
    COMPLETE = "COMPLETE"
    CANCELLED = "CANCELLED"
    REJECTED = "REJECTED"

    @property
    def group(self) -> StatusGroup:
        """The :class:`StatusGroup` this status belongs to."""
        return STATUS_GROUP[self]

    @property
    def is_closed(self) -> bool:
        """COMPLETE, CANCELLED or REJECTED."""
        return STATUS_GROUP[self] is StatusGroup.CLOSED


STATUS_GROUP: dict[OrderStatus, StatusGroup] = {
    OrderStatus.PUT_ORDER_REQ_RECEIVED: StatusGroup.LOCAL,
    OrderStatus.VALIDATION_PENDING: StatusGroup.IN_FLIGHT,
    OrderStatus.OPEN_PENDING: StatusGroup.IN_FLIGHT,
    OrderStatus.MODIFY_PENDING: StatusGroup.IN_FLIGHT,
    OrderStatus.CANCEL_PENDING: StatusGroup.IN_FLIGHT,
    OrderStatus.OPEN: StatusGroup.OPEN,
    OrderStatus.TRIGGER_PENDING: StatusGroup.OPEN,
    OrderStatus.COMPLETE: StatusGroup.CLOSED,
    OrderStatus.CANCELLED: StatusGroup.CLOSED,
    OrderStatus.REJECTED: StatusGroup.CLOSED,
}
"""Every Kite status mapped to its lifecycle group."""

MARKET_PROTECTION_AUTO = -1.0
"""Kite's ``market_protection=-1``: the broker picks the protection percentage."""

MAX_MODIFICATIONS = 25
"""Kite refuses the modification after the 25th."""


class Order(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One order as the desk knows it; field names are the ledger's column names.

    Prices are rupees, quantities units (not lots), timestamps epoch ns.
    ``market_protection`` is a percent (or :data:`MARKET_PROTECTION_AUTO`);
    MARKET and SL-M orders must carry a non-zero one. ``version`` counts applied
    events, so the ledger can write with optimistic concurrency.
    """

    client_order_id: str
    broker_order_id: str | None = None
    strategy_id: str = "manual"
    user: str
    exchange: str
    tradingsymbol: str
    instrument_token: int
    side: Side
    order_type: OrderType
    product: Product
    validity: Validity = Validity.DAY
    variety: Variety = Variety.REGULAR
    quantity: int
    price: float = 0.0
    trigger_price: float = 0.0
    market_protection: float = 0.0
    filled_quantity: int = 0
    average_price: float = 0.0
    status: OrderStatus = OrderStatus.PUT_ORDER_REQ_RECEIVED
    status_message: str = ""
    created_ns: int
    updated_ns: int
    modifications: int = 0
    version: int = 0

    @property
    def pending_quantity(self) -> int:
        """Quantity not yet filled (Kite's ``pending_quantity`` while open)."""
        return self.quantity - self.filled_quantity

    @property
    def group(self) -> StatusGroup:
        """Lifecycle group of the current status."""
        return self.status.group

    @property
    def is_closed(self) -> bool:
        """Whether the order reached a terminal status."""
        return self.status.is_closed

    @property
    def signed_filled(self) -> int:
        """Filled quantity with the side's sign (BUY positive)."""
        return self.side.sign * self.filled_quantity


class Fill(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One exchange trade against an order (a row of Kite's trades book)."""

    trade_id: str
    client_order_id: str
    broker_order_id: str | None = None
    instrument_token: int
    exchange: str
    tradingsymbol: str
    side: Side
    product: Product
    quantity: int
    price: float
    ts_ns: int
    strategy_id: str = "manual"

    @property
    def signed_quantity(self) -> int:
        """Quantity with the side's sign (BUY positive)."""
        return self.side.sign * self.quantity

    @property
    def value(self) -> float:
        """Traded value in rupees (price × quantity)."""
        return self.price * self.quantity
