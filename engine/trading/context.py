"""What the risk manager may ask of the trading state before an order goes out."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from engine.model import Instrument, MarketDay
from engine.orders.model import Order
from engine.trading.views import FundsView, PositionView


class TradingContext(Protocol):
    """Read-only facts at the moment of a pre-trade check. Provided by the trading service."""

    def now_ns(self) -> int:
        """Engine clock."""
        ...

    def instrument(self, token: int) -> Instrument | None:
        """The instrument, if known."""
        ...

    def market_day(self, token: int) -> MarketDay | None:
        """Previous close and circuit limits."""
        ...

    def ltp(self, token: int) -> float | None:
        """Last traded price, if the instrument has ticked."""
        ...

    def last_tick_ns(self, token: int) -> int | None:
        """When the instrument last ticked (engine clock)."""
        ...

    def open_orders(self) -> Sequence[Order]:
        """Every order not yet closed (local, in flight or open)."""
        ...

    def order(self, client_order_id: str) -> Order | None:
        """One order by client id."""
        ...

    def net_position(self, token: int, product: str | None = None) -> int:
        """Signed net quantity across strategies (one product or all)."""
        ...

    def positions(self) -> Sequence[PositionView]:
        """Every position with MTM at LTP."""
        ...

    def funds(self) -> FundsView:
        """Capital, margin used and the day's P&L."""
        ...


PreTradeCheck = Callable[[object, TradingContext], str | None]
"""Called with a SubmitOrder or ModifyOrder (never a cancel: cancels always pass).
Returns ``None`` to allow, or a one-line reason to reject."""
