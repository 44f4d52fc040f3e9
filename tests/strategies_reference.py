"""The built-in bar strategies as they were before ``on_bars``: one ``on_bar`` call per bar.

Kept verbatim (scalar indicators, per-instrument dicts) as the reference the batch
versions must match order for order; see ``tests/test_strategies_batch_equivalence.py``.
"""

from __future__ import annotations

from engine.strategies.bars import IST_OFFSET_NS, Bar
from engine.strategies.base import Strategy
from engine.strategies.builtin.bollinger import BollingerParams
from engine.strategies.builtin.common import BarStrategy
from engine.strategies.builtin.crossover import CrossoverParams, EmaParams
from engine.strategies.builtin.opening_range import (
    NS_PER_MINUTE,
    OpeningRangeParams,
    _minute,
)
from engine.strategies.builtin.rsi_reversion import RsiParams
from engine.strategies.indicators import EMA, NS_PER_DAY, RSI, SMA, Bollinger

_NO_RANGE = float("-inf")


class SmaCrossover(BarStrategy):
    Params = CrossoverParams
    key = "sma_crossover"

    def setup(self) -> None:
        kind = SMA if self.params.average == "sma" else EMA
        self._fast = {i.instrument_token: kind(self.params.fast) for i in self.instruments}
        self._slow = {i.instrument_token: kind(self.params.slow) for i in self.instruments}
        self._above: dict[int, bool] = {}

    def on_bar(self, bar: Bar) -> None:
        token = bar.instrument_token
        close = bar.close
        fast = self._fast[token].update(close)
        slow = self._slow[token].update(close)
        if fast is None or slow is None or fast == slow:
            return
        above = fast > slow
        states = self._above
        was = states.get(token)
        states[token] = above
        if was is None or was == above:
            return
        quantity = self.params.quantity
        self.target_position(token, quantity if above else -quantity)


class EmaCrossover(SmaCrossover):
    Params = EmaParams
    key = "ema_crossover"


class RsiReversion(BarStrategy):
    Params = RsiParams
    key = "rsi_reversion"

    def setup(self) -> None:
        self._rsi = {i.instrument_token: RSI(self.params.period) for i in self.instruments}

    def on_bar(self, bar: Bar) -> None:
        token = bar.instrument_token
        rsi = self._rsi[token].update(bar.close)
        if rsi is None:
            return
        p = self.params
        if rsi < p.oversold:
            self.target_position(token, p.quantity)
        elif rsi > p.overbought:
            self.target_position(token, -p.quantity)
        else:
            held = self.expected_position(token)
            if (held > 0 and rsi >= p.exit_level) or (held < 0 and rsi <= p.exit_level):
                self.target_position(token, 0)


class BollingerBreakout(BarStrategy):
    Params = BollingerParams
    key = "bollinger_breakout"

    def setup(self) -> None:
        p = self.params
        self._bands = {i.instrument_token: Bollinger(p.period, p.k) for i in self.instruments}

    def on_bar(self, bar: Bar) -> None:
        token = bar.instrument_token
        bands = self._bands[token]
        lower, middle, upper = bands.lower, bands.middle, bands.upper
        close = bar.close
        bands.update(close)
        if middle is None or lower is None or upper is None:
            return
        if close > upper:
            self.target_position(token, self.params.quantity)
        elif close < lower:
            self.target_position(token, -self.params.quantity)
        else:
            held = self.expected_position(token)
            if (held > 0 and close < middle) or (held < 0 and close > middle):
                self.target_position(token, 0)


class _Day:
    __slots__ = ("day", "high", "low", "trades")

    def __init__(self, day: int) -> None:
        self.day = day
        self.high = float("-inf")
        self.low = float("inf")
        self.trades = 0


class OpeningRangeBreakout(Strategy):
    Params = OpeningRangeParams
    key = "opening_range"

    def on_start(self) -> None:
        self.subscribe_bars("1m")
        self._days: dict[int, _Day] = {}

    def on_bar(self, bar: Bar) -> None:
        token = bar.instrument_token
        local = bar.start_ns + IST_OFFSET_NS
        minute = (local % NS_PER_DAY) // NS_PER_MINUTE
        end_minute = minute + (bar.end_ns - bar.start_ns) // NS_PER_MINUTE
        day = local // NS_PER_DAY
        state = self._days.get(token)
        if state is None or state.day != day:
            state = self._days[token] = _Day(day)
        p = self.params
        range_start, range_end, exit_at = (
            _minute(p.range_start),
            _minute(p.range_end),
            _minute(p.exit_at),
        )
        if range_start <= minute < range_end:
            if bar.high > state.high:
                state.high = bar.high
            if bar.low < state.low:
                state.low = bar.low
            return
        if end_minute >= exit_at:
            self.target_position(token, 0)
            return
        if minute < range_end or state.high == _NO_RANGE:
            return
        if state.trades >= p.max_trades_per_day or self.expected_position(token) != 0:
            return
        if bar.close > state.high:
            state.trades += 1
            self.target_position(token, p.quantity)
        elif bar.close < state.low:
            state.trades += 1
            self.target_position(token, -p.quantity)


REFERENCE: dict[str, type[Strategy]] = {
    cls.key: cls
    for cls in (SmaCrossover, EmaCrossover, RsiReversion, BollingerBreakout, OpeningRangeBreakout)
}
"""The per-bar classes by built-in key."""
