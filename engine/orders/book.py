"""The order book: every order by client order id, rebuilt from its event log.

Applying is idempotent: an event whose ``event_id`` was already applied changes
nothing, and so does a second report of the same exchange trade (same order,
same ``trade_id``) under another event id. Only events that changed state enter
the log, so replaying :attr:`OrderBook.events` into a fresh book rebuilds the
same orders.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from engine.orders.events import OrderEvent, OrderFilled, OrderInitialized
from engine.orders.model import Fill, Order, StatusGroup
from engine.orders.state import InvalidTransition, apply, initial_order


class OrderBook:
    """Orders keyed by ``client_order_id``, with their applied-event log."""

    def __init__(self) -> None:
        self._orders: dict[str, Order] = {}
        self._working: dict[str, Order] = {}
        """The orders not CLOSED, in creation order: risk checks ask for them on every order."""
        self._by_broker_id: dict[str, str] = {}
        self._applied: set[str] = set()
        self._trades: set[tuple[str, str]] = set()
        self._log: list[OrderEvent] = []
        self._fills: list[Fill] = []

    @classmethod
    def replay(cls, events: Iterable[OrderEvent]) -> OrderBook:
        """A book rebuilt by applying ``events`` in order."""
        book = cls()
        for event in events:
            book.apply(event)
        return book

    def apply(self, event: OrderEvent) -> Order | None:
        """Apply ``event``; the updated order, or ``None`` for an already-applied event.

        Raises :class:`InvalidTransition` (and records nothing) when the event
        cannot apply, including an event for an unknown order.
        """
        if event.event_id in self._applied:
            return None
        if isinstance(event, OrderFilled):
            trade_key = (event.client_order_id, event.fill.trade_id)
            if trade_key in self._trades:
                return None
        current = self._orders.get(event.client_order_id)
        if isinstance(event, OrderInitialized):
            if current is not None:
                raise InvalidTransition(current, event, "client order id already in use")
            new = initial_order(event)
        elif current is None:
            raise InvalidTransition(None, event, "unknown order")
        else:
            new = apply(current, event)
        self._orders[new.client_order_id] = new
        self._track_working(new)
        if new.broker_order_id is not None:
            self._by_broker_id[new.broker_order_id] = new.client_order_id
        self._applied.add(event.event_id)
        if isinstance(event, OrderFilled):
            self._trades.add((event.client_order_id, event.fill.trade_id))
            self._fills.append(event.fill)
        self._log.append(event)
        return new

    def _track_working(self, after: Order) -> None:
        # Closed is terminal (a late fill leaves a cancelled order cancelled), so an order
        # enters once, when initialized, and keeps its place: creation order.
        if after.group is StatusGroup.CLOSED:
            self._working.pop(after.client_order_id, None)
        else:
            self._working[after.client_order_id] = after

    def get(self, client_order_id: str) -> Order | None:
        """The order with this client id, if known."""
        return self._orders.get(client_order_id)

    def __getitem__(self, client_order_id: str) -> Order:
        return self._orders[client_order_id]

    def __contains__(self, client_order_id: object) -> bool:
        return client_order_id in self._orders

    def __len__(self) -> int:
        return len(self._orders)

    def __iter__(self) -> Iterator[Order]:
        return iter(self._orders.values())

    def by_broker_id(self, broker_order_id: str) -> Order | None:
        """The order Kite knows as ``broker_order_id``, if any."""
        coid = self._by_broker_id.get(broker_order_id)
        return self._orders.get(coid) if coid is not None else None

    def has_applied(self, event_id: str) -> bool:
        """Whether an event with this id was applied."""
        return event_id in self._applied

    def orders(
        self,
        group: StatusGroup | None = None,
        *,
        user: str | None = None,
        strategy_id: str | None = None,
    ) -> list[Order]:
        """Orders filtered by status group, user and strategy, in creation order."""
        return [
            o
            for o in self._orders.values()
            if (group is None or o.group is group)
            and (user is None or o.user == user)
            and (strategy_id is None or o.strategy_id == strategy_id)
        ]

    def working(self, *, user: str | None = None, strategy_id: str | None = None) -> list[Order]:
        """Orders not yet closed (local, in flight or open): what a cancel-all targets.

        In creation order, like :meth:`orders`; kept as orders change, so the cost is the
        number of working orders, not of every order of the day."""
        return [
            o
            for o in self._working.values()
            if (user is None or o.user == user)
            and (strategy_id is None or o.strategy_id == strategy_id)
        ]

    @property
    def events(self) -> tuple[OrderEvent, ...]:
        """Every event that changed state, in the order applied."""
        return tuple(self._log)

    @property
    def fills(self) -> tuple[Fill, ...]:
        """Every applied fill, in the order applied."""
        return tuple(self._fills)

    def net_quantity(self, instrument_token: int, product: str | None = None) -> int:
        """Signed quantity the applied fills imply for one instrument (BUY positive)."""
        return sum(
            f.signed_quantity
            for f in self._fills
            if f.instrument_token == instrument_token and (product is None or f.product == product)
        )
