"""One strategy's own orders and positions, from its order events and fills.

Positions use the average-cost method: adding to a position moves the average
price, reducing it realizes ``(price - average) × quantity`` and a flip opens the
remainder at the fill price. Orders the strategy sent but the trading service has
not yet reported are *in flight* and count as open.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import msgspec
import numpy as np

from engine.orders.book import OrderBook
from engine.orders.commands import SubmitOrder
from engine.orders.events import OrderEvent
from engine.orders.model import Fill, Order, Side
from engine.orders.state import InvalidTransition


class Position(msgspec.Struct):
    """Net quantity, average price and realized P&L of one instrument."""

    instrument_token: int
    tradingsymbol: str
    net_qty: int = 0
    avg_price: float = 0.0
    realized: float = 0.0

    def unrealized(self, ltp: float | None) -> float:
        """Mark-to-market at ``ltp`` (0 without a price)."""
        if ltp is None or not self.net_qty:
            return 0.0
        return (ltp - self.avg_price) * self.net_qty


class StrategyBook:
    """Orders, in-flight submissions and positions of one strategy.

    ``rows`` are the strategy's instrument tokens in its order: :attr:`expected_rows`
    keeps :meth:`expected` of each, updated as orders and fills change it, so a batch
    strategy reads a whole bucket's positions with one array index.
    """

    def __init__(self, rows: Sequence[int] = ()) -> None:
        self._row: dict[int, int] = {}
        for row, token in enumerate(rows):
            self._row.setdefault(token, row)
        self.expected_rows = np.zeros(len(rows), dtype=np.int64)
        """:meth:`expected` of the token at each row (a later duplicate row stays 0)."""
        self.orders = OrderBook()
        self.in_flight: dict[str, SubmitOrder] = {}
        self.working: dict[str, Order] = {}
        self._pending: dict[int, int] = {}
        self._contribution: dict[str, int] = {}
        self.positions: dict[int, Position] = {}
        self.submitted = 0
        self.rejected = 0
        self._trades: set[tuple[str, str]] = set()

    def sent(self, cmd: SubmitOrder) -> None:
        """Record a submission before the gateway answers."""
        self.submitted += 1
        coid = cmd.client_order_id
        if coid:
            self.in_flight[coid] = cmd
            signed = cmd.quantity if cmd.side is Side.BUY else -cmd.quantity
            # A new id has no contribution yet: what _track would do, without its pop.
            if coid in self._contribution:
                self._track(coid, cmd.instrument_token, signed)
            else:
                if signed:
                    self._contribution[coid] = signed
                pending = self._pending
                token = cmd.instrument_token
                pending[token] = pending.get(token, 0) + signed
                row = self._row.get(token)
                if row is not None:
                    self.expected_rows[row] += signed

    def refused(self, client_order_id: str | None) -> None:
        """The gateway refused a submission: it will never become an order."""
        self.rejected += 1
        if client_order_id and (cmd := self.in_flight.pop(client_order_id, None)) is not None:
            self._track(client_order_id, cmd.instrument_token, 0)

    def apply_event(self, event: OrderEvent) -> Order | None:
        """Apply an order event; late or unknown events are ignored (returns ``None``)."""
        try:
            order = self.orders.apply(event)
        except InvalidTransition:
            return None
        if order is None:
            return None
        coid = order.client_order_id
        self.in_flight.pop(coid, None)
        if order.is_closed:
            self.working.pop(coid, None)
            self._track(coid, order.instrument_token, 0)
        else:
            self.working[coid] = order
            remaining = order.quantity - order.filled_quantity
            self._track(coid, order.instrument_token, order.side.sign * remaining)
        return order

    def _track(self, coid: str, token: int, signed_remaining: int) -> None:
        # Kept incrementally so a target-position check on every bar costs O(1), not O(orders).
        old = self._contribution.pop(coid, 0)
        if signed_remaining:
            self._contribution[coid] = signed_remaining
        self._pending[token] = self._pending.get(token, 0) + signed_remaining - old
        row = self._row.get(token)
        if row is not None:
            self.expected_rows[row] += signed_remaining - old

    def apply_fill(self, fill: Fill) -> bool:
        """Fold a fill into the position; ``False`` for a trade already applied."""
        key = (fill.client_order_id, fill.trade_id)
        if key in self._trades:
            return False
        self._trades.add(key)
        pos = self.positions.get(fill.instrument_token)
        if pos is None:
            pos = self.positions[fill.instrument_token] = Position(
                fill.instrument_token, fill.tradingsymbol
            )
        qty = fill.signed_quantity
        net = pos.net_qty
        row = self._row.get(fill.instrument_token)
        if row is not None:
            self.expected_rows[row] += qty
        if net == 0 or (net > 0) == (qty > 0):
            pos.avg_price = (pos.avg_price * net + fill.price * qty) / (net + qty)
            pos.net_qty = net + qty
            return True
        closed = min(abs(qty), abs(net))
        pos.realized += (fill.price - pos.avg_price) * closed * (1 if net > 0 else -1)
        pos.net_qty = net + qty
        if pos.net_qty == 0:
            pos.avg_price = 0.0
        elif (pos.net_qty > 0) != (net > 0):
            pos.avg_price = fill.price
        return True

    def net(self, token: int) -> int:
        """Signed net quantity held in ``token``."""
        pos = self.positions.get(token)
        return pos.net_qty if pos is not None else 0

    def open_orders(self, token: int | None = None) -> list[Order | SubmitOrder]:
        """Orders not yet closed, then submissions not yet reported, optionally for one instrument."""
        found: list[Order | SubmitOrder] = [
            o for o in self.working.values() if token is None or o.instrument_token == token
        ]
        found += [
            c for c in self.in_flight.values() if token is None or c.instrument_token == token
        ]
        return found

    def expected(self, token: int) -> int:
        """Net quantity once every open order and in-flight submission of ``token`` fills."""
        pos = self.positions.get(token)
        return (pos.net_qty if pos is not None else 0) + self._pending.get(token, 0)

    def pending_qty(self, token: int) -> int:
        """Signed quantity still to fill on open orders and in-flight submissions of ``token``."""
        return self._pending.get(token, 0)

    def pnl(self, ltp: Mapping[int, float]) -> tuple[float, float]:
        """``(realized, unrealized)`` over every instrument, marked at ``ltp``."""
        realized = sum(p.realized for p in self.positions.values())
        unrealized = sum(p.unrealized(ltp.get(t)) for t, p in self.positions.items())
        return realized, unrealized
