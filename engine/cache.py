"""Latest market state per instrument, and immutable snapshots of what changed.

The cache is a hot-path stage: the bus hands it every tick batch synchronously.
It keeps the last tick (which carries day OHLC, volume and 5-level depth), a
version number per instrument, and a short LTP history sampled on a timer for
sparklines. The UI never sees the cache itself, only :class:`QuoteRow` snapshots.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence

import msgspec

from engine.model import Instrument, MarketDay, Tick


class QuoteRow(msgspec.Struct, frozen=True, gc=False):
    """One market-watch row, immutable, safe to hand to another thread."""

    instrument_token: int
    tradingsymbol: str
    exchange: str
    ltp: float
    change: float
    change_pct: float
    bid: float
    ask: float
    bid_qty: int
    ask_qty: int
    volume: int
    high: float
    low: float
    spark: tuple[float, ...]


class MarketCache:
    """Latest tick per instrument with change versions."""

    def __init__(self, history_points: int = 20) -> None:
        self.instruments: dict[int, Instrument] = {}
        self.by_key: dict[str, Instrument] = {}
        self.by_symbol: dict[str, Instrument] = {}
        self.days: dict[int, MarketDay] = {}
        self.last: dict[int, Tick] = {}
        self.version = 0
        self.ticks_applied = 0
        self._changed: dict[int, int] = {}
        self._history_points = history_points
        self._history: dict[int, deque[float]] = {}

    def add_instruments(self, instruments: Iterable[Instrument]) -> None:
        """Register instruments (the cache only serves what it knows)."""
        for instrument in instruments:
            self.instruments[instrument.instrument_token] = instrument
            self.by_key[instrument.key] = instrument
            self.by_symbol.setdefault(instrument.tradingsymbol, instrument)
            self._history[instrument.instrument_token] = deque(maxlen=self._history_points)

    def set_market_days(self, days: Iterable[MarketDay]) -> None:
        """Register previous close and circuit limits for the day."""
        for day in days:
            self.days[day.instrument_token] = day

    def apply(self, ticks: Sequence[Tick]) -> Sequence[Tick]:
        """Hot-path stage: store a batch of ticks and pass it on unchanged."""
        self.version += 1
        latest = {tick.instrument_token: tick for tick in ticks}
        self.last.update(latest)
        self._changed.update(dict.fromkeys(latest, self.version))
        self.ticks_applied += len(ticks)
        return ticks

    def sample_history(self) -> None:
        """Append every instrument's LTP to its sparkline history."""
        self.version += 1
        version = self.version
        for token, tick in self.last.items():
            history = self._history.get(token)
            if history is not None:
                history.append(tick.ltp)
                self._changed[token] = version

    def resolve(self, symbol: str) -> Instrument | None:
        """Find an instrument by ``EXCHANGE:SYMBOL`` or bare symbol (case-insensitive)."""
        symbol = symbol.strip().upper()
        return self.by_key.get(symbol) or self.by_symbol.get(symbol)

    def quotes_since(self, version: int, tokens: Iterable[int] | None = None) -> list[QuoteRow]:
        """Rows for instruments that changed after ``version`` (all of ``tokens`` if 0)."""
        changed = self._changed
        candidates = self.last.keys() if tokens is None else tokens
        rows = []
        for token in candidates:
            if changed.get(token, 0) > version:
                rows.append(self.quote(token))
        return rows

    def quote(self, token: int) -> QuoteRow:
        """The current row for one instrument that has ticked."""
        tick = self.last[token]
        instrument = self.instruments[token]
        return QuoteRow(
            instrument_token=token,
            tradingsymbol=instrument.tradingsymbol,
            exchange=instrument.exchange,
            ltp=tick.ltp,
            change=tick.change,
            change_pct=tick.change_pct,
            bid=tick.best_bid,
            ask=tick.best_ask,
            bid_qty=tick.bid_qty[0] if tick.bid_qty else 0,
            ask_qty=tick.ask_qty[0] if tick.ask_qty else 0,
            volume=tick.volume,
            high=tick.high,
            low=tick.low,
            spark=tuple(self._history[token]),
        )
