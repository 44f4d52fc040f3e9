"""Startup reconciliation of the ledger with Kite: orders by tag, trades, then positions.

Runs once when the live trading service starts, before risk lifts its start-up halt:

* every Kite order whose ``tag`` is one of our client order ids is applied to our order
  (an order the ledger still has as LOCAL or IN FLIGHT is *adopted*, never placed again);
* fills in Kite's trade book that the ledger lacks are recorded;
* ledger orders Kite does not know are closed (never sent, or expired with the day);
* net positions are compared per instrument and product.

Any query that fails, or any position that differs, fails reconciliation: a failed
positions query is never read as "flat".
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.kite.rest import KiteApiError
from engine.orders.book import OrderBook
from engine.orders.events import (
    OrderCancelled,
    OrderCancelRejected,
    OrderModified,
    OrderRejected,
)
from engine.orders.model import OrderStatus, StatusGroup
from engine.trading.portfolio import Portfolio

if TYPE_CHECKING:
    from engine.trading.live.broker import KiteBroker


async def reconcile_startup(
    broker: KiteBroker, book: OrderBook, portfolio: Portfolio
) -> str | None:
    """Reconcile ``book`` and ``portfolio`` with Kite; ``None`` when everything agrees."""
    fetched: dict[str, Any] = {}
    for name, path in (
        ("orders", "/orders"),
        ("trades", "/trades"),
        ("positions", "/portfolio/positions"),
    ):
        try:
            fetched[name] = await broker.call("GET", path)
        except KiteApiError as exc:
            return f"Kite {name} query failed ({exc.message}); not assuming anything"
    orders = [o for o in fetched["orders"] or () if isinstance(o, dict)]
    trades = [t for t in fetched["trades"] or () if isinstance(t, dict)]
    seen: set[str] = set()
    for kite_order in orders:
        tag = str(kite_order.get("tag") or "")
        if tag and tag in book:
            seen.add(tag)
            await broker.sync(kite_order, trades)
            _settle_pending(broker, tag)
    for order in list(book.working()):
        if order.client_order_id in seen:
            continue
        if order.group in (StatusGroup.LOCAL, StatusGroup.IN_FLIGHT) and not order.broker_order_id:
            broker._event(
                OrderRejected,
                order.client_order_id,
                reason="not in Kite's order book after a restart: it was never placed",
            )
        else:
            broker._event(
                OrderCancelled,
                order.client_order_id,
                reason="not in Kite's order book after a restart (expired with its day)",
            )
    for order in book.working():
        broker._track(order.client_order_id)
    return position_mismatch(fetched["positions"], portfolio)


def _settle_pending(broker: KiteBroker, coid: str) -> None:
    """A modify or cancel the restart interrupted: Kite's order now says how it ended."""
    order = broker._lookup(coid)
    if order is None or order.is_closed:
        return
    if order.status is OrderStatus.MODIFY_PENDING:
        broker._event(OrderModified, coid)
    elif order.status is OrderStatus.CANCEL_PENDING:
        broker._event(
            OrderCancelRejected, coid, reason="the cancel did not reach Kite before the restart"
        )


def position_mismatch(positions: Any, portfolio: Portfolio) -> str | None:
    """Compare Kite's net positions with ours per (instrument, product); one line or None."""
    if not isinstance(positions, dict) or not isinstance(positions.get("net"), list):
        return "Kite's positions answer has no net positions; not assuming flat"
    theirs: dict[tuple[int, str], int] = {}
    names: dict[tuple[int, str], str] = {}
    for row in positions["net"]:
        key = (int(row["instrument_token"]), str(row["product"]))
        theirs[key] = theirs.get(key, 0) + int(row.get("quantity") or 0)
        names[key] = f"{row.get('exchange')}:{row.get('tradingsymbol')} {key[1]}"
    ours: dict[tuple[int, str], int] = {}
    for p in portfolio.positions.values():
        key = (p.instrument_token, p.product)
        ours[key] = ours.get(key, 0) + p.net_quantity
        names.setdefault(key, f"{p.exchange}:{p.tradingsymbol} {p.product}")
    differ = [
        f"{names[k]} ledger {ours.get(k, 0)}, Kite {theirs.get(k, 0)}"
        for k in sorted(set(theirs) | set(ours))
        if ours.get(k, 0) != theirs.get(k, 0)
    ]
    if not differ:
        return None
    more = f" (+{len(differ) - 3} more)" if len(differ) > 3 else ""
    return "positions differ: " + "; ".join(differ[:3]) + more
