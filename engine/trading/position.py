"""One position (instrument, product, strategy) under Zerodha-style average cost.

Adding to a position moves its average price; reducing it realizes
``(price - average) × closed quantity`` and leaves the average unchanged; a fill
that flips the sign opens the remainder at the fill price. Realized plus
unrealized always equals ``sell value - buy value + net × LTP``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from engine.charges import ChargeLeg, compute_charges
from engine.orders.model import Fill

PositionKey = tuple[int, str, str]
"""(instrument token, product, strategy id)."""


@dataclass(slots=True)
class Position:
    """Mutable running state of one position; the portfolio owns it."""

    instrument_token: int
    exchange: str
    tradingsymbol: str
    product: str
    strategy_id: str
    net_quantity: int = 0
    average_price: float = 0.0
    realized_pnl: float = 0.0
    buy_quantity: int = 0
    sell_quantity: int = 0
    buy_value: float = 0.0
    sell_value: float = 0.0
    overnight_quantity: int = 0
    day_buy_value: float = 0.0
    day_sell_value: float = 0.0
    ltp: float | None = None
    updated_ns: int = 0
    _legs: dict[tuple[date, str], list[ChargeLeg]] = field(default_factory=dict)
    _order_charges: dict[tuple[date, str], float] = field(default_factory=dict)
    _dirty: set[tuple[date, str]] = field(default_factory=set)
    _charges_total: float = 0
    """``sum(_order_charges.values())`` as of the last clean ``_dirty`` (the P&L monitors ask
    for charges after every tick batch; only a fill changes them)."""

    @property
    def key(self) -> PositionKey:
        """(instrument token, product, strategy id)."""
        return (self.instrument_token, self.product, self.strategy_id)

    def apply(self, fill: Fill, trade_date: date, today: bool) -> None:
        """Add one fill (the caller makes sure it is new)."""
        qty = fill.signed_quantity
        q = self.net_quantity
        if q == 0 or (q > 0) == (qty > 0):
            self.average_price = (self.average_price * abs(q) + fill.price * abs(qty)) / (
                abs(q) + abs(qty)
            )
        else:
            closed = min(abs(qty), abs(q))
            self.realized_pnl += closed * (fill.price - self.average_price) * (1 if q > 0 else -1)
            if abs(qty) > abs(q):
                self.average_price = fill.price
            elif abs(qty) == abs(q):
                self.average_price = 0.0
        self.net_quantity = q + qty
        if fill.signed_quantity > 0:
            self.buy_quantity += fill.quantity
            self.buy_value += fill.value
            if today:
                self.day_buy_value += fill.value
        else:
            self.sell_quantity += fill.quantity
            self.sell_value += fill.value
            if today:
                self.day_sell_value += fill.value
        if not today:
            self.overnight_quantity += qty
        self.updated_ns = max(self.updated_ns, fill.ts_ns)
        order_key = (trade_date, fill.broker_order_id or fill.client_order_id)
        self._legs.setdefault(order_key, []).append(ChargeLeg.from_fill(fill))
        self._dirty.add(order_key)

    def roll_day(self) -> None:
        """A new trading day: what is held now is the overnight position."""
        self.overnight_quantity = self.net_quantity
        self.day_buy_value = 0.0
        self.day_sell_value = 0.0

    @property
    def charges(self) -> float:
        """Charges of every order that filled into this position (computed lazily, per order)."""
        if self._dirty:
            for key in self._dirty:
                self._order_charges[key] = compute_charges(self._legs[key], key[0]).total
            self._dirty.clear()
            self._charges_total = sum(self._order_charges.values())
        return self._charges_total

    @property
    def unrealized_pnl(self) -> float:
        """MTM of the open quantity at LTP (0 until the instrument has ticked)."""
        if self.ltp is None or self.net_quantity == 0:
            return 0.0
        return (self.ltp - self.average_price) * self.net_quantity

    def day_pnl(self, prev_close: float | None) -> float:
        """Today's P&L: today's trades plus the overnight quantity marked from previous close."""
        ltp = self.ltp if self.ltp is not None else self.average_price
        base = prev_close if prev_close else self.average_price
        return (
            self.day_sell_value
            - self.day_buy_value
            + self.net_quantity * ltp
            - self.overnight_quantity * base
        )
