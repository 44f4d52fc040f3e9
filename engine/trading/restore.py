"""Rebuilding the trading state from the ledger after a restart (clean or kill -9).

The order event log is the truth: replaying it rebuilds every order and fill;
positions are rebuilt from the fills. The ``orders``, ``fills`` and
``positions`` tables are then checked against the rebuild, and any difference
is reported (never silently preferred).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import msgspec
import structlog

from engine.orders.book import OrderBook
from engine.orders.events import OrderEvent
from engine.orders.state import InvalidTransition
from engine.trading.portfolio import Portfolio

if TYPE_CHECKING:
    from engine.ledger.store import Ledger

log = structlog.get_logger("engine.trading.restore")
_DECODE = msgspec.json.Decoder(OrderEvent)


@dataclass(slots=True)
class Restored:
    """What the ledger held."""

    book: OrderBook
    mismatches: list[str] = field(default_factory=list)


async def load_book(ledger: Ledger) -> Restored:
    """Replay every stored order event into a fresh book and check the other tables."""
    book = OrderBook()
    restored = Restored(book)
    for row in await ledger.load_events():
        event = _DECODE.decode(row["payload"])
        try:
            book.apply(event)
        except InvalidTransition as exc:
            restored.mismatches.append(f"stored event not applicable: {exc}")
    for row in await ledger.load_orders():
        order = book.get(row["client_order_id"])
        if order is None:
            restored.mismatches.append(f"order {row['client_order_id']} has no events")
        elif order.version != row["version"] or order.status.value != row["status"]:
            restored.mismatches.append(
                f"order {order.client_order_id}: table v{row['version']} {row['status']},"
                f" events v{order.version} {order.status.value}"
            )
    stored = {(r["client_order_id"], r["trade_id"]) for r in await ledger.load_fills()}
    replayed = {(f.client_order_id, f.trade_id) for f in book.fills}
    if stored != replayed:
        restored.mismatches.append(
            f"fills table has {len(stored - replayed)} trades the events lack and lacks"
            f" {len(replayed - stored)}"
        )
    return restored


async def check_positions(ledger: Ledger, portfolio: Portfolio) -> list[str]:
    """Differences between the stored positions and the ones rebuilt from fills."""
    problems = []
    for row in await ledger.load_positions():
        key = (row["instrument_token"], row["product"], row["strategy_id"])
        p = portfolio.positions.get(key)
        net = p.net_quantity if p is not None else 0
        realized = p.realized_pnl if p is not None else 0.0
        if net != row["net_quantity"] or not math.isclose(
            realized, row["realized_pnl"], abs_tol=1e-6
        ):
            problems.append(
                f"position {key}: stored {row['net_quantity']} (realized {row['realized_pnl']:.2f}),"
                f" fills give {net} (realized {realized:.2f})"
            )
    return problems
