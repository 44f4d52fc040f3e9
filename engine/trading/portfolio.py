"""The portfolio: positions built from fills, marked to market, and their views.

Fills are applied once per (client order id, trade id), so replaying the ledger
or hearing a trade twice changes nothing. Marking is O(1) per tick: a position
only stores the instrument's LTP; P&L is computed when a view is asked for.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time

from engine.clock import IST, ns_to_ist
from engine.model import MarketDay
from engine.orders.model import Fill
from engine.trading.position import Position, PositionKey
from engine.trading.views import PositionView


def ist_midnight_ns(day: date) -> int:
    """Epoch ns of 00:00 IST on ``day``."""
    return int(datetime.combine(day, time(0), tzinfo=IST).timestamp()) * 1_000_000_000


class Portfolio:
    """Positions per (instrument, product, strategy)."""

    def __init__(self, today: date) -> None:
        self.positions: dict[PositionKey, Position] = {}
        self.by_token: dict[int, list[Position]] = {}
        self._seen: set[tuple[str, str]] = set()
        self._sums: tuple[float, float] | None = None
        """Realized P&L and charges of every position; only a fill or a new day changes them."""
        self._today = today
        self._day_start_ns = ist_midnight_ns(today)

    @property
    def today(self) -> date:
        """The IST trading date day P&L is measured for."""
        return self._today

    def apply_fill(self, fill: Fill) -> Position | None:
        """Apply ``fill``; the changed position, or ``None`` if this trade was already applied."""
        trade = (fill.client_order_id, fill.trade_id)
        if trade in self._seen:
            return None
        self._seen.add(trade)
        key = (fill.instrument_token, fill.product.value, fill.strategy_id)
        position = self.positions.get(key)
        if position is None:
            position = Position(
                instrument_token=fill.instrument_token,
                exchange=fill.exchange,
                tradingsymbol=fill.tradingsymbol,
                product=fill.product.value,
                strategy_id=fill.strategy_id,
            )
            self.positions[key] = position
            self.by_token.setdefault(fill.instrument_token, []).append(position)
            marks = self.by_token[fill.instrument_token]
            if marks[0].ltp is not None:
                position.ltp = marks[0].ltp
        position.apply(fill, ns_to_ist(fill.ts_ns).date(), fill.ts_ns >= self._day_start_ns)
        self._sums = None
        return position

    def apply_fills(self, fills: Iterable[Fill]) -> None:
        """Apply many fills in order."""
        for fill in fills:
            self.apply_fill(fill)

    def mark(self, token: int, ltp: float) -> bool:
        """Store the LTP on every position of ``token``; whether any position holds it."""
        held = self.by_token.get(token)
        if held is None:
            return False
        for position in held:
            position.ltp = ltp
        return True

    def roll_day(self, today: date) -> bool:
        """Start day P&L afresh if ``today`` is a new IST date; whether it was."""
        if today <= self._today:
            return False
        self._today = today
        self._day_start_ns = ist_midnight_ns(today)
        for position in self.positions.values():
            position.roll_day()
        self._sums = None
        return True

    def net_quantity(self, token: int, product: str | None = None) -> int:
        """Signed net quantity across strategies (of one product or all)."""
        return sum(
            p.net_quantity
            for p in self.by_token.get(token, ())
            if product is None or p.product == product
        )

    def views(self, days: dict[int, MarketDay]) -> tuple[PositionView, ...]:
        """Every position as an immutable view, in the order positions were opened."""
        return tuple(view_of(p, days.get(p.instrument_token)) for p in self.positions.values())

    def realized(self) -> float:
        """Realized P&L of every position."""
        return self._totals()[0]

    def charges(self) -> float:
        """Charges of every fill."""
        return self._totals()[1]

    def _totals(self) -> tuple[float, float]:
        # The P&L monitors ask on every marked tick batch; positions change only by fills.
        if self._sums is None:
            positions = self.positions.values()
            self._sums = (
                sum(p.realized_pnl for p in positions),
                sum(p.charges for p in positions),
            )
        return self._sums


def view_of(p: Position, day: MarketDay | None) -> PositionView:
    """The immutable view of one position."""
    return PositionView(
        instrument_token=p.instrument_token,
        exchange=p.exchange,
        tradingsymbol=p.tradingsymbol,
        product=p.product,
        strategy_id=p.strategy_id,
        net_quantity=p.net_quantity,
        average_price=p.average_price,
        ltp=p.ltp if p.ltp is not None else 0.0,
        realized_pnl=p.realized_pnl,
        unrealized_pnl=p.unrealized_pnl,
        charges=p.charges,
        buy_quantity=p.buy_quantity,
        sell_quantity=p.sell_quantity,
        buy_value=p.buy_value,
        sell_value=p.sell_value,
        day_pnl=p.day_pnl(day.prev_close if day else None),
        overnight_quantity=p.overnight_quantity,
    )
