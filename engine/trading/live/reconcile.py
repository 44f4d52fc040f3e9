"""Startup reconciliation of the ledger with Kite: orders by tag, trades, positions, holdings.

Runs once when the live trading service starts, before risk lifts its start-up halt:

* every Kite order whose ``tag`` is one of our client order ids is applied to our order
  (an order the ledger still has as LOCAL or IN FLIGHT is *adopted*, never placed again);
* fills in Kite's trade book that the ledger lacks are recorded;
* ledger orders Kite does not know are closed (never sent, or expired with the day);
* net positions are compared per instrument and product. Delivery (CNC) shares bought
  on an earlier day have left Kite's positions for its holdings, so for CNC Kite's side
  is holdings (settled + T1) plus today's CNC net position. Holdings the ledger does not
  account for (shares bought outside the desk) are the trader's own, not a mismatch;
  fewer shares than the ledger has are.

Any query that fails, or any position that differs, fails reconciliation: a failed
positions or holdings query is never read as "flat".
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import structlog

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

log = structlog.get_logger("engine.trading.live")


async def reconcile_startup(
    broker: KiteBroker, book: OrderBook, portfolio: Portfolio
) -> str | None:
    """Reconcile ``book`` and ``portfolio`` with Kite; ``None`` when everything agrees."""
    fetched: dict[str, Any] = {}
    for name, path in (
        ("orders", "/orders"),
        ("trades", "/trades"),
        ("positions", "/portfolio/positions"),
        ("holdings", "/portfolio/holdings"),
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
    return position_mismatch(fetched["positions"], portfolio, fetched["holdings"])


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


def held_quantities(holdings: Any) -> dict[int, int] | None:
    """Delivery shares per instrument token (settled + T1) from ``GET /portfolio/holdings``.

    None when the answer is not a list of holdings: never read as "holds nothing".
    """
    if not isinstance(holdings, list):
        return None
    held: dict[int, int] = {}
    for row in holdings:
        if not isinstance(row, dict) or "instrument_token" not in row:
            return None
        token = int(row["instrument_token"])
        held[token] = held.get(token, 0) + held_row(row)
    return held


def position_mismatch(positions: Any, portfolio: Portfolio, holdings: Any = ()) -> str | None:
    """Compare Kite's positions (and, for CNC, holdings) with ours; one line or None."""
    if not isinstance(positions, dict) or not isinstance(positions.get("net"), list):
        return "Kite's positions answer has no net positions; not assuming flat"
    held = held_quantities(holdings)
    if held is None:
        return "Kite's holdings answer is not a list of holdings; not assuming none"
    theirs: dict[tuple[int, str], int] = {}
    names: dict[tuple[int, str], str] = {}
    for row in positions["net"]:
        key = (int(row["instrument_token"]), str(row["product"]))
        theirs[key] = theirs.get(key, 0) + int(row.get("quantity") or 0)
        names[key] = f"{row.get('exchange')}:{row.get('tradingsymbol')} {key[1]}"
    for row in holdings:
        key = (int(row["instrument_token"]), "CNC")
        theirs[key] = theirs.get(key, 0) + held_row(row)
        names.setdefault(key, f"{row.get('exchange')}:{row.get('tradingsymbol')} CNC")
    ours: dict[tuple[int, str], int] = {}
    for p in portfolio.positions.values():
        key = (p.instrument_token, p.product)
        ours[key] = ours.get(key, 0) + p.net_quantity
        names.setdefault(key, f"{p.exchange}:{p.tradingsymbol} {p.product}")
    differ = []
    outside = 0
    for k in sorted(set(theirs) | set(ours)):
        mine, kite = ours.get(k, 0), theirs.get(k, 0)
        if mine == kite:
            continue
        if k[1] == "CNC" and 0 <= mine < kite and kite - mine <= held.get(k[0], 0):
            outside += 1  # delivery shares held outside the desk: the trader's, not ours
            continue
        differ.append(f"{names[k]} ledger {mine}, Kite {kite}")
    if outside:
        log.info("holdings not bought through the desk left alone", instruments=outside)
    if not differ:
        return None
    more = f" (+{len(differ) - 3} more)" if len(differ) > 3 else ""
    return "positions differ: " + "; ".join(differ[:3]) + more


def held_row(row: dict[str, Any]) -> int:
    """Shares of one holdings row: settled plus T1 (bought on the last trading day)."""
    return int(row.get("quantity") or 0) + int(row.get("t1_quantity") or 0)
