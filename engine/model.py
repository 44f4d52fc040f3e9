"""Market data records, shaped like Kite Connect's instruments dump and ticks.

These are hot-path records: ``msgspec.Struct`` with ``gc=False`` (they hold no
reference cycles) so that building a million of them costs little.
"""

from __future__ import annotations

import re
from datetime import date

import msgspec

DEPTH_LEVELS = 5


_SYMBOL_PREFIX = re.compile(r"[A-Z&-]+")


class Instrument(msgspec.Struct, frozen=True, gc=False):
    """One tradable (or index) instrument: a row of Kite's instruments CSV."""

    instrument_token: int
    exchange_token: int
    tradingsymbol: str
    name: str
    exchange: str
    segment: str
    instrument_type: str
    tick_size: float
    lot_size: int
    expiry: date | None = None
    strike: float = 0.0

    @property
    def token(self) -> int:
        """Short alias for ``instrument_token``."""
        return self.instrument_token

    @property
    def key(self) -> str:
        """``EXCHANGE:SYMBOL``, the way Kite names an instrument in quote calls."""
        return f"{self.exchange}:{self.tradingsymbol}"

    @property
    def tradable(self) -> bool:
        """Indices tick but cannot be traded."""
        return self.segment != "INDICES"

    @property
    def underlying(self) -> str:
        """A derivative's underlying: its ``name``, else the letters its symbol starts with."""
        if self.name:
            return self.name.upper()
        match = _SYMBOL_PREFIX.match(self.tradingsymbol.upper())
        return match.group(0) if match else self.tradingsymbol.upper()


class MarketDay(msgspec.Struct, frozen=True, gc=False):
    """Per-instrument facts fixed for a trading day."""

    instrument_token: int
    prev_close: float
    lower_circuit: float
    upper_circuit: float


class Tick(msgspec.Struct, frozen=True, gc=False):
    """A full-mode market tick (Kite's 184-byte packet, in engine units).

    Prices are rupees, quantities are units (not lots), timestamps are epoch
    nanoseconds. ``close`` is the previous session's close, as in Kite.
    Depth is five levels a side, best first; absent levels are 0 price, 0 qty.
    """

    instrument_token: int
    ltp: float
    last_qty: int
    avg_price: float
    volume: int
    buy_qty: int
    sell_qty: int
    open: float
    high: float
    low: float
    close: float
    exchange_ts_ns: int
    last_trade_ts_ns: int
    bid_px: tuple[float, ...] = ()
    bid_qty: tuple[int, ...] = ()
    bid_orders: tuple[int, ...] = ()
    ask_px: tuple[float, ...] = ()
    ask_qty: tuple[int, ...] = ()
    ask_orders: tuple[int, ...] = ()
    oi: int = 0
    received_ns: int = 0
    """When the engine received the tick (engine clock); 0 if unknown."""

    @property
    def token(self) -> int:
        """Short alias for ``instrument_token``."""
        return self.instrument_token

    @property
    def best_bid(self) -> float:
        """Best bid price, 0.0 if the bid side is empty."""
        return self.bid_px[0] if self.bid_px else 0.0

    @property
    def best_ask(self) -> float:
        """Best ask price, 0.0 if the ask side is empty."""
        return self.ask_px[0] if self.ask_px else 0.0

    @property
    def change(self) -> float:
        """LTP minus previous close."""
        return self.ltp - self.close if self.close else 0.0

    @property
    def change_pct(self) -> float:
        """Change against previous close in percent."""
        return (self.ltp - self.close) / self.close * 100.0 if self.close else 0.0


def on_tick_grid(price: float, tick_size: float) -> bool:
    """Whether ``price`` is a whole number of ticks (to a paisa-safe tolerance)."""
    if tick_size <= 0:
        return True
    steps = price / tick_size
    return abs(steps - round(steps)) < 1e-6
