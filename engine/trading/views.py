"""Immutable views of the trading state that a front end shows (local or over NATS)."""

from __future__ import annotations

import msgspec


class PositionView(msgspec.Struct, frozen=True):
    """One position: per instrument, product and strategy."""

    instrument_token: int
    exchange: str
    tradingsymbol: str
    product: str
    strategy_id: str
    net_quantity: int
    average_price: float
    ltp: float
    realized_pnl: float
    unrealized_pnl: float
    charges: float
    buy_quantity: int = 0
    sell_quantity: int = 0
    buy_value: float = 0.0
    """Rupees bought over the position's life."""
    sell_value: float = 0.0
    """Rupees sold over the position's life."""
    day_pnl: float = 0.0
    """Today's P&L: today's trades, plus the overnight quantity marked from previous close."""
    overnight_quantity: int = 0
    """Net quantity carried in from earlier days."""

    @property
    def pnl(self) -> float:
        """Realized plus unrealized, before charges."""
        return self.realized_pnl + self.unrealized_pnl


class FundsView(msgspec.Struct, frozen=True):
    """The account: capital, what is free, what is blocked, and the day's P&L."""

    starting_capital: float
    available: float
    margin_used: float
    realized_pnl: float
    unrealized_pnl: float
    charges: float

    @property
    def net_pnl(self) -> float:
        """Day P&L after charges."""
        return self.realized_pnl + self.unrealized_pnl - self.charges


class OrderEstimate(msgspec.Struct, frozen=True):
    """What the ticket shows before submit: value, charges, margin and every problem found."""

    value: float
    charges: float
    margin_required: float
    available: float
    problems: tuple[str, ...] = ()
    lot_size: int = 1
    """The instrument's lot: quantities are multiples of it (an F&O ticket opens with one lot)."""

    @property
    def ok(self) -> bool:
        """Whether the order would pass validation."""
        return not self.problems
