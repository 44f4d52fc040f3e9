"""Order events: what happened to an order, in the past tense.

Every event names its order by ``client_order_id`` and carries an ``event_id``
(unique; the order book ignores an event it has already applied) and ``ts_ns``
(engine clock). Events are tagged unions for msgspec, so a log of them encodes
and decodes as ``list[OrderEvent]``. Like the order records they are ``gc=False``
(no field can hold a reference cycle; see :mod:`engine.orders.model`).

Lifecycle (see :mod:`engine.orders.state` for the full table)::

    OrderInitialized ─▶ PUT ORDER REQ RECEIVED   (LOCAL: in the ledger, not sent)
    OrderSubmitted   ─▶ OPEN PENDING             (IN_FLIGHT: sent, answer pending)
    OrderAccepted    ─▶ OPEN | TRIGGER PENDING   (OPEN: broker id assigned)
    OrderTriggered   ─▶ OPEN
    OrderPendingModify ─▶ MODIFY PENDING ─ OrderModified | OrderModifyRejected ─▶ resting
    OrderPendingCancel ─▶ CANCEL PENDING ─ OrderCancelled ─▶ CANCELLED
                                         └ OrderCancelRejected ─▶ resting
    OrderFilled      ─▶ (partial: resting) | COMPLETE
    OrderRejected    ─▶ REJECTED
"""

from __future__ import annotations

import msgspec

from engine.orders.commands import SubmitOrder
from engine.orders.model import Fill, OrderStatus, OrderType, Validity


class _Event(msgspec.Struct, frozen=True, kw_only=True, tag=True, gc=False):
    event_id: str
    ts_ns: int
    client_order_id: str


class OrderInitialized(_Event):
    """The order was minted and recorded locally; nothing has been sent yet."""

    command: SubmitOrder


class OrderSubmitted(_Event):
    """The place request left for the broker; Kite may already have answered an id."""

    broker_order_id: str | None = None


class OrderAccepted(_Event):
    """The broker accepted the order: it rests as OPEN or TRIGGER PENDING.

    ``status`` defaults to TRIGGER PENDING for SL/SL-M orders and OPEN otherwise.
    """

    broker_order_id: str
    status: OrderStatus | None = None


class OrderRejected(_Event):
    """The broker, the exchange or local risk refused the order."""

    reason: str
    broker_order_id: str | None = None


class OrderTriggered(_Event):
    """A stop order's trigger price was reached; it now rests (SL) or executes (SL-M)."""


class OrderPendingModify(_Event):
    """A modification was sent; the broker's answer is pending."""


class OrderModified(_Event):
    """The broker applied a modification; ``None`` leaves a parameter unchanged.

    ``status`` is the resting status afterwards; when ``None`` it is kept if the
    order was resting, else derived (TRIGGER PENDING for an unfilled stop order).
    """

    quantity: int | None = None
    price: float | None = None
    trigger_price: float | None = None
    order_type: OrderType | None = None
    validity: Validity | None = None
    market_protection: float | None = None
    status: OrderStatus | None = None


class OrderModifyRejected(_Event):
    """The broker refused a modification; the order rests unchanged."""

    reason: str
    status: OrderStatus | None = None


class OrderPendingCancel(_Event):
    """A cancel was sent; the broker's answer is pending."""


class OrderCancelled(_Event):
    """The order was cancelled (by request, IOC remainder, or end of day)."""

    reason: str = ""


class OrderCancelRejected(_Event):
    """The broker refused a cancel (typically: the order had already filled)."""

    reason: str
    status: OrderStatus | None = None


class OrderFilled(_Event):
    """A trade executed against the order, partly or fully filling it.

    Use :func:`fill_event_id` for ``event_id`` so the same trade reported twice
    (postback and trades poll) is applied once.
    """

    fill: Fill


def fill_event_id(trade_id: str) -> str:
    """The canonical ``event_id`` of the fill event for an exchange trade."""
    return f"fill:{trade_id}"


OrderEvent = (
    OrderInitialized
    | OrderSubmitted
    | OrderAccepted
    | OrderRejected
    | OrderTriggered
    | OrderPendingModify
    | OrderModified
    | OrderModifyRejected
    | OrderPendingCancel
    | OrderCancelled
    | OrderCancelRejected
    | OrderFilled
)
"""Any order event (a msgspec tagged union)."""
