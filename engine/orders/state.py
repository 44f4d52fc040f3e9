"""The one order state machine, shared by paper and live execution.

:func:`apply` is pure: ``(order, event) -> new order``, or :class:`InvalidTransition`.
Every applied event bumps ``version`` and moves ``updated_ns`` forward.

Transitions (status groups in brackets)::

    event                 allowed from                              to
    OrderSubmitted        PUT ORDER REQ RECEIVED [LOCAL]            OPEN PENDING
    OrderAccepted         LOCAL, VALIDATION/OPEN PENDING            OPEN | TRIGGER PENDING
    OrderRejected         any status not closed, nothing filled     REJECTED
    OrderTriggered        TRIGGER PENDING (stop orders)             OPEN
                          MODIFY/CANCEL PENDING                     unchanged
    OrderPendingModify    [OPEN]                                    MODIFY PENDING
    OrderModified         [OPEN], MODIFY PENDING                    resting
    OrderModifyRejected   [OPEN], MODIFY PENDING                    resting
    OrderPendingCancel    [OPEN], MODIFY PENDING                    CANCEL PENDING
    OrderCancelled        any status not closed                     CANCELLED
    OrderCancelRejected   [OPEN], CANCEL PENDING                    resting
    OrderFilled           [IN_FLIGHT] but LOCAL, [OPEN], CANCELLED  COMPLETE when full

Closed stays closed: every event on COMPLETE, CANCELLED or REJECTED is refused
(``InvalidTransition.late`` is then True) with one exception. A fill on a
CANCELLED order is applied and the status stays CANCELLED, because Kite reports
a partly filled, then cancelled order as CANCELLED with ``filled_quantity > 0``
and its trade can reach us after the order update; refusing it would lose a real
position. Likewise a fill racing a cancel or a modify (CANCEL/MODIFY PENDING) is
applied and the pending status kept.
"""

from __future__ import annotations

from msgspec.structs import replace

from engine.orders.events import (
    OrderAccepted,
    OrderCancelled,
    OrderCancelRejected,
    OrderEvent,
    OrderFilled,
    OrderInitialized,
    OrderModified,
    OrderModifyRejected,
    OrderPendingCancel,
    OrderPendingModify,
    OrderRejected,
    OrderSubmitted,
    OrderTriggered,
)
from engine.orders.model import Order, OrderStatus, OrderType, StatusGroup

S = OrderStatus
STOP_TYPES = frozenset({OrderType.SL, OrderType.SLM})
_PRE_ACCEPT = frozenset({S.PUT_ORDER_REQ_RECEIVED, S.VALIDATION_PENDING, S.OPEN_PENDING})
_RESTING = frozenset({S.OPEN, S.TRIGGER_PENDING})


class InvalidTransition(Exception):
    """An event that cannot apply to the order in its current state.

    ``late`` is True when the order was already closed: a late or duplicate
    report the caller may log and drop.
    """

    def __init__(self, order: Order | None, event: OrderEvent, reason: str) -> None:
        status = order.status.value if order is not None else "unknown"
        super().__init__(
            f"{type(event).__name__} refused for {event.client_order_id} ({status}): {reason}"
        )
        self.order = order
        self.event = event
        self.reason = reason
        self.late = order is not None and order.is_closed


def initial_order(event: OrderInitialized) -> Order:
    """The order an :class:`OrderInitialized` event creates (status LOCAL, version 1)."""
    c = event.command
    return Order(
        client_order_id=event.client_order_id,
        strategy_id=c.strategy_id,
        user=c.user,
        exchange=c.exchange,
        tradingsymbol=c.tradingsymbol,
        instrument_token=c.instrument_token,
        side=c.side,
        order_type=c.order_type,
        product=c.product,
        validity=c.validity,
        variety=c.variety,
        quantity=c.quantity,
        price=c.price,
        trigger_price=c.trigger_price,
        market_protection=c.market_protection,
        created_ns=event.ts_ns,
        updated_ns=event.ts_ns,
        version=1,
    )


def resting_status(order: Order) -> OrderStatus:
    """Where an order rests when nothing is pending: unfilled stops wait for a trigger."""
    if order.order_type in STOP_TYPES and order.filled_quantity == 0:
        return S.TRIGGER_PENDING
    return S.OPEN


def apply(order: Order, event: OrderEvent) -> Order:
    """Apply ``event`` to ``order`` and return the new record; never mutates."""
    if event.client_order_id != order.client_order_id:
        raise InvalidTransition(order, event, f"event is for {event.client_order_id}")
    handler = _HANDLERS.get(type(event))
    if handler is None:
        raise InvalidTransition(order, event, "an order is initialized only once")
    if order.is_closed and not (isinstance(event, OrderFilled) and order.status is S.CANCELLED):
        raise InvalidTransition(order, event, "order is closed")
    changes = handler(order, event)
    return replace(
        order,
        **changes,
        version=order.version + 1,
        updated_ns=max(order.updated_ns, event.ts_ns),
    )


def _refuse_unless(ok: bool, order: Order, event: OrderEvent, reason: str) -> None:
    if not ok:
        raise InvalidTransition(order, event, reason)


def _submitted(o: Order, e: OrderSubmitted) -> dict:
    _refuse_unless(o.status is S.PUT_ORDER_REQ_RECEIVED, o, e, "order was already sent")
    return {"status": S.OPEN_PENDING, "broker_order_id": e.broker_order_id or o.broker_order_id}


def _accepted(o: Order, e: OrderAccepted) -> dict:
    _refuse_unless(o.status in _PRE_ACCEPT, o, e, "order was already accepted")
    _refuse_unless(o.broker_order_id in (None, e.broker_order_id), o, e, "broker order id changed")
    status = e.status or resting_status(o)
    _refuse_unless(status in _RESTING, o, e, f"cannot rest as {status.value}")
    return {"status": status, "broker_order_id": e.broker_order_id}


def _rejected(o: Order, e: OrderRejected) -> dict:
    _refuse_unless(o.filled_quantity == 0, o, e, "a partly filled order is cancelled, not rejected")
    return {
        "status": S.REJECTED,
        "status_message": e.reason,
        "broker_order_id": o.broker_order_id or e.broker_order_id,
    }


def _triggered(o: Order, e: OrderTriggered) -> dict:
    _refuse_unless(o.order_type in STOP_TYPES, o, e, f"{o.order_type.value} has no trigger")
    if o.status in (S.MODIFY_PENDING, S.CANCEL_PENDING):
        return {}
    _refuse_unless(o.status is S.TRIGGER_PENDING, o, e, "order is not waiting for a trigger")
    return {"status": S.OPEN}


def _pending_modify(o: Order, e: OrderPendingModify) -> dict:
    _refuse_unless(o.status in _RESTING, o, e, "only a resting order can be modified")
    return {"status": S.MODIFY_PENDING}


def _modified(o: Order, e: OrderModified) -> dict:
    _refuse_unless(o.status in _RESTING or o.status is S.MODIFY_PENDING, o, e, "not modifiable")
    quantity = o.quantity if e.quantity is None else e.quantity
    _refuse_unless(quantity > o.filled_quantity, o, e, "quantity must exceed filled quantity")
    changes: dict = {
        "quantity": quantity,
        "modifications": o.modifications + 1,
        "status_message": "",
    }
    for name in ("price", "trigger_price", "order_type", "validity", "market_protection"):
        value = getattr(e, name)
        if value is not None:
            changes[name] = value
    if e.status is not None:
        status = e.status
    elif o.status in _RESTING and changes.get("order_type", o.order_type) is o.order_type:
        status = o.status
    else:
        status = resting_status(replace(o, **changes))
    _refuse_unless(status in _RESTING, o, e, f"cannot rest as {status.value}")
    changes["status"] = status
    return changes


def _back_to_rest(o: Order, e: OrderModifyRejected | OrderCancelRejected, pending: S) -> dict:
    if o.status in _RESTING:
        return {"status_message": e.reason}
    _refuse_unless(o.status is pending, o, e, f"nothing is {pending.value.lower()}")
    status = e.status or resting_status(o)
    _refuse_unless(status in _RESTING, o, e, f"cannot rest as {status.value}")
    return {"status": status, "status_message": e.reason}


def _modify_rejected(o: Order, e: OrderModifyRejected) -> dict:
    return _back_to_rest(o, e, S.MODIFY_PENDING)


def _pending_cancel(o: Order, e: OrderPendingCancel) -> dict:
    ok = o.status in _RESTING or o.status is S.MODIFY_PENDING
    _refuse_unless(ok, o, e, "only a resting order can be cancelled at the broker")
    return {"status": S.CANCEL_PENDING}


def _cancelled(o: Order, e: OrderCancelled) -> dict:
    return {"status": S.CANCELLED, "status_message": e.reason}


def _cancel_rejected(o: Order, e: OrderCancelRejected) -> dict:
    return _back_to_rest(o, e, S.CANCEL_PENDING)


def _filled(o: Order, e: OrderFilled) -> dict:
    f = e.fill
    _refuse_unless(o.group is not StatusGroup.LOCAL, o, e, "order was never sent")
    _refuse_unless(f.client_order_id == o.client_order_id, o, e, "fill is for another order")
    _refuse_unless(f.side is o.side, o, e, "fill side differs from order side")
    _refuse_unless(f.instrument_token == o.instrument_token, o, e, "fill instrument differs")
    _refuse_unless(f.quantity > 0 and f.price > 0, o, e, "fill quantity and price must be > 0")
    _refuse_unless(f.quantity <= o.pending_quantity, o, e, "fill exceeds pending quantity")
    filled = o.filled_quantity + f.quantity
    vwap = (o.average_price * o.filled_quantity + f.price * f.quantity) / filled
    if o.status is S.CANCELLED or o.status in (S.MODIFY_PENDING, S.CANCEL_PENDING):
        status = S.COMPLETE if filled == o.quantity and o.status is not S.CANCELLED else o.status
    else:
        status = S.COMPLETE if filled == o.quantity else S.OPEN
    return {
        "filled_quantity": filled,
        "average_price": vwap,
        "status": status,
        "broker_order_id": o.broker_order_id or f.broker_order_id,
    }


_HANDLERS = {
    OrderSubmitted: _submitted,
    OrderAccepted: _accepted,
    OrderRejected: _rejected,
    OrderTriggered: _triggered,
    OrderPendingModify: _pending_modify,
    OrderModified: _modified,
    OrderModifyRejected: _modify_rejected,
    OrderPendingCancel: _pending_cancel,
    OrderCancelled: _cancelled,
    OrderCancelRejected: _cancel_rejected,
    OrderFilled: _filled,
}
