"""Immutable views of the strategies, for the strategies screen (local or over NATS)."""

from __future__ import annotations

import msgspec


class StrategyPositionView(msgspec.Struct, frozen=True):
    """One instrument a strategy holds (or held today)."""

    instrument_token: int
    tradingsymbol: str
    net_qty: int
    avg_price: float
    ltp: float | None
    realized_pnl: float
    unrealized_pnl: float


class StrategyView(msgspec.Struct, frozen=True):
    """One strategy as the screen shows it."""

    name: str
    class_name: str
    state: str
    mode: str
    instruments: tuple[str, ...]
    params: tuple[tuple[str, str], ...]
    """``(name, value)`` pairs, values JSON-encoded."""
    positions: tuple[StrategyPositionView, ...]
    realized_pnl: float
    unrealized_pnl: float
    signals: int
    orders: int
    """Orders submitted since start of day."""
    open_orders: int
    rejected: int
    latency_p99_s: float | None
    over_budget: int
    last_error: str
    stats: tuple[tuple[str, str], ...] = ()
    """Strategy-specific figures (e.g. a model's out-of-sample hit rate)."""

    @property
    def pnl(self) -> float:
        """Realized plus unrealized, before charges."""
        return self.realized_pnl + self.unrealized_pnl
