"""How Kite's record of an order becomes the engine's events (the live broker's half).

:meth:`KiteOrderSync.sync` brings our order up to one Kite order record (a websocket
update, a fetched order, or a row of ``GET /orders``), matched by ``tag``: accepted,
triggered, modified, filled (one event per Kite trade), cancelled or rejected.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import structlog

from engine.alerts import AlertSource, Severity
from engine.kite.rest import KiteApiError
from engine.orders.events import (
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    OrderModified,
    OrderRejected,
    OrderTriggered,
    fill_event_id,
)
from engine.orders.model import Order, OrderStatus, OrderType, Validity
from engine.trading.live.mapping import KITE_PRE_ACCEPT, fill_of

if TYPE_CHECKING:
    from engine.trading.live.broker import KiteBroker

log = structlog.get_logger("engine.trading.live")

RESTING = {"OPEN": OrderStatus.OPEN, "TRIGGER PENDING": OrderStatus.TRIGGER_PENDING}
"""Kite statuses of a resting order, as the engine's statuses."""


class KiteOrderSync:
    """Applying Kite's view of our orders; mixed into :class:`KiteBroker`."""

    async def _apply_updates(self: KiteBroker) -> None:
        while True:
            data, trades = await self._updates.get()
            try:
                await self.sync(data, trades)
            except Exception:  # one bad update must not stop the rest
                log.exception("order update not applied", order_id=data.get("order_id"))
            finally:
                self._updates.task_done()

    async def sync(
        self: KiteBroker, data: dict[str, Any], trades: list[dict[str, Any]] | None
    ) -> None:
        """Bring our order up to Kite's record ``data`` (matched by ``tag``)."""
        coid = str(data.get("tag") or "")
        order = self._lookup(coid)
        if order is None or (order.is_closed and order.status is not OrderStatus.CANCELLED):
            return
        bid = str(data["order_id"])
        status = str(data.get("status") or "")
        if status in KITE_PRE_ACCEPT:
            return
        message = str(data.get("status_message") or "")
        if status == "REJECTED":
            if not order.is_closed:
                reason = message or "rejected by Kite"
                self._event(OrderRejected, coid, reason=reason, broker_order_id=bid)
            return
        if order.status in (OrderStatus.PUT_ORDER_REQ_RECEIVED, OrderStatus.OPEN_PENDING):
            self._event(OrderAccepted, coid, broker_order_id=bid, status=RESTING.get(status))
        order = self._lookup(coid) or order
        filled = int(data.get("filled_quantity") or 0)
        if filled > order.filled_quantity:
            await self._record_fills(order, bid, trades)
        order = self._lookup(coid) or order
        if order.filled_quantity < filled:
            # Kite's trade book can lag its order update: ask again shortly, a few times.
            tries = self._trade_retries.get(bid, 0)
            if tries < len(self.reconcile_delays):
                self._trade_retries[bid] = tries + 1
                self._spawn(self._refresh_later(bid, self.reconcile_delays[tries]))
        if status == "CANCELLED":
            if not order.is_closed:
                self._event(OrderCancelled, coid, reason=message or "cancelled at Kite")
            return
        if order.is_closed or status not in RESTING:
            return
        self._follow(order, data, status)

    def _follow(self: KiteBroker, order: Order, data: dict[str, Any], status: str) -> None:
        coid = order.client_order_id
        kite = {
            "quantity": int(data.get("quantity") or order.quantity),
            "price": float(data.get("price") or 0.0),
            "trigger_price": float(data.get("trigger_price") or 0.0),
            "order_type": OrderType(data.get("order_type") or order.order_type),
            "validity": Validity(data.get("validity") or order.validity),
        }
        ours = {k: getattr(order, k) for k in kite}
        pending = order.status is OrderStatus.MODIFY_PENDING
        if kite != ours or (pending and data.get("_settle_modify")):
            self._event(OrderModified, coid, status=RESTING[status], **kite)
        elif order.status is OrderStatus.TRIGGER_PENDING and status == "OPEN":
            self._event(OrderTriggered, coid)

    async def _record_fills(
        self: KiteBroker, order: Order, bid: str, trades: list[dict[str, Any]] | None
    ) -> None:
        mine = [t for t in trades or () if str(t.get("order_id")) == bid]
        if not mine:
            try:
                mine = list(await self.call("GET", f"/orders/{bid}/trades") or ())
            except KiteApiError as exc:
                self._alert(
                    Severity.WARNING,
                    AlertSource.SYSTEM,
                    f"order {order.client_order_id}: trades unavailable ({exc.message})",
                )
                return
        now = self.clock.now_ns()
        for trade in mine:
            current = self._lookup(order.client_order_id) or order
            fill = fill_of(current, trade, now)
            self._emit(
                OrderFilled(
                    event_id=fill_event_id(f"{bid}:{fill.trade_id}"),
                    ts_ns=now,
                    client_order_id=order.client_order_id,
                    fill=fill,
                )
            )
        self._track(order.client_order_id)
