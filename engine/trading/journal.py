"""Batches what happened to orders for the ledger, and never lets go of a row unwritten.

Order states, events, fills and positions queue here and go to the ledger in
one ``write_batch`` per flush. A failed flush puts everything back in front of
what arrived meanwhile, so the next flush writes it all in order; the ledger's
writes are idempotent, so a flush that failed after the database committed is
harmless to repeat.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.orders.events import OrderEvent
from engine.orders.model import Fill, Order

if TYPE_CHECKING:
    from engine.ledger.store import BatchResult, Ledger


class Journal:
    """Pending ledger rows of the trading service."""

    def __init__(self) -> None:
        self._orders: dict[str, Order] = {}
        self._events: list[dict[str, Any]] = []
        self._fills: list[Fill] = []
        self._positions: dict[tuple[int, str, str], dict[str, Any]] = {}
        self.flushes = 0
        self.rows_written = 0
        self._in_flight = 0

    def record(self, order: Order, event: OrderEvent, fill: Fill | None = None) -> None:
        """Queue an order's new state and the event that produced it (and its fill)."""
        self._orders[order.client_order_id] = order
        from engine.ledger.rows import event_row  # loads with the ledger, not at import

        self._events.append(event_row(event, order.version))
        if fill is not None:
            self._fills.append(fill)

    def position(self, key: tuple[int, str, str], row: dict[str, Any]) -> None:
        """Queue the latest state of one position (a later one replaces it)."""
        self._positions[key] = row

    @property
    def pending(self) -> int:
        """Rows waiting for the ledger."""
        return len(self._orders) + len(self._events) + len(self._fills) + len(self._positions)

    @property
    def unwritten(self) -> int:
        """Rows not yet committed: those waiting plus those in a write still in flight."""
        return self.pending + self._in_flight

    async def flush(self, ledger: Ledger) -> BatchResult | None:
        """Write everything pending in one transaction; on any error keep it all and re-raise."""
        if not self.pending:
            return None
        orders, events, fills, positions = (
            self._orders,
            self._events,
            self._fills,
            self._positions,
        )
        self._orders, self._events, self._fills, self._positions = {}, [], [], {}
        self._in_flight = len(orders) + len(events) + len(fills) + len(positions)
        try:
            result = await ledger.write_batch(
                orders=list(orders.values()),
                events=events,
                fills=fills,
                positions=list(positions.values()),
            )
        except BaseException:
            self._restore(orders, events, fills, positions)
            raise
        finally:
            self._in_flight = 0
        self.flushes += 1
        self.rows_written += len(orders) + len(events) + len(fills) + len(positions)
        return result

    def _restore(
        self,
        orders: dict[str, Order],
        events: list[dict[str, Any]],
        fills: list[Fill],
        positions: dict[tuple[int, str, str], dict[str, Any]],
    ) -> None:
        for coid, order in self._orders.items():
            kept = orders.get(coid)
            if kept is None or order.version > kept.version:
                orders[coid] = order
        self._orders = orders
        self._events = events + self._events
        self._fills = fills + self._fills
        positions.update(self._positions)
        self._positions = positions
